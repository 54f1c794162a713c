"""Tests of lib.learners.representation_repair: properties, exact identities and bad inputs."""

import copy

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier

from lib.learners.representation_repair import (
    METHODS,
    REPAIR_DATA_KINDS,
    CounterfactualTest,
    converged,
    counterfactual_test,
    curve_noise,
    embed,
    fine_tune_path,
    fine_tune_paths,
    fine_tuning_start,
    group_accuracies,
    hidden_layer,
    hidden_layers,
    jtt_last_layer,
    leap_detection_rates,
    leap_share,
    pretrain,
    probe_accuracy,
    random_hidden_layer,
    reliance,
    repair,
    repair_scores,
    sample_repair_set,
    worst_group_accuracy,
)
from lib.worlds.coloured_digits import colour_digits, load_digit_pool

IMAGES, DIGITS = load_digit_pool()


class ReadsColour:
    """Predicts label 1 exactly when the green block is lit: a pure colour reader."""

    def predict(self, features):
        return (np.asarray(features)[:, 64:].sum(axis=1) > 0).astype(int)


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(7)
    data = colour_digits(IMAGES[:400], DIGITS[:400], p_agree=0.9, label_noise=0.0, rng=rng)
    model = pretrain(data, n_hidden=8, rng=rng)
    test = counterfactual_test(IMAGES[1400:1700], DIGITS[1400:1700], rng=rng)
    return model, test, (IMAGES[400:900], DIGITS[400:900])


def test_counterfactual_test_shows_each_image_in_both_colours():
    test = counterfactual_test(IMAGES[:30], DIGITS[:30], rng=np.random.default_rng(0))
    assert isinstance(test, CounterfactualTest)
    assert np.array_equal(test.holds.digit, test.reversed.digit)
    assert np.array_equal(test.holds.label, test.reversed.label)
    assert np.all(test.holds.colour == test.holds.label)
    assert np.all(test.reversed.colour == 1 - test.reversed.label)
    # The same pixels, in the other block.
    assert np.array_equal(test.holds.features.sum(axis=1), test.reversed.features.sum(axis=1))


def test_colour_reader_scores_exactly():
    test = counterfactual_test(IMAGES[:50], DIGITS[:50], rng=np.random.default_rng(0))
    assert np.array_equal(group_accuracies(ReadsColour(), test), [[1.0, 0.0], [1.0, 0.0]])
    scores = reliance(ReadsColour(), test, p_agree=0.7)
    assert scores["in_distribution"] == pytest.approx(0.7)
    assert scores["absent"] == 0.5 and worst_group_accuracy(ReadsColour(), test) == 0.0


def test_reliance_identities(world):
    model, test, _ = world
    scores = reliance(model, test, p_agree=0.9)
    assert scores["absent"] == pytest.approx((scores["holds"] + scores["reversed"]) / 2)
    assert scores["worst_group"] <= min(scores["holds"], scores["reversed"]) + 1e-12
    assert scores["in_distribution"] == pytest.approx(
        0.9 * scores["holds"] + 0.1 * scores["reversed"]
    )


def test_pretraining_on_an_always_agreeing_colour_learns_the_colour(world):
    rng = np.random.default_rng(3)
    data = colour_digits(IMAGES[:400], DIGITS[:400], p_agree=1.0, label_noise=0.0, rng=rng)
    model = pretrain(data, n_hidden=8, rng=rng)
    scores = reliance(model, world[1], p_agree=1.0)
    assert scores["holds"] > 0.95 and scores["reversed"] < 0.2


@pytest.mark.parametrize("kind", REPAIR_DATA_KINDS)
def test_repair_sets_are_label_balanced_and_drawn_from_the_pool(kind):
    rng = np.random.default_rng(1)
    pool = (IMAGES[:300], DIGITS[:300])
    data = sample_repair_set(*pool, n_examples=40, kind=kind, p_observed=0.8, rng=rng)
    assert data.n == 40 and np.bincount(data.label).tolist() == [20, 20]
    pixels = data.features[:, :64] + data.features[:, 64:]
    assert all(np.any(np.all(pool[0] == row, axis=1)) for row in pixels)
    if kind == "group_balanced":
        assert np.bincount(2 * data.label + data.colour).tolist() == [10] * 4


