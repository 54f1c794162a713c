"""Tests of lib.worlds.counting: exact counts, the binomial tail in log space, and the parody samplers."""

import decimal
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from lib.worlds.counting import (
    AdditionTask,
    bits_per_mapping,
    expected_interpolant_mse,
    legendre_features,
    log10_binomial_upper_tail,
    log10_binomial_upper_tail_double,
    log10_binomial_upper_tail_exact,
    log10_chernoff_bound,
    log10_count_fitting_mappings,
    log10_count_mappings,
    min_norm_interpolant,
    random_consistent_accuracy,
    sample_random_interpolants,
    scientific,
)


def test_essay_figures_for_four_digit_addition():
    # Belrose and Pope (2024): 1.10e430,100,828 mappings, 2.75e430,096,561 perfect on 992
    # training pairs, about 179 megabytes per mapping.
    task = AdditionTask(4)
    mantissa, exponent = scientific(log10_count_mappings(task))
    assert (round(mantissa, 2), exponent) == (1.10, 430_100_828)
    mantissa, exponent = scientific(log10_count_fitting_mappings(task, 992))
    assert (round(mantissa, 2), exponent) == (2.75, 430_096_561)
    assert round(bits_per_mapping(task) / 8 / 1e6) == 179


def test_counts_match_exact_integers_for_one_digit():
    task = AdditionTask(1)
    exact = decimal.Context(prec=50).log10(decimal.Decimal(19**100))
    assert abs(log10_count_mappings(task) - exact) < decimal.Decimal("1e-40")
    assert log10_count_fitting_mappings(task, 100) == 0


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 250), denominator=st.integers(2, 40), data=st.data())
def test_tail_matches_exact_rational_sum(n, denominator, data):
    p = Fraction(1, denominator)
    k_min = data.draw(st.integers(math.floor(n * p) + 1, n))
    fast = log10_binomial_upper_tail(n, k_min, p)
    slow = log10_binomial_upper_tail_exact(n, k_min, p)
    assert abs(fast - slow) < decimal.Decimal("1e-30")


@pytest.mark.parametrize(
    "n, k_min, p",
    [(3000, 1600, Fraction(1, 2)), (5000, 300, Fraction(1, 20)), (2500, 1251, Fraction(1, 7))],
)
def test_tail_uses_stirling_above_2000_and_stays_exact(n, k_min, p):
    fast = log10_binomial_upper_tail(n, k_min, p)
    slow = log10_binomial_upper_tail_exact(n, k_min, p)
    assert abs(fast - slow) < decimal.Decimal("1e-25")


@pytest.mark.parametrize("n, k_min, p", [(200, 101, 0.1), (1000, 80, 0.05), (50, 30, 0.3)])
def test_tail_matches_scipy(n, k_min, p):
    expected = stats.binom.logsf(k_min - 1, n, p) / math.log(10)
    assert math.isclose(float(log10_binomial_upper_tail(n, k_min, p)), expected, rel_tol=1e-9)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 2000), p=st.floats(0.01, 0.6), share=st.floats(0.0, 1.0))
def test_chernoff_bound_is_above_the_tail(n, p, share):
    low = math.floor(n * p) + 1  # at most n, since p <= 0.6 < 1
    k_min = low + int(share * (n - low))
    assert log10_chernoff_bound(n, k_min, p) >= float(log10_binomial_upper_tail(n, k_min, p)) - 1e-9


def test_chernoff_bound_closed_form():
    # -n KL(a || p) / ln 10 at a = k_min / n, by hand.
    kl = 0.8 * math.log(0.8 / 0.5) + 0.2 * math.log(0.2 / 0.5)
    assert log10_chernoff_bound(10, 8, 0.5) == pytest.approx(-10 * kl / math.log(10), rel=1e-12)
    kl = 0.3 * math.log(0.3 / 0.1) + 0.7 * math.log(0.7 / 0.9)
    assert log10_chernoff_bound(20, 6, Fraction(1, 10)) == pytest.approx(
        -20 * kl / math.log(10), rel=1e-12
    )
    # At k_min = n the bound is p**n exactly, the tail itself.
    assert log10_chernoff_bound(10, 10, 0.5) == pytest.approx(-10 * math.log10(2), rel=1e-12)


