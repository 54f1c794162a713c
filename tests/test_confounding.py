"""Tests of lib.worlds.confounding: closed forms, properties, bad inputs and exact values under a seed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from lib.worlds.confounding import (
    IceCreamWorld,
    Sample,
    adjust_for_sun,
    causal_effect,
    decision_regret,
    estimate_contrast,
    excess_log_loss,
    excess_loss_constant,
    fit_counts,
    fit_logistic,
    ice_cream_table,
    interventional_ice_cream,
    joint_distribution,
    linear_gaussian_slope,
    lowest_log_loss,
    observational_contrast,
    pooled_sunniness,
    predict_from_shorts,
    predict_logistic,
    predict_under_intervention,
    predictor_from_counts,
    sample_counts,
    sample_linear_gaussian,
    sample_pool_counts,
    sample_world,
    shorts_table,
    sunniness_features,
)

WORLD = IceCreamWorld()


def test_named_constructor_is_the_default_world():
    assert IceCreamWorld.weak_negative_effect() == WORLD


probabilities = st.floats(0.0, 1.0)
inner = st.floats(0.01, 0.99)


def worlds(base=probabilities, slack=0.0):
    # Valid worlds: the effect is chosen so that base + effect stays in [slack, 1 - slack].
    def build(a1, a0, b1, b0, u):
        low, high = slack - min(b1, b0), 1 - slack - max(b1, b0)
        return IceCreamWorld(a1, a0, b1, b0, low + (high - low) * u)

    return st.builds(build, inner, inner, base, base, st.floats(0.0, 1.0))


# --- closed forms -------------------------------------------------------------------------------


def test_hand_computed_predictor():
    # q = 0.5: P(Z=1 | S=1) = 0.45 / (0.45 + 0.05) = 0.9, so P(Y=1 | S=1) = 0.9*0.75 + 0.1*0.05.
    assert predict_from_shorts(WORLD, 0.5)[1] == pytest.approx(0.9 * 0.75 + 0.1 * 0.05)
    assert predict_from_shorts(WORLD, 0.5)[0] == pytest.approx(0.1 * 0.8 + 0.9 * 0.1)


def test_tables():
    np.testing.assert_allclose(shorts_table(WORLD), [0.1, 0.9])
    np.testing.assert_allclose(ice_cream_table(WORLD), [[0.1, 0.05], [0.8, 0.75]])


@given(worlds(), probabilities)
def test_joint_is_a_distribution_with_the_right_margins(world, q):
    joint = joint_distribution(world, q)
    assert joint.sum() == pytest.approx(1.0)
    assert joint[1].sum() == pytest.approx(q)
    assert np.all(joint >= 0)


@given(worlds(), probabilities, probabilities, st.floats(0.0, 1.0))
def test_pool_of_two_towns_is_the_town_of_mean_sunniness(world, q1, q2, w):
    mixed = w * joint_distribution(world, q1) + (1 - w) * joint_distribution(world, q2)
    q_bar = pooled_sunniness([q1, q2], [w, 1 - w])
    np.testing.assert_allclose(mixed, joint_distribution(world, q_bar), atol=1e-12)


@given(worlds(), probabilities)
def test_causal_effect_is_the_direct_effect_in_every_town(world, q):
    assert float(causal_effect(world, q)) == pytest.approx(world.shorts_effect, abs=1e-12)


def test_intervention_cuts_the_arrow_from_the_sun():
    joint = joint_distribution(WORLD, 0.3, do_shorts=1)
    assert joint[:, 0].sum() == 0.0
    assert joint[1].sum() == pytest.approx(0.3)
    assert float(interventional_ice_cream(WORLD, 0.3, 0)) == pytest.approx(0.3 * 0.8 + 0.7 * 0.1)


@settings(max_examples=50)
@given(worlds(base=inner, slack=0.005), st.floats(0.02, 0.98), st.floats(0.02, 0.98))
def test_excess_loss_is_non_negative_and_zero_at_the_matching_town(world, q_train, q_test):
    excess = float(excess_log_loss(world, q_test, predict_from_shorts(world, q_train)))
    assert excess >= -1e-15


@settings(max_examples=50)
@given(worlds(base=inner, slack=0.005), st.floats(0.02, 0.98))
def test_excess_loss_is_zero_when_trained_in_the_test_town(world, q):
    excess = float(excess_log_loss(world, q, predict_from_shorts(world, q)))
    assert excess == pytest.approx(0.0, abs=1e-15)


def test_pooled_predictor_differs_from_a_town_of_other_sunniness():
    # Chapter 01's former headlines "the target's excess loss stays above estimation error" (pool
    # of all five towns; pool with a fifth of the target's days) restated this: under confounding
    # the pooled limit is a town's own predictor only when the pool is as sunny as that town. It
    # is a property of the closed form, so it is a test here and a sanity check in the chapter.
    target, pools = 0.1, np.array([0.5, 0.2 * 0.1 + 0.8 * 0.6, 0.1])
    excess = excess_log_loss(WORLD, target, predict_from_shorts(WORLD, pools))
    assert excess[0] == pytest.approx(0.04197, abs=5e-6)
    assert excess[1] > 1e-3 and excess[2] == pytest.approx(0.0, abs=1e-15)


def test_confounded_world_has_concept_shift():
    # With the sun driving both shorts and ice cream, P(Y=1 | S=1) increases with sunniness.
    curve = predict_from_shorts(WORLD, np.linspace(0.01, 0.99, 50))
    assert np.all(np.diff(curve, axis=0) > 0)
    assert float(observational_contrast(WORLD, 0.5)) == pytest.approx(0.51)


def test_excess_loss_with_the_sun_is_zero_at_the_truth_everywhere():
    losses = excess_log_loss(WORLD, np.linspace(0, 1, 11), ice_cream_table(WORLD), sees_sun=True)
    np.testing.assert_allclose(losses, 0.0, atol=1e-15)


def test_excess_loss_constant_in_distribution_is_half_the_number_of_cells():
    assert excess_loss_constant(WORLD, 0.3, 0.3) == pytest.approx(1.0)
    assert excess_loss_constant(WORLD, 0.3, 0.3, sees_sun=True) == pytest.approx(2.0)


def test_decision_regret():
    np.testing.assert_allclose(decision_regret(-0.05, [0.5, -0.1], 0.1), [0.15, 0.0])
    # Not acting when acting was right costs the forgone net gain.
    np.testing.assert_allclose(decision_regret(0.3, 0.0, 0.1), 0.2)


def test_causal_predictor_closed_form():
    # P(Y=1 | do(S=s)) = b_0 + delta s + (b_1 - b_0) q, whatever the mechanism for shorts.
    for q in (0.0, 0.1, 0.5, 1.0):
        expected = [0.1 + 0.7 * q, 0.1 + 0.7 * q - 0.05]
        np.testing.assert_allclose(predict_under_intervention(WORLD, q), expected, atol=1e-12)
    effect = np.diff(predict_under_intervention(WORLD, [0.1, 0.9]), axis=-1)[..., 0]
    np.testing.assert_allclose(effect, causal_effect(WORLD, [0.1, 0.9]), atol=1e-12)


@given(worlds(), probabilities)
def test_randomised_experiment_reveals_the_causal_predictor(world, q):
    # Under shorts assigned by coin, P(Y | S) of the experimental data is P(Y | do(S)).
    joint = joint_distribution(world, q, do_shorts=0.5).sum(axis=-3)  # [s, y]
    np.testing.assert_allclose(
        joint[:, 1] / joint.sum(axis=-1), predict_under_intervention(world, q), atol=1e-12
    )


# The chapter's world and its control: the sun no longer affects ice cream, so it confounds nothing.
UNCONFOUNDED = IceCreamWorld(0.9, 0.1, 0.45, 0.45, -0.05)


def test_causal_predictor_predicts_worse_than_erm_only_under_confounding():
    # In the limit of infinite data: the causal predictor of the pool (q = 0.5) loses more than
    # ERM's pooled predictor in the pool and in the cloudy target town, and exactly as much when
    # the sun confounds nothing.
    for q in (0.5, 0.1):
        causal = excess_log_loss(WORLD, q, predict_under_intervention(WORLD, 0.5))
        erm = excess_log_loss(WORLD, q, predict_from_shorts(WORLD, 0.5))
        assert causal > erm + 0.1
        same = [
            excess_log_loss(UNCONFOUNDED, q, f(UNCONFOUNDED, 0.5))
            for f in (predict_under_intervention, predict_from_shorts)
        ]
        assert same[0] == pytest.approx(same[1], abs=1e-12)


def test_regrets_of_the_closed_forms():
    # Acting on the causal predictor never costs anything: its promise is the true effect.
    costs = np.linspace(-0.2, 0.8, 11)
    np.testing.assert_allclose(decision_regret(-0.05, -0.05, costs), 0.0)
    # The town label's promise (the target's own contrast, 0.291) and pooled ERM's (0.510) both
    # exceed the cost 0.1, so both put shorts on and lose the same: the label fixes nothing here.
    label, erm = observational_contrast(WORLD, 0.1), observational_contrast(WORLD, 0.5)
    assert decision_regret(-0.05, label, 0.1) == pytest.approx(decision_regret(-0.05, erm, 0.1))
    assert float(decision_regret(-0.05, label, 0.1)) == pytest.approx(0.15)
    # Not for every cost: between the two promises the label decides right and ERM wrong.
    assert decision_regret(-0.05, label, 0.4) == 0 < decision_regret(-0.05, erm, 0.4)


def test_control_world_has_no_confounding():
    # The premise of the chapter's controls: when the sun does not affect ice cream,
    # P(Y | S) = P(Y | do(S)) in every town, so every predictor from shorts promises the true effect.
    q = np.linspace(0.0, 1.0, 11)
    np.testing.assert_allclose(
        predict_from_shorts(UNCONFOUNDED, q),
        predict_under_intervention(UNCONFOUNDED, q),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        observational_contrast(UNCONFOUNDED, q), causal_effect(UNCONFOUNDED, q), atol=1e-12
    )


def test_regret_is_a_step_function_of_the_promise():
    # Why the chapter checks promises, not regrets: every promise on one side of the cost gives
    # the same regret, so regrets of well-estimated models carry no sampling error.
    promises = np.linspace(0.1001, 0.9, 50)
    acted = decision_regret(-0.05, promises, 0.1)
    assert np.unique(acted).size == 1 and acted[0] == pytest.approx(0.15)
    np.testing.assert_array_equal(decision_regret(-0.05, promises - 0.9, 0.1), 0.0)


def test_pooled_predictor_mixes_by_the_share_of_days_with_each_value_of_shorts():
    # P_pi(Y | s) = alpha_s P_t(Y | s) + (1 - alpha_s) P_r(Y | s), alpha_s the target's share of
    # the days with S = s (not of all days); the naive mix by pi differs.
    target, rest, pi = 0.1, 0.6, np.linspace(0, 1, 21)[:, None]
    p_target = joint_distribution(WORLD, target).sum(axis=(0, 2))
    p_rest = joint_distribution(WORLD, rest).sum(axis=(0, 2))
    alpha = pi * p_target / (pi * p_target + (1 - pi) * p_rest)
    ends = predict_from_shorts(WORLD, np.array([rest, target]))
    mixed = predict_from_shorts(WORLD, (1 - pi[:, 0]) * rest + pi[:, 0] * target)
    np.testing.assert_allclose(mixed, (1 - alpha) * ends[0] + alpha * ends[1], atol=1e-12)
    naive = (1 - pi) * ends[0] + pi * ends[1]
    assert np.abs(mixed - naive)[10, 1] > 0.05


def test_linear_gaussian_slope_closed_form_and_pool():
    np.testing.assert_allclose(linear_gaussian_slope([0.0, 1.0, 3.0], 1.0), [0.0, 0.5, 0.75])
    # A pool of centred environments (equal shares) has the mean variances: its slope is that
    # of an average environment, not the mean of the slopes.
    hidden, noise = np.array([0.5, 2.0]), 1.0
    pooled = float(linear_gaussian_slope(hidden.mean(), noise))
    assert pooled == pytest.approx(1.25 / 2.25)
    assert pooled != pytest.approx(linear_gaussian_slope(hidden, noise).mean())


def test_linear_gaussian_sample_has_the_closed_form_slope():
    from scipy import stats

    x, y = sample_linear_gaussian(2.0, 1.0, 0.5, 200_000, rng=np.random.default_rng(12))
    fit = stats.linregress(x, y)
    assert abs(fit.slope - float(linear_gaussian_slope(2.0, 1.0))) < 4 * fit.stderr


# --- estimators against closed forms, with tolerances from standard errors ---------------------


def test_counting_equals_unpenalised_logistic_regression():
    days = sample_world(WORLD, 0.4, 5_000, rng=np.random.default_rng(3))
    model = LogisticRegression(C=np.inf, tol=1e-10, solver="newton-cholesky")
    fitted = model.fit(days.shorts[:, None], days.ice_cream).predict_proba([[0], [1]])[:, 1]
    np.testing.assert_allclose(fitted, fit_counts(days.shorts, days.ice_cream, prior=0), atol=1e-8)


def test_sampled_frequencies_match_the_joint_distribution():
    n = 200_000
    days = sample_world(WORLD, 0.3, n, rng=np.random.default_rng(4))
    observed = np.bincount(4 * days.sun + 2 * days.shorts + days.ice_cream, minlength=8) / n
    expected = joint_distribution(WORLD, 0.3).ravel()
    np.testing.assert_array_less(
        np.abs(observed - expected), 4 * np.sqrt(expected * (1 - expected) / n)
    )


def test_sample_counts_match_the_joint_distribution():
    n, size = 10_000, 500
    counts = sample_counts(WORLD, 0.7, n, size=size, rng=np.random.default_rng(5))
    shares = counts.reshape(size, 4).mean(axis=0) / n
    expected = joint_distribution(WORLD, 0.7).sum(axis=0).ravel()
    se = np.sqrt(expected * (1 - expected) / (n * size))
    np.testing.assert_array_less(np.abs(shares - expected), 4 * se)


def test_intervention_samples_have_the_interventional_rate():
    n = 100_000
    days = sample_world(WORLD, 0.2, n, rng=np.random.default_rng(6), do_shorts=1)
    assert np.all(days.shorts == 1)
    p = float(interventional_ice_cream(WORLD, 0.2, 1))
    assert abs(days.ice_cream.mean() - p) < 4 * np.sqrt(p * (1 - p) / n)


def test_randomised_samples_assign_shorts_by_coin():
    n = 100_000
    days = sample_world(WORLD, 0.2, n, rng=np.random.default_rng(13), do_shorts=0.5)
    for z in (0, 1):  # shorts independent of the sun
        shorts = days.shorts[days.sun == z]
        assert abs(shorts.mean() - 0.5) < 4 * np.sqrt(0.25 / shorts.size)
    counts = sample_counts(WORLD, 0.2, n, size=1, rng=np.random.default_rng(14), do_shorts=0.5)
    fitted = predictor_from_counts(counts[0], prior=0)
    truth = predict_under_intervention(WORLD, 0.2)
    np.testing.assert_array_less(np.abs(fitted - truth), 4 * np.sqrt(truth * (1 - truth) / (n / 2)))


def test_mean_excess_in_distribution_matches_its_constant():
    n, size = 100_000, 2_000
    fits = predictor_from_counts(
        sample_counts(WORLD, 0.5, n, size=size, rng=np.random.default_rng(7))
    )
    scaled = n * excess_log_loss(WORLD, 0.5, fits)
    assert abs(scaled.mean() - 1.0) < 4 * scaled.std(ddof=1) / np.sqrt(size)


def test_adjustment_recovers_the_effect_the_naive_contrast_does_not():
    days = sample_world(WORLD, [0.2, 0.8], 50_000, rng=np.random.default_rng(8))
    effect = adjust_for_sun(days.sun, days.shorts, days.ice_cream)
    assert abs(effect.z_score(WORLD.shorts_effect)) < 4
    # The naive contrast estimates the observational contrast of the pooled town (q = 0.5).
    naive = estimate_contrast(days.shorts, days.ice_cream)
    assert abs(naive.z_score(float(observational_contrast(WORLD, 0.5)))) < 4
    assert abs(naive.z_score(WORLD.shorts_effect)) > 4


def test_pool_sampled_town_by_town_matches_the_town_of_mean_sunniness():
    # sample_pool_counts never uses the pooling identity, so this tests it.
    n, size = 10_000, 400
    towns, weights = [0.05, 0.15, 0.1], [0.4, 0.4, 0.2]
    counts = sample_pool_counts(WORLD, towns, weights, n, size=size, rng=np.random.default_rng(9))
    shares = counts.reshape(size, 4).mean(axis=0) / n
    expected = joint_distribution(WORLD, pooled_sunniness(towns, weights)).sum(axis=0).ravel()
    se = np.sqrt(expected * (1 - expected) / (n * size))
    np.testing.assert_array_less(np.abs(shares - expected), 4 * se)
    with_sun = sample_pool_counts(
        WORLD, towns, weights, 50, size=2, rng=np.random.default_rng(9), sees_sun=True
    )
    assert with_sun.shape == (2, 2, 2, 2) and with_sun.sum() == 100


def test_adjustment_transported_to_a_town_uses_its_weights():
    # With an effect that differs by weather the weights matter: P(Y|z,s) tables built by hand.
    days = sample_world(WORLD, [0.2, 0.8], 50_000, rng=np.random.default_rng(10))
    for q in (0.1, 0.9):
        effect = adjust_for_sun(days.sun, days.shorts, days.ice_cream, p_sun=q)
        assert abs(effect.z_score(WORLD.shorts_effect)) < 4
    sun = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    shorts = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    ice = np.array([0, 0, 1, 1, 0, 1, 0, 1])  # effect +1 when cloudy, 0 when sunny
    assert adjust_for_sun(sun, shorts, ice, p_sun=0.25).value == pytest.approx(0.75)
    assert adjust_for_sun(sun, shorts, ice).value == pytest.approx(0.5)


def test_lowest_log_loss_closed_form():
    # A world where shorts carry no information about the sun: H(Y | S) = H(Y) by hand.
    world = IceCreamWorld(0.5, 0.5, 0.8, 0.1, 0.0)
    p = 0.5 * 0.8 + 0.5 * 0.1
    h = -(p * np.log(p) + (1 - p) * np.log(1 - p))
    assert float(lowest_log_loss(world, 0.5)) == pytest.approx(h)
    assert float(lowest_log_loss(WORLD, 0.5)) > float(lowest_log_loss(WORLD, 0.5, sees_sun=True))


def test_estimate_contrast_matches_counting_and_its_standard_error():
    days = sample_world(WORLD, 0.5, 100_000, rng=np.random.default_rng(11))
    contrast = estimate_contrast(days.shorts, days.ice_cream)
    fitted = fit_counts(days.shorts, days.ice_cream, prior=0)
    assert contrast.value == pytest.approx(fitted[1] - fitted[0])
    assert abs(contrast.z_score(float(observational_contrast(WORLD, 0.5)))) < 4


# Replicates: the spread of R estimates has relative standard error about 1 / sqrt(2 R).
REPLICATES, DAYS = 2_000, 1_000


def _replicate_spread(estimates):
    values = np.array([e.value for e in estimates])
    reported = np.array([e.standard_error for e in estimates])
    return reported.mean(), values.std(ddof=1)


def _rows(*arrays):
    return [a.reshape(REPLICATES, DAYS) for a in arrays]


def _effect_modified_days(rng):
    # A world whose effect of shorts differs by weather (+0.9 when cloudy, 0 when sunny), so
    # that the share of sunny days, estimated from the sample, adds variance of its own.
    size = (REPLICATES, DAYS)
    sun = rng.integers(0, 2, size)
    shorts = rng.integers(0, 2, size)
    rate = np.array([[0.05, 0.95], [0.9, 0.9]])[sun, shorts]
    return sun, shorts, (rng.random(size) < rate).astype(int)


def test_estimate_contrast_standard_error_matches_the_spread_of_replicates():
    days = sample_world(WORLD, 0.5, REPLICATES * DAYS, rng=np.random.default_rng(30))
    shorts, ice = _rows(days.shorts, days.ice_cream)
    reported, spread = _replicate_spread(
        [estimate_contrast(s, y) for s, y in zip(shorts, ice, strict=True)]
    )
    assert reported == pytest.approx(spread, rel=5 / np.sqrt(2 * REPLICATES))


def test_adjust_for_sun_standard_error_matches_the_spread_of_replicates():
    days = sample_world(WORLD, 0.5, REPLICATES * DAYS, rng=np.random.default_rng(31))
    sun, shorts, ice = _rows(days.sun, days.shorts, days.ice_cream)
    for p_sun in (None, 0.3):
        reported, spread = _replicate_spread(
            [adjust_for_sun(z, s, y, p_sun=p_sun) for z, s, y in zip(sun, shorts, ice, strict=True)]
        )
        assert reported == pytest.approx(spread, rel=5 / np.sqrt(2 * REPLICATES)), p_sun


def test_adjust_for_sun_standard_error_counts_the_estimated_share_of_sun():
    # Without the Var(P(z)) term the reported error would be sqrt(0.275 / 0.4775) = 0.76 of this.
    sun, shorts, ice = _effect_modified_days(np.random.default_rng(32))
    reported, spread = _replicate_spread(
        [adjust_for_sun(z, s, y) for z, s, y in zip(sun, shorts, ice, strict=True)]
    )
    assert reported == pytest.approx(spread, rel=5 / np.sqrt(2 * REPLICATES))


def test_adjust_for_sun_standard_error_closed_form():
    # 400 days with exact frequencies: 100 per (sun, shorts) cell, rates 0.05, 0.95, 0.9, 0.9.
    rates = np.array([[0.05, 0.95], [0.9, 0.9]])
    sun, shorts, ice = [], [], []
    for z in (0, 1):
        for s in (0, 1):
            positives = round(100 * rates[z, s])
            sun += [z] * 100
            shorts += [s] * 100
            ice += [1] * positives + [0] * (100 - positives)
    binomial = (rates * (1 - rates) / 100).sum(axis=1)  # Var of each stratum effect
    effect = rates[:, 1] - rates[:, 0]  # [0.9, 0.0]
    # Delta method: sum_z P(z)^2 Var(effect_z) + (effect_1 - effect_0)^2 P(1) P(0) / n.
    estimated = 0.25 * binomial.sum() + (effect[1] - effect[0]) ** 2 * 0.25 / 400
    result = adjust_for_sun(sun, shorts, ice)
    assert result.value == pytest.approx(0.45)
    assert result.standard_error == pytest.approx(np.sqrt(estimated), rel=1e-12)
    known = adjust_for_sun(sun, shorts, ice, p_sun=0.3)
    assert known.value == pytest.approx(0.7 * 0.9)
    assert known.standard_error == pytest.approx(
        np.sqrt(0.49 * binomial[0] + 0.09 * binomial[1]), rel=1e-12
    )


def test_fit_logistic_matches_sklearn_and_is_vectorised():
    features = np.array([[0.0, -1.0], [1.0, -1.0], [0.0, 1.0], [1.0, 1.0]])
    positives, totals = np.array([3, 30, 10, 70]), np.array([50, 60, 40, 90])
    coef = fit_logistic(features, positives, totals)
    rows = np.repeat(features, 2, axis=0)
    labels = np.tile([0, 1], 4)
    weights = np.stack([totals - positives, positives], axis=1).ravel()
    model = LogisticRegression(C=np.inf, tol=1e-12, solver="newton-cholesky")
    model.fit(rows, labels, sample_weight=weights)
    np.testing.assert_allclose(
        predict_logistic(features, coef), model.predict_proba(features)[:, 1], atol=1e-7
    )
    batch = fit_logistic(features, np.stack([positives, positives]), np.stack([totals, totals]))
    np.testing.assert_allclose(batch, np.stack([coef, coef]))


# --- exact values under a fixed seed -----------------------------------------------------------


def test_exact_sample_under_a_fixed_seed():
    days = sample_world(WORLD, [0.1, 0.9], 4, rng=np.random.default_rng(20261122))
    assert days.town.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    again = sample_world(WORLD, [0.1, 0.9], 4, rng=np.random.default_rng(20261122))
    for name in ("sun", "shorts", "ice_cream"):
        np.testing.assert_array_equal(getattr(days, name), getattr(again, name))
    assert days.sun.tolist() == SUN_UNDER_SEED


def test_exact_counts_under_a_fixed_seed():
    counts = sample_counts(WORLD, 0.5, 1_000, size=1, rng=np.random.default_rng(1))
    assert counts.tolist() == COUNTS_UNDER_SEED


def test_exact_pool_counts_under_a_fixed_seed():
    counts = sample_pool_counts(
        WORLD, [0.1, 0.9], [0.5, 0.5], 1_000, size=1, rng=np.random.default_rng(1)
    )
    assert counts.tolist() == POOL_COUNTS_UNDER_SEED


SUN_UNDER_SEED = [1, 0, 0, 0, 1, 1, 1, 1]
POOL_COUNTS_UNDER_SEED = [[[419, 89], [159, 333]]]
COUNTS_UNDER_SEED = [[[408, 76], [167, 349]]]


# --- bad inputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shorts_if_sunny": 1.0}, "shorts_if_sunny must be strictly between 0 and 1, got 1.0"),
        ({"shorts_if_cloudy": -0.1}, r"shorts_if_cloudy must be in \[0, 1\], got -0.1"),
        ({"ice_cream_if_sunny": 1.2}, r"ice_cream_if_sunny must be in \[0, 1\], got 1.2"),
        (
            {"shorts_effect": 0.3},
            r"ice_cream_if_sunny \+ shorts_effect must be in \[0, 1\], got 1.1",
        ),
        ({"shorts_effect": float("nan")}, "shorts_effect must be finite, got nan"),
    ],
)
def test_world_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        IceCreamWorld(**kwargs)


def test_bad_inputs_are_named():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="world must be an IceCreamWorld"):
        predict_from_shorts("sunny", 0.5)
    with pytest.raises(ValueError, match=r"p_sun must be in \[0, 1\], got \[1.5\]"):
        predict_from_shorts(WORLD, [0.5, 1.5])
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        sample_world(WORLD, 0.5, 10, rng=0)
    with pytest.raises(TypeError, match="n must be an integer"):
        sample_world(WORLD, 0.5, 10.0, rng=rng)
    with pytest.raises(ValueError, match="do_shorts must be None or a probability.*got 2"):
        sample_world(WORLD, 0.5, 10, rng=rng, do_shorts=2)
    with pytest.raises(ValueError, match="do_shorts must be None or a probability of shorts"):
        joint_distribution(WORLD, 0.5, do_shorts=True)
    with pytest.raises(ValueError, match=r"do_shorts must be None or a probability.*got 1.5"):
        sample_counts(WORLD, 0.5, 10, size=1, rng=rng, do_shorts=1.5)
    with pytest.raises(ValueError, match="weights must sum to 1, got sum 0.9"):
        pooled_sunniness([0.1, 0.9], [0.5, 0.4])
    with pytest.raises(ValueError, match="shorts must hold only 0/1"):
        fit_counts([0, 2], [0, 1])
    with pytest.raises(ValueError, match="shorts and ice_cream must have the same length"):
        fit_counts([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match=r"group values must be in range\(2\)"):
        fit_counts([0, 1], [0, 1], group=[0, 2], n_groups=2)
    with pytest.raises(ValueError, match="prior must be non-negative, got -1.0"):
        predictor_from_counts([[1, 1], [1, 1]], prior=-1)
    with pytest.raises(ValueError, match="predictor must be strictly between 0 and 1"):
        excess_log_loss(WORLD, 0.5, [0.0, 0.5])
    with pytest.raises(ValueError, match="with sees_sun, predictor must end in shape"):
        excess_log_loss(WORLD, 0.5, [0.2, 0.5], sees_sun=True)
    with pytest.raises(ValueError, match="train_sun and test_sun must be equal"):
        excess_loss_constant(WORLD, 0.5, 0.2)
    with pytest.raises(ValueError, match="every combination of sun and shorts"):
        adjust_for_sun([0, 0, 1, 1], [0, 0, 0, 1], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="cost must be finite"):
        decision_regret(0.1, 0.2, float("inf"))
    with pytest.raises(ValueError, match="p_sun must be strictly between 0 and 1"):
        sunniness_features([0, 1], [0.0, 0.5])
    with pytest.raises(ValueError, match="weights must have the same length as p_sun"):
        sample_pool_counts(WORLD, [0.1, 0.9], [1.0], 10, size=1, rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        sample_pool_counts(WORLD, [0.1, 0.9], [0.5, 0.5], 10, size=1, rng=None)
    with pytest.raises(ValueError, match=r"p_sun must be in \[0, 1\], got 1.5"):
        adjust_for_sun([0, 0, 1, 1], [0, 1, 0, 1], [0, 1, 0, 1], p_sun=1.5)
    with pytest.raises(ValueError, match=r"both values of shorts must occur at least twice"):
        estimate_contrast([1, 1, 0], [0, 1, 1])
    with pytest.raises(ValueError, match="var_hidden and var_input_noise must be non-negative"):
        linear_gaussian_slope(-1.0, 1.0)
    with pytest.raises(ValueError, match="var_output_noise must be non-negative, got -1.0"):
        sample_linear_gaussian(1.0, 1.0, -1.0, 10, rng=rng)
    with pytest.raises(ValueError, match="positives must lie between 0 and totals"):
        fit_logistic([[0.0], [1.0]], [5, 1], [4, 4])
    with pytest.raises(ValueError, match=r"positives and totals must have shape \(\.\.\., 2\)"):
        fit_logistic([[0.0], [1.0]], [1, 1, 1], [4, 4, 4])
    with pytest.raises(ValueError, match=r"coef must have shape \(\.\.\., 2\), got \(3,\)"):
        predict_logistic([[0.0], [1.0]], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"features must have shape \(m, p\), got \(2, 1, 1\)"):
        predict_logistic(np.zeros((2, 1, 1)), [0.0, 1.0])


def test_sample_world_returns_a_sample_of_equal_length_int8_columns():
    days = sample_world(WORLD, 0.4, 50, rng=np.random.default_rng(12))
    assert isinstance(days, Sample)
    columns = [days.town, days.sun, days.shorts, days.ice_cream]
    assert all(len(column) == 50 for column in columns)
    assert all(column.dtype == np.int8 for column in columns[1:])