def test_observational_colours_agree_at_the_given_rate():
    rng = np.random.default_rng(2)
    shares = []
    for _ in range(10):
        data = sample_repair_set(
            IMAGES, DIGITS, n_examples=400, kind="observational", p_observed=0.8, rng=rng
        )
        shares.append(np.mean(data.colour == data.label))
    # 4,000 draws: standard error sqrt(0.8 * 0.2 / 4000) = 0.0063.
    assert abs(np.mean(shares) - 0.8) < 4 * 0.0063


def test_group_balanced_set_needs_enough_minority_examples():
    with pytest.raises(ValueError, match="fewer than the"):
        sample_repair_set(
            IMAGES[:100],
            DIGITS[:100],
            n_examples=80,
            kind="group_balanced",
            p_observed=0.95,
            rng=np.random.default_rng(0),
        )


def test_sample_repair_set_rejects_bad_inputs():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="multiple of 4"):
        sample_repair_set(
            IMAGES, DIGITS, n_examples=10, kind="observational", p_observed=0.8, rng=rng
        )
    with pytest.raises(ValueError, match="kind must be one of"):
        sample_repair_set(IMAGES, DIGITS, n_examples=8, kind="random", p_observed=0.8, rng=rng)
    with pytest.raises(ValueError, match="p_observed must be in"):
        sample_repair_set(IMAGES, DIGITS, n_examples=8, kind="observational", p_observed=2, rng=rng)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        sample_repair_set(IMAGES, DIGITS, n_examples=8, kind="observational", p_observed=0.8, rng=1)


def test_embed_is_relu_of_the_hidden_layer(world):
    model = world[0]
    x = world[1].holds.features[:5]
    expected = np.maximum(x @ model.coefs_[0] + model.intercepts_[0], 0)
    assert np.allclose(embed(hidden_layer(model), x), expected)
    with pytest.raises(ValueError, match="features must have shape"):
        embed(hidden_layer(model), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="fitted MLPClassifier"):
        hidden_layer(MLPClassifier())


def test_random_hidden_layer_follows_glorot_bounds():
    weights, bias = random_hidden_layer(128, 32, rng=np.random.default_rng(0))
    bound = np.sqrt(6 / 160)
    assert np.abs(weights).max() <= bound and np.abs(bias).max() <= bound
    # A uniform on ±b has standard deviation b / sqrt(3).
    assert abs(weights.std() - bound / np.sqrt(3)) < 0.05 * bound


def test_probes_read_the_colour_from_raw_features_and_reject_bad_targets(world):
    rng = np.random.default_rng(4)
    train = colour_digits(IMAGES[:300], DIGITS[:300], p_agree=0.5, label_noise=0.0, rng=rng)
    assert probe_accuracy(None, train, world[1].holds, target="colour") == 1.0
    # Ten digits, each split over two colour blocks: far above the 0.1 of guessing all the same.
    assert probe_accuracy(None, train, world[1].holds, target="digit") > 0.5
    with pytest.raises(ValueError, match="target must be"):
        probe_accuracy(None, train, world[1].holds, target="shape")


def test_last_layer_repair_freezes_the_representation(world):
    model, _, pool = world
    rng = np.random.default_rng(5)
    data = sample_repair_set(*pool, n_examples=32, kind="interventional", p_observed=0.8, rng=rng)
    before = [w.copy() for w in model.coefs_]
    fixed = repair(model, data, method="last_layer", steps=1, learning_rate=0.1, rng=rng)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.coefs_))
    weights, _ = fixed[0].kw_args["layer"]
    assert np.array_equal(weights, model.coefs_[0])