def test_scientific_round_trips():
    assert scientific(decimal.Decimal("-184946673.98")) == pytest.approx(
        (1.0471285480508996, -184946674)
    )
    assert scientific(3) == (1.0, 3)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: AdditionTask(0), ValueError, "n_digits"),
        (lambda: log10_count_fitting_mappings(AdditionTask(1), 101), ValueError, "n_train"),
        (lambda: log10_binomial_upper_tail(10, 11, 0.5), ValueError, "k_min must be at most"),
        (lambda: log10_binomial_upper_tail(10, 6, 1.5), ValueError, "p must be in"),
        (lambda: log10_binomial_upper_tail(10.0, 6, 0.5), TypeError, "n must be an integer"),
        (lambda: log10_chernoff_bound(10, 2, 0.5), ValueError, "k_min must be in"),
        (
            lambda: log10_binomial_upper_tail_exact(10, 11, Fraction(1, 2)),
            ValueError,
            "k_min must be at most n=10, got 11",
        ),
        (
            lambda: log10_binomial_upper_tail_exact(0, 0, Fraction(1, 2)),
            ValueError,
            "n must be an integer >= 1, got 0",
        ),
        (
            lambda: log10_binomial_upper_tail_exact(10, -1, Fraction(1, 2)),
            ValueError,
            "k_min must be an integer >= 0",
        ),
        (
            lambda: log10_binomial_upper_tail_exact(10, 3, Fraction(3, 2)),
            ValueError,
            "p must be in",
        ),
        (
            lambda: log10_binomial_upper_tail_exact(10.0, 3, Fraction(1, 2)),
            TypeError,
            "n must be an integer",
        ),
        (lambda: bits_per_mapping("task"), TypeError, "AdditionTask"),
        (lambda: scientific("1"), TypeError, "log10_value"),
        (lambda: legendre_features([2.0], 3), ValueError, "x must be"),
        (lambda: min_norm_interpolant([0.0], [1.0, 2.0], 3), ValueError, "y must be"),
        (
            lambda: sample_random_interpolants(
                [0.0], [1.0], 3, 2, -1.0, rng=np.random.default_rng(0)
            ),
            ValueError,
            "scale",
        ),
        (
            lambda: sample_random_interpolants(
                [0.0, 0.5], [1.0, 1.0], 1, 2, 1.0, rng=np.random.default_rng(0)
            ),
            ValueError,
            "no null space",
        ),
        (lambda: sample_random_interpolants([0.0], [1.0], 3, 2, 1.0, rng=0), TypeError, "rng"),
        (
            lambda: random_consistent_accuracy([0, 3], 3, 5, rng=np.random.default_rng(0)),
            ValueError,
            "y_test",
        ),
        (
            lambda: random_consistent_accuracy([0, 1], 1, 5, rng=np.random.default_rng(0)),
            ValueError,
            "n_classes",
        ),
        (lambda: log10_binomial_upper_tail_double(10, 3, 0.5), ValueError, "k_min must be in"),
        (
            lambda: expected_interpolant_mse([0.0], [1.0], 3, -1.0, [0.0], [0.0]),
            ValueError,
            "scale",
        ),
        (
            lambda: expected_interpolant_mse([0.0], [1.0], 3, 1.0, [0.0], [0.0, 1.0]),
            ValueError,
            "y_test",
        ),
    ],
)
def test_bad_inputs_are_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


@settings(max_examples=25, deadline=None)
@given(n_points=st.integers(2, 12), extra=st.integers(1, 20), seed=st.integers(0, 2**32 - 1))
def test_every_random_interpolant_fits_the_data(n_points, extra, seed):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-1, 1, n_points))
    y = rng.standard_normal(n_points)
    degree = n_points - 1 + extra
    coefs = sample_random_interpolants(x, y, degree, 5, 3.0, rng=rng)
    base = min_norm_interpolant(x, y, degree)
    np.testing.assert_allclose(
        legendre_features(x, degree) @ coefs.T, np.repeat(y[:, None], 5, 1), atol=1e-7
    )
    # The minimum-norm interpolant is orthogonal to the null space, so no draw is shorter.
    assert np.all(np.linalg.norm(coefs, axis=1) >= np.linalg.norm(base) - 1e-9)


def test_random_component_has_the_stated_expected_norm():
    rng = np.random.default_rng(1)
    x = np.linspace(-0.9, 0.9, 5)
    coefs = sample_random_interpolants(x, np.zeros(5), 24, 20_000, 2.0, rng=rng)
    squared = np.linalg.norm(coefs, axis=1) ** 2  # base is zero when y is zero
    se = squared.std(ddof=1) / np.sqrt(squared.size)
    assert abs(squared.mean() - 4.0) < 4 * se


def test_random_consistent_accuracy_is_one_over_k():
    rng = np.random.default_rng(2)
    accuracy = random_consistent_accuracy(np.arange(500) % 4, 4, 4000, rng=rng)
    se = accuracy.std(ddof=1) / np.sqrt(accuracy.size)
    assert abs(accuracy.mean() - 0.25) < 4 * se
    # Each draw's count is Binomial(500, 1/4): its variance is n p (1 - p). The ratio of the
    # sample variance to it has standard error about sqrt(2 / (draws - 1)) (near-normal counts).
    ratio = accuracy.var(ddof=1) * 500**2 / (500 * 0.25 * 0.75)
    assert abs(ratio - 1) < 4 * np.sqrt(2 / (accuracy.size - 1))


