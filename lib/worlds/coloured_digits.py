"""Coloured digits: a small, offline world in the style of Coloured MNIST.

Arjovsky et al. (2019, section 5.2) built Coloured MNIST to test whether a learner can ignore a
feature that predicts the label well in training but not at test: each MNIST digit gets a binary
label (digit < 5, flipped with probability 0.25), and a colour (red or green) that agrees with that
noisy label with a probability set by the *environment* (0.9 and 0.8 in the two training
environments, 0.1 at test). The digit's shape predicts the label 75% of the time in every
environment; the colour predicts it better in training and much worse at test.

This module builds the same world from scikit-learn's bundled 8x8 digits (1,797 images, shipped
with scikit-learn, so nothing is downloaded). The scale is small and the images are coarse: results
on it are about the mechanism, not a reproduction of the paper's MNIST numbers.

A coloured image is 128 features: the 64 pixel intensities sit in the "red" block (features 0-63)
for colour 0 or in the "green" block (features 64-127) for colour 1, and the other block is zero,
as the reference code zeroes the other colour channel. :func:`grey_features` adds the two blocks
back into one grey image, which is what the paper's grey-scale oracle sees.

Examples
--------
>>> images, digits = load_digit_pool()
>>> images.shape, digits.shape
((1797, 64), (1797,))
>>> rng = np.random.default_rng(0)
>>> train, test = split_pool(len(digits), (0.5, 0.5), rng=rng)
>>> data = colour_digits(images[train], digits[train], p_agree=0.9, label_noise=0.25, rng=rng)
>>> data.features.shape, grey_features(data).shape
((898, 128), (898, 64))
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..evidence.validation import (
    check_finite_array,
    check_generator,
    check_positive_int,
    check_probability,
)

__all__ = [
    "ColouredDigits",
    "N_PIXELS",
    "colour_digits",
    "grey_features",
    "load_digit_pool",
    "split_pool",
]

#: Pixels in one 8x8 digit image; a coloured image has twice as many features.
N_PIXELS = 64

# Labels follow the reference code of Arjovsky et al.: label 1 for digits 0-4, 0 for 5-9.
_LABEL_BELOW = 5


@dataclass(frozen=True)
class ColouredDigits:
    """One environment's worth of coloured digits; every array is read-only.

    Attributes
    ----------
    features : ndarray, shape (n, 128)
        The image in the red block (features 0-63) when ``colour`` is 0, in the green block
        (features 64-127) when it is 1; the other block is zero.
    label : ndarray of int, shape (n,)
        The observed binary label: ``clean_label`` flipped with probability ``label_noise``.
    clean_label : ndarray of int, shape (n,)
        1 for digits 0-4 and 0 for digits 5-9, before label noise.
    colour : ndarray of int, shape (n,)
        0 (red) or 1 (green); equals ``label`` with probability ``p_agree``.
    digit : ndarray of int, shape (n,)
        The digit shown, 0-9.
    p_agree, label_noise : float
        The probabilities the environment was drawn with.
    """

    features: np.ndarray
    label: np.ndarray
    clean_label: np.ndarray
    colour: np.ndarray
    digit: np.ndarray
    p_agree: float
    label_noise: float

    @property
    def n(self) -> int:
        """Number of examples."""
        return self.label.shape[0]


def load_digit_pool() -> tuple[np.ndarray, np.ndarray]:
    """Return scikit-learn's bundled 8x8 digits as ``(images, digits)``.

    Returns
    -------
    images : ndarray, shape (1797, 64)
        Pixel intensities scaled from 0-16 to [0, 1].
    digits : ndarray of int, shape (1797,)
        The digit each image shows, 0-9.

    Examples
    --------
    >>> images, digits = load_digit_pool()
    >>> float(images.min()), float(images.max()), sorted(set(digits.tolist())) == list(range(10))
    (0.0, 1.0, True)
    """
    # Imported here so that importing lib.worlds.coloured_digits stays cheap.
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data / 16.0, bunch.target.astype(np.int64)


def split_pool(n, fractions, *, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Split ``range(n)`` at random into disjoint index arrays of the given fractions.

    Each part has ``floor(fraction * n)`` indices; fractions may sum to less than 1, and the
    indices left over belong to no part. Parts never share an index, so an image drawn for a test
    environment is never seen in training.

    Parameters
    ----------
    n : int
        Size of the pool.
    fractions : sequence of float
        Each in (0, 1], summing to at most 1.
    rng : numpy.random.Generator

    Returns
    -------
    tuple of ndarray of int
        One sorted index array per fraction.

    Raises
    ------
    ValueError
        If a fraction is outside (0, 1], the fractions sum to more than 1, or a part would be empty.

    Examples
    --------
    >>> parts = split_pool(10, (0.5, 0.3), rng=np.random.default_rng(0))
    >>> [len(p) for p in parts], len(np.intersect1d(*parts))
    ([5, 3], 0)
    >>> split_pool(10, (0.7, 0.4), rng=np.random.default_rng(0))
    Traceback (most recent call last):
    ...
    ValueError: fractions must sum to at most 1, got sum 1.1
    """
    n = check_positive_int(n, "n")
    rng = check_generator(rng)
    shares = check_finite_array(fractions, "fractions")
    if shares.ndim != 1 or shares.size == 0:
        raise ValueError(f"fractions must be a non-empty 1-d sequence, got {fractions!r}")
    if np.any((shares <= 0) | (shares > 1)):
        raise ValueError(f"fractions must each be in (0, 1], got {shares}")
    if shares.sum() > 1 + 1e-9:
        raise ValueError(f"fractions must sum to at most 1, got sum {shares.sum():.6g}")
    sizes = np.floor(shares * n + 1e-9).astype(np.int64)
    if np.any(sizes == 0):
        raise ValueError(f"every part must be non-empty, got sizes {sizes.tolist()} for n={n}")
    order = rng.permutation(n)
    edges = np.concatenate([[0], np.cumsum(sizes)])
    return tuple(np.sort(order[a:b]) for a, b in zip(edges[:-1], edges[1:]))