def test_lp_ft_starts_from_the_last_layer_fit(world):
    # At step 0, LP-FT predicts exactly as the last-layer fit: the folded standardisation is exact.
    model, test, pool = world
    rng = np.random.default_rng(6)
    data = sample_repair_set(*pool, n_examples=32, kind="interventional", p_observed=0.8, rng=rng)
    last = repair(model, data, method="last_layer", steps=1, learning_rate=0.1, rng=rng)
    start = fine_tune_path(
        model,
        data,
        method="lp_ft",
        checkpoints=[0],
        learning_rate=0.1,
        score=lambda tuned: float(
            np.mean(tuned.predict(test.holds.features) == last.predict(test.holds.features))
        ),
        rng=rng,
    )
    assert start[0] == 1.0


def test_fine_tune_path_resumes_exactly(world):
    # Gradient descent has no state: 3 + 4 steps give the weights of 7 uninterrupted steps.
    model, _, pool = world
    rng = np.random.default_rng(8)
    data = sample_repair_set(*pool, n_examples=16, kind="interventional", p_observed=0.8, rng=rng)
    first = []
    fine_tune_path(
        model,
        data,
        method="fine_tune",
        checkpoints=[3, 7],
        learning_rate=0.1,
        score=lambda m: first.append(m.coefs_[0].copy()) or 0.0,
        rng=rng,
    )
    second = []
    fine_tune_path(
        model,
        data,
        method="fine_tune",
        checkpoints=[7],
        learning_rate=0.1,
        score=lambda m: second.append(m.coefs_[0].copy()) or 0.0,
        rng=rng,
    )
    assert np.allclose(first[-1], second[0], rtol=0, atol=1e-12)
    assert not np.allclose(first[0], model.coefs_[0])


def test_fine_tuning_lowers_the_training_loss(world):
    model, _, pool = world
    rng = np.random.default_rng(9)
    data = sample_repair_set(*pool, n_examples=32, kind="interventional", p_observed=0.8, rng=rng)

    def loss(tuned):
        p = tuned.predict_proba(data.features)[np.arange(data.n), data.label]
        return float(-np.mean(np.log(p)))

    for method in ("fine_tune", "fine_tune_new_head", "lp_ft"):
        path = fine_tune_path(
            model, data, method=method, checkpoints=[0, 64], learning_rate=0.05, score=loss, rng=rng
        )
        assert path[1] < path[0]


def test_fine_tune_path_rejects_bad_inputs(world):
    model, _, pool = world
    rng = np.random.default_rng(0)
    data = sample_repair_set(*pool, n_examples=8, kind="interventional", p_observed=0.8, rng=rng)
    options = dict(learning_rate=0.1, score=lambda m: 0.0, rng=rng)
    with pytest.raises(ValueError, match="method must be one of"):
        fine_tune_path(model, data, method="last_layer", checkpoints=[1], **options)
    with pytest.raises(ValueError, match="increasing"):
        fine_tune_path(model, data, method="fine_tune", checkpoints=[4, 2], **options)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        fine_tune_path(
            model, data, method="fine_tune", checkpoints=[1], **dict(options, learning_rate=0.0)
        )
    with pytest.raises(TypeError, match="ColouredDigits"):
        fine_tune_path(model, (1, 2), method="fine_tune", checkpoints=[1], **options)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_returns_a_predictor(world, method):
    model, test, pool = world
    rng = np.random.default_rng(10)
    data = sample_repair_set(*pool, n_examples=16, kind="interventional", p_observed=0.8, rng=rng)
    fixed = repair(model, data, method=method, steps=2, learning_rate=0.1, rng=rng)
    assert 0.0 <= worst_group_accuracy(fixed, test) <= 1.0


def test_repair_scores_share_one_repair_set_per_size(world):
    model, test, pool = world
    rng = np.random.default_rng(11)
    layer = random_hidden_layer(128, 8, rng=rng)
    fits = {
        "a": (model, ("last_layer",), None),
        "b": (model, ("last_layer",), None),
        "untrained": (model, ("last_layer",), layer),
    }
    records = repair_scores(
        fits,
        *pool,
        test,
        kind="interventional",
        sizes=[8, 16],
        p_observed=0.8,
        steps=1,
        learning_rate=0.1,
        rng=rng,
    )
    assert len(records) == 6
    by = {(r["model"], r["k"]): r["worst_group"] for r in records}
    # The same model on the same set, by a deterministic method: identical scores.
    assert by[("a", 8)] == by[("b", 8)] and by[("a", 16)] == by[("b", 16)]


