"""Tests of lib.learners.invariance: gradients against finite differences, closed forms, bad inputs."""

import numpy as np
import pytest
from scipy.optimize import check_grad

from lib.learners.invariance import (
    INVARIANCE_METHODS,
    SETTING_OPTIONS,
    Environment,
    accuracy,
    append_cue,
    environment_risks,
    fit,
    fit_and_score,
    fit_least_squares,
    fit_partitions,
    fit_settings,
    join_environments,
    method_objective,
    mix_environments,
    pool_and_resplit,
    sample_coloured_environments,
    sample_sem,
    sample_shared_environments,
    sem_coefficients,
    split_by_loss,
    trace_training,
    train_method,
)
from lib.learners.networks import backward, forward, init_network
from lib.worlds.coloured_digits import load_digit_pool


def small_problem(n_hidden, n_models=2, n_features=5, sizes=(30, 20)):
    rng = np.random.default_rng(n_hidden + 1)
    network = init_network(n_features, n_hidden, n_models=n_models, rng=rng)
    # Non-zero biases, so that their gradients are tested too.
    network = network._replace(
        network.weights, tuple(b + 0.1 * rng.standard_normal(b.shape) for b in network.biases)
    )
    environments = [
        (rng.standard_normal((n_models, n, n_features)), rng.integers(0, 2, (n_models, n)))
        for n in sizes
    ]
    return network, environments


def _assert_objective_gradient_matches_finite_differences(params, environments, kwargs):
    """The gradient from method_objective's per-example coefficients, back-propagated, matches
    finite differences of its objective, for each of the two stacked models."""

    def value(vector, model):
        return method_objective(unflatten(vector, params), environments, **kwargs)[0][model]

    def gradient(vector, model):
        current = unflatten(vector, params)
        _, coefficients = method_objective(current, environments, **kwargs)
        return sum(
            flatten(backward(current, x, c * (np.arange(2) == model)[:, None]))
            for (x, _), c in zip(environments, coefficients)
        )

    for model in range(2):
        error = check_grad(value, gradient, flatten(params), model, epsilon=1e-6)
        assert error < 1e-5 * max(1.0, np.linalg.norm(gradient(flatten(params), model)))


def flatten(network):
    return np.concatenate([p.ravel() for p in (*network.weights, *network.biases)])


def unflatten(vector, like):
    parts, start = [], 0
    for p in (*like.weights, *like.biases):
        parts.append(vector[start : start + p.size].reshape(p.shape))
        start += p.size
    k = len(like.weights)
    return like._replace(tuple(parts[:k]), tuple(parts[k:]))


def scale(network, factor):
    return network._replace(
        tuple(w * factor for w in network.weights), tuple(b * factor for b in network.biases)
    )


def equal(a, b):
    pairs = zip((*a.weights, *a.biases), (*b.weights, *b.biases))
    return all(np.array_equal(x, y) for x, y in pairs)


@pytest.mark.parametrize("n_hidden", [0, 4])
@pytest.mark.parametrize("method", INVARIANCE_METHODS)
def test_every_objective_gradient_matches_finite_differences(n_hidden, method):
    params, environments = small_problem(n_hidden)
    q = np.array([[0.3, 0.7], [0.6, 0.4]])
    kwargs = {"method": method, "penalty_weight": 7.0, "group_weights": q}

    _assert_objective_gradient_matches_finite_differences(params, environments, kwargs)


def test_irm_penalty_is_the_squared_scale_gradient_by_finite_differences():
    # The IRMv1 penalty is (d R_e(s f) / ds at s = 1)^2: check g_e against a central difference.
    params, environments = small_problem(0, n_models=1, sizes=(40,))
    base = environment_risks(params, environments)[0, 0]
    erm = method_objective(params, environments, method="erm")[0][0]
    irm = method_objective(params, environments, method="irm", penalty_weight=1.0)[0][0]
    h = 1e-5
    shifted = [scale(params, 1 + sign * h) for sign in (1, -1)]
    risks = [environment_risks(p, environments)[0, 0] for p in shifted]
    assert base == pytest.approx(erm)
    assert irm - erm == pytest.approx(((risks[0] - risks[1]) / (2 * h)) ** 2, rel=1e-5)


def test_vrex_penalty_is_the_variance_of_risks_and_dro_the_weighted_risk():
    params, environments = small_problem(3)
    risks = environment_risks(params, environments)
    vrex = method_objective(params, environments, method="vrex", penalty_weight=2.0)[0]
    assert vrex == pytest.approx(risks.mean(axis=1) + 2.0 * risks.var(axis=1))
    q = np.array([[1.0, 0.0], [0.25, 0.75]])
    dro = method_objective(params, environments, method="dro", group_weights=q)[0]
    assert dro == pytest.approx((q * risks).sum(axis=1))


