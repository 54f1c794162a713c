"""Tests of lib.learners.inductive_bias: hand-written gradients against finite differences, closed forms
for the least-squares fits and the Fourier amplitudes, properties of guess and check, bad inputs."""

import numpy as np
import pytest
from scipy.optimize import check_grad

from lib.learners.inductive_bias import (
    boolean_cube,
    fit_linear,
    fourier_amplitudes,
    guess_and_check,
    init_mlp,
    linear_squared_error,
    majority_labels,
    mlp_logits,
    network_predictions,
    parity_labels,
    poison_objective,
    random_features_risk,
    random_relu_features,
    sample_network_parameters,
    squared_error_objective,
    train_adam,
)

RNG_SEED = 12345


def _data(n=12, n_inputs=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_inputs))
    return rng, x, (x[:, 0] > 0).astype(int)


# --- Gradients against finite differences ------------------------------------------------------
# check_grad returns the Euclidean norm of (analytic - central finite difference); with step
# 1e-6 the finite difference is accurate to about 1e-8 here, so a wrong term (e.g. a missing
# factor 2 or a dropped bias gradient) shows up orders of magnitude above the tolerance.


@pytest.mark.parametrize("poison_weight, weight_decay", [(0.0, 0.0), (0.7, 0.0), (1.0, 1e-2)])
def test_poison_gradient_matches_finite_differences(poison_weight, weight_decay):
    rng, x, y = _data()
    theta = init_mlp(3, 5, rng=rng) + 0.1 * rng.standard_normal(26)
    x_poison = rng.standard_normal((7, 3))
    y_poison = rng.integers(0, 2, 7)

    def loss(t):
        return poison_objective(
            t,
            x,
            y,
            x_poison,
            y_poison,
            n_hidden=5,
            poison_weight=poison_weight,
            weight_decay=weight_decay,
        )

    error = check_grad(lambda t: loss(t)[0], lambda t: loss(t)[1], theta, epsilon=1e-6)
    assert error < 1e-5 * max(1.0, np.linalg.norm(loss(theta)[1]))


def test_squared_error_and_linear_gradients_match_finite_differences():
    rng, x, _ = _data(n_inputs=1)
    y = np.sin(3 * x[:, 0])
    theta = init_mlp(1, 6, rng=rng) + 0.1 * rng.standard_normal(19)
    f = lambda t: squared_error_objective(t, x, y, n_hidden=6)  # noqa: E731
    assert check_grad(lambda t: f(t)[0], lambda t: f(t)[1], theta, epsilon=1e-6) < 1e-5
    features = rng.standard_normal((12, 4))
    c = rng.standard_normal(4)
    g = lambda w: linear_squared_error(w, features, y)  # noqa: E731
    assert check_grad(lambda w: g(w)[0], lambda w: g(w)[1], c, epsilon=1e-6) < 1e-5


def test_poison_term_rewards_errors_on_the_poison_set():
    # Outputs that match the poison labels must cost more under the poison term than outputs
    # that contradict them; with weight 0 the poison set is ignored.
    _, x, y = _data()
    theta = np.zeros(3 * 2 + 2 + 2 + 1)
    theta[-1] = 3.0  # every logit is +3: predicts class 1 everywhere
    ones, zeros = np.ones(len(y), dtype=int), np.zeros(len(y), dtype=int)
    agree = poison_objective(theta, x, y, x, ones, n_hidden=2, poison_weight=1.0)[0]
    disagree = poison_objective(theta, x, y, x, zeros, n_hidden=2, poison_weight=1.0)[0]
    assert agree > disagree
    ignored = poison_objective(theta, x, y, x, ones, n_hidden=2, poison_weight=0.0)[0]
    assert ignored == poison_objective(theta, x, y, x, zeros, n_hidden=2, poison_weight=0.0)[0]


# --- Least squares -----------------------------------------------------------------------------


def test_fit_linear_min_norm_interpolates_and_is_in_the_row_space():
    rng = np.random.default_rng(RNG_SEED)
    features, targets = rng.standard_normal((5, 12)), rng.standard_normal(5)
    c = fit_linear(features, targets, ridge=0.0)
    np.testing.assert_allclose(features @ c, targets, atol=1e-10)
    # Least norm: no component in the null space of the features.
    null = np.linalg.svd(features)[2][5:]
    np.testing.assert_allclose(null @ c, 0, atol=1e-10)


@pytest.mark.parametrize("shape", [(20, 6), (6, 20)])
def test_fit_linear_ridge_matches_normal_equations(shape):
    rng = np.random.default_rng(RNG_SEED)
    features, targets = rng.standard_normal(shape), rng.standard_normal(shape[0])
    expected = np.linalg.solve(features.T @ features + 0.3 * np.eye(shape[1]), features.T @ targets)
    np.testing.assert_allclose(fit_linear(features, targets, ridge=0.3), expected, rtol=1e-9)


def test_random_features_risk_shape_and_reproducibility():
    x = np.linspace(-1, 1, 8)[:, None]
    first = random_features_risk(
        x, x[:, 0], x, x[:, 0], [3, 30], ridge=0.0, n_repeats=2, rng=np.random.default_rng(1)
    )
    again = random_features_risk(
        x, x[:, 0], x, x[:, 0], [3, 30], ridge=0.0, n_repeats=2, rng=np.random.default_rng(1)
    )
    assert first.shape == (2, 2)
    np.testing.assert_array_equal(first, again)
    # Past the threshold the fit interpolates its own training points (here also the test set).
    assert first[:, 1].max() < 1e-12