def test_repair_scores_repairs_a_model_only_at_its_own_sizes(world):
    model, test, pool = world
    run = dict(
        kind="interventional",
        sizes=[8, 16],
        p_observed=0.8,
        steps=1,
        learning_rate=0.1,
    )
    every = repair_scores(
        {"a": (model, ("last_layer",), None)}, *pool, test, rng=np.random.default_rng(3), **run
    )
    some = repair_scores(
        {"a": (model, ("last_layer",), None, (16,))},
        *pool,
        test,
        rng=np.random.default_rng(3),
        **run,
    )
    # Only k = 16, on the same repair set as when every size runs.
    assert [r["k"] for r in some] == [16]
    assert some[0] == every[1]


def test_leap_share_limits():
    even = np.linspace(0, 1, 6)[None, :]
    step = np.array([[0, 0, 0, 1, 1, 1.0]])
    assert leap_share(even)[0] == pytest.approx(0.2)
    assert leap_share(step)[0] == 1.0
    assert np.isnan(leap_share(-even)[0])
    with pytest.raises(ValueError, match="n_points >= 3"):
        leap_share([[0.0, 1.0]])
    with pytest.raises(ValueError, match="min_gain must be non-negative"):
        leap_share(even, min_gain=-1.0)


def test_leap_detection_rates_without_noise_and_with_overwhelming_noise():
    rng = np.random.default_rng(0)
    assert leap_detection_rates(0.5, 0.0, 5, threshold=0.5, n_draws=500, rng=rng) == (1.0, 0.0)
    power, false_alarm = leap_detection_rates(0.1, 10.0, 5, threshold=0.5, n_draws=4000, rng=rng)
    # Noise swamps the gain: a leap and an even climb are flagged about equally often.
    assert abs(power - false_alarm) < 0.05
    with pytest.raises(ValueError, match="gain must be positive"):
        leap_detection_rates(0.0, 0.1, 5, threshold=0.5, n_draws=10, rng=rng)


def test_curve_noise_ignores_offsets_and_linear_trends():
    rng = np.random.default_rng(1)
    clean = np.linspace(0, 3, 20) + rng.normal(0, 5, (300, 1))
    assert curve_noise(clean) < 1e-12
    noisy = clean + 0.2 * rng.standard_normal(clean.shape)
    assert abs(curve_noise(noisy) - 0.2) < 0.01


def test_lp_ft_reuses_the_last_layer_fit_without_changing_it(world):
    # repair_scores fits "last_layer" and then "lp_ft" on the same set; LP-FT reuses that fit.
    # The result must equal LP-FT started afresh, and an unrelated data set must not hit it.
    from lib.learners import representation_repair as rr

    model, _, pool = world
    data, other = (
        sample_repair_set(*pool, n_examples=32, kind="interventional", p_observed=0.8, rng=r)
        for r in np.random.default_rng(11).spawn(2)
    )

    def lp_ft(on):
        tuned = repair(
            model, on, method="lp_ft", steps=5, learning_rate=0.1, rng=np.random.default_rng(0)
        )
        return [w.copy() for w in tuned.coefs_]

    rr._RECENT_FITS.clear()
    fresh = lp_ft(data)
    rr._RECENT_FITS.clear()
    last = repair(
        model, data, method="last_layer", steps=1, learning_rate=0.1, rng=np.random.default_rng(0)
    )
    assert len(rr._RECENT_FITS) == 1
    reused = lp_ft(data)
    assert all(np.array_equal(a, b) for a, b in zip(fresh, reused))
    # the returned last-layer model is a copy: refitting it cannot corrupt the shared fit
    last.fit(other.features, other.label)
    assert all(np.array_equal(a, b) for a, b in zip(fresh, lp_ft(data)))
    assert not all(np.array_equal(a, b) for a, b in zip(fresh, lp_ft(other)))