def test_penalties_vanish_with_one_environment_for_vrex_and_not_for_irm():
    params, environments = small_problem(0, sizes=(50,))
    erm = method_objective(params, environments, method="erm")[0]
    assert method_objective(params, environments, method="vrex", penalty_weight=9.0)[0] == (
        pytest.approx(erm)
    )
    assert np.all(method_objective(params, environments, method="irm", penalty_weight=9.0)[0] > erm)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_fitted_sem_coefficients_match_the_closed_form(sigma):
    x, y = sample_sem(200_000, sigma, rng=np.random.default_rng(int(sigma * 10)))
    closed = sem_coefficients(sigma)
    fits = {
        "x1": fit_least_squares(x[:, :1], y),
        "x2": fit_least_squares(x[:, 1:], y),
        "both": fit_least_squares(x, y),
    }
    for name, fitted in fits.items():
        # Standard errors of these slopes are below 0.005 at this n; allow 0.02.
        np.testing.assert_allclose(fitted, closed[name], atol=0.02)


def test_only_the_causal_coefficient_is_the_same_in_every_environment():
    coefficients = [sem_coefficients(s) for s in (0.5, 1.0, 2.0)]
    assert len({c["x1"] for c in coefficients}) == 1
    assert len({c["x2"] for c in coefficients}) == 3
    assert len({c["both"] for c in coefficients}) == 3


def test_least_squares_recovers_an_exact_fit_and_rejects_bad_shapes():
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(fit_least_squares(x, x @ [2.0, -1.0]), [2.0, -1.0])
    with pytest.raises(ValueError, match="inputs must be"):
        fit_least_squares(x, [1.0, 2.0])
    with pytest.raises(ValueError, match="at least as many rows"):
        fit_least_squares([[1.0, 2.0]], [1.0])


def test_training_lowers_each_objective_and_erm_learns_a_separable_rule():
    params, environments = small_problem(0, sizes=(60, 60))
    for x, y in environments:
        y[:] = (x[..., 0] > 0).astype(int)
    for method in INVARIANCE_METHODS:
        kwargs = {"penalty_weight": 10.0} if method in ("irm", "vrex") else {}
        before = method_objective(params, environments, method=method, **kwargs)[0]
        trained = train_method(
            params,
            environments,
            method=method,
            steps=200,
            learning_rate=0.05,
            l2_weight=0.0,
            **kwargs,
        )
        after = method_objective(trained, environments, method=method, **kwargs)[0]
        assert np.all(after < before), method
    assert np.all(accuracy(trained, *environments[0]) > 0.9)


def test_train_does_not_modify_its_input_and_is_deterministic():
    params, environments = small_problem(2)
    copy = unflatten(flatten(params).copy(), params)
    a = train_method(
        params,
        environments,
        method="irm",
        steps=5,
        learning_rate=0.01,
        l2_weight=0.001,
        penalty_weight=100.0,
        anneal_steps=2,
    )
    b = train_method(
        params,
        environments,
        method="irm",
        steps=5,
        learning_rate=0.01,
        l2_weight=0.001,
        penalty_weight=100.0,
        anneal_steps=2,
    )
    assert equal(params, copy)
    assert equal(a, b)


@pytest.fixture(scope="module")
def pool():
    return load_digit_pool()


def test_coloured_environments_are_disjoint_per_seed_and_have_their_agreement(pool):
    images, digits = pool
    envs = sample_coloured_environments(
        images,
        digits,
        (0.9, 0.2),
        fractions=(0.5, 0.5),
        label_noise=0.25,
        n_seeds=20,
        rng=np.random.default_rng(3),
    )
    for env, p in zip(envs, (0.9, 0.2)):
        agree = np.mean(env.colour == env.label)
        assert abs(agree - p) < 4 * np.sqrt(p * (1 - p) / env.label.size)
    # Same seed, two environments: the images (grey rows) must not repeat across them.
    for seed in range(3):
        rows_a = {row.tobytes() for row in envs[0].grey[seed]}
        shared = sum(row.tobytes() in rows_a for row in envs[1].grey[seed])
        assert shared == 0  # the bundled pool has no two identical images


def test_appended_cue_has_its_agreement_and_leaves_the_rest_unchanged(pool):
    images, digits = pool
    plain = sample_coloured_environments(
        images,
        digits,
        (1.0, 0.0),
        fractions=(0.5, 0.5),
        label_noise=0.0,
        n_seeds=4,
        rng=np.random.default_rng(4),
    )
    envs = append_cue(plain, (0.8, 0.3), rng=np.random.default_rng(6))
    for env, base, p in zip(envs, plain, (0.8, 0.3)):
        assert env.features.shape[-1] == 129
        assert np.array_equal(env.features[..., :-1], base.features)
        cue = env.features[..., -1]
        assert abs(np.mean(cue == env.label) - p) < 4 * np.sqrt(p * (1 - p) / cue.size)


