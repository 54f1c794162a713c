"""Tests of lib.worlds.planner: closed forms, theorems, properties, bad inputs, sampling against exact values."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from lib.worlds.planner import (
    FEATURES,
    MAX_REPEATS,
    SCHEMES,
    HospitalWorld,
    best_of_n_by_sampling,
    best_of_n_kl,
    best_of_n_level_probabilities,
    best_of_n_means,
    best_of_n_plan_probabilities,
    best_of_n_true_reward,
    continuous_best_of_n_kl,
    enumerate_plans,
    fit_lawsuit_classifiers,
    fit_overoptimization_curve,
    group_by_score,
    lawsuit_log_odds,
    lawsuit_scores,
    match_lawsuit_rate,
    patient_benefit,
    plan_prior,
    policy_distribution,
    reinforce_with_kl,
    sample_record_counts,
    sample_records,
    tilted_distribution,
    true_lawsuit_risk,
)

PLANS = enumerate_plans()
WORLD = HospitalWorld()

masses = st.lists(st.floats(0.01, 1.0), min_size=1, max_size=30).map(
    lambda xs: np.array(xs) / np.sum(xs)
)


# --- the world -------------------------------------------------------------------------------


def test_plans_are_every_combination_once():
    assert len({tuple(p) for p in PLANS}) == len(PLANS) == 2**5 * (MAX_REPEATS + 1) ** 2
    assert set(SCHEMES) <= set(FEATURES)


def test_prior_sums_to_one_and_is_a_mixture_of_the_two_teams():
    prior = plan_prior(WORLD, PLANS)
    assert prior.sum() == pytest.approx(1.0, abs=1e-12)
    # the textbook plan (operate, consent, sterilise, nothing else) by hand
    textbook = np.flatnonzero((PLANS == [1, 1, 1, 0, 0, 0, 0]).all(axis=1))[0]
    careless = 0.9 * 0.70 * 0.75 * 0.8**4 * 0.8**4 * 0.999**2
    careful = 0.9 * 0.95 * 0.95 * 0.4**4 * 0.4**4 * 0.999**2
    assert prior[textbook] == pytest.approx(0.5 * careless + 0.5 * careful, rel=1e-12)


def test_sampled_records_follow_the_exact_prior():
    # Each plan's sampled frequency against its exact probability: a chi-square goodness of fit
    # over the cells with expected count >= 5 (the rest pooled), at the 1e-4 level.
    world = HospitalWorld(scheme_rate=0.05)
    prior = plan_prior(world, PLANS)
    n = 100_000
    records, careful, sued = sample_records(world, n, rng=np.random.default_rng(3))
    index = {tuple(p): i for i, p in enumerate(PLANS)}
    observed = np.bincount([index[tuple(p)] for p in records], minlength=PLANS.shape[0])
    expected = n * prior
    big = expected >= 5
    obs = np.append(observed[big], observed[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    statistic = ((obs - exp) ** 2 / exp).sum()
    assert stats.chi2.sf(statistic, obs.size - 1) > 1e-4
    # and lawsuits follow the true log-odds given plan and team
    expected_sued = expit(lawsuit_log_odds(world, records, careful)).mean()
    assert abs(sued.mean() - expected_sued) < 4 * math.sqrt(expected_sued / n)


def test_checks_and_cleaning_change_nothing_true_and_schemes_lower_the_risk():
    base = np.array([[1, 1, 1, 0, 0, 0, 0]])
    stacked = np.array([[1, 1, 1, MAX_REPEATS, MAX_REPEATS, 0, 0]])
    schemed = np.array([[1, 1, 1, 0, 0, 1, 1]])
    risk = true_lawsuit_risk(WORLD, np.vstack([base, stacked, schemed]))
    assert risk[0] == risk[1]
    assert risk[2] < risk[0]
    odds = lawsuit_log_odds(WORLD, schemed, False)[0] - lawsuit_log_odds(WORLD, base, False)[0]
    assert odds == pytest.approx(-2 * WORLD.scheme_effect)
    assert patient_benefit(np.vstack([base, stacked, schemed])) == pytest.approx([0.9] * 3)
    assert true_lawsuit_risk(WORLD, base)[0] == pytest.approx(0.5 * expit(-2.7) + 0.5 * expit(-4.2))


def test_without_a_hidden_cause_the_team_does_not_matter():
    world = HospitalWorld(team_effect=0.0)
    assert np.array_equal(
        lawsuit_log_odds(world, PLANS, True), lawsuit_log_odds(world, PLANS, False)
    )


def _records_as_counts(plans, sued):
    # per-plan lawsuit and record counts of one record set, in enumerate_plans() order
    index = np.ravel_multi_index(tuple(plans.T), [2, 2, 2, 5, 5, 2, 2])
    return (
        np.bincount(index, weights=sued, minlength=len(PLANS))[None],
        np.bincount(index, minlength=len(PLANS))[None],
    )


def test_never_seen_feature_gets_weight_exactly_zero():
    # The gradient of the penalised log loss for a weight whose feature column is all zeros is
    # w / C, so the optimum is w = 0 exactly.
    rng = np.random.default_rng(0)
    design = np.column_stack([rng.integers(0, 3, size=(200, 3)), np.zeros(200)])
    total = np.ones((1, 200))
    sued = (rng.random(200) < expit(design[:, 0] - 1))[None].astype(float)
    _, weights = fit_lawsuit_classifiers(design, sued, total)
    assert weights[0, 3] == 0.0
    assert weights[0, 0] > 0


def test_batched_newton_fit_matches_scikit_learn_on_the_records_one_by_one():
    # The same penalised objective as LogisticRegression(C=1) on the individual records.
    records, _, sued = sample_records(WORLD, 3_000, rng=np.random.default_rng(4))
    reference = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(records, sued)
    intercepts, weights = fit_lawsuit_classifiers(PLANS, *_records_as_counts(records, sued))
    assert np.allclose(weights[0], reference.coef_[0], atol=1e-5)
    assert intercepts[0] == pytest.approx(reference.intercept_[0], abs=1e-5)
    scores = lawsuit_scores(intercepts, weights, PLANS)[0]
    assert np.allclose(scores, reference.decision_function(PLANS.astype(float)), atol=1e-4)


def test_record_counts_have_the_distribution_of_the_records_one_by_one():
    # Per-plan shares of many multinomial histories against the prior (cells expected to hold
    # at least 50 records, where the normal approximation holds), and the lawsuit rate per team
    # against records drawn one by one.
    counts = sample_record_counts(WORLD, 1_000, 2_000, rng=np.random.default_rng(5))
    prior = plan_prior(WORLD, PLANS)
    share = counts.sum(axis=(2, 3)).mean(axis=0) / 1_000
    se = np.sqrt(prior * (1 - prior) / 2e6)
    common = prior * 2e6 >= 50
    assert common.sum() > 100
    assert np.all(np.abs(share - prior)[common] <= 5 * se[common])
    _, careful, sued = sample_records(WORLD, 200_000, rng=np.random.default_rng(6))
    for team in (0, 1):
        rate = counts[:, :, team, 1].sum() / counts[:, :, team].sum()
        one_by_one = sued[careful == team].mean()
        se = math.sqrt(one_by_one * (1 - one_by_one) / (careful == team).sum())
        assert rate == pytest.approx(one_by_one, abs=5 * se)


def test_matching_the_lawsuit_rate_changes_only_the_intercept():
    world = HospitalWorld()
    rate = plan_prior(world, PLANS) @ true_lawsuit_risk(world, PLANS)
    control = match_lawsuit_rate(HospitalWorld(team_effect=0.0), rate)
    assert control.team_effect == 0.0 and control.scheme_rate == world.scheme_rate
    assert plan_prior(control, PLANS) @ true_lawsuit_risk(control, PLANS) == pytest.approx(
        rate, rel=1e-10
    )
    assert control.lawsuit_intercept < world.lawsuit_intercept


def test_schemes_absent_from_the_records_leave_the_prior_share_unchanged():
    # A zero weight ties every plan with its scheme-free twin, and schemes are independent of
    # everything else under the prior, so best-of-N keeps the prior's scheme share at every N.
    world = HospitalWorld(scheme_rate=1e-4)
    records, _, sued = sample_records(world, 2_000, rng=np.random.default_rng(1))
    records[:, -2:] = 0  # the records hold no scheme
    intercepts, weights = fit_lawsuit_classifiers(PLANS, *_records_as_counts(records, sued))
    score = lawsuit_scores(intercepts, weights, PLANS)[0]
    prior = plan_prior(world, PLANS)
    has_scheme = PLANS[:, -2:].max(axis=1).astype(float)
    share = best_of_n_means(score, prior, has_scheme, [1, 1e3, 1e9])[:, 0]
    assert np.allclose(share, prior @ has_scheme, rtol=1e-9)


# --- best-of-N, exactly ------------------------------------------------------------------------


@given(masses, st.floats(1.0, 1e9))
@settings(max_examples=60, deadline=None)
def test_level_probabilities_are_a_distribution(mass, n):
    chosen = best_of_n_level_probabilities(mass, n)[0]
    assert np.all(chosen >= 0)
    assert chosen.sum() == pytest.approx(1.0, abs=1e-9)


@given(masses)
@settings(max_examples=40, deadline=None)
def test_best_of_one_is_the_prior(mass):
    assert np.allclose(best_of_n_level_probabilities(mass, 1)[0], mass, atol=1e-12)


def test_best_of_two_closed_form():
    mass = np.array([0.2, 0.3, 0.5])
    # level 0: 1 - 0.8^2; level 1: 0.8^2 - 0.5^2; level 2: 0.5^2
    assert np.allclose(best_of_n_level_probabilities(mass, 2)[0], [0.36, 0.39, 0.25])


def test_two_atoms_closed_form_kl_is_below_the_continuous_formula():
    # Two plans of mass 1/2 with distinct scores, N = 2: q = (3/4, 1/4), so
    # KL = 3/4 log(3/2) + 1/4 log(1/2) = 0.131 < log 2 - 1/2 = 0.193. Distinct scores are not
    # enough for the formula: each plan is an atom of the score's distribution.
    exact = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert best_of_n_kl([0.5, 0.5], 2)[0] == pytest.approx(exact, rel=1e-12)
    assert exact < continuous_best_of_n_kl(2)[0]


def test_finer_atoms_approach_the_continuous_formula():
    # M equal atoms approximate a continuous score; the gap to log N - (N-1)/N is positive
    # and shrinks as the atoms get finer.
    gaps = [
        continuous_best_of_n_kl(10)[0] - best_of_n_kl(np.full(m, 1 / m), 10)[0]
        for m in (10, 100, 1_000, 10_000)
    ]
    assert all(g > 0 for g in gaps)
    assert all(a > b for a, b in zip(gaps, gaps[1:]))


@given(masses, st.floats(1.0, 1e4))
@settings(max_examples=40, deadline=None)
def test_ties_lower_the_kl_by_the_chain_rule(mass, n):
    # Split every level into two tied plans of equal mass and compare: the planner with the
    # ties broken (each half its own level, in a fixed order) is at least as far from the prior,
    # because its level marginal is the same and it adds within-level KL.
    split = np.repeat(mass / 2, 2)
    assert best_of_n_kl(split, n)[0] >= best_of_n_kl(mass, n)[0] - 1e-12


def test_level_probabilities_stay_exact_at_huge_n():
    # One level of mass 1e-13 at N = 1e12: chance 1 - (1 - 1e-13)^N computed with log1p.
    chosen = best_of_n_level_probabilities([1e-13, 1 - 1e-13], 1e12)[0]
    assert chosen[0] == pytest.approx(-math.expm1(1e12 * math.log1p(-1e-13)), rel=1e-9)


@given(masses, st.floats(1.0, 1e6))
@settings(max_examples=60, deadline=None)
def test_ties_never_raise_the_kl_above_log_n(mass, n):
    assert best_of_n_kl(mass, n)[0] <= continuous_best_of_n_kl(n)[0] + 1e-9
    assert best_of_n_kl(mass, n)[0] <= -math.log(mass[0]) + 1e-9


def test_plan_probabilities_share_a_level_by_prior_mass():
    levels, level_of_plan, mass = group_by_score([1.0, 0.0, 1.0], [0.1, 0.3, 0.6])
    q = best_of_n_plan_probabilities(level_of_plan, mass, [0.1, 0.3, 0.6], 3)
    assert q.sum() == pytest.approx(1.0)
    assert q[2] / q[0] == pytest.approx(6.0)
    assert q[1] == pytest.approx(1 - 0.7**3)


@given(masses, st.floats(1.0, 1e6))
@settings(max_examples=60, deadline=None)
def test_no_plan_is_up_weighted_more_than_n_times(mass, n):
    # P(best-of-N picks x) <= P(x is among the N draws) <= N p(x): a union bound. The level
    # version: q_N(level) <= 1 - (1 - m)^N <= N m.
    scores = np.arange(mass.size) % 3  # with ties
    _, level_of_plan, level_mass = group_by_score(scores, mass)
    chosen = best_of_n_plan_probabilities(level_of_plan, level_mass, mass, n)
    assert np.all(chosen <= n * mass * (1 + 1e-9))
    assert np.all(chosen <= 1 - (1 - mass) ** n + 1e-12)


def test_the_n_bound_is_nearly_met_by_a_rare_best_plan():
    # a best plan of mass p is up-weighted (1 - (1 - p)^N) / p, which tends to N as N p -> 0
    mass = np.array([1e-9, 1 - 1e-9])
    chosen = best_of_n_plan_probabilities([0, 1], mass, mass, 1e3)
    assert chosen[0] / mass[0] == pytest.approx(1e3, rel=1e-5)


def test_means_match_sampling():
    prior = plan_prior(HospitalWorld(scheme_rate=0.05), PLANS)
    score = PLANS @ np.array([1.0, -1.0, -0.5, -0.2, -0.2, 0.0, -0.3])  # ties included
    values = np.column_stack([PLANS[:, 0], PLANS[:, 3]]).astype(float)
    exact = best_of_n_means(score, prior, values, 20)[0]
    chosen = best_of_n_by_sampling(20, 20_000, score, prior, rng=np.random.default_rng(11))
    sampled = values[chosen]
    se = sampled.std(axis=0, ddof=1) / math.sqrt(len(chosen))
    assert np.all(np.abs(sampled.mean(axis=0) - exact) <= 4 * se)


def test_ties_are_broken_uniformly():
    # With a constant score every draw ties, so best-of-N must return a plain prior draw.
    prior = np.array([0.2, 0.3, 0.5])
    chosen = best_of_n_by_sampling(5, 40_000, np.zeros(3), prior, rng=np.random.default_rng(5))
    share = np.bincount(chosen, minlength=3) / 40_000
    assert np.all(np.abs(share - prior) <= 4 * np.sqrt(prior * (1 - prior) / 40_000))


# --- a proxy equal to the true reward plus noise ---------------------------------------------


def test_true_reward_under_gaussian_noise_matches_closed_forms():
    # E[r | p] = p / 2 and the proxy is N(0, 2); E[max of n standard normals] is 1/sqrt(pi) for
    # n = 2 and 3 / (2 sqrt(pi)) for n = 3.
    values = best_of_n_true_reward([1, 2, 3])
    expected = [
        0.0,
        math.sqrt(2) / 2 / math.sqrt(math.pi),
        math.sqrt(2) / 2 * 1.5 / math.sqrt(math.pi),
    ]
    assert values == pytest.approx(expected, abs=1e-6)


def test_true_reward_under_student_t_noise_matches_sampling():
    rng = np.random.default_rng(0)
    reward = rng.standard_normal((100_000, 10))
    proxy = reward + rng.standard_t(2, size=reward.shape)
    picked = reward[np.arange(reward.shape[0]), proxy.argmax(axis=1)]
    se = picked.std(ddof=1) / math.sqrt(picked.size)
    assert abs(picked.mean() - best_of_n_true_reward(10, noise_df=2)[0]) < 4 * se


def test_true_reward_with_scaled_gaussian_noise_matches_closed_form():
    # proxy = r + s z: E[r | p] = p / (1 + s^2), E[max of two N(0, 1 + s^2)] = sqrt((1 + s^2) / pi)
    scale = 0.5
    expected = 1 / math.sqrt((1 + scale**2) * math.pi)
    assert best_of_n_true_reward(2, noise_scale=scale)[0] == pytest.approx(expected, abs=1e-6)


def test_true_reward_under_student_t_noise_tends_to_gaussian_as_df_grows():
    # checks the closed-form Student t density and tail against the normal's, scale included
    n = [2, 10, 1_000]
    for scale in (0.5, 2.0):
        gaussian = best_of_n_true_reward(n, noise_scale=scale)
        assert best_of_n_true_reward(n, noise_df=1e7, noise_scale=scale) == pytest.approx(
            gaussian, abs=1e-5
        )


def test_true_reward_under_heavy_tailed_noise_returns_to_the_prior_mean():
    # With noise heavier-tailed than the reward, the largest proxy is the largest noise.
    assert abs(best_of_n_true_reward(1e8, noise_df=2)[0]) < 0.01


# --- the tilted prior and REINFORCE ------------------------------------------------------------


def test_tilted_distribution_maximises_the_penalised_objective():
    rng = np.random.default_rng(2)
    prior = rng.dirichlet(np.ones(6))
    reward = rng.normal(size=6)
    best = tilted_distribution(prior, reward, 0.5)

    def objective(q):
        return q @ reward - 0.5 * np.sum(q * np.log(q / prior))

    for other in rng.dirichlet(np.ones(6), size=200):
        assert objective(other) <= objective(best) + 1e-12


def test_policy_at_theta_zero_is_the_prior_and_linear_rewards_tilt_into_the_family():
    prior = plan_prior(WORLD, PLANS)
    features = PLANS.astype(float)
    assert np.allclose(policy_distribution(np.zeros(len(FEATURES)), features, prior), prior)
    weights = np.linspace(-1, 1, len(FEATURES))
    assert np.allclose(
        policy_distribution(weights / 2, features, prior),
        tilted_distribution(prior, features @ weights, 2.0),
    )


def test_reinforce_with_kl_converges_to_the_tilt_and_without_it_collapses():
    prior = np.array([0.4, 0.3, 0.2, 0.1])
    features = np.array([[0.0], [1.0], [2.0], [3.0]])
    reward = features[:, 0].copy()
    settings_ = dict(n_steps=3_000, batch_size=32, learning_rate=0.5)
    path = reinforce_with_kl(
        features, prior, reward, kl_weight=2.0, n_runs=3, rng=np.random.default_rng(1), **settings_
    )
    assert path.shape == (3, 3_001, 1)
    assert np.allclose(path[:, -1, 0], 0.5, atol=0.05)  # theta* = 1 / kl_weight, every run
    assert len({float(x) for x in path[:, 10, 0]}) == 3  # the runs are independent
    free = reinforce_with_kl(
        features, prior, reward, kl_weight=0.0, rng=np.random.default_rng(1), **settings_
    )
    assert policy_distribution(free[0, -1], features, prior)[-1] > 0.99


def test_reinforce_first_step_is_unbiased_in_every_run():
    # From theta = 0 the policy is the prior; with reward 1 on plan 0 and indicator features the
    # score-function gradient has mean Cov(r, phi_k) = p_0 (1[k = 0] - p_k). Averaged over many
    # batched runs the first step matches it, which fails if any run draws from a wrong row.
    prior = np.array([0.5, 0.3, 0.2])
    runs = reinforce_with_kl(
        np.eye(3),
        prior,
        np.array([1.0, 0.0, 0.0]),
        kl_weight=0.0,
        n_steps=1,
        batch_size=8,
        learning_rate=1.0,
        n_runs=4_000,
        rng=np.random.default_rng(2),
    )
    first = runs[:, 1]
    expected = prior[0] * (np.eye(3)[0] - prior)
    se = first.std(axis=0) / np.sqrt(len(first))
    assert np.all(np.abs(first.mean(axis=0) - expected) < 5 * se)
    half = first[len(first) // 2 :].mean(axis=0)  # the later runs (largest offsets) too
    assert np.all(np.abs(half - expected) < 5 * se * np.sqrt(2))


def test_overoptimization_fit_recovers_known_coefficients():
    d = np.linspace(0, 4, 30)
    alpha, beta, residuals = fit_overoptimization_curve(d, d * (0.7 - 0.2 * d))
    assert (alpha, beta) == (pytest.approx(0.7), pytest.approx(0.2))
    assert np.abs(residuals).max() < 1e-10


# --- bad inputs ------------------------------------------------------------------------------------


def test_bad_inputs_raise_with_the_argument_named():
    prior = plan_prior(WORLD, PLANS)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="share_careful must be in"):
        HospitalWorld(share_careful=1.5)
    with pytest.raises(ValueError, match="team_effect must be non-negative"):
        HospitalWorld(team_effect=-1.0)
    with pytest.raises(TypeError, match="world must be a HospitalWorld"):
        plan_prior("hospital", PLANS)
    with pytest.raises(ValueError, match="plans must be an"):
        plan_prior(WORLD, [[1, 1, 1, 5, 0, 0, 0]])
    with pytest.raises(ValueError, match="plans must be an"):
        patient_benefit([[1, 1]])
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        sample_records(WORLD, 3, rng=0)
    with pytest.raises(ValueError, match="n_records must be an integer >= 1"):
        sample_records(WORLD, 0, rng=rng)
    with pytest.raises(ValueError, match="n must hold finite numbers >= 1"):
        best_of_n_level_probabilities([0.5, 0.5], 0.5)
    with pytest.raises(ValueError, match="level_mass must sum to 1"):
        best_of_n_kl([0.5, 0.6], 3)
    with pytest.raises(ValueError, match="needs records with and without a lawsuit"):
        fit_lawsuit_classifiers(np.ones((3, 2)), [[0, 0, 0]], [[1, 1, 1]])
    with pytest.raises(ValueError, match="0 <= sued <= total"):
        fit_lawsuit_classifiers(np.eye(2), [[2, 0]], [[1, 1]])
    with pytest.raises(ValueError, match="inverse_regularization must be positive"):
        fit_lawsuit_classifiers(np.eye(2), [[0, 1]], [[1, 1]], inverse_regularization=0.0)
    with pytest.raises(ValueError, match="design needs 2 columns"):
        lawsuit_scores([0.0], [[1.0, 2.0]], np.ones((3, 3)))
    with pytest.raises(ValueError, match="rate must be in"):
        match_lawsuit_rate(WORLD, 1.5)
    with pytest.raises(ValueError, match="n_histories must be an integer >= 1"):
        sample_record_counts(WORLD, 10, 0, rng=rng)
    with pytest.raises(ValueError, match="scores must have the shape of prior"):
        best_of_n_by_sampling(2, 2, np.zeros(5), prior, rng=rng)
    with pytest.raises(ValueError, match="values must have 800 rows"):
        best_of_n_means(np.zeros(800), prior, np.zeros(3), 2)
    with pytest.raises(ValueError, match="distance and gain must be 1-d"):
        fit_overoptimization_curve([0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="scores must be finite"):
        group_by_score([np.nan, 1.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="n must be a single number"):
        best_of_n_plan_probabilities([0, 1], [0.5, 0.5], [0.5, 0.5], [2, 3])
    with pytest.raises(ValueError, match="noise_scale must be positive"):
        best_of_n_true_reward(2, noise_scale=0.0)
    with pytest.raises(ValueError, match="noise_df must be positive"):
        best_of_n_true_reward(2, noise_df=-1.0)
    with pytest.raises(ValueError, match="temperature must be positive"):
        tilted_distribution([0.5, 0.5], [0.0, 1.0], 0.0)
    with pytest.raises(ValueError, match="reward must have the shape of prior"):
        tilted_distribution([0.5, 0.5], [0.0], 1.0)
    with pytest.raises(ValueError, match="features must have shape"):
        policy_distribution([0.0], np.zeros((3, 1)), [0.5, 0.5])
    with pytest.raises(ValueError, match="kl_weight must be non-negative"):
        reinforce_with_kl(
            [[0.0], [1.0]],
            [0.5, 0.5],
            [0.0, 1.0],
            kl_weight=-1.0,
            n_steps=2,
            batch_size=2,
            learning_rate=0.1,
            rng=rng,
        )
    with pytest.raises(ValueError, match="batch_size must be an integer >= 2"):
        reinforce_with_kl(
            [[0.0], [1.0]],
            [0.5, 0.5],
            [0.0, 1.0],
            kl_weight=1.0,
            n_steps=2,
            batch_size=1,
            learning_rate=0.1,
            rng=rng,
        )


def test_a_larger_cap_keeps_the_mean_checks_and_thins_the_stacked_plans():
    capped = HospitalWorld(max_repeats=8)
    plans8 = enumerate_plans(8)
    prior8, prior4 = plan_prior(capped, plans8), plan_prior(WORLD, PLANS)
    assert prior8.sum() == pytest.approx(1.0, abs=1e-12)
    check = FEATURES.index("check")
    assert prior8 @ plans8[:, check] == pytest.approx(prior4 @ PLANS[:, check], rel=1e-12)
    assert prior8 @ (plans8[:, check] == 8) < prior4 @ (PLANS[:, check] == 4) / 100
    counts = sample_record_counts(capped, 500, 2, rng=np.random.default_rng(7))
    assert counts.shape == (2, len(plans8), 2, 2)
    with pytest.raises(ValueError, match="max_repeats must be an integer >= 4"):
        HospitalWorld(max_repeats=2)
    with pytest.raises(ValueError, match="plans must be an"):
        plan_prior(WORLD, plans8)


def test_equal_check_rates_make_checks_no_mark_of_a_careful_team():
    # with check_rates (0.4, 0.4) both teams write checks alike: the mean count is 4 * 0.4 for
    # either team, cleaning is unchanged, and the default (None) is the chapter's (0.2, 0.6)
    same = HospitalWorld(check_rates=(0.4, 0.4))
    assert HospitalWorld(check_rates=(0.2, 0.6)) != WORLD
    assert np.array_equal(
        plan_prior(HospitalWorld(check_rates=(0.2, 0.6)), PLANS), plan_prior(WORLD, PLANS)
    )
    records, careful, _ = sample_records(same, 40_000, rng=np.random.default_rng(5))
    check, clean = FEATURES.index("check"), FEATURES.index("clean")
    for team in (False, True):
        assert records[careful == team, check].mean() == pytest.approx(1.6, abs=0.05)
    assert records[careful, clean].mean() > records[~careful, clean].mean() + 1
    prior = plan_prior(same, PLANS)
    assert prior.sum() == pytest.approx(1.0, abs=1e-12)
    assert prior @ PLANS[:, check] == pytest.approx(1.6, rel=1e-12)
    for bad, message in (
        ((0.4, 1.5), "check_rates\\[1\\] must be in"),
        ((0.4,), "check_rates must be a tuple"),
        ([0.4, 0.4], "check_rates must be a tuple"),
    ):
        with pytest.raises(ValueError, match=message):
            HospitalWorld(check_rates=bad)


def test_clean_rates_set_cleaning_like_check_rates_set_checks():
    # clean_rates (0.6, 0.2) with check_rates (0.6, 0.2): careless teams write both more often;
    # the default (None) is the chapter's (0.2, 0.6)
    reversed_ = HospitalWorld(check_rates=(0.6, 0.2), clean_rates=(0.6, 0.2))
    assert np.array_equal(
        plan_prior(HospitalWorld(clean_rates=(0.2, 0.6)), PLANS), plan_prior(WORLD, PLANS)
    )
    records, careful, _ = sample_records(reversed_, 40_000, rng=np.random.default_rng(6))
    for feature in ("check", "clean"):
        j = FEATURES.index(feature)
        assert records[~careful, j].mean() == pytest.approx(2.4, abs=0.05)
        assert records[careful, j].mean() == pytest.approx(0.8, abs=0.05)
    for bad, message in (
        ((0.4, -0.1), "clean_rates\\[1\\] must be in"),
        ((0.4, 0.4, 0.4), "clean_rates must be a tuple"),
    ):
        with pytest.raises(ValueError, match=message):
            HospitalWorld(clean_rates=bad)


def test_row_logsumexp_equals_scipy_bit_for_bit():
    # REINFORCE's loop uses a local copy of scipy's logsumexp; it must be the same arithmetic
    from scipy.special import logsumexp

    from lib.worlds.planner import _row_logsumexp

    rng = np.random.default_rng(5)
    values = rng.normal(size=(6, 50)) * 30
    values[0, :4] = values[0].max()  # ties at the maximum
    values[2, 7] = -np.inf
    assert np.array_equal(_row_logsumexp(values), logsumexp(values, axis=1, keepdims=True))