def test_random_relu_features_share_one_map():
    x = np.random.default_rng(0).standard_normal((4, 2))
    train, test = random_relu_features(x, x, 7, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(train, test)
    assert np.all(train >= 0)


# --- Boolean tasks and guess and check ----------------------------------------------------------


def test_boolean_tasks():
    cube = boolean_cube(5)
    assert cube.shape == (32, 5) and len(np.unique(cube, axis=0)) == 32
    assert majority_labels(cube).mean() == 0.5  # symmetric with an odd number of bits
    parity = parity_labels(cube)
    flipped = cube.copy()
    flipped[:, 2] *= -1
    order = [np.flatnonzero((cube == row).all(axis=1))[0] for row in flipped]
    np.testing.assert_array_equal(parity[order], 1 - parity)  # one flip flips parity


def test_network_predictions_match_a_direct_forward_pass():
    params = sample_network_parameters(3, 4, 6, rng=np.random.default_rng(2))
    x = boolean_cube(3)
    predictions = network_predictions(params, x)
    d = 4  # one draw, by hand
    hidden = np.maximum(x @ params["hidden_weights"][d] + params["hidden_biases"][d], 0)
    direct = hidden @ params["output_weights"][d] + params["output_biases"][d] > 0
    np.testing.assert_array_equal(predictions[d], direct)


def test_guess_and_check_accepts_only_fits_and_independent_of_chunk_count():
    cube = boolean_cube(3)
    labels = majority_labels(cube)
    result = guess_and_check(
        cube[:4],
        labels[:4],
        cube[4:],
        labels[4:],
        n_hidden=6,
        n_draws=3_000,
        rng=np.random.default_rng(7),
        chunk=1_000,
    )
    assert 0 < result.n_accepted < 3_000
    assert np.all((0 <= result.test_accuracies) & (result.test_accuracies <= 1))
    # Every test point fitted too: training on the whole cube leaves accuracy 1 on it.
    whole = guess_and_check(
        cube, labels, cube, labels, n_hidden=6, n_draws=3_000, rng=np.random.default_rng(7)
    )
    assert np.all(whole.test_accuracies == 1.0)


# --- Adam and Fourier amplitudes ---------------------------------------------------------------


def test_train_adam_descends_and_records():
    path = train_adam(
        lambda t: (float(np.sum((t - 3) ** 2)), 2 * (t - 3)),
        np.zeros(2),
        n_steps=1_000,
        learning_rate=0.05,
        record_every=250,
    )
    assert path.shape == (5, 2)
    np.testing.assert_array_equal(path[0], 0)
    np.testing.assert_allclose(path[-1], 3, atol=1e-2)


def test_fourier_amplitudes_recover_a_known_spectrum():
    t = np.arange(64) / 64
    values = 2.0 * np.sin(2 * np.pi * 3 * t + 0.4) + 0.5 * np.cos(2 * np.pi * 7 * t)
    np.testing.assert_allclose(fourier_amplitudes(values, [3, 5, 7]), [2.0, 0.0, 0.5], atol=1e-12)


def test_mlp_logits_shape():
    theta = init_mlp(2, 3, rng=np.random.default_rng(0))
    assert mlp_logits(theta, np.ones((5, 2)), n_hidden=3).shape == (5,)


# --- Bad inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: boolean_cube(0), ValueError, "n_bits"),
        (lambda: majority_labels(boolean_cube(2)), ValueError, "odd number"),
        (lambda: parity_labels(np.zeros((2, 2))), ValueError, "-1 and 1"),
        (lambda: fit_linear(np.eye(2), np.ones(2), ridge=-1.0), ValueError, "ridge"),
        (lambda: fit_linear(np.eye(2), np.ones(3), ridge=0.0), ValueError, "matching rows"),
        (lambda: init_mlp(2, 0, rng=np.random.default_rng(0)), ValueError, "n_hidden"),
        (lambda: mlp_logits(np.zeros(3), np.ones((1, 2)), n_hidden=3), ValueError, "theta"),
        (
            lambda: poison_objective(
                np.zeros(5),
                np.ones((2, 1)),
                [0, 2],
                np.ones((1, 1)),
                [0],
                n_hidden=1,
                poison_weight=1.0,
            ),
            ValueError,
            "y_train",
        ),
        (
            lambda: poison_objective(
                np.zeros(4),
                np.ones((1, 1)),
                [0],
                np.ones((1, 1)),
                [0],
                n_hidden=1,
                poison_weight=-1.0,
            ),
            ValueError,
            "poison_weight",
        ),
        (
            lambda: train_adam(
                lambda t: (0.0, t), np.zeros(1), n_steps=1, learning_rate=0.0, record_every=1
            ),
            ValueError,
            "learning_rate",
        ),
        (lambda: fourier_amplitudes(np.zeros(8), [4]), ValueError, "frequencies"),
        (lambda: fourier_amplitudes(np.zeros(8), [1.5]), ValueError, "frequencies"),
        (
            lambda: guess_and_check(
                np.ones((2, 2)),
                [0, 1],
                np.ones((1, 2)),
                [0, 1],
                n_hidden=2,
                n_draws=5,
                rng=np.random.default_rng(0),
            ),
            ValueError,
            "one label per input",
        ),
        (
            lambda: sample_network_parameters(2, 2, 2, rng=None),
            TypeError,
            "rng",
        ),
    ],
)
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()