def test_resplit_keeps_every_example_with_its_label_and_mixes_the_environments(pool):
    images, digits = pool
    envs = sample_coloured_environments(
        images,
        digits,
        (1.0, 0.0),
        fractions=(0.5, 0.5),
        label_noise=0.25,
        n_seeds=4,
        rng=np.random.default_rng(4),
    )
    mixed = pool_and_resplit(envs, rng=np.random.default_rng(5))
    assert [m.label.shape for m in mixed] == [e.label.shape for e in envs]

    def rows(environments, seed):
        # Each example as (features, label), sorted: the multiset of examples per seed.
        return sorted(
            e.features[seed, i].tobytes() + bytes([e.label[seed, i]])
            for e in environments
            for i in range(e.label.shape[1])
        )

    assert rows(envs, 0) == rows(mixed, 0) and rows(envs, 3) == rows(mixed, 3)
    for m in mixed:  # colour agreement 1 and 0 pooled: about one half in each new part
        assert abs(np.mean(m.colour == m.label) - 0.5) < 4 * np.sqrt(0.25 / m.label.size)
    assert isinstance(mixed[0], Environment)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda p, e: method_objective(p, e, method="sgd"), ValueError, "method must be one of"),
        (
            lambda p, e: method_objective(p, e, method="irm", penalty_weight=-1.0),
            ValueError,
            "penalty_weight must be non-negative",
        ),
        (
            lambda p, e: method_objective(p, e, method="dro", group_weights=[[0.5, 0.6]] * 2),
            ValueError,
            "group_weights must be",
        ),
        (lambda p, e: method_objective(p, [], method="erm"), ValueError, "non-empty sequence"),
        (
            lambda p, e: method_objective(p, [(e[0][0], e[0][1] + 2)], method="erm"),
            ValueError,
            "must be 0/1",
        ),
        (
            lambda p, e: accuracy(p, np.zeros((2, 3, 4)), np.zeros((2, 3))),
            ValueError,
            "inputs must have shape",
        ),
        (
            lambda p, e: method_objective([1, 2], e, method="erm"),
            TypeError,
            "network must be a Network",
        ),
        (
            lambda p, e: train_method(
                p, e, method="irm", steps=1, learning_rate=0.1, l2_weight=0.0, reset_at_switch=1
            ),
            TypeError,
            "reset_at_switch must be True or False",
        ),
        (
            lambda p, e: train_method(
                p, e, method="erm", steps=0, learning_rate=0.1, l2_weight=0.0
            ),
            ValueError,
            "steps must be",
        ),
        (
            lambda p, e: train_method(
                p, e, method="erm", steps=1, learning_rate=0.0, l2_weight=0.0
            ),
            ValueError,
            "learning_rate must be positive",
        ),
        (
            lambda p, e: train_method(
                p, e, method="erm", steps=1, learning_rate=0.1, l2_weight=-1.0
            ),
            ValueError,
            "l2_weight must be non-negative",
        ),
        (lambda p, e: sem_coefficients(0.0), ValueError, "sigma must be positive"),
        (lambda p, e: sample_sem(10, 1.0, rng=1), TypeError, "rng must be"),
    ],
)
def test_bad_inputs_are_rejected(call, error, match):
    params, environments = small_problem(0)
    with pytest.raises(error, match=match):
        call(params, environments)


def test_environment_sampler_rejects_mismatched_arguments(pool):
    images, digits = pool
    with pytest.raises(ValueError, match="fractions must have one entry"):
        sample_coloured_environments(
            images,
            digits,
            (0.9, 0.8),
            fractions=(0.5,),
            label_noise=0.25,
            n_seeds=1,
            rng=np.random.default_rng(0),
        )
    with pytest.raises(ValueError, match="agreements must be in"):
        sample_coloured_environments(
            images,
            digits,
            (1.2,),
            fractions=(0.5,),
            label_noise=0.25,
            n_seeds=1,
            rng=np.random.default_rng(0),
        )
    with pytest.raises(TypeError, match="environments must be"):
        pool_and_resplit([1, 2], rng=np.random.default_rng(0))
    envs = sample_coloured_environments(
        images,
        digits,
        (0.9,),
        fractions=(0.5,),
        label_noise=0.25,
        n_seeds=1,
        rng=np.random.default_rng(0),
    )
    with pytest.raises(ValueError, match="one entry per environment"):
        append_cue(envs, (0.5, 0.5), rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="environments must be Environment"):
        fit_and_score({}, [1], envs[0], method="erm")
    with pytest.raises(TypeError, match="two Environment"):
        mix_environments(envs, 0.5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="one array per environment"):
        split_by_loss([], envs)


# --- The colour-block fast path (fit_and_score) against the 128-feature reference --------------


def _colour_envs(pool, *, cue):
    images, digits = pool
    envs = sample_coloured_environments(
        images,
        digits,
        (0.9, 0.8, 0.1),
        fractions=(0.3, 0.3, 0.4),
        label_noise=0.25,
        n_seeds=2,
        rng=np.random.default_rng(5),
    )
    return append_cue(envs, (0.85, 0.85, 0.1), rng=np.random.default_rng(6)) if cue else envs