def _check_pool(images, digits) -> tuple[np.ndarray, np.ndarray]:
    images = check_finite_array(images, "images")
    if images.ndim != 2 or images.shape[1] != N_PIXELS or images.shape[0] == 0:
        raise ValueError(f"images must have shape (n, {N_PIXELS}) with n >= 1, got {images.shape}")
    if np.any((images < 0) | (images > 1)):
        raise ValueError("images must hold intensities in [0, 1]")
    digits = np.asarray(digits)
    if digits.shape != (images.shape[0],):
        raise ValueError(
            f"digits must have shape ({images.shape[0]},) to match images, got {digits.shape}"
        )
    if not np.issubdtype(digits.dtype, np.integer) or np.any((digits < 0) | (digits > 9)):
        raise ValueError(f"digits must be integers 0-9, got values {np.unique(digits)}")
    return images, digits.astype(np.int64)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def colour_digits(
    images, digits, *, p_agree: float, label_noise: float, rng: np.random.Generator
) -> ColouredDigits:
    """Colour digit images as one environment of Coloured MNIST does.

    The label is 1 for digits 0-4 and 0 for digits 5-9, flipped with probability
    ``label_noise``; the colour equals the (noisy) label with probability ``p_agree``, as in the
    reference code of Arjovsky et al. (2019), where the colour is drawn from the noisy label.

    Parameters
    ----------
    images : array_like, shape (n, 64)
        Intensities in [0, 1], e.g. rows of :func:`load_digit_pool`'s images.
    digits : array_like of int, shape (n,)
        The digit each image shows, 0-9.
    p_agree : float
        Probability that the colour agrees with the label: 1 is a perfect cue, 0.5 a cue
        independent of the label, 0 a reversed one.
    label_noise : float
        Probability that the label is flipped from the digit's class.
    rng : numpy.random.Generator

    Returns
    -------
    ColouredDigits

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> images, digits = load_digit_pool()
    >>> data = colour_digits(images, digits, p_agree=1.0, label_noise=0.0, rng=rng)
    >>> bool(np.all(data.colour == data.label)), bool(np.all(data.label == (digits < 5)))
    (True, True)
    >>> colour_digits(images, digits, p_agree=1.2, label_noise=0.25, rng=rng)
    Traceback (most recent call last):
    ...
    ValueError: p_agree must be in [0, 1], got 1.2
    """
    images, digits = _check_pool(images, digits)
    p_agree = check_probability(p_agree, "p_agree")
    label_noise = check_probability(label_noise, "label_noise")
    rng = check_generator(rng)
    n = digits.shape[0]
    clean_label = (digits < _LABEL_BELOW).astype(np.int64)
    label = clean_label ^ (rng.random(n) < label_noise)
    colour = label ^ (rng.random(n) >= p_agree)
    features = np.zeros((n, 2 * N_PIXELS))
    features[:, :N_PIXELS] = images * (colour == 0)[:, None]
    features[:, N_PIXELS:] = images * (colour == 1)[:, None]
    return ColouredDigits(
        features=_frozen(features),
        label=_frozen(label.astype(np.int64)),
        clean_label=_frozen(clean_label),
        colour=_frozen(colour.astype(np.int64)),
        digit=_frozen(digits.copy()),
        p_agree=p_agree,
        label_noise=label_noise,
    )


def grey_features(data) -> np.ndarray:
    """Return the images of ``data`` with the colour removed, shape (n, 64).

    The red and green blocks are added, as the grey-scale model of Arjovsky et al. sums the two
    colour channels: the result is the original image whatever its colour.

    Parameters
    ----------
    data : ColouredDigits or array_like of shape (n, 128)

    Examples
    --------
    >>> images, digits = load_digit_pool()
    >>> data = colour_digits(images, digits, p_agree=0.5, label_noise=0.25,
    ...                      rng=np.random.default_rng(2))
    >>> bool(np.array_equal(grey_features(data), images))
    True
    """
    features = data.features if isinstance(data, ColouredDigits) else data
    if isinstance(features, numbers.Number):
        raise TypeError(f"data must be ColouredDigits or an (n, 128) array, got {data!r}")
    features = check_finite_array(features, "data")
    if features.ndim != 2 or features.shape[1] != 2 * N_PIXELS:
        raise ValueError(f"data must have shape (n, {2 * N_PIXELS}), got {features.shape}")
    return features[:, :N_PIXELS] + features[:, N_PIXELS:]
