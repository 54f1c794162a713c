"""Tests of lib.learners.inductive_bias: the poisoned objective, closed forms for the
least-squares fits and the Fourier amplitudes, properties of guess and check, bad inputs. (The
networks' gradients and Adam are tested in tests/test_networks.py.)"""

import numpy as np
import pytest

from lib.learners.inductive_bias import (
    GuessAndCheck,
    _ridge_path,
    align_hidden_units,
    boolean_cube,
    fit_linear,
    fourier_amplitudes,
    guess_and_check,
    guess_and_check_tasks,
    majority_labels,
    parity_labels,
    poison_examples,
    random_features_curves,
    random_features_errors,
    random_features_risk,
    random_relu_features,
    sample_network_parameters,
)
from lib.learners.networks import Network, forward, init_network, objective, per_example_loss

RNG_SEED = 12345


def _data(n=12, n_inputs=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_inputs))
    return rng, x, (x[:, 0] > 0).astype(int)


# --- The poisoned objective -------------------------------------------------------------------


def test_poisoned_objective_is_training_loss_plus_weighted_wrong_label_loss():
    rng, x, y = _data()
    x_poison, y_poison = rng.standard_normal((7, 3)), rng.integers(0, 2, 7)
    network = init_network(3, (5,), n_models=1, activation="tanh", init="lecun_normal", rng=rng)
    inputs, targets, weights = poison_examples(x, y, x_poison, y_poison, poison_weight=0.7)
    value, _ = objective(network, inputs, targets, example_weights=weights)

    def mean_loss(points, labels):
        return per_example_loss(forward(network, points), labels, output="logistic").mean()

    expected = mean_loss(x, y) + 0.7 * mean_loss(x_poison, 1 - y_poison)
    np.testing.assert_allclose(value, [expected], rtol=1e-12)


def test_poison_term_rewards_errors_on_the_poison_set():
    # Outputs that match the poison labels must cost more under the poison term than outputs
    # that contradict them; with weight 0 the poison set is ignored.
    _, x, y = _data()
    network = init_network(3, (), n_models=1, init="zeros", rng=np.random.default_rng(0))
    network.biases[0][:] = 3.0  # every logit is +3: predicts class 1 everywhere
    ones, zeros = np.ones(len(y), dtype=int), np.zeros(len(y), dtype=int)

    def value(poison_labels, weight):
        inputs, targets, weights = poison_examples(x, y, x, poison_labels, poison_weight=weight)
        return objective(network, inputs, targets, example_weights=weights)[0][0]

    assert value(ones, 1.0) > value(zeros, 1.0)
    assert value(ones, 0.0) == value(zeros, 0.0)


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


def test_sampled_networks_match_a_direct_forward_pass():
    network = sample_network_parameters(3, 4, 6, rng=np.random.default_rng(2))
    x = boolean_cube(3)
    d = 4  # one draw, by hand
    hidden = np.maximum(x @ network.weights[0][d] + network.biases[0][d], 0)
    direct = hidden @ network.weights[1][d, :, 0] + network.biases[1][d, 0]
    np.testing.assert_allclose(forward(network, x)[d], direct, rtol=1e-12)


def test_guess_and_check_fast_forward_matches_forward():
    from lib.learners.inductive_bias import _one_hidden_output

    network = sample_network_parameters(7, 32, 50, rng=np.random.default_rng(3))
    x = boolean_cube(7)
    np.testing.assert_allclose(_one_hidden_output(network, x), forward(network, x), atol=1e-12)


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
    assert isinstance(result, GuessAndCheck)
    assert 0 < result.n_accepted < 3_000
    assert np.all((0 <= result.test_accuracies) & (result.test_accuracies <= 1))
    # Every test point fitted too: training on the whole cube leaves accuracy 1 on it.
    whole = guess_and_check(
        cube, labels, cube, labels, n_hidden=6, n_draws=3_000, rng=np.random.default_rng(7)
    )
    assert np.all(whole.test_accuracies == 1.0)


# --- Fourier amplitudes ------------------------------------------------------------------------


def test_fourier_amplitudes_recover_a_known_spectrum():
    t = np.arange(64) / 64
    values = 2.0 * np.sin(2 * np.pi * 3 * t + 0.4) + 0.5 * np.cos(2 * np.pi * 7 * t)
    np.testing.assert_allclose(fourier_amplitudes(values, [3, 5, 7]), [2.0, 0.0, 0.5], atol=1e-12)