@pytest.mark.parametrize("cue", [False, True])
@pytest.mark.parametrize("hidden", [(), (5,), (4, 3)])
def test_colour_blocks_give_the_dense_logits_and_gradients(pool, cue, hidden):
    from lib.learners.invariance import _ColourBlocks, _Dense

    env = _colour_envs(pool, cue=cue)[0]
    params = init_network(env.features.shape[2], hidden, n_models=2, rng=np.random.default_rng(7))
    biases = (*params.biases[:-1], np.array([[0.3], [-0.2]]))
    params = params._replace(params.weights, biases)
    fast = _ColourBlocks.from_environment(env)
    assert isinstance(fast, _ColourBlocks)  # else the comparison below would be vacuous
    dense = _Dense(env.features)
    logits = forward(params, env.features)
    # The colour blocks hold each seed's examples sorted by colour: labels, logits and
    # coefficients alike (arrange), so the loss pairs each logit with its own label.
    np.testing.assert_array_equal(dense.arrange(env.label), env.label)
    order = fast.order
    assert not np.array_equal(order, np.arange(order.shape[1])[None].repeat(2, 0))
    np.testing.assert_array_equal(fast.arrange(env.label), np.take_along_axis(env.label, order, 1))
    fast_logits, fast_inputs = fast.forward(params)
    np.testing.assert_allclose(fast_logits, np.take_along_axis(logits, order, 1), atol=1e-12)
    np.testing.assert_allclose(dense.forward(params)[0], logits, atol=1e-12)
    c = np.random.default_rng(8).standard_normal(env.label.shape)
    reference = flatten(backward(params, env.features, c))
    arranged = fast.backward(params, np.take_along_axis(c, order, 1), fast_inputs)
    np.testing.assert_allclose(flatten(arranged), reference, atol=1e-12)
    _, layer_inputs = dense.forward(params)
    np.testing.assert_allclose(flatten(dense.backward(params, c, layer_inputs)), reference)


def test_colour_blocks_stack_copies_of_a_hidden_layer_network(pool):
    from lib.learners.invariance import _ColourBlocks, _Dense
    from lib.learners.networks import stack_networks

    env = _colour_envs(pool, cue=True)[0]
    params = init_network(env.features.shape[2], (6,), n_models=2, rng=np.random.default_rng(3))
    stacked = stack_networks([params] * 3)
    fast, dense = _ColourBlocks.from_environment(env, copies=3), _Dense(env.features, copies=3)
    order = np.tile(fast.order, (3, 1))
    fast_logits, fast_inputs = fast.forward(stacked)
    dense_logits, dense_inputs = dense.forward(stacked)
    np.testing.assert_allclose(fast_logits, np.take_along_axis(dense_logits, order, 1), atol=1e-12)
    c = np.random.default_rng(4).standard_normal(dense_logits.shape)
    arranged = fast.backward(stacked, np.take_along_axis(c, order, 1), fast_inputs)
    reference = dense.backward(stacked, c, dense_inputs)
    np.testing.assert_allclose(flatten(arranged), flatten(reference), atol=1e-12)


@pytest.mark.parametrize("method", INVARIANCE_METHODS)
def test_fit_and_score_fast_path_equals_training_on_the_dense_features(pool, method):
    *envs, test = _colour_envs(pool, cue=method == "irm")
    params = init_network(test.features.shape[2], (), n_models=2, rng=np.random.default_rng(9))
    settings = {
        "method": method,
        "steps": 60,
        "learning_rate": 0.01,
        "l2_weight": 0.001,
        "penalty_weight": 1e4,
        "anneal_steps": 20,
    }
    fast = fit_and_score(params, envs, test, **settings)
    trained = train_method(params, [e.pair() for e in envs], **settings)
    reference = (
        np.mean([accuracy(trained, *e.pair()) for e in envs], axis=0),
        accuracy(trained, *test.pair()),
    )
    np.testing.assert_array_equal(fast[0], reference[0])
    np.testing.assert_array_equal(fast[1], reference[1])


def test_colour_blocks_refuse_features_that_are_not_colour_blocks(pool):
    from lib.learners.invariance import _ColourBlocks

    env = _colour_envs(pool, cue=False)[0]
    features = env.features.copy()
    red = np.flatnonzero(env.colour[0] == 0)[0]
    features[0, red, 64 + 10] = 1.0  # a pixel in the green block of a red image
    odd = Environment(features=features, grey=env.grey, label=env.label, colour=env.colour)
    assert _ColourBlocks.from_environment(odd) is None
    assert _ColourBlocks.from_environment(env) is not None


@pytest.mark.parametrize("method", ["erm", "irm"])
def test_derivatives_without_risks_equal_those_with_them(method):
    from lib.learners.invariance import _combine, _risk_terms

    params, environments = small_problem(0)
    logits = [forward(params, x) for x, _ in environments]
    full = [_risk_terms(f, y) for f, (_, y) in zip(logits, environments)]
    bare = [_risk_terms(f, y, with_risk=False) for f, (_, y) in zip(logits, environments)]
    value, with_risks = _combine(full, method, 7.0, None)
    none, without = _combine(bare, method, 7.0, None)
    assert value is not None and none is None
    for a, b in zip(with_risks, without):
        np.testing.assert_array_equal(a, b)