def test_pretraining_converges_and_says_so(world):
    model, _, _ = world
    assert converged(model) and model.solver == "lbfgs" and model.n_iter_ < model.max_iter


def test_a_fixed_epoch_budget_is_reported_as_not_converged():
    rng = np.random.default_rng(10)
    data = colour_digits(IMAGES[:200], DIGITS[:200], p_agree=0.9, label_noise=0.0, rng=rng)
    stopped = pretrain(data, n_hidden=4, rng=rng, epochs=5)
    assert stopped.n_iter_ == 5 and not converged(stopped)


@pytest.mark.parametrize("epochs", [1, 2, 7])
def test_a_fixed_epoch_budget_runs_exactly_that_many_epochs_of_adam(epochs):
    rng = np.random.default_rng(12)
    data = colour_digits(IMAGES[:300], DIGITS[:300], p_agree=0.9, label_noise=0.0, rng=rng)
    stopped = pretrain(data, n_hidden=4, rng=rng, epochs=epochs)
    assert stopped.solver == "adam" and len(stopped.loss_curve_) == epochs


def test_training_on_from_a_network_keeps_its_shape_and_rejects_another_width(world):
    model, _, _ = world
    rng = np.random.default_rng(11)
    data = colour_digits(IMAGES[:400], DIGITS[:400], p_agree=1.0, label_noise=0.0, rng=rng)
    on = pretrain(data, n_hidden=8, rng=rng, start=model)
    assert converged(on) and on.coefs_[0].shape == model.coefs_[0].shape
    assert on is not model and not np.array_equal(on.coefs_[0], model.coefs_[0])
    with pytest.raises(ValueError, match="hidden units"):
        pretrain(data, n_hidden=4, rng=rng, start=model)


def _scikit_learn_gradient_descent(model, data, steps, learning_rate):
    # scikit-learn's own solver: full-batch SGD without momentum, stopped after exactly `steps`
    # epochs by its no-improvement rule (best loss set to minus infinity), so that it never
    # runs out of max_iter and warns.
    tuned = copy.deepcopy(model).set_params(
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=learning_rate,
        momentum=0.0,
        nesterovs_momentum=False,
        batch_size=data.n,
        shuffle=False,
        early_stopping=False,
        tol=0.0,
        warm_start=True,
        n_iter_no_change=steps - 1,
        max_iter=steps + 1,
    )
    if hasattr(tuned, "_optimizer"):
        del tuned._optimizer
    tuned.loss_curve_, tuned._no_improvement_count, tuned.best_loss_ = [], 0, -np.inf
    tuned.validation_scores_ = tuned.best_validation_score_ = None
    tuned.fit(data.features, data.label)
    assert tuned.n_iter_ == steps
    return tuned


@pytest.mark.parametrize("method", ["fine_tune", "fine_tune_new_head", "lp_ft"])
def test_fine_tuning_is_scikit_learns_gradient_descent_to_the_bit(world, method):
    model, _, pool = world
    rng = np.random.default_rng(12)
    data = sample_repair_set(*pool, n_examples=16, kind="interventional", p_observed=0.8, rng=rng)
    start = fine_tuning_start(model, data, method=method, rng=np.random.default_rng(3))
    reference = _scikit_learn_gradient_descent(start, data, 9, 0.1)
    ours = repair(
        model, data, method=method, steps=9, learning_rate=0.1, rng=np.random.default_rng(3)
    )
    assert ours.n_iter_ == 9
    for a, b in zip(ours.coefs_ + ours.intercepts_, reference.coefs_ + reference.intercepts_):
        assert np.array_equal(a, b)


