"""Tests of lib.planner: closed forms, properties, bad inputs, and sampling against exact values."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.planner import (
    ORDINARY_STEPS,
    SCHEMING_STEPS,
    STEPS,
    HospitalWorld,
    best_of_n_by_sampling,
    best_of_n_kl,
    best_of_n_level_probabilities,
    best_of_n_plan_probabilities,
    continuous_best_of_n_kl,
    enumerate_plans,
    fit_lawsuit_classifier,
    fit_overoptimization_curve,
    group_by_score,
    markov_prior,
    match_tilt_to_kl,
    plan_indices,
    prior_probabilities,
    sample_plans,
    step_counts,
    summarize_prior,
    tilted_level_probabilities,
    true_outcomes,
)

SMALL = HospitalWorld(plan_length=2, scheme_rate=0.01)

masses = st.lists(st.floats(0.01, 1.0), min_size=1, max_size=30).map(
    lambda xs: np.array(xs) / np.sum(xs)
)


@pytest.fixture(scope="module")
def small_world():
    initial, transition = markov_prior(SMALL)
    plans = enumerate_plans(len(STEPS), SMALL.plan_length)
    prior = prior_probabilities(plans, initial, transition)
    return initial, transition, plans, prior


# --- the world -------------------------------------------------------------------------------


def test_vocabulary_splits_into_ordinary_and_scheming_steps():
    assert STEPS == ORDINARY_STEPS + SCHEMING_STEPS
    assert len(set(STEPS)) == len(STEPS)


def test_prior_sums_to_one_and_matches_the_chain_by_hand(small_world):
    initial, transition, plans, prior = small_world
    assert prior.sum() == pytest.approx(1.0, abs=1e-12)
    consent, sterilise = STEPS.index("consent"), STEPS.index("sterilise")
    index = plan_indices([[consent, sterilise]], len(STEPS))[0]
    assert prior[index] == pytest.approx(initial[consent] * transition[consent, sterilise])


def test_enumerate_and_index_are_inverse():
    plans = enumerate_plans(4, 3)
    assert np.array_equal(plan_indices(plans, 4), np.arange(64))


def test_sampled_plans_follow_the_exact_prior(small_world):
    # Each plan's sampled frequency against its exact probability: a chi-square goodness of fit
    # over the cells with expected count >= 5 (the rest are pooled), at the 1e-4 level.
    from scipy import stats

    initial, transition, plans, prior = small_world
    n = 200_000
    drawn = sample_plans(n, SMALL.plan_length, initial, transition, rng=np.random.default_rng(3))
    observed = np.bincount(plan_indices(drawn, len(STEPS)), minlength=prior.size)
    expected = n * prior
    big = expected >= 5
    obs = np.append(observed[big], observed[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    statistic = ((obs - exp) ** 2 / exp).sum()
    assert stats.chi2.sf(statistic, obs.size - 1) > 1e-4


def test_sample_plans_is_reproducible_under_a_fixed_seed():
    initial, transition = markov_prior(HospitalWorld())
    first = sample_plans(5, 5, initial, transition, rng=np.random.default_rng(7))
    assert first.tolist() == [
        [0, 1, 2, 3, 4],
        [0, 0, 1, 8, 8],
        [0, 1, 2, 3, 4],
        [0, 1, 2, 3, 4],
        [0, 1, 2, 7, 3],
    ]


def test_true_outcomes_reward_operating_and_ignore_schemes():
    textbook = step_counts([[0, 1, 2, 3, 4]], len(STEPS))
    schemed = step_counts([[0, 1, 2, 3, len(STEPS) - 1]], len(STEPS))
    cleaning = step_counts([[6] * 5], len(STEPS))
    helped, lawsuit = true_outcomes(np.vstack([textbook, schemed, cleaning]))
    # Consent, sterilise, anaesthetise, operate, close: recovery sigmoid(-2 + 1.5 + 1.5 + 1).
    assert helped[0] == pytest.approx(0.05 + 0.9 / (1 + math.exp(-2.0)))
    assert helped[2] == pytest.approx(0.05)
    # the scheme took the place of "close": same as a plan that never closes
    no_close = step_counts([[0, 1, 2, 3, 5]], len(STEPS))
    no_close[:, 5] = 0
    assert true_outcomes(no_close)[0][0] == pytest.approx(helped[1])
    assert lawsuit[2] == pytest.approx(1 / (1 + math.exp(4.0)))


def test_never_seen_feature_gets_weight_exactly_zero():
    rng = np.random.default_rng(0)
    counts = np.column_stack([rng.integers(0, 3, size=(200, 3)), np.zeros(200)])
    labels = rng.random(200) < 1 / (1 + np.exp(-(counts[:, 0] - 1)))
    model = fit_lawsuit_classifier(counts, labels)
    assert model.coef_[0, 3] == 0.0
    assert model.coef_[0, 0] > 0


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


def test_sampling_matches_the_exact_distribution(small_world):
    # Best-of-20 on the 144-plan world with a tie-heavy score: the chance of each level by
    # sampling against the exact formula, within 4 binomial standard errors for every level.
    initial, transition, plans, prior = small_world
    score = step_counts(plans, len(STEPS))[:, STEPS.index("operate")].astype(float)
    score -= step_counts(plans, len(STEPS))[:, STEPS.index("clean")]
    levels, level_of_plan, mass = group_by_score(score, prior)
    repeats = 20_000
    chosen = best_of_n_by_sampling(
        20, repeats, score, SMALL.plan_length, initial, transition, rng=np.random.default_rng(11)
    )
    observed = np.bincount(level_of_plan[chosen], minlength=mass.size) / repeats
    exact = best_of_n_level_probabilities(mass, 20)[0]
    se = np.sqrt(exact * (1 - exact) / repeats)
    assert np.all(np.abs(observed - exact) <= 4 * se + 1e-12)


def test_ties_are_broken_uniformly(small_world):
    # With a constant score every draw ties, so best-of-N must return a plain prior draw.
    initial, transition, plans, prior = small_world
    chosen = best_of_n_by_sampling(
        5,
        40_000,
        np.zeros(prior.size),
        SMALL.plan_length,
        initial,
        transition,
        rng=np.random.default_rng(5),
    )
    consent_first = np.isin(chosen, np.flatnonzero(plans[:, 0] == 0)).mean()
    expected = initial[0]
    assert abs(consent_first - expected) <= 4 * math.sqrt(expected * (1 - expected) / 40_000)


def test_sampling_is_reproducible_under_a_fixed_seed(small_world):
    initial, transition, plans, prior = small_world
    score = np.arange(prior.size, dtype=float)
    args = (3, 6, score, SMALL.plan_length, initial, transition)
    first = best_of_n_by_sampling(*args, rng=np.random.default_rng(2))
    assert first.tolist() == [1, 1, 1, 1, 1, 1]


# --- the tilted prior and the fitted form --------------------------------------------------------


@given(masses, st.floats(0.0, 5.0))
@settings(max_examples=40, deadline=None)
def test_tilt_is_matched_to_the_kl_it_was_asked_for(mass, fraction):
    scores = np.arange(mass.size, dtype=float)
    ceiling = -math.log(mass[0])
    kl = min(fraction, 0.9 * ceiling)
    beta = match_tilt_to_kl(scores, mass, kl)
    tilted = tilted_level_probabilities(scores, mass, beta)
    assert np.sum(tilted * np.log(tilted / mass)) == pytest.approx(kl, abs=1e-7)


def test_tilt_closed_form():
    assert np.allclose(tilted_level_probabilities([0.0, 1.0], [0.5, 0.5], 0.0), [0.5, 0.5])
    big = tilted_level_probabilities([0.0, 1.0], [0.5, 0.5], 50.0)
    assert big[0] == pytest.approx(1 / (1 + math.exp(-50)))


def test_overoptimization_fit_recovers_known_coefficients():
    d = np.linspace(0, 4, 30)
    alpha, beta, residuals = fit_overoptimization_curve(d, d * (0.7 - 0.2 * d))
    assert (alpha, beta) == (pytest.approx(0.7), pytest.approx(0.2))
    assert np.abs(residuals).max() < 1e-10


# --- a whole prior, summarised ---------------------------------------------------------------------


def test_after_check_sets_one_link_of_the_chain():
    check = STEPS.index("check")
    for successor in ("operate", "discharge"):
        _, transition = markov_prior(HospitalWorld(after_check=successor))
        assert transition[check].argmax() == STEPS.index(successor)
        assert transition[check].max() > HospitalWorld().p_canonical


def test_summary_of_a_prior_starts_at_the_prior_outcome():
    world = HospitalWorld(plan_length=3)
    # n_max = 8: the outcome still rises by 3e-9 from N = 7 to 8, far above rounding (beyond
    # N = 17 it is flat to 1e-16 and the best N would be decided by rounding).
    summary = summarize_prior(world, 2_000, 8, rng=np.random.default_rng(4))
    initial, transition = markov_prior(world)
    plans = enumerate_plans(len(STEPS), 3)
    prior = prior_probabilities(plans, initial, transition)
    helped, lawsuit = true_outcomes(step_counts(plans, len(STEPS)))
    assert summary["prior outcome"] == pytest.approx(prior @ (helped - lawsuit), rel=1e-9)
    # The same records under the same seed, then every N enumerated plan by plan.
    rng = np.random.default_rng(4)
    records = step_counts(sample_plans(2_000, 3, initial, transition, rng=rng), len(STEPS))
    sued = rng.random(2_000) < true_outcomes(records)[1]
    counts = step_counts(plans, len(STEPS))
    score = fit_lawsuit_classifier(records, sued).decision_function(counts.astype(float))
    _, level_of_plan, level_mass = group_by_score(score, prior)
    n_values = np.arange(1, 9)
    level_chance = best_of_n_level_probabilities(level_mass, n_values)
    plan_chance = level_chance[:, level_of_plan] * prior / level_mass[level_of_plan]
    outcome = plan_chance @ (helped - lawsuit)
    assert summary["best outcome"] == pytest.approx(outcome.max(), rel=1e-9)
    assert summary["best N"] == n_values[np.argmax(outcome)]
    top, runner_up = np.sort(outcome)[-2:][::-1]
    assert top - runner_up > 1e-12


# --- bad inputs ------------------------------------------------------------------------------------


def test_bad_inputs_raise_with_the_argument_named():
    initial, transition = markov_prior(SMALL)
    with pytest.raises(ValueError, match="plan_length must be at most 6"):
        HospitalWorld(plan_length=7)
    with pytest.raises(ValueError, match="p_canonical must be in"):
        HospitalWorld(p_canonical=1.5)
    with pytest.raises(ValueError, match="scheme_rate must be below"):
        HospitalWorld(scheme_rate=0.2)
    with pytest.raises(TypeError, match="world must be a HospitalWorld"):
        markov_prior("hospital")
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        sample_plans(3, 2, initial, transition, rng=0)
    with pytest.raises(ValueError, match="n_plans must be an integer >= 1"):
        sample_plans(0, 2, initial, transition, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="transition must have shape"):
        sample_plans(3, 2, initial, transition[:3], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="n must hold finite numbers >= 1"):
        best_of_n_level_probabilities([0.5, 0.5], 0.5)
    with pytest.raises(ValueError, match="level_mass must sum to 1"):
        best_of_n_kl([0.5, 0.6], 3)
    with pytest.raises(ValueError, match="kl must be in"):
        match_tilt_to_kl([0.0, 1.0], [0.5, 0.5], 1.0)
    with pytest.raises(ValueError, match="beta must be non-negative"):
        tilted_level_probabilities([0.0, 1.0], [0.5, 0.5], -1.0)
    with pytest.raises(ValueError, match="lawsuits must hold 0/1 labels"):
        fit_lawsuit_classifier(np.ones((3, 2)), [0, 0, 0])
    with pytest.raises(ValueError, match="inverse_regularization must be positive"):
        fit_lawsuit_classifier(np.eye(2), [0, 1], inverse_regularization=0.0)
    with pytest.raises(ValueError, match="plan_score must have shape"):
        best_of_n_by_sampling(
            2, 2, np.zeros(5), 2, initial, transition, rng=np.random.default_rng(0)
        )
    with pytest.raises(ValueError, match="counts must be a non-negative"):
        true_outcomes(np.ones((2, 3)))
    with pytest.raises(ValueError, match="distance and gain must be 1-d"):
        fit_overoptimization_curve([0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="scores must be finite"):
        group_by_score([np.nan, 1.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="after_check must be 'operate' or 'discharge'"):
        HospitalWorld(after_check="wait")
    with pytest.raises(ValueError, match="n must be a single number"):
        best_of_n_plan_probabilities([0, 1], [0.5, 0.5], [0.5, 0.5], [2, 3])
    with pytest.raises(TypeError, match="world must be a HospitalWorld"):
        summarize_prior("hospital", 10, 5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_max must be an integer >= 1"):
        summarize_prior(SMALL, 10, 0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        summarize_prior(SMALL, 10, 5, rng=None)
    with pytest.raises(
        ValueError, match=r"plans must be a 2-d array of steps in \[0, 3\), got shape \(2,\)"
    ):
        plan_indices([0, 1], 3)
    with pytest.raises(ValueError, match=r"plans must be a 2-d array of steps in \[0, 3\)"):
        plan_indices([[0, 3]], 3)
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1, got 0"):
        plan_indices([[0, 1]], 0)
    with pytest.raises(ValueError, match=r"plans must be a 2-d array of steps in \[0, 3\)"):
        step_counts([[-1, 0]], 3)
    with pytest.raises(
        ValueError, match=r"plans must be a 2-d array of steps in \[0, 3\), got shape \(1, 0\)"
    ):
        step_counts(np.zeros((1, 0), dtype=int), 3)
    with pytest.raises(TypeError, match="n_steps must be an integer"):
        step_counts([[0, 1]], 2.5)