# --- The ablations and weaker environment labels of chapter 02 ---------------------------------


def test_adam_reset_at_the_switch_restores_the_step_size(pool):
    # After the switch the gradient falls and Adam's steps shrink with it, until a reset.
    *envs, _ = _colour_envs(pool, cue=False)
    network = init_network(128, (), n_models=2, rng=np.random.default_rng(10))
    settings = {
        "method": "irm",
        "steps": 40,
        "learning_rate": 0.001,
        "l2_weight": 0.001,
        "penalty_weight": 1e4,
        "anneal_steps": 20,
    }
    trained, gradient, update = trace_training(network, envs, **settings)
    _, _, update_reset = trace_training(network, envs, **settings, reset_at_switch=True)
    assert np.all(gradient[20] < gradient[19] / 3)
    assert np.all(update[25] < 0.75 * update[19])  # remembered gradients: smaller steps
    # A fresh Adam's first step moves each parameter by the learning rate, less only where the
    # gradient is as small as Adam's 1e-8 (pixels that are blank in every image).
    full = 0.001 * np.sqrt(129)
    assert np.all((0.9 * full < update_reset[20]) & (update_reset[20] <= full * (1 + 1e-9)))
    assert np.all(update_reset[25] > 1.5 * update[25])
    np.testing.assert_array_equal(update[:20], update_reset[:20])  # identical before the switch
    assert equal(trained, fit(network, envs, **settings))


def test_mixing_keeps_sizes_and_moves_agreement_by_the_share_kept(pool):
    images, digits = pool
    envs = sample_coloured_environments(
        images,
        digits,
        (1.0, 0.0),
        fractions=(0.5, 0.5),
        label_noise=0.0,
        n_seeds=3,
        rng=np.random.default_rng(11),
    )
    for keep in (1.0, 0.75, 0.5, 0.0):
        mixed = mix_environments(envs, keep, rng=np.random.default_rng(12))
        assert [m.label.shape for m in mixed] == [e.label.shape for e in envs]
        n = envs[0].label.shape[1]
        expected = (n - round((1 - keep) * n)) / n
        np.testing.assert_allclose(np.mean(mixed[0].colour == mixed[0].label, axis=1), expected)
        np.testing.assert_allclose(np.mean(mixed[1].colour == mixed[1].label, axis=1), 1 - expected)


def test_split_by_loss_puts_the_reference_models_worst_examples_first(pool):
    images, digits = pool
    envs = sample_coloured_environments(
        images,
        digits,
        (0.9, 0.8),
        fractions=(0.4, 0.4),
        label_noise=0.25,
        n_seeds=2,
        rng=np.random.default_rng(13),
    )
    logits = [np.where(e.colour == 1, 2.0, -2.0) for e in envs]  # a model that reads colour only
    hard, easy = split_by_loss(logits, envs)
    assert hard.label.shape[1] + easy.label.shape[1] == sum(e.label.shape[1] for e in envs)
    assert np.all(np.mean(easy.colour == easy.label, axis=1) == 1.0)
    misled = sum(np.sum(e.colour != e.label, axis=1) for e in envs)
    np.testing.assert_array_equal(np.sum(hard.colour != hard.label, axis=1), misled)


@pytest.mark.parametrize("method", ["erm", "vrex", "dro"])
def test_derivatives_without_scale_terms_equal_those_with_them(method):
    from lib.learners.invariance import _combine, _risk_terms

    params, environments = small_problem(0)
    logits = [forward(params, x) for x, _ in environments]
    full = [_risk_terms(f, y) for f, (_, y) in zip(logits, environments)]
    bare = [_risk_terms(f, y, with_scale=False) for f, (_, y) in zip(logits, environments)]
    q = np.array([[0.3, 0.7], [0.6, 0.4]])
    for a, b in zip(_combine(full, method, 7.0, q)[1], _combine(bare, method, 7.0, q)[1]):
        np.testing.assert_array_equal(a, b)


_STACKED = [
    {"method": "erm"},
    {"method": "irm", "penalty_weight": 1e4, "anneal_steps": 20},
    {"method": "vrex", "penalty_weight": 1e3, "anneal_steps": 0},
    {"method": "dro", "dro_step": 0.05},
    {"method": "irm", "penalty_weight": 1e4, "anneal_steps": 20, "reset_at_switch": True},
    {"method": "irm", "penalty_weight": 100.0, "anneal_steps": 20, "steps": 80},
]


