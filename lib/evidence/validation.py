"""Input checks shared by the library's public functions.

Every public function in :mod:`lib` validates what it is given and fails loudly, with a message
that names the argument and shows the offending value, rather than returning a silently wrong
number. These helpers keep those messages uniform. They return the validated value (converted to
a plain Python ``float`` or ``int`` where that makes sense) so that a caller can write
``p = check_probability(p, "p_sun")``.

Validation is never done with ``assert``: asserts vanish under ``python -O``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "check_binary",
    "check_finite",
    "check_finite_array",
    "check_generator",
    "check_in_range",
    "check_positive_int",
    "check_probabilities",
    "check_probability",
    "check_probability_vector",
]


def check_finite(value, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite real number.

    Parameters
    ----------
    value : real number
        The value to check. Booleans are rejected: ``True`` is almost always a bug here.
    name : str
        The argument's name, used in the error message.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If ``value`` is NaN or infinite.

    Examples
    --------
    >>> check_finite(2, "scale")
    2.0
    >>> check_finite(float("nan"), "scale")
    Traceback (most recent call last):
    ...
    ValueError: scale must be finite, got nan
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {value!r} of type {type(value).__name__}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_in_range(value, name: str, low: float, high: float, *, closed: bool = True) -> float:
    """Return ``value`` as a float after checking ``low <= value <= high``.

    With ``closed=False`` the interval is open: ``low < value < high``.

    Examples
    --------
    >>> check_in_range(0.5, "share", 0, 1)
    0.5
    >>> check_in_range(1.0, "share", 0, 1, closed=False)
    Traceback (most recent call last):
    ...
    ValueError: share must be in (0, 1), got 1.0
    """
    value = check_finite(value, name)
    inside = low <= value <= high if closed else low < value < high
    if not inside:
        interval = f"[{low}, {high}]" if closed else f"({low}, {high})"
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


def check_probability(value, name: str) -> float:
    """Return ``value`` as a float after checking it lies in [0, 1].

    Examples
    --------
    >>> check_probability(0.25, "p_sun")
    0.25
    >>> check_probability(1.5, "p_sun")
    Traceback (most recent call last):
    ...
    ValueError: p_sun must be in [0, 1], got 1.5
    """
    return check_in_range(value, name, 0, 1)


def check_probability_vector(values, name: str, *, atol: float = 1e-9) -> np.ndarray:
    """Return ``values`` as a 1-d float array after checking it is a probability distribution.

    The entries must be finite, non-negative and sum to 1 within ``atol``.

    Examples
    --------
    >>> check_probability_vector([0.2, 0.8], "weights")
    array([0.2, 0.8])
    >>> check_probability_vector([0.2, 0.7], "weights")
    Traceback (most recent call last):
    ...
    ValueError: weights must sum to 1, got sum 0.9
    """
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d sequence, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array}")
    if np.any(array < 0):
        raise ValueError(f"{name} must be non-negative, got {array}")
    total = float(array.sum())
    if abs(total - 1.0) > atol:
        raise ValueError(f"{name} must sum to 1, got sum {total:.6g}")
    return array


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int after checking it is an integer ``>= minimum``.

    Floats are rejected even when whole (``10.0``): a sample size given as a float is
    usually the result of a computation that should have been rounded on purpose.

    Examples
    --------
    >>> check_positive_int(10, "n_samples")
    10
    >>> check_positive_int(0, "n_samples")
    Traceback (most recent call last):
    ...
    ValueError: n_samples must be an integer >= 1, got 0
    >>> check_positive_int(2.5, "n_samples")
    Traceback (most recent call last):
    ...
    TypeError: n_samples must be an integer, got 2.5 of type float
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def check_generator(rng, name: str = "rng") -> np.random.Generator:
    """Return ``rng`` after checking it is a :class:`numpy.random.Generator`.

    The book passes one seeded generator down explicitly; an integer seed or ``None`` here
    usually means a hidden, second source of randomness, so both are refused.

    Examples
    --------
    >>> rng = check_generator(np.random.default_rng(0))
    >>> check_generator(0)
    Traceback (most recent call last):
    ...
    TypeError: rng must be a numpy.random.Generator (make one with np.random.default_rng(seed)), got 0 of type int
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator (make one with np.random.default_rng(seed)), "
            f"got {rng!r} of type {type(rng).__name__}"
        )
    return rng


def check_finite_array(values, name: str) -> np.ndarray:
    """Return ``values`` as a float array after checking every entry is finite.

    Examples
    --------
    >>> check_finite_array([1, 2.5], "gains")
    array([1. , 2.5])
    >>> check_finite_array([1.0, np.nan], "gains")
    Traceback (most recent call last):
    ...
    ValueError: gains must be finite, got [ 1. nan]
    """
    array = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array}")
    return array


def check_probabilities(values, name: str) -> np.ndarray:
    """Return ``values`` (a scalar or an array) as floats after checking each lies in [0, 1].

    Unlike :func:`check_probability_vector`, the entries need not sum to 1.

    Examples
    --------
    >>> check_probabilities([0.1, 0.9], "p_sun")
    array([0.1, 0.9])
    >>> check_probabilities([0.5, 1.5, -1], "p_sun")
    Traceback (most recent call last):
    ...
    ValueError: p_sun must be in [0, 1], got [ 1.5 -1. ]
    >>> check_probabilities(True, "p_sun")
    Traceback (most recent call last):
    ...
    TypeError: p_sun must hold real numbers, got True
    """
    # Scalars and arrays of probabilities alike; the message shows the offending entries.
    if isinstance(values, (bool, np.bool_)):
        raise TypeError(f"{name} must hold real numbers, got {values!r}")
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must hold real numbers, got {values!r}") from None
    bad = ~np.isfinite(array) | (array < 0) | (array > 1)
    if np.any(bad):
        raise ValueError(f"{name} must be in [0, 1], got {array[bad] if array.ndim else array}")
    return array


def check_binary(values, name: str) -> np.ndarray:
    """Return a 1-d array of 0/1 outcomes (or booleans) as integers, after checking it.

    Examples
    --------
    >>> check_binary([True, False, 1], "shorts")
    array([1, 0, 1])
    >>> check_binary([0, 2], "shorts")
    Traceback (most recent call last):
    ...
    ValueError: shorts must hold only 0/1 or booleans, got values [0 2]
    """
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {array.shape}")
    if not np.all((array == 0) | (array == 1)):
        raise ValueError(f"{name} must hold only 0/1 or booleans, got values {np.unique(array)}")
    return array.astype(np.int64)
