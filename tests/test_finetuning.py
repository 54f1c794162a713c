"""Tests of lib.finetuning: closed forms, properties, exact values and bad inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from lib.finetuning import (
    METHODS,
    RepairScenario,
    _augment,
    _gradients,
    accuracy,
    bayes_worst_group_accuracy,
    core_only_accuracy,
    fit_logistic_probe,
    group_accuracies,
    hidden_layer,
    init_mlp,
    largest_doubling_gain,
    make_world,
    mean_gap,
    minority_accuracy,
    predict_logits,
    probe_accuracy,
    probe_grid,
    repair,
    repair_curve,
    sample_group_balanced,
    sample_world,
    train_mlp,
    worst_group_accuracy,
)


@pytest.fixture
def world():
    return make_world(n_features=6, rng=np.random.default_rng(11))


def _latent(world, inputs):
    # The mixing is orthogonal, so its transpose undoes it.
    return inputs @ world.mixing


def test_mixing_is_a_rotation(world):
    assert np.allclose(world.mixing.T @ world.mixing, np.eye(6))


@pytest.mark.parametrize("agreement", [0.0, 0.5, 0.8, 1.0])
def test_cue_agrees_with_label_at_the_stated_rate(world, agreement):
    n = 40_000
    _, labels, cue = sample_world(world, n, agreement=agreement, rng=np.random.default_rng(1))
    share = np.mean(labels == cue)
    se = np.sqrt(max(agreement * (1 - agreement), 1e-12) / n)
    assert abs(share - agreement) <= 4 * se + 1e-12
    assert abs(labels.mean() - 0.5) <= 4 * np.sqrt(0.25 / n)


def test_latent_features_have_the_stated_distribution(world):
    n = 40_000
    inputs, labels, cue = sample_world(world, n, agreement=0.9, rng=np.random.default_rng(2))
    latent = _latent(world, inputs)
    sign = 2 * labels - 1
    core_noise = latent[:, 0] - world.core_shift * sign
    spurious_noise = latent[:, 1] - (2 * cue - 1)
    assert abs(core_noise.mean()) <= 4 / np.sqrt(n)
    assert core_noise.std() == pytest.approx(world.core_noise, rel=4 * np.sqrt(0.5 / n))
    assert spurious_noise.std() == pytest.approx(world.spurious_noise, rel=4 * np.sqrt(0.5 / n))
    nuisance = latent[:, 2:].size
    assert latent[:, 2:].std() == pytest.approx(1.0, rel=4 * np.sqrt(0.5 / nuisance))


def test_core_only_accuracy_matches_simulation(world):
    n = 40_000
    inputs, labels, _ = sample_world(world, n, agreement=0.5, rng=np.random.default_rng(3))
    measured = np.mean((_latent(world, inputs)[:, 0] > 0) == (labels == 1))
    expected = core_only_accuracy(world)
    assert expected == pytest.approx(stats.norm.cdf(1.0))
    assert abs(measured - expected) <= 4 * np.sqrt(expected * (1 - expected) / n)


@pytest.mark.parametrize("agreement", [0.5, 0.8, 0.95])
def test_bayes_worst_group_accuracy_matches_the_bayes_rule_simulated(world, agreement):
    n = 80_000
    inputs, labels, cue = sample_world(world, n, agreement=agreement, rng=np.random.default_rng(4))
    latent = _latent(world, inputs)
    log_odds = 2 * world.core_shift * latent[:, 0] / world.core_noise**2
    log_odds += np.log(agreement / (1 - agreement)) * np.sign(latent[:, 1])
    minority = labels != cue
    measured = np.mean((log_odds[minority] > 0) == (labels[minority] == 1))
    expected = bayes_worst_group_accuracy(world, agreement)
    se = np.sqrt(expected * (1 - expected) / minority.sum())
    assert abs(measured - expected) <= 4 * se


@given(st.floats(min_value=0.5, max_value=0.999), st.floats(min_value=0.0, max_value=0.49))
def test_bayes_worst_group_accuracy_falls_with_the_cue_and_is_symmetric(rho, step):
    world = make_world(n_features=3, rng=np.random.default_rng(0))
    stronger = min(rho + step, 0.9999)
    assert (
        bayes_worst_group_accuracy(world, stronger)
        <= bayes_worst_group_accuracy(world, rho) + 1e-12
    )
    assert bayes_worst_group_accuracy(world, rho) == pytest.approx(
        bayes_worst_group_accuracy(world, 1 - rho)
    )
    assert bayes_worst_group_accuracy(world, rho) <= core_only_accuracy(world) + 1e-12


def test_sample_world_exact_values_under_a_fixed_seed():
    world = make_world(n_features=3, rng=np.random.default_rng(0))
    inputs, labels, cue = sample_world(world, 5, agreement=0.5, rng=np.random.default_rng(0))
    assert labels.tolist() == [0, 1, 1, 1, 0]
    assert cue.tolist() == [1, 0, 0, 0, 1]
    assert np.round(inputs[0], 4).tolist() == [-0.5492, -0.8504, -1.5147]


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(5)
    params = init_mlp(2, 3, 4, rng=rng)
    params = {k: v.astype(np.float64) for k, v in params.items()}
    params["weights_out"] = rng.standard_normal((2, 4))
    params["bias_in"] = rng.standard_normal((2, 4))
    # predict_logits rounds its inputs to single precision; round them here too, so that the
    # loss and _gradients see the same inputs and the comparison is in double precision.
    inputs = rng.standard_normal((2, 7, 3)).astype(np.float32).astype(np.float64)
    signs = rng.choice([-1.0, 1.0], size=(2, 7))

    def loss(p):
        return np.logaddexp(0, -signs * predict_logits(p, inputs)).sum()

    grads = _gradients(params, _augment(inputs), signs, None)
    # Central differences err by h^2 |third derivative| / 6 (taken <= 1 here: the logistic
    # loss's third derivative is at most 0.1 per example, times weights of order 1) plus
    # rounding of order eps * loss / h. Measured: 1.3e-9 at h = 1e-4.
    step = 1e-4
    tolerance = step**2 + 4 * np.finfo(float).eps * loss(params) / step
    for name in params:
        for index in np.ndindex(params[name].shape):
            up = {k: v.copy() for k, v in params.items()}
            down = {k: v.copy() for k, v in params.items()}
            up[name][index] += step
            down[name][index] -= step
            numeric = (loss(up) - loss(down)) / (2 * step)
            assert abs(grads[name][index] - numeric) <= tolerance, (name, index)


def test_training_learns_a_separable_rule_and_leaves_the_input_untouched():
    rng = np.random.default_rng(6)
    inputs = rng.standard_normal((2, 300, 3))
    labels = (inputs[..., 0] - inputs[..., 2] > 0).astype(int)
    params = init_mlp(2, 3, 8, rng=rng)
    before = {k: v.copy() for k, v in params.items()}
    trained = train_mlp(params, inputs, labels, steps=300, learning_rate=0.05)
    assert np.all(accuracy(trained, inputs, labels) > 0.95)
    for name in params:
        assert np.array_equal(params[name], before[name])


def test_head_only_training_freezes_the_hidden_layer_exactly():
    rng = np.random.default_rng(7)
    inputs = rng.standard_normal((1, 50, 3))
    labels = rng.integers(0, 2, (1, 50))
    params = init_mlp(1, 3, 5, rng=rng)
    trained = train_mlp(
        params, inputs, labels, steps=20, learning_rate=0.1, trainable=("weights_out", "bias_out")
    )
    assert np.array_equal(trained["weights_in"], params["weights_in"])
    assert np.array_equal(trained["bias_in"], params["bias_in"])
    assert not np.array_equal(trained["weights_out"], params["weights_out"])


def test_group_accuracies_by_hand():
    params = init_mlp(1, 2, 3, rng=np.random.default_rng(0))
    params["bias_out"] = np.array([-1.0], dtype=np.float32)  # always predicts 0
    inputs = np.zeros((1, 6, 2))
    labels = np.array([[0, 0, 0, 1, 1, 1]])
    cue = np.array([[0, 1, 1, 0, 1, 1]])
    assert group_accuracies(params, inputs, labels, cue).tolist() == [[1.0, 1.0, 0.0, 0.0]]
    assert worst_group_accuracy(params, inputs, labels, cue).tolist() == [0.0]
    assert accuracy(params, inputs, labels).tolist() == [0.5]


def test_empty_groups_are_nan_in_group_accuracies_and_rejected_by_worst_group():
    params = init_mlp(1, 2, 3, rng=np.random.default_rng(0))
    params["bias_out"] = np.array([-1.0], dtype=np.float32)  # always predicts 0
    inputs = np.zeros((1, 3, 2))
    labels, cue = np.array([[0, 0, 1]]), np.array([[0, 1, 1]])  # no (label 1, cue 0)
    np.testing.assert_array_equal(
        group_accuracies(params, inputs, labels, cue), [[1.0, 1.0, np.nan, 0.0]]
    )
    with pytest.raises(
        ValueError,
        match=r"labels and cue must give every \(label, cue\) group "
        r"an example .* \(label, cue\) = \(1, 0\) for model 0",
    ):
        worst_group_accuracy(params, inputs, labels, cue)


def test_probe_reads_a_linear_feature_and_not_noise():
    rng = np.random.default_rng(8)
    features = rng.standard_normal((1, 2000, 4))
    readable = (features[..., 2] > 0).astype(int)
    noise = rng.integers(0, 2, (1, 2000))
    measured = probe_accuracy(
        features[:, :1000], readable[:, :1000], features[:, 1000:], readable[:, 1000:]
    )[0]
    # The fitted rule w.x + b > 0 errs, on fresh Gaussian features, where its sign and x_2's
    # differ: with z = w.x / |w| and x_2 standard bivariate normal of correlation w_2 / |w|,
    # P(x_2 > 0, z < t) + P(x_2 < 0, z > t) at t = -b / |w|.
    weights, intercept = fit_logistic_probe(features[:, :1000], readable[:, :1000])
    norm = np.linalg.norm(weights[0])
    threshold, correlation = -float(intercept[0]) / norm, weights[0, 2] / norm
    both_low = stats.multivariate_normal([0, 0], [[1, correlation], [correlation, 1]]).cdf(
        [0, threshold]
    )
    wrong = (stats.norm.cdf(threshold) - both_low) + (0.5 - both_low)
    assert abs(measured - (1 - wrong)) <= 4 * np.sqrt(wrong * (1 - wrong) / 1000)
    chance = probe_accuracy(
        features[:, :1000], noise[:, :1000], features[:, 1000:], noise[:, 1000:]
    )[0]
    assert abs(chance - 0.5) <= 4 * np.sqrt(0.25 / 1000)


@pytest.mark.parametrize("method", METHODS)
def test_repair_methods_touch_the_right_weights(method):
    rng = np.random.default_rng(9)
    params = init_mlp(2, 3, 4, rng=rng)
    params["weights_out"] = np.ones((2, 4), dtype=np.float32)
    inputs = rng.standard_normal((2, 30, 3))
    labels = rng.integers(0, 2, (2, 30))
    repaired = repair(params, inputs, labels, method=method, steps=10, learning_rate=0.05, rng=rng)
    frozen = np.array_equal(repaired["weights_in"], params["weights_in"])
    assert frozen == (method == "last_layer")


def test_last_layer_retraining_repairs_a_wide_network_on_interventional_data(world):
    rng = np.random.default_rng(10)
    inputs, labels, _ = sample_world(world, (2, 3000), agreement=0.95, rng=rng)
    pretrained = train_mlp(
        init_mlp(2, 6, 16, rng=rng), inputs, labels, steps=200, learning_rate=0.02
    )
    test = sample_world(world, (2, 3000), agreement=0.5, rng=rng)
    before = worst_group_accuracy(pretrained, *test).mean()
    after = repair_curve(
        pretrained,
        world,
        [1000],
        method="last_layer",
        agreement=0.5,
        test=test,
        steps=150,
        learning_rate=0.01,
        rng=rng,
    ).mean()
    # No classifier's worst group beats its balanced accuracy, and on interventional data no
    # balanced accuracy beats the core feature's: so both lie below core_only_accuracy, up to
    # the noise of the smallest group (binomial SE at most sqrt(0.25 / n)).
    groups = 2 * test[1] + test[2]
    smallest = min(np.bincount(row, minlength=4).min() for row in groups)
    se = np.sqrt(0.25 / smallest)
    core = core_only_accuracy(world)
    assert after <= core + 4 * se
    # Pretrained on rho = 0.95 the network leans on the cue (the Bayes rule there scores 0.318 on
    # the minority groups); last-layer retraining on interventional data lifts it, beyond noise.
    assert before < core - 4 * se
    assert after - before > 4 * np.sqrt(2) * se


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda w, r: make_world(n_features=1, rng=r),
            ValueError,
            "n_features must be an integer >= 2",
        ),
        (lambda w, r: make_world(core_noise=0.0, rng=r), ValueError, "core_noise must be positive"),
        (lambda w, r: make_world(rng=3), TypeError, "rng must be a numpy.random.Generator"),
        (
            lambda w, r: sample_world("world", 3, agreement=0.5, rng=r),
            TypeError,
            "world must be a SpuriousWorld",
        ),
        (
            lambda w, r: sample_world(w, (3, 0), agreement=0.5, rng=r),
            ValueError,
            "shape must be an integer",
        ),
        (
            lambda w, r: sample_world(w, [3], agreement=0.5, rng=r),
            TypeError,
            "shape must be an int or",
        ),
        (
            lambda w, r: sample_world(w, 3, agreement=-0.1, rng=r),
            ValueError,
            r"agreement must be in \[0, 1\]",
        ),
        (lambda w, r: bayes_worst_group_accuracy(w, 2.0), ValueError, "agreement must be in"),
        (lambda w, r: init_mlp(1, 3, 0, rng=r), ValueError, "n_hidden must be an integer >= 1"),
        (
            lambda w, r: hidden_layer(init_mlp(1, 3, 2, rng=r), np.zeros((1, 4, 5))),
            ValueError,
            r"inputs must have shape \(1, n_examples, 3\)",
        ),
        (
            lambda w, r: train_mlp(
                {"a": 1}, np.zeros((1, 2, 3)), np.zeros((1, 2)), steps=1, learning_rate=0.1
            ),
            TypeError,
            "params must be a dict",
        ),
        (
            lambda w, r: train_mlp(
                init_mlp(1, 3, 2, rng=r),
                np.zeros((1, 2, 3)),
                np.full((1, 2), 2),
                steps=1,
                learning_rate=0.1,
            ),
            ValueError,
            "labels must hold only 0 and 1",
        ),
        (
            lambda w, r: train_mlp(
                init_mlp(1, 3, 2, rng=r),
                np.zeros((1, 2, 3)),
                np.zeros((1, 2)),
                steps=1,
                learning_rate=0.1,
                trainable=("bias",),
            ),
            ValueError,
            "trainable must be",
        ),
        (
            lambda w, r: train_mlp(
                init_mlp(1, 3, 2, rng=r),
                np.zeros((1, 2, 3)),
                np.zeros((1, 2)),
                steps=1,
                learning_rate=-0.1,
            ),
            ValueError,
            "learning_rate must be positive",
        ),
        (
            lambda w, r: repair(
                init_mlp(1, 3, 2, rng=r),
                np.zeros((1, 2, 3)),
                np.zeros((1, 2)),
                method="prune",
                steps=1,
                learning_rate=0.1,
                rng=r,
            ),
            ValueError,
            "method must be one of",
        ),
        (
            lambda w, r: probe_accuracy(
                np.zeros((2, 3)), np.zeros(2), np.zeros((1, 2, 3)), np.zeros((1, 2))
            ),
            ValueError,
            "train_features must have shape",
        ),
        (lambda w, r: sample_group_balanced(w, (2, 6), rng=r), ValueError, "multiple of 4"),
        (
            lambda w, r: fit_logistic_probe(np.zeros((1, 4, 2)), np.zeros((1, 4)), penalty=-1.0),
            ValueError,
            "penalty must be non-negative",
        ),
        (
            lambda w, r: fit_logistic_probe(np.zeros((4, 2)), np.zeros(4)),
            ValueError,
            "features must have shape",
        ),
        (lambda w, r: mean_gap(np.zeros((2, 1)), np.zeros((2, 3))), ValueError, "n_models >= 2"),
        (
            lambda w, r: largest_doubling_gain([8, 16], np.zeros((3, 2))),
            ValueError,
            "values must have shape",
        ),
        (lambda w, r: RepairScenario(sizes=(6, 8)), ValueError, "multiples of 4"),
        (
            lambda w, r: group_accuracies(
                init_mlp(1, 3, 2, rng=r), np.zeros((1, 2, 3)), np.zeros((1, 3)), np.zeros((1, 2))
            ),
            ValueError,
            r"labels must have shape \(1, 2\), got \(1, 3\)",
        ),
        (
            lambda w, r: group_accuracies(
                init_mlp(1, 3, 2, rng=r), np.zeros((1, 2, 3)), np.zeros((1, 2)), np.full((1, 2), 3)
            ),
            ValueError,
            "cue must hold only 0 and 1",
        ),
        (
            lambda w, r: worst_group_accuracy(
                init_mlp(1, 3, 2, rng=r), np.zeros((2, 2, 3)), np.zeros((1, 2)), np.zeros((1, 2))
            ),
            ValueError,
            r"inputs must have shape \(1, n_examples, 3\), got \(2, 2, 3\)",
        ),
        (
            lambda w, r: repair_curve(
                init_mlp(1, 6, 2, rng=r),
                w,
                [4],
                method="prune",
                agreement=0.5,
                test=sample_world(w, (1, 8), agreement=0.5, rng=r),
                steps=1,
                learning_rate=0.1,
                rng=r,
            ),
            ValueError,
            "method must be one of",
        ),
        (
            lambda w, r: repair_curve(
                init_mlp(1, 6, 2, rng=r),
                w,
                [4],
                method="full",
                agreement=0.5,
                test=[np.zeros((1, 8, 6))],
                steps=1,
                learning_rate=0.1,
                rng=r,
            ),
            TypeError,
            r"test must be a tuple \(inputs, labels, cue\)",
        ),
        (
            lambda w, r: repair_curve(
                init_mlp(1, 6, 2, rng=r),
                w,
                [],
                method="full",
                agreement=0.5,
                test=sample_world(w, (1, 8), agreement=0.5, rng=r),
                steps=1,
                learning_rate=0.1,
                rng=r,
            ),
            ValueError,
            "sizes must hold at least one",
        ),
        (
            lambda w, r: repair_curve(
                init_mlp(1, 6, 2, rng=r),
                w,
                [0],
                method="full",
                agreement=0.5,
                test=sample_world(w, (1, 8), agreement=0.5, rng=r),
                steps=1,
                learning_rate=0.1,
                rng=r,
            ),
            ValueError,
            "sizes must be an integer",
        ),
        (
            lambda w, r: repair_curve(
                init_mlp(1, 6, 2, rng=r),
                w,
                [4],
                method="full",
                agreement=1.5,
                test=sample_world(w, (1, 8), agreement=0.5, rng=r),
                steps=1,
                learning_rate=0.1,
                rng=r,
            ),
            ValueError,
            r"agreement must be in \[0, 1\]",
        ),
    ],
)
def test_bad_inputs_are_rejected(world, call, error, message):
    with pytest.raises(error, match=message):
        call(world, np.random.default_rng(0))


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=3), st.integers(min_value=1, max_value=20))
def test_shapes_follow_the_batch(n_models, n_examples):
    rng = np.random.default_rng(0)
    world = make_world(n_features=4, rng=rng)
    inputs, labels, cue = sample_world(world, (n_models, n_examples), agreement=0.7, rng=rng)
    params = init_mlp(n_models, 4, 3, rng=rng)
    assert predict_logits(params, inputs).shape == (n_models, n_examples)
    assert group_accuracies(params, inputs, labels, cue).shape == (n_models, 4)


def test_group_balanced_sample_has_equal_groups_and_the_interventional_features(world):
    rng = np.random.default_rng(12)
    inputs, labels, cue = sample_group_balanced(world, (3, 40_000), rng=rng)
    groups = 2 * labels + cue
    assert all(np.bincount(row, minlength=4).tolist() == [10_000] * 4 for row in groups)
    # Within a group the latent features follow the same law as in sample_world.
    latent = _latent(world, inputs).reshape(-1, world.n_features)
    sign = (2 * labels - 1).ravel()
    core_noise = latent[:, 0] - world.core_shift * sign
    n = core_noise.size
    assert abs(core_noise.mean()) <= 4 * world.core_noise / np.sqrt(n)
    assert core_noise.std() == pytest.approx(world.core_noise, rel=4 * np.sqrt(0.5 / n))
    # The cue's noise (sd 0.25) flips its sign with probability Phi(-4), about 3e-5.
    flipped = np.mean(np.sign(latent[:, 1]) != (2 * cue - 1).ravel())
    expected = stats.norm.cdf(-1 / world.spurious_noise)
    assert abs(flipped - expected) <= 4 * np.sqrt(expected / n) + 1 / n


def test_minority_accuracy_is_the_pooled_share_and_unbiased_where_worst_group_is_not():
    params = init_mlp(1, 2, 3, rng=np.random.default_rng(0))
    params["bias_out"] = np.array([-1.0], dtype=np.float32)  # always predicts 0
    labels = np.array([[0, 0, 0, 1, 1, 1, 1]])
    cue = np.array([[0, 1, 1, 0, 0, 0, 1]])
    # minority: (y=0, cue=1) twice, right; (y=1, cue=0) three times, wrong: 2 of 5.
    assert minority_accuracy(params, np.zeros((1, 7, 2)), labels, cue).tolist() == [0.4]


def test_worst_group_of_two_equal_noisy_groups_is_biased_low_by_se_over_root_pi():
    # The reason the chapter checks pooled minority accuracy against the Bayes value.
    rng = np.random.default_rng(13)
    p, n, reps = 0.3, 1000, 20_000
    a, b = rng.binomial(n, p, (2, reps)) / n
    bias = np.minimum(a, b).mean() - p
    se_group = np.sqrt(p * (1 - p) / n)
    spread = np.minimum(a, b).std() / np.sqrt(reps)
    assert abs(bias + se_group / np.sqrt(np.pi)) <= 4 * spread


def test_logistic_probe_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(14)
    x = rng.standard_normal((3, 400, 4))
    y = (x[..., 0] - 0.5 * x[..., 2] + rng.standard_normal((3, 400)) > 0).astype(int)
    weights, intercept = fit_logistic_probe(x, y)
    for m in range(3):
        reference = LogisticRegression(tol=1e-10, max_iter=10_000).fit(x[m], y[m])
        assert np.allclose(weights[m], reference.coef_[0], atol=1e-6)
        assert intercept[m] == pytest.approx(reference.intercept_[0], abs=1e-6)


def test_probe_grid_reads_the_cue_from_a_network_and_the_label_from_inputs(world):
    rng = np.random.default_rng(15)
    params = init_mlp(2, world.n_features, 16, rng=rng)
    probe = sample_world(world, (2, 2000), agreement=0.5, rng=rng)
    test = sample_world(world, (2, 2000), agreement=0.5, rng=rng)
    grid = probe_grid(params, probe, test)
    n_test = test[1].size
    # The hidden-layer column is a probe on the network's activations, built here by hand.
    for row, target in enumerate((1, 2)):
        by_hand = probe_accuracy(
            hidden_layer(params, probe[0]),
            probe[target],
            hidden_layer(params, test[0]),
            test[target],
        ).mean()
        raw = probe_accuracy(probe[0], probe[target], test[0], test[target]).mean()
        assert grid[row, 0] == by_hand and grid[row, 1] == raw
    assert grid[0, 0] != grid[0, 1] and grid[1, 0] != grid[1, 1]
    core = core_only_accuracy(world)
    # Raw inputs: the label probe is the Bayes rule on interventional data, to within noise.
    assert abs(grid[0, 1] - core) <= 4 * np.sqrt(core * (1 - core) / n_test)
    # The cue's sign is linear in the inputs; its noise flips it with probability Phi(-1/sd).
    flip = stats.norm.cdf(-1 / world.spurious_noise)
    assert 1 - grid[1, 1] <= flip + 4 * np.sqrt(flip * (1 - flip) / n_test)


def test_mean_gap_and_largest_doubling_gain_by_hand():
    first = np.array([[0.0, 0.0, 0.0], [0.3, 0.6, 0.9]])
    second = np.zeros((2, 3))
    diff, se = mean_gap(first, second)
    assert diff == pytest.approx(0.6) and se == pytest.approx(0.3 / np.sqrt(3))
    curve = np.array([[0.1, 0.3], [0.2, 0.4], [0.3, 0.5]])
    k_from, k_to, gain, step_se, share = largest_doubling_gain([8, 16, 32], curve)
    assert gain == pytest.approx(0.1) and step_se == pytest.approx(0.0, abs=1e-12)
    assert share == pytest.approx(0.5)
    # Steps that differ between models: gains 0.1, 0.3, 0.5 from 16 to 32, sd 0.2 (ddof 1).
    curve = np.array([[0.0, 0.0, 0.0], [0.1, 0.1, 0.1], [0.2, 0.4, 0.6]])
    k_from, k_to, gain, step_se, share = largest_doubling_gain([8, 16, 32], curve)
    assert (int(k_from), int(k_to)) == (16, 32)
    assert gain == pytest.approx(0.3) and step_se == pytest.approx(0.2 / np.sqrt(3))
    assert share == pytest.approx(0.3 / 0.4)


def test_scenario_defaults_and_validation():
    scenario = RepairScenario()
    assert scenario.sizes == (8, 16, 32, 64, 128, 256, 512, 1024, 2048)
    assert all(isinstance(k, int) for k in scenario.sizes)
    with pytest.raises(ValueError, match="n_models must be at least 2"):
        RepairScenario(n_models=1)
    with pytest.raises(ValueError, match="deploy_agreement must be in"):
        RepairScenario(deploy_agreement=1.2)
    with pytest.raises(ValueError, match="repair_rate must be positive"):
        RepairScenario(repair_rate=0.0)


def test_dfr_on_balanced_observational_data_repairs_like_interventional_data(world):
    rng = np.random.default_rng(16)
    inputs, labels, _ = sample_world(world, (4, 3000), agreement=0.95, rng=rng)
    pretrained = train_mlp(
        init_mlp(4, 6, 16, rng=rng), inputs, labels, steps=200, learning_rate=0.02
    )
    test = sample_world(world, (4, 3000), agreement=0.5, rng=rng)
    options = dict(method="last_layer", test=test, steps=150, learning_rate=0.01, rng=rng)
    raw = repair_curve(pretrained, world, [1000], agreement=0.8, **options)
    balanced = repair_curve(pretrained, world, [1000], agreement=0.8, balanced=True, **options)
    diff, se = mean_gap(balanced, raw)
    assert diff > 4 * se