@pytest.mark.parametrize("cue", [False, True])
@pytest.mark.parametrize("grey", [False, True])
def test_fit_settings_trains_each_setting_as_fit_alone(pool, cue, grey):
    envs = _colour_envs(pool, cue=cue)[:2]
    n_features = 64 if grey else envs[0].features.shape[2]
    params = init_network(n_features, (), n_models=2, rng=np.random.default_rng(9))
    shared = {"steps": 50, "learning_rate": 0.01, "l2_weight": 0.001}
    stacked = fit_settings(params, envs, _STACKED, grey=grey, **shared)
    assert len(stacked) == len(_STACKED)
    for setting, model in zip(_STACKED, stacked):
        alone = fit(params, envs, grey=grey, **(shared | setting))
        np.testing.assert_allclose(flatten(model), flatten(alone), rtol=0, atol=1e-9)


def test_fit_settings_with_each_setting_its_own_environments(pool):
    envs = _colour_envs(pool, cue=False)
    own = [envs[:2], [envs[1], envs[0]]]
    params = init_network(128, (), n_models=2, rng=np.random.default_rng(9))
    shared = {"steps": 40, "learning_rate": 0.01, "l2_weight": 0.001}
    settings = [{"method": "dro"}, {"method": "vrex", "penalty_weight": 10.0}]
    for setting, envs_k, model in zip(settings, own, fit_settings(params, own, settings, **shared)):
        alone = fit(params, envs_k, **(shared | setting))
        np.testing.assert_allclose(flatten(model), flatten(alone), rtol=0, atol=1e-9)


@pytest.mark.parametrize("hidden", [(), (3,)])
def test_fit_settings_with_environments_that_differ_only_in_a_cue(pool, hidden):
    # The same images with each setting's own cue column share one design (copies); each
    # setting still trains as it would alone.
    envs = _colour_envs(pool, cue=False)[:2]
    own = [append_cue(envs, (p, p), rng=np.random.default_rng(7)) for p in (0.85, 0.5)]
    params = init_network(129, hidden, n_models=2, rng=np.random.default_rng(9))
    shared = {"steps": 40, "learning_rate": 0.01, "l2_weight": 0.001}
    settings = [{"method": "irm", "penalty_weight": 100.0, "anneal_steps": 10}] * 2
    models = fit_settings(params, own, settings, **shared)
    for setting, envs_k, model in zip(settings, own, models):
        alone = fit(params, envs_k, **(shared | setting))
        np.testing.assert_allclose(flatten(model), flatten(alone), rtol=0, atol=1e-9)
    assert not np.allclose(flatten(models[0]), flatten(models[1]))


def test_fit_settings_trace_matches_trace_training(pool):
    envs = _colour_envs(pool, cue=False)[:2]
    params = init_network(128, (), n_models=2, rng=np.random.default_rng(9))
    shared = {"learning_rate": 0.001, "l2_weight": 0.001, "penalty_weight": 1e4}
    settings = [{"method": "irm", "steps": 30, "anneal_steps": 10}, {"method": "erm", "steps": 50}]
    _, traces = fit_settings(params, envs, settings, trace=True, **shared)
    _, gradient, update = trace_training(params, envs, **(shared | settings[0]))
    np.testing.assert_allclose(traces[0][0][:30], gradient, rtol=1e-9)
    np.testing.assert_allclose(traces[0][1][:30], update, rtol=1e-9)
    assert traces[1][0].shape == (50, 2) and np.all(traces[0][1][30:] == 0)  # stopped at 30


def test_fit_settings_snapshot_is_the_shorter_run(pool):
    envs = _colour_envs(pool, cue=False)[:2]
    params = init_network(128, (), n_models=2, rng=np.random.default_rng(9))
    shared = {"learning_rate": 0.001, "l2_weight": 0.001, "penalty_weight": 1e4}
    settings = [{"method": "irm", "steps": 50, "anneal_steps": 10}, {"method": "erm", "steps": 20}]
    finals, traces, early = fit_settings(
        params, envs, settings, trace=True, snapshot_at=30, **shared
    )
    assert len(traces) == 2
    alone = fit(params, envs, **(shared | settings[0] | {"steps": 30}))
    np.testing.assert_allclose(flatten(early[0]), flatten(alone), rtol=0, atol=1e-9)
    # A setting that stopped before the snapshot is its final model there.
    np.testing.assert_array_equal(flatten(early[1]), flatten(finals[1]))
    with pytest.raises(ValueError, match="snapshot_at"):
        fit_settings(params, envs, settings, snapshot_at=51, **shared)


def test_fit_settings_rejects_bad_settings(pool):
    envs = _colour_envs(pool, cue=False)[:2]
    params = init_network(128, (), n_models=2, rng=np.random.default_rng(9))
    shared = {"steps": 5, "learning_rate": 0.01, "l2_weight": 0.0}
    with pytest.raises(ValueError, match="settings"):
        fit_settings(params, envs, [], **shared)
    with pytest.raises(ValueError, match="learning_rate") as error:
        fit_settings(params, envs, [{"method": "erm", "learning_rate": 0.1}], **shared)
    assert str(SETTING_OPTIONS) in str(error.value)
    with pytest.raises(TypeError, match="settings\\[0\\]"):
        fit_settings(params, envs, ["erm"], **shared)
    with pytest.raises(ValueError, match="method"):
        fit_settings(params, envs, [{"method": "erm"}, {}], **shared)
    with pytest.raises(ValueError, match="method must be one of"):
        fit_settings(params, envs, [{"method": "sgd"}], **shared)
    with pytest.raises(ValueError, match="one sequence per setting"):
        fit_settings(params, [envs, envs], [{"method": "erm"}], **shared)