def test_stacked_paths_are_the_single_paths(world):
    _, test, pool = world
    rng = np.random.default_rng(14)
    # Pretrained where colour tells nothing, so that worst-group accuracy is far from 0.
    data = colour_digits(IMAGES[:400], DIGITS[:400], p_agree=0.5, label_noise=0.0, rng=rng)
    model = pretrain(data, n_hidden=8, rng=rng)
    data = [
        sample_repair_set(*pool, n_examples=64, kind=kind, p_observed=0.8, rng=rng)
        for kind in ("interventional", "observational")
    ]
    methods = ("fine_tune_new_head", "lp_ft")
    starts = [
        fine_tuning_start(model, d, method=m, rng=np.random.default_rng(5))
        for d, m in zip(data, methods)
    ]
    stacked = fine_tune_paths(
        starts, data, [test, test], checkpoints=[0, 5, 100], learning_rate=0.1
    )
    single = [
        fine_tune_path(
            model,
            d,
            method=m,
            checkpoints=[0, 5, 100],
            learning_rate=0.1,
            score=lambda tuned: worst_group_accuracy(tuned, test),
            rng=np.random.default_rng(5),
        )
        for d, m in zip(data, methods)
    ]
    assert np.array_equal(stacked, np.array(single))
    assert np.unique(stacked).size > 2  # the paths move, so equality says something


def test_fine_tune_paths_rejects_bad_inputs(world):
    model, test, pool = world
    rng = np.random.default_rng(15)
    small, large = (
        sample_repair_set(*pool, n_examples=k, kind="interventional", p_observed=0.8, rng=rng)
        for k in (8, 16)
    )
    start = fine_tuning_start(model, small, method="fine_tune", rng=rng)
    with pytest.raises(ValueError, match="one shape"):
        fine_tune_paths(
            [start, start], [small, large], [test, test], checkpoints=[1], learning_rate=0.1
        )
    with pytest.raises(ValueError, match="equally long"):
        fine_tune_paths([start], [small, small], [test], checkpoints=[1], learning_rate=0.1)
    with pytest.raises(ValueError, match="increasing"):
        fine_tune_paths([start], [small], [test], checkpoints=[2, 1], learning_rate=0.1)
    with pytest.raises(ValueError, match="method must be one of"):
        fine_tuning_start(model, small, method="last_layer", rng=rng)


def test_a_fit_that_fails_to_converge_is_refitted_not_returned():
    # The first start is given one iteration (so it cannot converge and scikit-learn warns);
    # the fit is repeated from a new start, and the restart is counted on the model.
    from lib.learners.representation_repair import _fit_to_convergence

    rng = np.random.default_rng(13)
    data = colour_digits(IMAGES[:100], DIGITS[:100], p_agree=0.5, label_noise=0.0, rng=rng)
    budgets = iter([1, 10_000])

    def make(seed):
        return MLPClassifier(
            hidden_layer_sizes=(4,), solver="lbfgs", max_iter=next(budgets), random_state=seed
        )

    fitted = _fit_to_convergence(make, data, rng=rng)
    assert fitted.restarts_ == 1 and converged(fitted)


def test_a_fit_that_never_converges_warns():
    from sklearn.exceptions import ConvergenceWarning

    from lib.learners.representation_repair import _fit_to_convergence

    rng = np.random.default_rng(14)
    data = colour_digits(IMAGES[:100], DIGITS[:100], p_agree=0.5, label_noise=0.0, rng=rng)

    def make(seed):
        return MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=1, random_state=seed)

    with pytest.warns(ConvergenceWarning):
        _fit_to_convergence(make, data, rng=rng, restarts=2)