# --- Bad inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: boolean_cube(0), ValueError, "n_bits"),
        (lambda: majority_labels(boolean_cube(2)), ValueError, "odd number"),
        (lambda: parity_labels(np.zeros((2, 2))), ValueError, "-1 and 1"),
        (lambda: fit_linear(np.eye(2), np.ones(2), ridge=-1.0), ValueError, "ridge"),
        (lambda: fit_linear(np.eye(2), np.ones(3), ridge=0.0), ValueError, "matching rows"),
        (
            lambda: poison_examples(
                np.ones((2, 1)), [0, 2], np.ones((1, 1)), [0], poison_weight=1.0
            ),
            ValueError,
            "y_train",
        ),
        (
            lambda: poison_examples(np.ones((1, 1)), [0], np.ones((1, 1)), [0], poison_weight=-1.0),
            ValueError,
            "poison_weight",
        ),
        (
            lambda: poison_examples(np.ones((1, 2)), [0], np.ones((1, 1)), [0], poison_weight=1.0),
            ValueError,
            "equal columns",
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


# --- Added for issue 29: several labellings at once, ridge paths, unit alignment ---------------


def test_guess_and_check_tasks_matches_one_labelling_at_a_time():
    # One labelling checked alone draws the same networks from the same seed, so the shared
    # version must give exactly guess_and_check's accepted accuracies for each labelling.
    cube = boolean_cube(4)
    labels = np.stack([majority_labels(cube[:, :3]), parity_labels(cube)])
    fit, held = np.arange(5), np.arange(5, 16)
    together = guess_and_check_tasks(
        cube[fit],
        labels[:, fit],
        cube[held],
        labels[:, held],
        n_hidden=6,
        n_draws=3_000,
        rng=np.random.default_rng(RNG_SEED),
    )
    for task, result in enumerate(together):
        alone = guess_and_check(
            cube[fit],
            labels[task, fit],
            cube[held],
            labels[task, held],
            n_hidden=6,
            n_draws=3_000,
            rng=np.random.default_rng(RNG_SEED),
        )
        np.testing.assert_array_equal(result.test_accuracies, alone.test_accuracies)
    assert together[0].n_accepted > together[1].n_accepted > 0  # majority fits more often


def test_guess_and_check_tasks_rejects_bad_labels():
    cube = boolean_cube(3)
    with pytest.raises(ValueError, match="train_label_sets"):
        guess_and_check_tasks(
            cube[:2],
            [[0, 2]],
            cube[2:],
            [[0] * 6],
            n_hidden=2,
            n_draws=5,
            rng=np.random.default_rng(0),
        )
    with pytest.raises(ValueError, match="shape"):
        guess_and_check_tasks(
            cube[:2],
            [[0, 1]],
            cube[2:],
            [[0] * 5],
            n_hidden=2,
            n_draws=5,
            rng=np.random.default_rng(0),
        )


@pytest.mark.parametrize("shape", [(20, 5), (20, 20), (20, 60)])
def test_ridge_path_matches_fit_linear_for_every_penalty(shape):
    rng = np.random.default_rng(RNG_SEED)
    features, targets = rng.standard_normal(shape), rng.standard_normal((shape[0], 3))
    ridges = [0.0, 0.01, 1.0]
    path = _ridge_path(features, targets, ridges)
    for coefficients, ridge in zip(path, ridges):
        np.testing.assert_allclose(
            coefficients, fit_linear(features, targets, ridge=ridge), rtol=1e-8, atol=1e-10
        )


def test_random_features_curves_peak_at_the_threshold_and_ridge_shrinks_it():
    # Noisy linear targets, 30 points: the minimum-norm error peaks at 30 features, far above
    # 15 and 60, and a penalty of 1 removes most of that peak (Belkin et al., 2019).
    rng = np.random.default_rng(RNG_SEED)
    x, x_test = rng.standard_normal((30, 5)), rng.standard_normal((200, 5))
    w = rng.standard_normal((5, 2))
    y, y_test = x @ w + 0.5 * rng.standard_normal((30, 2)), x_test @ w
    mse, zero_one = random_features_curves(
        x, y, x_test, y_test, [15, 30, 60], ridges=[0.0, 1.0], n_repeats=10, rng=rng
    )
    log = np.log10(mse).mean(axis=1)
    assert mse.shape == zero_one.shape == (2, 10, 3)
    assert log[0, 1] > max(log[0, 0], log[0, 2]) + 0.5
    assert log[1, 1] - (log[1, 0] + log[1, 2]) / 2 < 0.5 * (log[0, 1] - (log[0, 0] + log[0, 2]) / 2)
    assert np.all((zero_one >= 0) & (zero_one <= 1))


def test_align_hidden_units_undoes_permutation_and_sign_and_keeps_the_function():
    rng = np.random.default_rng(RNG_SEED)
    a = init_network(4, 6, n_models=1, activation="tanh", init="lecun_normal", rng=rng)
    order, signs = rng.permutation(6), rng.choice([-1.0, 1.0], 6)
    b = Network(
        (a.weights[0][:, :, order] * signs, a.weights[1][:, order] * signs[:, None]),
        (a.biases[0][:, order] * signs, a.biases[1]),
        activation="tanh",
    )
    x = rng.standard_normal((7, 4))
    np.testing.assert_allclose(forward(b, x), forward(a, x), atol=1e-12)
    aligned = align_hidden_units(a, b)
    np.testing.assert_allclose(forward(aligned, x), forward(a, x), atol=1e-12)
    for p, q in zip((*aligned.weights, *aligned.biases), (*a.weights, *a.biases)):
        np.testing.assert_allclose(p, q, atol=1e-12)


def test_align_hidden_units_rejects_other_shapes():
    rng = np.random.default_rng(0)
    relu = init_network(3, 4, n_models=1, rng=rng)
    tanh = init_network(3, 4, n_models=1, activation="tanh", rng=rng)
    with pytest.raises(ValueError, match="tanh"):
        align_hidden_units(tanh, relu)
    with pytest.raises(TypeError, match="Network"):
        align_hidden_units(tanh, "not a network")


def test_random_features_errors_are_one_repeat_of_the_curves_row_by_row():
    rng = np.random.default_rng(4)
    x, x_test = rng.standard_normal((12, 3)), rng.standard_normal((7, 3))
    y, y_test = np.eye(2)[rng.integers(0, 2, 12)], np.eye(2)[rng.integers(0, 2, 7)]
    kwargs = dict(ridges=[0.0, 0.1], rng=np.random.default_rng(5))
    squared, wrong = random_features_errors(x, y, x_test, y_test, [4, 20], **kwargs)
    kwargs["rng"] = np.random.default_rng(5)
    mse, error = random_features_curves(x, y, x_test, y_test, [4, 20], n_repeats=1, **kwargs)
    assert squared.shape == wrong.shape == (2, 2, 7)
    np.testing.assert_allclose(squared.mean(axis=2), mse[:, 0])
    np.testing.assert_allclose(wrong.mean(axis=2), error[:, 0])
    assert set(np.unique(wrong)) <= {0.0, 1.0}