def test_shared_environments_share_images_and_keep_test_apart():
    images, digits = load_digit_pool()
    *train, test = sample_shared_environments(
        images,
        digits,
        (0.9, 0.8),
        test_agreement=0.1,
        train_fraction=0.8,
        label_noise=0.25,
        n_seeds=3,
        rng=np.random.default_rng(5),
    )
    assert train[0].label.shape == (3, 1437) and test.label.shape == (3, 359)
    assert np.array_equal(train[0].grey, train[1].grey)
    # Independent draws: the two colourings of the same images differ.
    assert not np.array_equal(train[0].colour, train[1].colour)
    for s in range(3):  # no test image is a training image (rows of the pool are distinct
        # images up to a handful of duplicates, so compare as sets of rows)
        train_rows = {row.tobytes() for row in train[0].grey[s]}
        shared = sum(row.tobytes() in train_rows for row in test.grey[s])
        assert shared <= 5
    agree = [np.mean(e.colour == e.label) for e in (*train, test)]
    np.testing.assert_allclose(agree, (0.9, 0.8, 0.1), atol=0.04)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"train_fraction": 1.0}, "train_fraction"),
        ({"test_agreement": 1.5}, "test_agreement"),
        ({"agreements": ()}, "agreements"),
    ],
)
def test_shared_environments_reject_bad_inputs(options, message):
    images, digits = load_digit_pool()
    arguments = {
        "agreements": (0.9, 0.8),
        "test_agreement": 0.1,
        "train_fraction": 0.8,
        "label_noise": 0.25,
        "n_seeds": 1,
        "rng": np.random.default_rng(0),
    } | options
    agreements = arguments.pop("agreements")
    with pytest.raises(ValueError, match=message):
        sample_shared_environments(images, digits, agreements, **arguments)


def test_fused_logistic_loss_equals_the_networks_loss_to_rounding():
    # _risk_terms' loss, max(f, 0) + log1p(e^-|f|) - y f, is lib.learners.networks' logistic
    # loss written for speed; large logits of either sign included.
    from lib.learners.invariance import _logistic_loss
    from lib.learners.networks import _loss

    rng = np.random.default_rng(3)
    logits = np.concatenate(
        [rng.standard_normal((3, 500)) * 5, [[-800.0, -40.0, 0.0, 40.0, 800.0] * 100]]
    )
    labels = (rng.random(logits.shape) < 0.5).astype(float)
    fused = _logistic_loss(logits, labels)
    assert np.all(np.isfinite(fused))
    np.testing.assert_allclose(fused, _loss("logistic", logits, labels), rtol=1e-14, atol=1e-15)


def test_fast_sigmoid_equals_expit_to_rounding_without_overflow():
    # _risk_terms' sigmoid, 1 / (1 + e^-f) with f floored at -700: scipy's expit to rounding,
    # and no overflow warning for very negative logits (warnings are errors).
    from scipy.special import expit

    from lib.learners.invariance import _sigmoid

    rng = np.random.default_rng(4)
    logits = np.concatenate(
        [rng.standard_normal((3, 500)) * 5, [[-1e4, -800.0, -40.0, 0.0, 40.0] * 100]]
    )
    np.testing.assert_allclose(_sigmoid(logits.copy()), expit(logits), rtol=1e-14, atol=1e-300)
    assert np.all(_sigmoid(logits) >= 0)


# --- Environments as weights on shared examples (fit_partitions) -------------------------------


@pytest.mark.parametrize("n_hidden", [0, 4])
@pytest.mark.parametrize("method", INVARIANCE_METHODS)
def test_weighted_objective_gradient_matches_finite_differences(n_hidden, method):
    params, environments = small_problem(n_hidden)
    rng = np.random.default_rng(3)
    weights = [rng.uniform(0, 2, y.shape) * (rng.random(y.shape) < 0.7) for _, y in environments]
    q = np.array([[0.3, 0.7], [0.6, 0.4]])
    kwargs = {
        "method": method,
        "penalty_weight": 7.0,
        "group_weights": q,
        "example_weights": weights,
    }

    _assert_objective_gradient_matches_finite_differences(params, environments, kwargs)