def test_jtt_up_weights_exactly_the_errors_and_equals_the_plain_fit_at_weight_one():
    rng = np.random.default_rng(3)
    data = colour_digits(IMAGES[:300], DIGITS[:300], p_agree=0.9, label_noise=0.0, rng=rng)
    net = pretrain(data, n_hidden=4, rng=rng)
    repair_set = colour_digits(
        IMAGES[300:500], DIGITS[300:500], p_agree=0.8, label_noise=0.0, rng=rng
    )
    wrong = net.predict(repair_set.features) != repair_set.label
    assert wrong.any() and not wrong.all()
    fixed = jtt_last_layer(net, repair_set)
    assert fixed.errors_ == wrong.sum()
    assert fixed.up_weight_ == pytest.approx((~wrong).sum() / wrong.sum())
    plain = repair(net, repair_set, method="last_layer", steps=1, learning_rate=0.1, rng=rng)
    unweighted = jtt_last_layer(net, repair_set, up_weight=1.0)
    np.testing.assert_allclose(unweighted[-1].coef_, plain[-1].coef_, rtol=1e-6, atol=1e-8)
    # Up-weighting the errors moves the fit towards them: it gets more of them right.
    assert np.sum(fixed.predict(repair_set.features[wrong]) == repair_set.label[wrong]) >= np.sum(
        plain.predict(repair_set.features[wrong]) == repair_set.label[wrong]
    )


def test_the_lean_loss_and_gradient_equal_scikit_learns_to_the_bit(monkeypatch):
    # Pretraining (L-BFGS, Adam epochs), a scratch network and fine-tuning (gradient descent)
    # with the module's lean _backprop, then again with scikit-learn's own: identical weights.
    import contextlib

    import lib.learners.representation_repair as module

    def fits():
        rng = np.random.default_rng(13)
        data = colour_digits(IMAGES[:300], DIGITS[:300], p_agree=0.9, label_noise=0.0, rng=rng)
        repair_set = colour_digits(
            IMAGES[300:400], DIGITS[300:400], p_agree=0.5, label_noise=0.0, rng=rng
        )
        nets = [pretrain(data, n_hidden=h, rng=rng) for h in (2, 8)]
        nets.append(pretrain(data, n_hidden=8, rng=rng, epochs=3))
        for method in ("fine_tune", "fine_tune_new_head", "lp_ft", "scratch_network"):
            nets.append(
                repair(nets[1], repair_set, method=method, steps=5, learning_rate=0.1, rng=rng)
            )
        return [w for net in nets for w in net.coefs_ + net.intercepts_]

    lean = fits()
    monkeypatch.setattr(module, "_lean", contextlib.nullcontext)
    plain = fits()
    assert len(lean) == len(plain) and all(np.array_equal(a, b) for a, b in zip(lean, plain))


def test_a_probe_scored_on_both_renderings_is_the_probe_scored_on_each(world):
    model, test, pool = world
    train = colour_digits(*pool, p_agree=0.5, label_noise=0.0, rng=np.random.default_rng(16))
    both = probe_accuracy(hidden_layer(model), train, test, target="label")
    assert both == {
        name: probe_accuracy(hidden_layer(model), train, view, target="label")
        for name, view in (("holds", test.holds), ("reversed", test.reversed))
    }


def test_a_deeper_network_is_repaired_on_its_last_hidden_layer(world):
    _, test, pool = world
    rng = np.random.default_rng(17)
    data = colour_digits(IMAGES[:400], DIGITS[:400], p_agree=0.9, label_noise=0.0, rng=rng)
    deep = pretrain(data, n_hidden=8, depth=3, rng=rng)
    layers = hidden_layers(deep)
    assert converged(deep) and [w.shape for w, _ in layers] == [(128, 8), (8, 8), (8, 8)]
    repair_set = sample_repair_set(
        *pool, n_examples=32, kind="interventional", p_observed=0.8, rng=rng
    )
    fixed = repair(
        deep, repair_set, method="last_layer", steps=1, learning_rate=0.1, rng=rng, layer=layers
    )
    assert fixed.predict(test.holds.features).shape == test.holds.label.shape
    # The embedding is the network's own last hidden layer: its output layer on it is the network.
    hidden = embed(layers, test.holds.features)
    logits = hidden @ deep.coefs_[-1][:, 0] + deep.intercepts_[-1][0]
    assert np.array_equal((logits > 0).astype(int), deep.predict(test.holds.features))
    with pytest.raises(ValueError, match="depth"):
        pretrain(data, n_hidden=8, depth=2, epochs=3, rng=rng)