def test_fixed_seed_gives_fixed_values():
    # Recorded once from numpy's PCG64 stream; a change means the sampler's draws changed.
    accuracy = random_consistent_accuracy(
        np.zeros(10, dtype=int), 2, 3, rng=np.random.default_rng(0)
    )
    assert accuracy.tolist() == [0.6, 0.0, 0.4]


@pytest.mark.parametrize(
    "n, k_min, p",
    [
        (200, 101, Fraction(1, 10)),
        (3000, 1501, Fraction(1, 7)),
        (9900, 4951, Fraction(1, 199)),
        (99_999_008, 49_999_505, Fraction(1, 19_999)),
    ],
)
def test_double_precision_tail_is_within_its_stated_bound(n, k_min, p):
    value, bound = log10_binomial_upper_tail_double(n, k_min, p)
    assert abs(value - float(log10_binomial_upper_tail(n, k_min, p))) <= bound


def test_double_precision_bound_is_tight_enough_to_see_the_series():
    # On the essay's case the series adds log10(1 + r_0 + ...) ~ 2.2e-5; the bound is far smaller,
    # so a check within the bound would catch a tail computed from its leading term alone.
    n, k_min, p = 99_999_008, 49_999_505, Fraction(1, 19_999)
    ratio = (n - k_min) / (k_min + 1) * float(p / (1 - p))
    _, bound = log10_binomial_upper_tail_double(n, k_min, p)
    assert bound < math.log10(1 + ratio) / 10


def test_expected_interpolant_mse_matches_monte_carlo():
    rng = np.random.default_rng(9)
    x = np.linspace(-0.9, 0.9, 6)
    y = np.sin(3 * x)
    grid = np.linspace(-1, 1, 101)
    coefs = sample_random_interpolants(x, y, 15, 20_000, 2.0, rng=rng)
    mse = np.mean((coefs @ legendre_features(grid, 15).T - np.sin(3 * grid)) ** 2, axis=1)
    se = mse.std(ddof=1) / np.sqrt(mse.size)
    assert (
        abs(mse.mean() - expected_interpolant_mse(x, y, 15, 2.0, grid, np.sin(3 * grid))) < 4 * se
    )


def test_expected_interpolant_mse_at_zero_scale_is_the_min_norm_error():
    x, y = np.array([-0.5, 0.0, 0.5]), np.array([1.0, 0.0, 1.0])
    grid = np.linspace(-1, 1, 11)
    base = min_norm_interpolant(x, y, 6)
    expected = np.mean((legendre_features(grid, 6) @ base - grid**2) ** 2)
    assert expected_interpolant_mse(x, y, 6, 0.0, grid, grid**2) == pytest.approx(
        expected, rel=1e-12
    )


# --- Checks moved out of chapter 06: identities and theorems are tests, not claims ---------------

ESSAY_CASE = (99_999_008, 49_999_505, Fraction(1, 19_999))


def test_chernoff_bound_lies_above_the_exact_tail_on_the_essay_case():
    # A theorem (Chernoff), so a test; the chapter prints the gap, about 4.10 orders of magnitude.
    exact = float(log10_binomial_upper_tail(*ESSAY_CASE))
    bound = log10_chernoff_bound(*ESSAY_CASE)
    assert 4.0 < bound - exact < 4.2


def test_essay_tail_value():
    mantissa, exponent = scientific(log10_binomial_upper_tail(*ESSAY_CASE))
    assert (round(mantissa, 3), exponent) == (1.045, -184_946_674)


def test_mpmath_footnote_directly():
    # The essay's footnote: the share "underflows to zero in the Python mpmath library". mpmath's
    # numbers have an unbounded exponent, so computed directly, at mpmath's default 15 digits, the
    # leading term C(n, k) p^k (1-p)^(n-k) does not underflow: it matches the series' leading
    # term (the series adds only log10(1 + r_0 + ...) ~ 2.2e-5 to it). mpmath's regularized
    # incomplete beta function, the textbook route to a binomial tail, does not return 0 either:
    # it raises a convergence error on the upper tail. One minus its lower tail, however, is exactly
    # 0: the tail is lost to cancellation, not underflow. That is the zero the footnote reports.
    import mpmath

    n, k, p = ESSAY_CASE
    p_mp = mpmath.mpf(p.numerator) / p.denominator
    leading = mpmath.binomial(n, k) * p_mp**k * (1 - p_mp) ** (n - k)
    assert leading != 0
    log10_leading = float(mpmath.log10(leading))
    assert abs(log10_leading - float(log10_binomial_upper_tail(*ESSAY_CASE))) < 1e-4
    with pytest.raises(ValueError, match="failed to converge"):
        mpmath.betainc(k, n - k + 1, 0, p_mp, regularized=True)
    assert 1 - mpmath.betainc(n - k + 1, k, 0, 1 - p_mp, regularized=True) == 0
