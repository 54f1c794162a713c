"""Tests of lib.evidence.estimation against closed forms, with properties and bad inputs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from lib.evidence.estimation import (
    INTERVAL_Z,
    Estimate,
    estimate_difference,
    estimate_mean,
    estimate_proportion,
    fit_growth_exponent,
    interval_multiplier,
    replicates_for_power,
)


def test_mean_and_standard_error_match_hand_computation():
    est = estimate_mean([2.0, 4.0, 6.0])
    assert est.value == 4.0
    assert est.standard_error == pytest.approx(2.0 / np.sqrt(3))
    assert est.n == 3


@given(st.integers(min_value=0, max_value=50), st.integers(min_value=2, max_value=200))
def test_proportion_standard_error_is_binomial_closed_form(successes, n):
    successes = min(successes, n)
    outcomes = np.r_[np.ones(successes), np.zeros(n - successes)]
    est = estimate_proportion(outcomes)
    p = successes / n
    assert est.value == pytest.approx(p)
    assert est.standard_error == pytest.approx(np.sqrt(p * (1 - p) / n))


def test_standard_error_of_a_mean_matches_spread_of_repeated_means():
    # The standard error is a claim about repetitions; check it against 2,000 of them.
    rng = np.random.default_rng(7)
    draws = rng.exponential(size=(2000, 50))
    predicted = np.mean([estimate_mean(row).standard_error for row in draws])
    observed = draws.mean(axis=1).std(ddof=1)
    # relative standard error of a sample sd over 2,000 repetitions is about 1/sqrt(2*1999) = 1.6%
    assert predicted == pytest.approx(observed, rel=5 * 0.016)


def test_interval_and_z_score():
    est = Estimate(0.5, 0.1, 100)
    assert est.interval(1.0) == pytest.approx((0.4, 0.6))
    assert est.z_score(0.3) == pytest.approx(2.0)
    assert Estimate(0.5, 0.0, 10).z_score(0.5) == 0.0
    assert Estimate(0.5, 0.0, 10).z_score(0.4) == np.inf


@pytest.mark.parametrize(
    ("samples", "message"),
    [([1.0], "at least 2 draws"), ([[1.0, 2.0]], "must be 1-d"), ([1.0, np.inf], "must be finite")],
)
def test_bad_samples_rejected(samples, message):
    with pytest.raises(ValueError, match=message):
        estimate_mean(samples)


def test_non_binary_outcomes_rejected():
    with pytest.raises(ValueError, match="outcomes must hold only 0/1"):
        estimate_proportion([0.0, 0.5, 1.0])


def test_negative_z_rejected():
    with pytest.raises(ValueError, match="z must be non-negative"):
        Estimate(0.0, 1.0, 2).interval(-1.0)


def test_paired_difference_uses_the_spread_of_differences_and_unpaired_adds_variances():
    rng = np.random.default_rng(7)
    shared = rng.normal(size=400)
    first, second = shared + 0.1 + 0.05 * rng.normal(size=400), shared
    paired = estimate_difference(first, second, paired=True)
    unpaired = estimate_difference(first, second, paired=False)
    assert paired.value == pytest.approx(unpaired.value)
    assert paired.standard_error == pytest.approx(np.std(first - second, ddof=1) / 20)
    assert unpaired.standard_error == pytest.approx(np.hypot(stats.sem(first), stats.sem(second)))
    # Common random numbers: the paired error is far smaller than the unpaired one.
    assert paired.standard_error < unpaired.standard_error / 10


def test_difference_rejects_a_non_boolean_paired_flag():
    with pytest.raises(TypeError, match="paired must be True or False, got 1"):
        estimate_difference([1.0, 2.0], [1.0, 2.0], paired=1)


@pytest.mark.parametrize("exponent", [0.5, 1.0, 2.0])
def test_growth_exponent_recovers_a_power_law_and_its_error_covers_noise(exponent):
    rng = np.random.default_rng(3)
    sizes = np.geomspace(1, 1000, 12)
    values = 2.0 * sizes**exponent * np.exp(0.05 * rng.normal(size=sizes.size))
    est = fit_growth_exponent(sizes, values)
    assert abs(est.value - exponent) < 4 * est.standard_error
    assert 0 < est.standard_error < 0.05


@pytest.mark.parametrize(
    ("sizes", "values", "message"),
    [
        ([1, 2], [1.0, 2.0], "at least 3 pairs"),
        ([1, 2, 3], [1.0, 2.0], "equal lengths"),
        ([0, 2, 3], [1.0, 2.0, 3.0], "sizes must be positive"),
    ],
)
def test_growth_exponent_rejects_bad_input(sizes, values, message):
    with pytest.raises(ValueError, match=message):
        fit_growth_exponent(sizes, values)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"delta": -0.1}, ValueError, "delta must be positive"),
        ({"sd": 0.0}, ValueError, "sd must be positive"),
        ({"power": 0.4}, ValueError, "power must be in"),
        ({"test": "two-sided"}, ValueError, "test must be"),
        ({"delta": "0.1"}, TypeError, "delta must be a real number"),
    ],
)
def test_replicates_for_power_rejects_bad_inputs(kwargs, error, message):
    with pytest.raises(error, match=message):
        replicates_for_power(**({"delta": 0.1, "sd": 0.2} | kwargs))


def test_replicates_for_power_grows_as_the_square_of_sd_over_delta():
    # closed form: ((1.96 + 1.2816) * sd / delta) ** 2 = 42.03 at sd / delta = 2
    assert replicates_for_power(0.1, 0.2) == 43
    assert replicates_for_power(0.05, 0.2) == 169
    assert replicates_for_power(0.1, 0.2, test="equivalence") > replicates_for_power(0.1, 0.2)
    assert replicates_for_power(10.0, 0.1) == 2


def test_a_growth_exponent_has_n_minus_2_degrees_of_freedom():
    est = fit_growth_exponent([1, 2, 4, 8, 16], [1.0, 4.5, 15.0, 70.0, 250.0])
    assert est.n == 5 and est.degrees_of_freedom == 3.0
    assert Estimate(0.0, 1.0, 12).degrees_of_freedom == 11.0


def test_interval_multiplier_is_students_t_and_rejects_fewer_than_one_degree_of_freedom():
    assert interval_multiplier(11) == pytest.approx(2.2010, abs=1e-4)
    assert interval_multiplier(1e7) == pytest.approx(INTERVAL_Z, abs=1e-5)
    for bad in (0, 0.5, -3):
        with pytest.raises(ValueError, match="df must be at least 1"):
            interval_multiplier(bad)
