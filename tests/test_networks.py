"""Tests for lib.learners.networks: every gradient against finite differences, batching, Adam,
the stopping rule, agreement with scikit-learn, and input validation."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from lib.learners.networks import (
    ACTIVATIONS,
    INITIALISATIONS,
    AdamState,
    Network,
    TrainResult,
    adam_step,
    backward,
    dummy_scale_gradient,
    forward,
    init_adam,
    init_network,
    loss_coefficients,
    objective,
    parameter_vector,
    per_example_loss,
    stack_networks,
    train,
)

SHAPES = [(), (5,), (4, 3)]
OUTPUTS = ["logistic", "softmax", "squared"]


def _from_vector(network, vector):
    # The inverse of parameter_vector for a stack of models.
    weights, biases, start = [], [], 0
    for w, b in zip(network.weights, network.biases):
        size = w[0].size
        weights.append(vector[:, start : start + size].reshape(w.shape))
        start += size
        biases.append(vector[:, start : start + b.shape[1]].reshape(b.shape))
        start += b.shape[1]
    return Network(tuple(weights), tuple(biases), network.output, network.activation)


def _finite_differences(function, network, step=1e-6):
    # Central differences of a function returning one value per model, for every parameter.
    theta = parameter_vector(network)
    gradient = np.zeros_like(theta)
    for j in range(theta.shape[1]):
        up, down = theta.copy(), theta.copy()
        up[:, j] += step
        down[:, j] -= step
        gradient[:, j] = (
            function(_from_vector(network, up)) - function(_from_vector(network, down))
        ) / (2 * step)
    return gradient


def _problem(output, hidden, *, per_model, activation="relu", seed=0, n=7, n_models=2):
    rng = np.random.default_rng(seed)
    network = init_network(
        3,
        hidden,
        n_models=n_models,
        output=output,
        n_classes=4,
        activation=activation,
        init="he_normal" if hidden else "xavier_uniform",
        rng=rng,
    )
    # Non-zero biases, so that their gradients are tested away from 0.
    network = network._replace(
        network.weights, tuple(0.3 * rng.standard_normal(b.shape) for b in network.biases)
    )
    shape = (n_models, n, 3) if per_model else (n, 3)
    inputs = rng.standard_normal(shape)
    if output == "logistic":
        targets = rng.uniform(size=shape[:-1])  # soft targets test the general formula
    elif output == "softmax":
        targets = rng.integers(0, 4, size=shape[:-1])
    else:
        targets = rng.standard_normal(shape[:-1])
    weights = rng.uniform(0.1, 1.0, size=(n_models, n))
    return network, inputs, targets, weights


@pytest.mark.parametrize("hidden", SHAPES)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("per_model", [False, True])
def test_objective_gradient_matches_finite_differences(hidden, output, activation, per_model):
    network, inputs, targets, weights = _problem(
        output, hidden, per_model=per_model, activation=activation
    )
    options = {"example_weights": weights, "l2_weight": 0.3}
    _, gradient = objective(network, inputs, targets, **options)
    numeric = _finite_differences(
        lambda net: objective(net, inputs, targets, **options)[0], network
    )
    np.testing.assert_allclose(parameter_vector(gradient), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("hidden", SHAPES)
def test_biases_can_be_left_out_of_the_penalty(hidden):
    network, inputs, targets, _ = _problem("logistic", hidden, per_model=False)
    options = {"l2_weight": 2.0, "penalise_biases": False}
    value, gradient = objective(network, inputs, targets, **options)
    numeric = _finite_differences(
        lambda net: objective(net, inputs, targets, **options)[0], network
    )
    np.testing.assert_allclose(parameter_vector(gradient), numeric, rtol=1e-6, atol=1e-8)
    plain, _ = objective(network, inputs, targets)
    penalty = sum(np.sum(w**2, axis=(1, 2)) for w in network.weights)
    np.testing.assert_allclose(value, plain + penalty, rtol=1e-12)


def test_unweighted_objective_is_the_mean_loss():
    network, inputs, targets, _ = _problem("softmax", (5,), per_model=True)
    value, _ = objective(network, inputs, targets)
    losses = per_example_loss(forward(network, inputs), targets, output="softmax")
    np.testing.assert_allclose(value, losses.mean(axis=1), rtol=1e-12)


@pytest.mark.parametrize("output", OUTPUTS)
def test_loss_coefficients_are_the_derivatives_of_the_losses(output):
    network, inputs, targets, _ = _problem(output, (), per_model=False)
    logits = forward(network, inputs)
    step = 1e-6
    coefficients = loss_coefficients(logits, targets, output=output)
    if output == "softmax":
        for k in range(logits.shape[2]):
            shift = np.zeros_like(logits)
            shift[..., k] = step
            numeric = (
                per_example_loss(logits + shift, targets, output=output)
                - per_example_loss(logits - shift, targets, output=output)
            ) / (2 * step)
            np.testing.assert_allclose(coefficients[..., k], numeric, rtol=1e-6, atol=1e-9)
    else:
        numeric = (
            per_example_loss(logits + step, targets, output=output)
            - per_example_loss(logits - step, targets, output=output)
        ) / (2 * step)
        np.testing.assert_allclose(coefficients, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("output", OUTPUTS)
def test_dummy_scale_gradient_is_the_derivative_of_the_risk_in_the_scale(output):
    network, inputs, targets, weights = _problem(output, (5,), per_model=True)
    logits = forward(network, inputs)
    g, _ = dummy_scale_gradient(logits, targets, output=output, example_weights=weights)

    def risk(scale):
        return np.sum(weights * per_example_loss(scale * logits, targets, output=output), axis=1)

    step = 1e-6
    np.testing.assert_allclose(g, (risk(1 + step) - risk(1 - step)) / (2 * step), rtol=1e-6)


@pytest.mark.parametrize("hidden", SHAPES)
@pytest.mark.parametrize("output", OUTPUTS)
def test_irm_penalty_gradient_matches_finite_differences(hidden, output):
    # The IRMv1 penalty g**2 of one environment, differentiated through backward().
    network, inputs, targets, weights = _problem(output, hidden, per_model=True)

    def penalty(net):
        g, _ = dummy_scale_gradient(
            forward(net, inputs), targets, output=output, example_weights=weights
        )
        return g**2

    g, dg = dummy_scale_gradient(
        forward(network, inputs), targets, output=output, example_weights=weights
    )
    coefficients = 2 * (g[:, None, None] if output == "softmax" else g[:, None]) * dg
    gradient = backward(network, inputs, coefficients)
    numeric = _finite_differences(penalty, network)
    np.testing.assert_allclose(parameter_vector(gradient), numeric, rtol=1e-5, atol=1e-9)


def test_backward_of_loss_coefficients_is_the_objective_gradient():
    network, inputs, targets, weights = _problem("logistic", (4, 3), per_model=False)
    coefficients = weights * loss_coefficients(forward(network, inputs), targets, output="logistic")
    _, gradient = objective(network, inputs, targets, example_weights=weights)
    np.testing.assert_allclose(
        parameter_vector(backward(network, inputs, coefficients)),
        parameter_vector(gradient),
        rtol=1e-12,
    )


@pytest.mark.parametrize("per_model", [False, True])
def test_a_stack_trains_as_its_models_would_one_at_a_time(per_model):
    # tanh units: a smooth objective, whose gradient Adam can drive below the tolerance.
    network, inputs, targets, _ = _problem(
        "logistic", (6,), per_model=per_model, n=40, n_models=3, activation="tanh"
    )
    targets = (targets > 0.5).astype(float)
    options = {"learning_rate": 0.01, "max_steps": 1_100, "gradient_tol": 1e-3, "l2_weight": 0.01}
    stacked = train(network, inputs, targets, **options)
    # The models stop at different steps, and one of them not at all.
    assert len(set(stacked.n_steps.tolist())) == 3 and stacked.converged.sum() == 2
    for i in range(3):
        alone = train(
            network.take(i),
            inputs[[i]] if per_model else inputs,
            targets[[i]] if per_model else targets,
            **options,
        )
        np.testing.assert_allclose(
            parameter_vector(alone.network), parameter_vector(stacked.network.take(i)), rtol=1e-12
        )
        assert alone.converged[0] == stacked.converged[i]
        assert alone.n_steps[0] == stacked.n_steps[i]


def test_adam_takes_the_hand_computed_steps():
    network = init_network(2, (), n_models=1, init="zeros", rng=np.random.default_rng(0))
    g1, g2 = np.array([0.5, -2.0]), np.array([1.0, 1.0])
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8

    def as_gradient(g, bias):
        return network._replace((g.reshape(1, 2, 1),), (np.array([[bias]]),))

    state = init_adam(network)
    network1, state = adam_step(network, as_gradient(g1, 0.0), state, learning_rate=lr)
    network2, state = adam_step(network1, as_gradient(g2, 3.0), state, learning_rate=lr)
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1**2
    theta1 = -lr * (m1 / (1 - b1)) / (np.sqrt(v1 / (1 - b2)) + eps)
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2**2
    theta2 = theta1 - lr * (m2 / (1 - b1**2)) / (np.sqrt(v2 / (1 - b2**2)) + eps)
    np.testing.assert_allclose(network1.weights[0].ravel(), theta1, rtol=1e-14)
    np.testing.assert_allclose(network2.weights[0].ravel(), theta2, rtol=1e-14)
    bias_m2, bias_v2 = (1 - b1) * 3.0, (1 - b2) * 9.0
    expected_bias = -lr * (bias_m2 / (1 - b1**2)) / (np.sqrt(bias_v2 / (1 - b2**2)) + eps)
    np.testing.assert_allclose(network2.biases[0].ravel(), [expected_bias], rtol=1e-14)
    assert state.steps.tolist() == [2]
    assert isinstance(state, AdamState)


def test_per_layer_learning_rates_scale_each_layers_adam_step():
    # One step size per layer moves each layer as a single step size of that value would;
    # the same rate for every layer is the scalar case exactly.
    network = init_network(3, (4, 5), n_models=2, rng=np.random.default_rng(1))
    x, y = np.random.default_rng(2).standard_normal((6, 3)), [0, 1, 0, 1, 1, 0]
    _, gradient = objective(network, x, y)
    rates = (0.1, 0.02, 0.003)
    mixed, _ = adam_step(network, gradient, init_adam(network), learning_rate=rates)
    for layer, rate in enumerate(rates):
        single, _ = adam_step(network, gradient, init_adam(network), learning_rate=rate)
        np.testing.assert_array_equal(mixed.weights[layer], single.weights[layer])
        np.testing.assert_array_equal(mixed.biases[layer], single.biases[layer])
    same = train(network, x, y, learning_rate=[0.05] * 3, max_steps=20, gradient_tol=0.0)
    scalar = train(network, x, y, learning_rate=0.05, max_steps=20, gradient_tol=0.0)
    np.testing.assert_array_equal(parameter_vector(same.network), parameter_vector(scalar.network))


def test_per_layer_learning_rates_are_validated():
    network = init_network(3, (4,), n_models=1, rng=np.random.default_rng(0))
    x, y = np.ones((2, 3)), [0, 1]
    with pytest.raises(ValueError, match="one number per layer"):
        train(network, x, y, learning_rate=[0.1], max_steps=1)
    with pytest.raises(ValueError, match="one number per layer"):
        train(network, x, y, learning_rate=[[0.1, 0.1]], max_steps=1)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        train(network, x, y, learning_rate=[0.1, -0.1], max_steps=1)
    with pytest.raises(ValueError, match="learning_rate"):
        train(network, x, y, learning_rate=[0.1, np.inf], max_steps=1)
    with pytest.raises(TypeError, match="learning_rate"):
        train(network, x, y, learning_rate="0.1", max_steps=1)
    with pytest.raises(TypeError, match="learning_rate"):
        train(network, x, y, learning_rate=True, max_steps=1)


def test_adam_leaves_inactive_models_and_their_state_alone():
    network = init_network(2, (3,), n_models=2, rng=np.random.default_rng(0))
    _, gradient = objective(network, np.ones((4, 2)), [0, 1, 0, 1])
    stepped, state = adam_step(
        network, gradient, init_adam(network), learning_rate=0.1, active=np.array([True, False])
    )
    np.testing.assert_array_equal(
        parameter_vector(stepped.take(1)), parameter_vector(network.take(1))
    )
    assert state.steps.tolist() == [1, 0]
    assert np.all(parameter_vector(state.first.take(1)) == 0)


def test_logistic_model_matches_scikit_learn():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 4))
    y = (x @ [1.0, -1.0, 0.5, 0.0] + 0.3 + rng.standard_normal(300) > 0).astype(int)
    c = 0.5
    reference = LogisticRegression(C=c, tol=1e-12, max_iter=10_000).fit(x, y)
    # scikit-learn minimises |w|^2 / 2 + C sum_i l_i; divided by C n that is our objective with
    # l2_weight = 1 / (C n) and the intercept unpenalised.
    network = init_network(4, (), n_models=1, init="zeros", rng=rng)
    result = train(
        network,
        x,
        y,
        learning_rate=0.01,
        max_steps=50_000,
        l2_weight=1 / (c * len(y)),
        penalise_biases=False,
        gradient_tol=1e-9,
    )
    assert result.converged[0]
    np.testing.assert_allclose(result.network.weights[0].ravel(), reference.coef_[0], atol=1e-6)
    np.testing.assert_allclose(result.network.biases[0].ravel(), reference.intercept_, atol=1e-6)


def test_softmax_model_matches_scikit_learn():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((200, 3))
    y = np.argmax(x @ rng.standard_normal((3, 3)) + rng.standard_normal((200, 3)), axis=1)
    c = 1.0
    reference = LogisticRegression(C=c, tol=1e-12, max_iter=10_000).fit(x, y)
    network = init_network(3, (), n_models=1, output="softmax", n_classes=3, init="zeros", rng=rng)
    result = train(
        network,
        x,
        y,
        learning_rate=0.01,
        max_steps=50_000,
        l2_weight=1 / (c * len(y)),
        penalise_biases=False,
        gradient_tol=1e-9,
    )
    assert result.converged[0]
    # The softmax's parameters are identified up to a shift shared by the classes: compare
    # probabilities.
    np.testing.assert_allclose(
        np.exp(
            forward(result.network, x)[0]
            - np.log(np.exp(forward(result.network, x)[0]).sum(1))[:, None]
        ),
        reference.predict_proba(x),
        atol=1e-6,
    )


def test_too_small_a_budget_is_reported_as_not_converged():
    network, inputs, targets, _ = _problem("squared", (5,), per_model=False)
    result = train(network, inputs, targets, learning_rate=0.01, max_steps=5)
    assert result.converged.tolist() == [False, False]
    assert result.n_steps.tolist() == [5, 5]
    assert np.all(result.gradient_norm > 1e-6)


def test_relative_loss_change_can_stop_training():
    network, inputs, targets, _ = _problem("squared", (), per_model=False)
    options = {"learning_rate": 0.05, "max_steps": 20_000, "gradient_tol": 0.0}
    result = train(network, inputs, targets, loss_tol=1e-12, patience=5, **options)
    assert result.converged.all() and np.all(result.n_steps < 20_000)
    exact = train(network, inputs, targets, loss_tol=0.0, **{**options, "max_steps": 50})
    assert exact.n_steps.tolist() == [50, 50] and not exact.converged.any()


def test_recorded_path_and_continued_training():
    network, inputs, targets, _ = _problem("squared", (5,), per_model=False)
    options = {"learning_rate": 0.01, "gradient_tol": 0.0}
    full = train(network, inputs, targets, max_steps=30, record_every=10, **options)
    assert len(full.path) == 4
    np.testing.assert_array_equal(parameter_vector(full.path[0]), parameter_vector(network))
    np.testing.assert_array_equal(parameter_vector(full.path[-1]), parameter_vector(full.network))
    first = train(network, inputs, targets, max_steps=10, **options)
    rest = train(first.network, inputs, targets, max_steps=20, state=first.state, **options)
    np.testing.assert_allclose(
        parameter_vector(rest.network), parameter_vector(full.network), rtol=1e-13
    )


def test_initialisations_and_stacking():
    rng = np.random.default_rng(0)
    network = init_network(50, (40,), n_models=20, init="he_normal", rng=rng)
    assert abs(network.weights[0].var() - 2 / 50) < 0.1 * 2 / 50
    network = init_network(50, (40,), n_models=20, init="xavier_uniform", rng=rng)
    assert np.abs(network.weights[0]).max() <= np.sqrt(6 / 90)
    assert all(np.all(b == 0) for b in network.biases)
    parts = [network.take(i) for i in range(20)]
    np.testing.assert_array_equal(
        parameter_vector(stack_networks(parts)), parameter_vector(network)
    )


def test_bad_inputs_are_refused():
    rng = np.random.default_rng(0)
    network = init_network(3, (4,), n_models=2, rng=rng)
    x, y = np.zeros((5, 3)), np.zeros(5)
    with pytest.raises(TypeError, match="rng"):
        init_network(3, (4,), n_models=2, rng=0)
    with pytest.raises(ValueError, match="hidden"):
        init_network(3, (4, 4, 4), n_models=2, rng=rng)
    with pytest.raises(ValueError, match="output"):
        init_network(3, (), n_models=2, output="hinge", rng=rng)
    with pytest.raises(ValueError, match="init"):
        init_network(3, (4,), n_models=2, init="zeros", rng=rng)
    with pytest.raises(ValueError, match="n_classes"):
        init_network(3, (), n_models=1, output="softmax", n_classes=1, rng=rng)
    with pytest.raises(TypeError, match="network"):
        forward({"weights": 1}, x)
    with pytest.raises(ValueError, match="inputs"):
        forward(network, np.zeros((5, 4)))
    with pytest.raises(ValueError, match="inputs"):
        forward(network, np.zeros((3, 5, 3)))
    with pytest.raises(ValueError, match="inputs must be finite"):
        forward(network, np.full((5, 3), np.nan))
    with pytest.raises(ValueError, match="targets"):
        objective(network, x, np.full(5, 2.0))
    with pytest.raises(ValueError, match="targets"):
        objective(network, x, np.zeros(4))
    with pytest.raises(ValueError, match="example_weights"):
        objective(network, x, y, example_weights=-np.ones(5))
    with pytest.raises(ValueError, match="l2_weight"):
        objective(network, x, y, l2_weight=-1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        train(network, x, y, learning_rate=0.0, max_steps=10)
    with pytest.raises(TypeError, match="max_steps"):
        train(network, x, y, learning_rate=0.1, max_steps=10.0)
    with pytest.raises(ValueError, match="gradient_tol"):
        train(network, x, y, learning_rate=0.1, max_steps=10, gradient_tol=-1.0)
    with pytest.raises(TypeError, match="state"):
        train(network, x, y, learning_rate=0.1, max_steps=10, state={})
    with pytest.raises(ValueError, match="coefficients"):
        backward(network, x, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="active"):
        adam_step(network, network, init_adam(network), learning_rate=0.1, active=[1, 0])
    with pytest.raises(ValueError, match="beta1"):
        init_adam(network, beta1=1.0)
    with pytest.raises(ValueError, match="differs"):
        stack_networks([network, init_network(3, (5,), n_models=1, rng=rng)])
    with pytest.raises(ValueError, match="models"):
        network.take(5)
    softmax_network = init_network(3, (), n_models=1, output="softmax", n_classes=3, rng=rng)
    with pytest.raises(ValueError, match="targets"):
        objective(softmax_network, x, np.full(5, 3))
    with pytest.raises(ValueError, match="logits"):
        per_example_loss(np.zeros((2, 5)), np.zeros(5, dtype=int), output="softmax")


@pytest.mark.parametrize("init", [name for name in INITIALISATIONS if name != "zeros"])
def test_every_initialisation_draws_finite_weights_of_the_promised_shapes(init):
    network = init_network(5, (4, 3), n_models=2, init=init, rng=np.random.default_rng(1))
    assert [w.shape for w in network.weights] == [(2, 5, 4), (2, 4, 3), (2, 3, 1)]
    assert all(np.isfinite(w).all() and np.abs(w).max() > 0 for w in network.weights)
    assert all((b == 0).all() for b in network.biases)


def test_train_returns_a_train_result():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20, 3))
    y = (x[:, 0] > 0).astype(float)
    result = train(
        init_network(3, (), n_models=1, init="zeros", rng=rng), x, y, learning_rate=0.1, max_steps=5
    )
    assert isinstance(result, TrainResult)
