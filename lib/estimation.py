"""Monte Carlo estimates with their standard errors.

A number a chapter computes by simulation is reported with its standard error, and the chapter's
checks derive their tolerances from it. These helpers compute both in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .validation import check_binary, check_finite

__all__ = ["Estimate", "estimate_mean", "estimate_proportion", "standard_error"]


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
    """

    value: float
    standard_error: float
    n: int

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """Return the normal-approximation interval ``value ± z * standard_error``.

        Examples
        --------
        >>> Estimate(0.5, 0.1, 25).interval(2.0)
        (0.3, 0.7)
        """
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
