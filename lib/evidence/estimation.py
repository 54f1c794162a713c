"""Monte Carlo estimates with their standard errors.

A number a chapter computes by simulation is reported with its standard error, and the chapter's
checks derive their tolerances from it. These helpers compute both in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .validation import check_binary, check_finite

__all__ = [
    "INTERVAL_Z",
    "Estimate",
    "estimate_difference",
    "estimate_mean",
    "estimate_proportion",
    "fit_growth_exponent",
    "interval_multiplier",
    "replicates_for_power",
    "standard_error",
]


@dataclass(frozen=True)
class Estimate:
    """A sample mean and its standard error.

    Attributes
    ----------
    value : float
        The estimate (a sample mean or a proportion).
    standard_error : float
        Its estimated standard error.
    n : int
        The number of draws it rests on.
    df : float or None
        The degrees of freedom of ``standard_error``; ``None`` means ``n - 1`` (a mean of ``n``
        draws). A regression slope fitted to ``n`` points has ``n - 2``.
    """

    value: float
    standard_error: float
    n: int
    df: float | None = None

    @property
    def degrees_of_freedom(self) -> float:
        """The degrees of freedom of the standard error: ``df``, or ``n - 1`` when not given."""
        return float(self.n - 1 if self.df is None else self.df)

    def interval(self, z: float | None = None) -> tuple[float, float]:
        """Return the 95% interval ``value ± z * standard_error``.

        By default ``z`` is Student's t quantile for the estimate's degrees of freedom
        (:func:`interval_multiplier`), the same multiplier the book's claims use, so an interval
        printed in a chapter and the claim's interval agree. Pass ``z`` to override it.

        Examples
        --------
        >>> Estimate(0.5, 0.1, 25).interval(2.0)
        (0.3, 0.7)
        >>> low, high = Estimate(0.5, 0.1, 4).interval()  # t with 3 degrees of freedom: 3.18
        >>> round(low, 3), round(high, 3)
        (0.182, 0.818)
        """
        if z is None:
            z = interval_multiplier(self.degrees_of_freedom)
        z = check_finite(z, "z")
        if z < 0:
            raise ValueError(f"z must be non-negative, got {z}")
        return (self.value - z * self.standard_error, self.value + z * self.standard_error)

    def z_score(self, reference: float) -> float:
        """Return how many standard errors ``value`` lies from ``reference``.

        Examples
        --------
        >>> round(Estimate(0.6, 0.05, 100).z_score(0.5), 6)
        2.0
        """
        reference = check_finite(reference, "reference")
        if self.standard_error == 0:
            return (
                0.0 if self.value == reference else float(np.sign(self.value - reference) * np.inf)
            )
        return (self.value - reference) / self.standard_error


def _as_sample(samples, name: str) -> np.ndarray:
    array = np.asarray(samples, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {array.shape}")
    if array.size < 2:
        raise ValueError(f"{name} must hold at least 2 draws, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got non-finite entries")
    return array


def estimate_mean(samples) -> Estimate:
    """Return the sample mean of ``samples`` with its standard error ``s / sqrt(n)``.

    Parameters
    ----------
    samples : array_like, 1-d
        At least two finite draws.

    Examples
    --------
    >>> est = estimate_mean([1.0, 2.0, 3.0, 4.0])
    >>> est.value, round(est.standard_error, 4), est.n
    (2.5, 0.6455, 4)
    """
    array = _as_sample(samples, "samples")
    return Estimate(float(array.mean()), standard_error(array), int(array.size))


def estimate_proportion(outcomes) -> Estimate:
    """Return the share of true outcomes with its binomial standard error ``sqrt(p(1-p)/n)``.

    Parameters
    ----------
    outcomes : array_like of bool or {0, 1}, 1-d
        At least two draws.

    Examples
    --------
    >>> est = estimate_proportion([True, False, True, True])
    >>> est.value, round(est.standard_error, 4)
    (0.75, 0.2165)
    >>> estimate_proportion([0, 2])
    Traceback (most recent call last):
    ...
    ValueError: outcomes must hold only 0/1 or booleans, got values [0 2]
    """
    array = _as_sample(check_binary(outcomes, "outcomes"), "outcomes")
    share = float(array.mean())
    return Estimate(share, float(np.sqrt(share * (1 - share) / array.size)), int(array.size))


def standard_error(samples, *, axis=0) -> np.ndarray | float:
    """Return the standard error of the mean of ``samples`` along ``axis``: ``s / sqrt(n)``.

    A thin, validated wrapper of :func:`scipy.stats.sem` (``ddof=1``), so that every chapter
    computes standard errors one way.

    Parameters
    ----------
    samples : array_like
        Finite draws, at least two along ``axis``.
    axis : int
        The axis of independent draws (seeds, repeats).

    Examples
    --------
    >>> float(standard_error([1.0, 2.0, 3.0, 4.0]))
    0.6454972243679028
    >>> standard_error([[1.0, 3.0], [2.0, 6.0]], axis=1).tolist()
    [1.0, 2.0]
    >>> standard_error([1.0])
    Traceback (most recent call last):
    ...
    ValueError: samples must hold at least 2 draws along axis 0, got 1
    """
    array = np.asarray(samples, dtype=float)
    if (
        not isinstance(axis, (int, np.integer))
        or isinstance(axis, bool)
        or not -array.ndim <= axis < max(array.ndim, 1)
    ):
        raise ValueError(f"axis must be an axis of samples (ndim {array.ndim}), got {axis!r}")
    if array.ndim == 0 or array.shape[axis] < 2:
        size = 1 if array.ndim == 0 else array.shape[axis]
        raise ValueError(f"samples must hold at least 2 draws along axis {axis}, got {size}")
    if not np.all(np.isfinite(array)):
        raise ValueError("samples must be finite, got non-finite entries")
    result = stats.sem(array, axis=axis, ddof=1)
    return float(result) if np.ndim(result) == 0 else result


def estimate_difference(first, second, *, paired: bool) -> Estimate:
    """Return the mean of ``first`` minus the mean of ``second``, with its standard error.

    Parameters
    ----------
    first, second : array_like, 1-d
        At least two finite draws each.
    paired : bool
        ``True`` when draw ``i`` of both arrays share a seed or a world (common random numbers):
        the standard error is then that of the per-draw differences, ``sd(first - second)/sqrt(n)``.
        ``False`` for independent samples: ``sqrt(se(first)**2 + se(second)**2)``.

    Returns
    -------
    Estimate
        ``n`` is the number of pairs, or the smaller sample's size when unpaired.

    Examples
    --------
    >>> d = estimate_difference([3.0, 4.0, 6.0], [1.0, 2.0, 3.0], paired=True)
    >>> round(d.value, 6), round(d.standard_error, 4), d.n
    (2.333333, 0.3333, 3)
    >>> d = estimate_difference([3.0, 4.0, 6.0], [1.0, 2.0, 3.0, 2.0], paired=False)
    >>> round(d.value, 6), round(d.standard_error, 4)
    (2.333333, 0.9718)
    >>> estimate_difference([1.0, 2.0], [1.0, 2.0, 3.0], paired=True)
    Traceback (most recent call last):
    ...
    ValueError: paired samples must have equal sizes, got 2 and 3
    """
    if not isinstance(paired, bool):
        raise TypeError(f"paired must be True or False, got {paired!r}")
    a = _as_sample(first, "first")
    b = _as_sample(second, "second")
    if paired:
        if a.size != b.size:
            raise ValueError(f"paired samples must have equal sizes, got {a.size} and {b.size}")
        return estimate_mean(a - b)
    error = float(np.hypot(standard_error(a), standard_error(b)))
    return Estimate(float(a.mean() - b.mean()), error, int(min(a.size, b.size)))


def fit_growth_exponent(sizes, values) -> Estimate:
    """Return the exponent ``b`` of a power law ``value ≈ a * size**b``, with its standard error.

    The least-squares slope of ``log(value)`` on ``log(size)`` (:func:`scipy.stats.linregress`),
    e.g. how a cost grows with the horizon (quadratic: ``b = 2``) or an error with sample size.

    Parameters
    ----------
    sizes, values : array_like, 1-d, positive
        At least three pairs.

    Returns
    -------
    Estimate
        The slope and the regression's standard error of the slope; ``n`` is the number of pairs.

    Examples
    --------
    >>> est = fit_growth_exponent([1, 2, 4, 8], [3.0, 12.0, 48.0, 192.0])
    >>> round(est.value, 6), round(est.standard_error, 6)
    (2.0, 0.0)
    >>> fit_growth_exponent([1, 2, 4], [1.0, -1.0, 2.0])
    Traceback (most recent call last):
    ...
    ValueError: values must be positive, got [ 1. -1.  2.]
    """
    x = _as_sample(sizes, "sizes")
    y = _as_sample(values, "values")
    if x.size != y.size:
        raise ValueError(f"sizes and values must have equal lengths, got {x.size} and {y.size}")
    if x.size < 3:
        raise ValueError(f"a growth exponent needs at least 3 pairs, got {x.size}")
    for name, array in (("sizes", x), ("values", y)):
        if np.any(array <= 0):
            raise ValueError(f"{name} must be positive, got {array}")
    fit = stats.linregress(np.log(x), np.log(y))
    return Estimate(float(fit.slope), float(fit.stderr), int(x.size), df=float(x.size - 2))


# Two-sided 95% intervals throughout: a headline's interval must clear its reference, a
# control's must lie inside (-delta, delta) (two one-sided tests at 2.5% each).
INTERVAL_Z = float(stats.norm.ppf(0.975))


def interval_multiplier(df) -> float:
    """Return the half-width of a two-sided 95% interval in standard errors: Student's t.

    A standard error estimated from few replicates is itself uncertain, so the book's claims use
    the t quantile with the estimate's degrees of freedom, ``t_0.975(df)``, not the normal
    ``1.96``: with 12 replicates the interval is 12% wider (2.20), with 3 it is 2.2 times wider
    (4.30); from about 100 on the two agree to the printed precision.

    Parameters
    ----------
    df : float
        Degrees of freedom, at least 1 (``n - 1`` for a mean of ``n`` draws).

    Examples
    --------
    >>> round(interval_multiplier(11), 3), round(interval_multiplier(2), 3)
    (2.201, 4.303)
    >>> round(interval_multiplier(10**6), 3) == round(INTERVAL_Z, 3)
    True
    >>> interval_multiplier(0)
    Traceback (most recent call last):
    ...
    ValueError: df must be at least 1, got 0.0
    """
    df = check_finite(df, "df")
    if df < 1:
        raise ValueError(f"df must be at least 1, got {float(df)}")
    return float(stats.t.ppf(0.975, df))


def replicates_for_power(delta, sd, *, power=0.9, test="superiority") -> int:
    """Return how many independent replicates detect an effect of size ``delta`` with ``power``.

    The normal approximation with the book's 95% intervals (:data:`INTERVAL_Z`): a mean of ``n``
    replicates with per-replicate standard deviation ``sd`` has standard error ``sd / sqrt(n)``.

    - ``"superiority"`` (a headline): the true effect is ``delta`` and the claim needs the
      interval's lower end above zero, ``n = ((z_0.975 + z_power) * sd / delta)**2``.
    - ``"equivalence"`` (a control): the true effect is zero and the control needs its whole
      interval inside ``(-delta, delta)``, ``n = ((z_0.975 + z_((1+power)/2)) * sd / delta)**2``.

    Parameters
    ----------
    delta : float
        The smallest effect of interest, positive, fixed before the run.
    sd : float
        The standard deviation of one replicate's effect (a paired difference for paired designs),
        from a pilot run or a closed form; positive.
    power : float
        The probability of passing when the premise holds, in (0.5, 1).
    test : {"superiority", "equivalence"}

    Returns
    -------
    int
        At least 2.

    Examples
    --------
    >>> replicates_for_power(0.1, 0.2)
    43
    >>> replicates_for_power(0.1, 0.2, test="equivalence")
    52
    >>> replicates_for_power(0.0, 0.2)
    Traceback (most recent call last):
    ...
    ValueError: delta must be positive, got 0.0
    """
    delta = check_finite(delta, "delta")
    sd = check_finite(sd, "sd")
    power = check_finite(power, "power")
    if delta <= 0:
        raise ValueError(f"delta must be positive, got {delta}")
    if sd <= 0:
        raise ValueError(f"sd must be positive, got {sd}")
    if not 0.5 < power < 1:
        raise ValueError(f"power must be in (0.5, 1), got {power}")
    if test == "superiority":
        z_power = stats.norm.ppf(power)
    elif test == "equivalence":
        z_power = stats.norm.ppf((1 + power) / 2)
    else:
        raise ValueError(f"test must be 'superiority' or 'equivalence', got {test!r}")
    return max(2, int(np.ceil(((INTERVAL_Z + z_power) * sd / delta) ** 2)))
