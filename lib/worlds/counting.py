"""Counting functions that fit a training set, and sampling among them.

The *counting argument for overfitting* (Belrose and Pope, 2024) reasons: among all functions
that are perfect on the training set, almost all are poor on unseen inputs, so training will
probably find a poor one. This module computes the counts behind that argument exactly, in log
space (the numbers have hundreds of millions of digits), and samples "uniformly among fitting
functions" at small scale so that the argument's premise can be compared with what training does.

Large numbers are handled as base-10 logarithms in :class:`decimal.Decimal` with 50 significant
digits, enough that the integer part (up to about 10**9) and a dozen digits after the point are
exact.
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import special

from ..evidence.validation import check_finite, check_generator, check_positive_int

__all__ = [
    "AdditionTask",
    "bits_per_mapping",
    "legendre_features",
    "expected_interpolant_mse",
    "log10_binomial_upper_tail",
    "log10_binomial_upper_tail_double",
    "log10_binomial_upper_tail_exact",
    "log10_chernoff_bound",
    "log10_count_fitting_mappings",
    "log10_count_mappings",
    "min_norm_interpolant",
    "random_consistent_accuracy",
    "sample_random_interpolants",
    "scientific",
]

_PRECISION = 50
# pi to 60 digits; Decimal has no constant for it and the Stirling series needs log(2 pi).
_PI = decimal.Decimal("3.14159265358979323846264338327950288419716939937510582097494")
# Below this size ln(n!) is computed from the exact integer n!; above, from Stirling's series.
_EXACT_FACTORIAL_LIMIT = 2000


def _context() -> decimal.Context:
    return decimal.Context(prec=_PRECISION)


@dataclass(frozen=True)
class AdditionTask:
    """The task of adding two non-negative integers of at most ``n_digits`` digits.

    The essay's footnote assumptions (Belrose and Pope, 2024): operands run over
    ``0 .. 10**n_digits - 1`` (10,000 values each for 4 digits, so 10**8 ordered pairs) and a
    mapping may output any sum in ``0 .. 2 * (10**n_digits - 1)`` (19,999 values for 4 digits).

    Examples
    --------
    >>> task = AdditionTask(4)
    >>> task.n_inputs, task.n_outputs
    (100000000, 19999)
    """

    n_digits: int = 4

    def __post_init__(self):
        check_positive_int(self.n_digits, "n_digits")

    @property
    def n_inputs(self) -> int:
        """Number of ordered operand pairs, ``(10**n_digits)**2``."""
        return (10**self.n_digits) ** 2

    @property
    def n_outputs(self) -> int:
        """Number of possible sums, ``2 * 10**n_digits - 1``."""
        return 2 * 10**self.n_digits - 1


def scientific(log10_value) -> tuple[float, int]:
    """Return ``(mantissa, exponent)`` with ``10**log10_value == mantissa * 10**exponent``.

    Parameters
    ----------
    log10_value : Decimal, int or float
        A base-10 logarithm; a Decimal keeps the mantissa exact for huge exponents.

    Examples
    --------
    >>> scientific(decimal.Decimal("2.5"))
    (3.1622776601683795, 2)
    >>> scientific(-0.5)
    (3.1622776601683795, -1)
    """
    if isinstance(log10_value, float):
        log10_value = decimal.Decimal(check_finite(log10_value, "log10_value"))
    elif isinstance(log10_value, int) and not isinstance(log10_value, bool):
        log10_value = decimal.Decimal(log10_value)
    if not isinstance(log10_value, decimal.Decimal) or not log10_value.is_finite():
        raise TypeError(f"log10_value must be a finite Decimal, int or float, got {log10_value!r}")
    exponent = int(log10_value.to_integral_value(rounding=decimal.ROUND_FLOOR))
    mantissa = 10 ** float(log10_value - exponent)
    return mantissa, exponent


def log10_count_mappings(task: AdditionTask) -> decimal.Decimal:
    """Return log10 of the number of input-output mappings, ``n_outputs ** n_inputs``.

    Examples
    --------
    >>> scientific(log10_count_mappings(AdditionTask(1)))
    (7.505162419825198, 127)
    >>> log10_count_mappings(4)
    Traceback (most recent call last):
    ...
    TypeError: task must be an AdditionTask, got 4
    """
    if not isinstance(task, AdditionTask):
        raise TypeError(f"task must be an AdditionTask, got {task!r}")
    context = _context()
    return context.multiply(task.n_inputs, context.log10(decimal.Decimal(task.n_outputs)))


def log10_count_fitting_mappings(task: AdditionTask, n_train: int) -> decimal.Decimal:
    """Return log10 of the number of mappings perfect on ``n_train`` distinct training pairs.

    The training pairs' outputs are fixed; every other input may map to any output, so the count
    is ``n_outputs ** (n_inputs - n_train)``.

    Examples
    --------
    >>> float(log10_count_fitting_mappings(AdditionTask(1), 99))
    1.2787536009528289
    """
    if not isinstance(task, AdditionTask):
        raise TypeError(f"task must be an AdditionTask, got {task!r}")
    n_train = check_positive_int(n_train, "n_train", minimum=0)
    if n_train > task.n_inputs:
        raise ValueError(f"n_train must be at most n_inputs={task.n_inputs}, got {n_train}")
    context = _context()
    return context.multiply(task.n_inputs - n_train, context.log10(decimal.Decimal(task.n_outputs)))


def bits_per_mapping(task: AdditionTask) -> float:
    """Return the bits needed to write down one mapping: ``n_inputs * log2(n_outputs)``.

    Examples
    --------
    >>> round(bits_per_mapping(AdditionTask(1)), 3)
    424.793
    """
    if not isinstance(task, AdditionTask):
        raise TypeError(f"task must be an AdditionTask, got {task!r}")
    return task.n_inputs * math.log2(task.n_outputs)


def _as_fraction(p, name: str) -> Fraction:
    if isinstance(p, Fraction):
        value = p
    else:
        value = Fraction(check_finite(p, name))
    if not 0 < value < 1:
        raise ValueError(f"{name} must be in (0, 1), got {p}")
    return value


def _ln_factorial(n: int, context: decimal.Context) -> decimal.Decimal:
    if n < _EXACT_FACTORIAL_LIMIT:
        return context.ln(decimal.Decimal(math.factorial(n)))
    # Stirling's series; for n >= 2000 the first omitted term, 1/(1188 n^9), is below 1e-32.
    big = decimal.Decimal(n)
    series = (
        decimal.Decimal(1) / (12 * big)
        - decimal.Decimal(1) / (360 * big**3)
        + decimal.Decimal(1) / (1260 * big**5)
        - decimal.Decimal(1) / (1680 * big**7)
    )
    return big * context.ln(big) - big + context.ln(2 * _PI * big) / 2 + series


def log10_binomial_upper_tail(n: int, k_min: int, p) -> decimal.Decimal:
    """Return log10 P(X >= k_min) for X ~ Binomial(n, p), for tails above the mean.

    The tail is the leading term ``T(k_min) = C(n, k_min) p**k_min (1-p)**(n-k_min)`` times the
    series ``1 + r_0 + r_0 r_1 + ...`` of ratios ``r_j = T(k_min+j+1) / T(k_min+j)
    = (n-k_min-j) / (k_min+j+1) * p / (1-p)``. Above the mean the ratios shrink, so once ``r < 1``
    the remainder after a term ``t`` is at most ``t r / (1 - r)``; summing stops when that bound is
    below 1e-40 of the sum. Logarithms are taken in 50-digit decimal arithmetic, with ``ln n!``
    from the exact integer for ``n < 2000`` and from Stirling's series (error below 1e-32) above.

    Parameters
    ----------
    n : int
        Number of trials, at least 1.
    k_min : int
        Smallest count in the tail, with ``n * p < k_min <= n``.
    p : float or fractions.Fraction
        Success probability in (0, 1); a Fraction keeps 1/19999 exact.

    Returns
    -------
    Decimal

    Examples
    --------
    >>> round(float(log10_binomial_upper_tail(10, 10, Fraction(1, 2))), 6)
    -3.0103
    >>> round(float(log10_binomial_upper_tail(20, 15, 0.5)), 4)
    -1.6841
    >>> log10_binomial_upper_tail(10, 3, 0.5)
    Traceback (most recent call last):
    ...
    ValueError: k_min must exceed the mean n * p = 5.0, got 3
    """
    n = check_positive_int(n, "n")
    k_min = check_positive_int(k_min, "k_min", minimum=0)
    p = _as_fraction(p, "p")
    if k_min > n:
        raise ValueError(f"k_min must be at most n={n}, got {k_min}")
    if k_min <= n * p:
        raise ValueError(f"k_min must exceed the mean n * p = {float(n * p)}, got {k_min}")
    with decimal.localcontext(_context()) as context:
        return _log10_tail_series(n, k_min, p, context)


def _log10_tail_series(n: int, k_min: int, p: Fraction, context) -> decimal.Decimal:
    # Runs inside a 50-digit local context: Decimal's operators use the current context.
    p_dec = context.divide(decimal.Decimal(p.numerator), decimal.Decimal(p.denominator))
    q_dec = 1 - p_dec
    ln_leading = (
        _ln_factorial(n, context)
        - _ln_factorial(k_min, context)
        - _ln_factorial(n - k_min, context)
        + k_min * context.ln(p_dec)
        + (n - k_min) * context.ln(q_dec)
    )
    odds = p_dec / q_dec
    total, term, k = decimal.Decimal(1), decimal.Decimal(1), k_min
    while k < n:
        ratio = decimal.Decimal(n - k) / (k + 1) * odds
        term *= ratio
        total += term
        k += 1
        if ratio < 1 and term * ratio / (1 - ratio) < total * decimal.Decimal("1e-40"):
            break
    return (ln_leading + context.ln(total)) / context.ln(decimal.Decimal(10))


def log10_binomial_upper_tail_double(n: int, k_min: int, p) -> tuple[float, float]:
    """Return an ordinary double-precision estimate of log10 P(X >= k_min) and its error bound.

    A second route to :func:`log10_binomial_upper_tail` that shares none of its arithmetic: the
    leading term ``T(k_min)`` from SciPy's ``gammaln`` in float64, times the geometric sum
    ``1 / (1 - r_0)`` in place of the series. The bound adds two parts. Rounding: each of the
    five logarithms in the leading term is taken to be correct to a couple of units in its last
    place, and summing them adds at most one more, so the error is below
    ``4 * eps * sum(|terms|) / ln 10``. Truncation: the ratios ``r_j`` fall with ``j``, so the
    series lies between ``1 + r_0`` and ``1 / (1 - r_0)``, and replacing it by the latter raises
    log10 by at most ``r_0**2 / ((1 - r_0) ln 10)``.

    Returns
    -------
    (float, float)
        The estimate and the bound on its distance from the exact value.

    Examples
    --------
    >>> value, bound = log10_binomial_upper_tail_double(200, 101, Fraction(1, 10))
    >>> exact = float(log10_binomial_upper_tail(200, 101, Fraction(1, 10)))
    >>> bool(abs(value - exact) <= bound), f"{bound:.1e}"
    (True, '5.7e-03')
    """
    n = check_positive_int(n, "n")
    k_min = check_positive_int(k_min, "k_min", minimum=0)
    p = float(_as_fraction(p, "p"))
    if not n * p < k_min <= n:
        raise ValueError(f"k_min must be in (n * p, n] = ({n * p}, {n}], got {k_min}")
    terms = np.array(
        [
            special.gammaln(n + 1),
            -special.gammaln(k_min + 1),
            -special.gammaln(n - k_min + 1),
            k_min * math.log(p),
            (n - k_min) * math.log1p(-p),
        ]
    )
    ratio = (n - k_min) / (k_min + 1) * p / (1 - p)
    value = (terms.sum() - math.log1p(-ratio)) / math.log(10)
    rounding = 4 * np.finfo(float).eps * np.abs(terms).sum() / math.log(10)
    truncation = ratio**2 / ((1 - ratio) * math.log(10))
    return float(value), float(rounding + truncation)


def log10_binomial_upper_tail_exact(n: int, k_min: int, p: Fraction) -> decimal.Decimal:
    """Return log10 P(X >= k_min) for X ~ Binomial(n, p) by exact rational arithmetic.

    A slow second route for checking :func:`log10_binomial_upper_tail` on small ``n``: the tail
    is summed as an exact fraction of integers, and only its logarithm is rounded.

    Examples
    --------
    >>> float(log10_binomial_upper_tail_exact(3, 3, Fraction(1, 10)))
    -3.0
    """
    n = check_positive_int(n, "n")
    k_min = check_positive_int(k_min, "k_min", minimum=0)
    p = _as_fraction(p, "p")
    if k_min > n:
        raise ValueError(f"k_min must be at most n={n}, got {k_min}")
    a, b = p.numerator, p.denominator
    numerator = sum(math.comb(n, k) * a**k * (b - a) ** (n - k) for k in range(k_min, n + 1))
    with decimal.localcontext(_context()) as context:
        return context.log10(decimal.Decimal(numerator)) - context.log10(decimal.Decimal(b**n))


def log10_chernoff_bound(n: int, k_min: int, p) -> float:
    """Return log10 of the Chernoff bound ``exp(-n KL(k_min/n || p))`` on P(X >= k_min).

    Examples
    --------
    >>> round(log10_chernoff_bound(10, 10, 0.5), 4)
    -3.0103
    """
    n = check_positive_int(n, "n")
    k_min = check_positive_int(k_min, "k_min", minimum=0)
    p = float(_as_fraction(p, "p"))
    if not n * p < k_min <= n:
        raise ValueError(f"k_min must be in (n * p, n] = ({n * p}, {n}], got {k_min}")
    a = k_min / n
    kl = a * math.log(a / p) + ((1 - a) * math.log((1 - a) / (1 - p)) if a < 1 else 0.0)
    return -n * kl / math.log(10)


# --- The parody at small scale: polynomial regression -------------------------------------------


def legendre_features(x, degree: int) -> np.ndarray:
    """Return the Legendre design matrix ``[P_0(x), ..., P_degree(x)]`` for ``x`` in [-1, 1].

    Legendre polynomials keep the matrix well conditioned where raw powers ``x**j`` would not.

    Examples
    --------
    >>> legendre_features([0.0, 1.0], 2)
    array([[ 1. ,  0. , -0.5],
           [ 1. ,  1. ,  1. ]])
    """
    degree = check_positive_int(degree, "degree", minimum=0)
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or not np.all(np.isfinite(x)) or np.any(np.abs(x) > 1):
        raise ValueError(f"x must be a 1-d array of finite values in [-1, 1], got {x}")
    return np.polynomial.legendre.legvander(x, degree)


def min_norm_interpolant(x, y, degree: int) -> np.ndarray:
    """Return the Legendre coefficients of least Euclidean norm that fit ``(x, y)`` exactly.

    With ``degree + 1 > len(x)`` infinitely many polynomials interpolate the points; least
    squares on an underdetermined system returns the one of least norm, the solution gradient
    descent from zero converges to.

    Examples
    --------
    >>> coef = min_norm_interpolant([-1.0, 1.0], [0.0, 2.0], 3)
    >>> np.allclose(legendre_features(np.array([-1.0, 1.0]), 3) @ coef, [0.0, 2.0])
    True
    """
    features = legendre_features(x, degree)
    y = np.asarray(y, dtype=float)
    if y.shape != (features.shape[0],) or not np.all(np.isfinite(y)):
        raise ValueError(f"y must be finite with shape ({features.shape[0]},), got shape {y.shape}")
    return np.linalg.lstsq(features, y, rcond=None)[0]


def sample_random_interpolants(
    x, y, degree: int, n_draws: int, scale: float, *, rng: np.random.Generator
) -> np.ndarray:
    """Return ``n_draws`` random interpolating coefficient vectors, one per row.

    Each is the minimum-norm interpolant plus a Gaussian vector in the null space of the design
    matrix, isotropic there, with expected squared norm ``scale**2``. Every draw fits the data
    exactly. There is no uniform distribution on the (unbounded) null space, so "a random
    interpolant" needs some choice like this one; ``scale`` is that choice.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, y = np.array([-0.5, 0.5]), np.array([1.0, -1.0])
    >>> coefs = sample_random_interpolants(x, y, 5, 3, 1.0, rng=rng)
    >>> coefs.shape, np.allclose(legendre_features(x, 5) @ coefs.T, y[:, None])
    ((3, 6), True)
    """
    rng = check_generator(rng)
    n_draws = check_positive_int(n_draws, "n_draws")
    scale = check_finite(scale, "scale")
    if scale < 0:
        raise ValueError(f"scale must be non-negative, got {scale}")
    base = min_norm_interpolant(x, y, degree)
    features = legendre_features(x, degree)
    rank = np.linalg.matrix_rank(features)
    null_basis = np.linalg.svd(features)[2][rank:]
    if null_basis.shape[0] == 0:
        raise ValueError(f"degree={degree} leaves no null space for {features.shape[0]} points")
    noise = rng.standard_normal((n_draws, null_basis.shape[0]))
    return base + scale / np.sqrt(null_basis.shape[0]) * noise @ null_basis


def expected_interpolant_mse(x, y, degree: int, scale: float, x_test, y_test) -> float:
    """Return the exact mean test MSE of :func:`sample_random_interpolants` draws.

    A draw is ``c0 + (scale / sqrt(r)) z N`` with ``c0`` the minimum-norm interpolant, ``N`` an
    orthonormal basis (rows) of the r-dimensional null space and ``z`` standard normal. Its test
    error is the minimum-norm error plus a term with mean ``scale**2 / r * ||F N^T||_F**2 /
    n_test`` (``F`` the test design matrix); the cross term has mean zero. So random interpolants
    centred on the minimum-norm one are worse on average at every positive ``scale``.

    Examples
    --------
    >>> x, y = np.array([-0.5, 0.5]), np.array([1.0, -1.0])
    >>> grid = np.linspace(-1, 1, 5)
    >>> base = expected_interpolant_mse(x, y, 4, 0.0, grid, -2 * grid)
    >>> bool(expected_interpolant_mse(x, y, 4, 1.0, grid, -2 * grid) > base)
    True
    """
    scale = check_finite(scale, "scale")
    if scale < 0:
        raise ValueError(f"scale must be non-negative, got {scale}")
    features = legendre_features(x, degree)
    base = min_norm_interpolant(x, y, degree)
    test_features = legendre_features(x_test, degree)
    y_test = np.asarray(y_test, dtype=float)
    if y_test.shape != (test_features.shape[0],):
        raise ValueError(f"y_test must have shape ({test_features.shape[0]},), got {y_test.shape}")
    rank = np.linalg.matrix_rank(features)
    null_basis = np.linalg.svd(features)[2][rank:]
    if null_basis.shape[0] == 0:
        raise ValueError(f"degree={degree} leaves no null space for {features.shape[0]} points")
    base_mse = np.mean((test_features @ base - y_test) ** 2)
    spread = np.sum((test_features @ null_basis.T) ** 2) / test_features.shape[0]
    return float(base_mse + scale**2 / null_basis.shape[0] * spread)


# --- The parody at small scale: classification --------------------------------------------------


def random_consistent_accuracy(
    y_test, n_classes: int, n_draws: int, *, rng: np.random.Generator
) -> np.ndarray:
    """Return the test accuracies of ``n_draws`` labellings drawn uniformly among consistent ones.

    A labelling consistent with the training set keeps every training label; uniform among all
    such labellings, each test point's label is uniform over the classes, independently. So only
    the test labels need drawing; each draw's number right is Binomial(n_test, 1/n_classes).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> acc = random_consistent_accuracy(np.zeros(1000, dtype=int), 10, 200, rng=rng)
    >>> acc.shape, bool(abs(acc.mean() - 0.1) < 0.01)
    ((200,), True)
    """
    rng = check_generator(rng)
    n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
    n_draws = check_positive_int(n_draws, "n_draws")
    y_test = np.asarray(y_test)
    if y_test.ndim != 1 or y_test.size == 0:
        raise ValueError(f"y_test must be a non-empty 1-d array, got shape {y_test.shape}")
    if not np.issubdtype(y_test.dtype, np.integer) or y_test.min() < 0 or y_test.max() >= n_classes:
        raise ValueError(
            f"y_test must hold integer labels in [0, {n_classes}), got {np.unique(y_test)}"
        )
    # Draw every test label of every labelling (one array, no loop) rather than the binomial
    # count, so that the premise "uniform among consistent labellings" is what is simulated.
    labels = rng.integers(0, n_classes, size=(n_draws, y_test.size))
    return (labels == y_test).mean(axis=1)