@pytest.mark.parametrize("method", INVARIANCE_METHODS)
def test_zero_one_weights_on_shared_examples_equal_the_marked_environments(method):
    # Each environment as 0/1 weights over the pooled examples gives the objective of the
    # environments themselves, and the coefficients land on the marked examples.
    params, environments = small_problem(3, sizes=(30, 30))
    pooled_x = np.concatenate([x for x, _ in environments], axis=1)
    pooled_y = np.concatenate([y for _, y in environments], axis=1)
    marks = [np.repeat([[1.0] * 30 + [0.0] * 30], 2, 0), np.repeat([[0.0] * 30 + [1.0] * 30], 2, 0)]
    shared = [(pooled_x, pooled_y)] * 2
    kwargs = {"method": method, "penalty_weight": 5.0}
    value, coefficients = method_objective(params, shared, example_weights=marks, **kwargs)
    expected, expected_coefficients = method_objective(params, environments, **kwargs)
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    np.testing.assert_allclose(
        coefficients[0] + coefficients[1],
        np.concatenate(expected_coefficients, axis=1),
        rtol=1e-10,
        atol=1e-15,
    )


def test_repartitions_report_their_membership_with_the_same_draws(pool):
    envs = _colour_envs(pool, cue=False)[:2]
    pooled = join_environments(envs)
    n = pooled.label.shape[1]
    logits = [np.linspace(-2, 2, e.label.size).reshape(e.label.shape) for e in envs]
    for plain, (parts, weights) in (
        (
            pool_and_resplit(envs, rng=np.random.default_rng(1)),
            pool_and_resplit(envs, rng=np.random.default_rng(1), membership=True),
        ),
        (
            mix_environments(envs, 0.75, rng=np.random.default_rng(2)),
            mix_environments(envs, 0.75, rng=np.random.default_rng(2), membership=True),
        ),
        (split_by_loss(logits, envs), split_by_loss(logits, envs, membership=True)),
    ):
        assert np.array_equal(np.sum(weights, axis=0), np.ones((2, n)))  # a partition
        for env, again, w in zip(plain, parts, weights):
            assert np.array_equal(env.label, again.label)
            for seed in range(2):
                marked = w[seed] == 1
                # The same examples: the marked ones, as multisets of (label, colour, grey).
                rows = np.column_stack(
                    [pooled.label[seed], pooled.colour[seed], pooled.grey[seed]]
                )[marked]
                mine = np.column_stack([env.label[seed], env.colour[seed], env.grey[seed]])
                assert np.array_equal(np.unique(rows, axis=0), np.unique(mine, axis=0))
                assert marked.sum() == env.label.shape[1]


@pytest.mark.parametrize("grey", [False, True])
def test_fit_partitions_trains_each_setting_as_fit_on_its_environments(pool, grey):
    envs = _colour_envs(pool, cue=False)[:2]
    shuffled, shuffled_w = pool_and_resplit(envs, rng=np.random.default_rng(1), membership=True)
    mixed, mixed_w = mix_environments(envs, 0.75, rng=np.random.default_rng(2), membership=True)
    n = envs[0].label.shape[1]
    original_w = [np.repeat([[1.0] * n + [0.0] * n], 2, 0), None]
    original_w[1] = 1.0 - original_w[0]
    runs = [
        (shuffled, shuffled_w, _STACKED[1]),
        (mixed, mixed_w, _STACKED[2]),
        (envs, original_w, _STACKED[3]),
        (shuffled, shuffled_w, _STACKED[5]),
    ]
    params = init_network(64 if grey else 128, (), n_models=2, rng=np.random.default_rng(9))
    shared = {"steps": 50, "learning_rate": 0.01, "l2_weight": 0.001}
    models = fit_partitions(
        params,
        join_environments(envs),
        [w for _, w, _ in runs],
        [s for _, _, s in runs],
        grey=grey,
        **shared,
    )
    for (own, _, setting), model in zip(runs, models):
        alone = fit(params, own, grey=grey, **(shared | setting))
        np.testing.assert_allclose(flatten(model), flatten(alone), rtol=0, atol=1e-9)


def test_fit_partitions_rejects_bad_memberships(pool):
    envs = _colour_envs(pool, cue=False)[:2]
    pooled = join_environments(envs)
    params = init_network(128, (), n_models=2, rng=np.random.default_rng(9))
    ones = np.ones(pooled.label.shape)
    shared = {"method": "erm", "steps": 2, "learning_rate": 0.01, "l2_weight": 0.0}
    with pytest.raises(ValueError, match="one entry per setting"):
        fit_partitions(params, pooled, [[ones]], [{}, {}], **shared)
    with pytest.raises(ValueError, match="non-negative"):
        fit_partitions(params, pooled, [[-ones]], [{}], **shared)
    with pytest.raises(ValueError, match="positive sum"):
        fit_partitions(params, pooled, [[0 * ones]], [{}], **shared)
    with pytest.raises(ValueError, match="same number"):
        fit_partitions(params, pooled, [[ones], [ones, ones]], [{}, {}], **shared)
    with pytest.raises(TypeError, match="examples"):
        fit_partitions(params, envs, [[ones]], [{}], **shared)
    with pytest.raises(TypeError, match="membership"):
        pool_and_resplit(envs, rng=np.random.default_rng(0), membership="yes")
