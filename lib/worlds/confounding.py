"""A confounded world: sun causes both shorts and ice cream, and towns differ in how sunny they are.

This is the example that Kirk and Krueger (2022) use to argue that empirical risk minimization
(ERM) on observational data learns causally confused predictors, adapted from Remark 1 of
Krueger et al. (2021, "REx"). The numbers are this module's own choice; the essay's were lost.

The world has three binary variables:

- ``Z``, sun: unobserved by the predictors we train; ``P(Z = 1) = p_sun`` is all that differs
  between towns (environments);
- ``S``, shorts: caused by the sun, ``P(S = 1 | Z = z)``;
- ``Y``, ice cream: caused by the sun, plus an optional weak (possibly negative) direct effect of
  shorts, ``P(Y = 1 | Z = z, S = s) = base_z + shorts_effect * s``. The essay suggests the
  direct effect is weak and "plausibly even negative" (shorts keep you cool).

Because every town shares the mechanisms ``P(S | Z)`` and ``P(Y | Z, S)``, the joint distribution
of a town is *linear* in ``p_sun``. A pool of towns mixed with weights ``w`` therefore has exactly
the joint distribution of a single town whose sunniness is the weighted mean ``sum(w * p_sun)``
(see :func:`pooled_sunniness`). The predictor that ERM converges to, ``P(Y | S)``, is a ratio of
two such linear functions and is *not* linear in ``p_sun``.

:func:`linear_gaussian_slope` and :func:`sample_linear_gaussian` give the same structure with
continuous variables: a hidden Gaussian cause of both input and target.

Arrays indexed by the variables use the order ``[sun, shorts, ice_cream]``; a predictor from
shorts alone is an array ``[..., s]`` of ``P(Y = 1 | S = s)``; a predictor that also sees the
sun is an array ``[..., z, s]`` of ``P(Y = 1 | Z = z, S = s)``.

Examples
--------
>>> world = IceCreamWorld()
>>> predict_from_shorts(world, 0.5).round(3)
array([0.17, 0.68])
>>> causal_effect(world, 0.5).round(3)
np.float64(-0.05)
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.special import entr, expit, logit, rel_entr

from ..evidence.estimation import Estimate, estimate_difference
from ..evidence.validation import (
    check_binary,
    check_finite,
    check_finite_array,
    check_generator,
    check_positive_int,
    check_probabilities,
    check_probability,
    check_probability_vector,
)

__all__ = [
    "IceCreamWorld",
    "Sample",
    "adjust_for_sun",
    "causal_effect",
    "decision_regret",
    "estimate_contrast",
    "excess_log_loss",
    "excess_loss_constant",
    "fit_counts",
    "fit_logistic",
    "ice_cream_table",
    "interventional_ice_cream",
    "joint_distribution",
    "linear_gaussian_slope",
    "lowest_log_loss",
    "observational_contrast",
    "pooled_sunniness",
    "predict_from_shorts",
    "predict_logistic",
    "predict_under_intervention",
    "predictor_from_counts",
    "sample_counts",
    "sample_linear_gaussian",
    "sample_pool_counts",
    "sample_world",
    "shorts_table",
    "sunniness_features",
]


@dataclass(frozen=True)
class IceCreamWorld:
    """The causal mechanisms shared by every town.

    Parameters
    ----------
    shorts_if_sunny, shorts_if_cloudy : float
        ``P(S = 1 | Z = 1)`` and ``P(S = 1 | Z = 0)``, both strictly between 0 and 1 (so that
        both values of shorts occur in every town and ``P(Y | S)`` is always defined).
    ice_cream_if_sunny, ice_cream_if_cloudy : float
        ``P(Y = 1 | Z = z, S = 0)``: the chance of ice cream without shorts, in [0, 1].
    shorts_effect : float
        The direct effect of shorts on the chance of ice cream, added in both weathers; the
        resulting probabilities must stay in [0, 1].

    Examples
    --------
    >>> IceCreamWorld(shorts_effect=0.3)
    Traceback (most recent call last):
    ...
    ValueError: ice_cream_if_sunny + shorts_effect must be in [0, 1], got 1.1
    """

    shorts_if_sunny: float = 0.9
    shorts_if_cloudy: float = 0.1
    ice_cream_if_sunny: float = 0.8
    ice_cream_if_cloudy: float = 0.1
    shorts_effect: float = -0.05

    @classmethod
    def weak_negative_effect(cls) -> IceCreamWorld:
        """Return the world used in the book: strong confounding, a weak negative direct effect.

        Shorts on 90% of sunny and 10% of cloudy days; ice cream on 80% of sunny and 10% of
        cloudy days without shorts; shorts lower the chance of ice cream by 0.05 (the essay's
        "plausibly even negative" effect). The essay's own numbers were lost; these are ours.

        Examples
        --------
        >>> IceCreamWorld.weak_negative_effect().shorts_effect
        -0.05
        """
        return cls(
            shorts_if_sunny=0.9,
            shorts_if_cloudy=0.1,
            ice_cream_if_sunny=0.8,
            ice_cream_if_cloudy=0.1,
            shorts_effect=-0.05,
        )

    def __post_init__(self):
        for name in ("shorts_if_sunny", "shorts_if_cloudy"):
            value = check_probability(getattr(self, name), name)
            if value in (0.0, 1.0):
                raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")
        for name in ("ice_cream_if_sunny", "ice_cream_if_cloudy"):
            check_probability(getattr(self, name), name)
        effect = check_finite(self.shorts_effect, "shorts_effect")
        for name in ("ice_cream_if_sunny", "ice_cream_if_cloudy"):
            total = getattr(self, name) + effect
            if not 0.0 <= total <= 1.0:
                raise ValueError(f"{name} + shorts_effect must be in [0, 1], got {total:.6g}")


@dataclass(frozen=True)
class Sample:
    """Draws from one or more towns, one entry per day.

    Attributes
    ----------
    town : numpy.ndarray of int
        Index of the town each draw comes from.
    sun, shorts, ice_cream : numpy.ndarray of int8, values 0 or 1
    """

    town: np.ndarray
    sun: np.ndarray
    shorts: np.ndarray
    ice_cream: np.ndarray


def _check_world(world) -> IceCreamWorld:
    if not isinstance(world, IceCreamWorld):
        raise TypeError(
            f"world must be an IceCreamWorld, got {world!r} of type {type(world).__name__}"
        )
    return world


def _check_intervention(do_shorts) -> float:
    # An intervention sets shorts by fiat: with probability do_shorts, whatever the weather.
    if (
        isinstance(do_shorts, numbers.Real)
        and not isinstance(do_shorts, (bool, np.bool_))
        and 0 <= do_shorts <= 1
    ):
        return float(do_shorts)
    raise ValueError(
        f"do_shorts must be None or a probability of shorts in [0, 1], got {do_shorts!r}"
    )


def shorts_table(world) -> np.ndarray:
    """Return ``P(S = 1 | Z = z)`` as an array indexed by ``z``.

    Examples
    --------
    >>> shorts_table(IceCreamWorld())
    array([0.1, 0.9])
    """
    world = _check_world(world)
    return np.array([world.shorts_if_cloudy, world.shorts_if_sunny])


def ice_cream_table(world) -> np.ndarray:
    """Return ``P(Y = 1 | Z = z, S = s)`` as a 2 x 2 array indexed ``[z, s]``.

    This is the causal mechanism for ice cream: the same in every town.

    Examples
    --------
    >>> ice_cream_table(IceCreamWorld()).round(3)
    array([[0.1 , 0.05],
           [0.8 , 0.75]])
    """
    world = _check_world(world)
    base = np.array([world.ice_cream_if_cloudy, world.ice_cream_if_sunny])
    return base[:, None] + world.shorts_effect * np.array([0.0, 1.0])[None, :]


def joint_distribution(world, p_sun, *, do_shorts=None) -> np.ndarray:
    """Return the joint distribution ``P(Z, S, Y)`` of a town, indexed ``[..., z, s, y]``.

    Parameters
    ----------
    world : IceCreamWorld
    p_sun : float or array_like
        The town's share of sunny days; an array gives one distribution per entry.
    do_shorts : None or float in [0, 1]
        If given, the distribution under an intervention that sets shorts by fiat, cutting the
        arrow from the sun: ``0`` or ``1`` is ``do(S = do_shorts)``; a value in between is a
        randomised experiment that puts shorts on with that probability, whatever the weather.

    Returns
    -------
    numpy.ndarray
        Shape ``p_sun.shape + (2, 2, 2)``; linear in ``p_sun``.

    Examples
    --------
    >>> world = IceCreamWorld()
    >>> float(joint_distribution(world, 0.3).sum())
    1.0
    >>> mixed = 0.25 * joint_distribution(world, 0.2) + 0.75 * joint_distribution(world, 0.6)
    >>> bool(np.allclose(mixed, joint_distribution(world, 0.5)))
    True
    >>> round(float(joint_distribution(world, 0.3, do_shorts=0.5)[:, 1].sum()), 12)
    0.5
    """
    world = _check_world(world)
    q = check_probabilities(p_sun, "p_sun")
    if do_shorts is None:
        s1 = shorts_table(world)
    else:
        s1 = np.full(2, _check_intervention(do_shorts))
    p_z = np.stack([1 - q, q], axis=-1)  # [..., z]
    p_s = np.stack([1 - s1, s1], axis=-1)  # [z, s]
    t = ice_cream_table(world)
    p_y = np.stack([1 - t, t], axis=-1)  # [z, s, y]
    return p_z[..., :, None, None] * p_s[:, :, None] * p_y


def pooled_sunniness(p_sun, weights) -> float:
    """Return the sunniness of the single town whose data a pool of towns is equivalent to.

    Every town shares the mechanisms, so the pooled joint distribution
    ``sum_k weights[k] * P_k(Z, S, Y)`` equals that of a town with ``P(Z = 1)`` equal to the
    weighted mean sunniness.

    Parameters
    ----------
    p_sun : array_like, 1-d
        Sunniness of each town in the pool.
    weights : array_like, 1-d
        Each town's share of the pooled data: non-negative, summing to 1.

    Examples
    --------
    >>> pooled_sunniness([0.1, 0.9], [0.75, 0.25])
    0.3
    >>> pooled_sunniness([0.1, 0.9], [0.5])
    Traceback (most recent call last):
    ...
    ValueError: weights must have the same length as p_sun (2), got 1
    """
    q = check_probabilities(p_sun, "p_sun")
    if q.ndim != 1 or q.size == 0:
        raise ValueError(f"p_sun must be a non-empty 1-d sequence, got shape {q.shape}")
    if np.shape(weights) != q.shape:
        raise ValueError(
            f"weights must have the same length as p_sun ({q.size}), got {np.size(weights)}"
        )
    w = check_probability_vector(weights, "weights")
    return round(float(w @ q), 15)


def predict_from_shorts(world, p_sun) -> np.ndarray:
    """Return the Bayes-optimal predictor from shorts alone, ``P(Y = 1 | S = s)``, in a town.

    This is also what ERM with log loss converges to on data from that town (or from a pool
    whose :func:`pooled_sunniness` equals ``p_sun``), given enough data and a model that can
    represent any function of ``S``. In closed form,
    ``P(Y=1 | S=s) = sum_z P(Y=1 | z, s) P(z | s)`` with
    ``P(Z=1 | S=s) = q P(s | Z=1) / (q P(s | Z=1) + (1 - q) P(s | Z=0))``.

    Returns
    -------
    numpy.ndarray
        Shape ``p_sun.shape + (2,)``, indexed by ``s``.

    Examples
    --------
    >>> predict_from_shorts(IceCreamWorld(), [0.1, 0.9]).round(3)
    array([[0.109, 0.4  ],
           [0.45 , 0.741]])
    """
    joint = joint_distribution(world, p_sun).sum(axis=-3)  # [..., s, y]
    return joint[..., 1] / joint.sum(axis=-1)


def interventional_ice_cream(world, p_sun, shorts) -> np.ndarray:
    """Return ``P(Y = 1 | do(S = shorts))`` in a town: the sun keeps its own distribution.

    Examples
    --------
    >>> float(interventional_ice_cream(IceCreamWorld(), 0.5, 1))
    0.4
    """
    joint = joint_distribution(world, p_sun, do_shorts=shorts)
    return joint[..., 1].sum(axis=(-1, -2))


def predict_under_intervention(world, p_sun) -> np.ndarray:
    """Return the causal predictor from shorts alone, ``P(Y = 1 | do(S = s))``, in a town.

    In closed form ``b_0 + delta * s + (b_1 - b_0) * q``: the sun keeps the town's own
    distribution whatever one does about shorts. It is what a model of shorts alone learns from
    a randomised experiment (shorts assigned by coin), and it answers the decision-maker's
    question correctly; as a predictor of observational days it ignores what shorts reveal about
    the weather.

    Returns
    -------
    numpy.ndarray
        Shape ``p_sun.shape + (2,)``, indexed by ``s``.

    Examples
    --------
    >>> predict_under_intervention(IceCreamWorld(), 0.5).round(3)
    array([0.45, 0.4 ])
    """
    return np.stack(
        [interventional_ice_cream(world, p_sun, 0), interventional_ice_cream(world, p_sun, 1)],
        axis=-1,
    )


def causal_effect(world, p_sun) -> np.ndarray:
    """Return the average causal effect of shorts on ice cream,
    ``P(Y=1 | do(S=1)) - P(Y=1 | do(S=0))``, in a town.

    Examples
    --------
    >>> float(causal_effect(IceCreamWorld(shorts_effect=0.02), 0.7).round(6))
    0.02
    """
    return interventional_ice_cream(world, p_sun, 1) - interventional_ice_cream(world, p_sun, 0)


def observational_contrast(world, p_sun) -> np.ndarray:
    """Return ``P(Y=1 | S=1) - P(Y=1 | S=0)``: the effect a predictor from shorts implies.

    Examples
    --------
    >>> float(observational_contrast(IceCreamWorld(), 0.5).round(3))
    0.51
    """
    prediction = predict_from_shorts(world, p_sun)
    return prediction[..., 1] - prediction[..., 0]


def sample_world(world, p_sun, n, *, rng, do_shorts=None) -> Sample:
    """Draw ``n`` days from each town, vectorised.

    Parameters
    ----------
    world : IceCreamWorld
    p_sun : float or array_like, 1-d
        Sunniness of each town.
    n : int
        Days drawn per town.
    rng : numpy.random.Generator
    do_shorts : None or float in [0, 1]
        Draw under an intervention instead of observationally: ``do(S = do_shorts)`` for 0 or 1,
        a randomised experiment with that probability of shorts otherwise.

    Returns
    -------
    Sample
        ``n * len(p_sun)`` draws, town by town.

    Examples
    --------
    >>> sample = sample_world(IceCreamWorld(), [0.2, 0.8], 3, rng=np.random.default_rng(0))
    >>> sample.town
    array([0, 0, 0, 1, 1, 1])
    >>> sample.sun.dtype
    dtype('int8')
    """
    world = _check_world(world)
    q = np.atleast_1d(check_probabilities(p_sun, "p_sun"))
    if q.ndim != 1:
        raise ValueError(f"p_sun must be a number or a 1-d sequence, got shape {q.shape}")
    n = check_positive_int(n, "n")
    rng = check_generator(rng)
    assigned = None if do_shorts is None else _check_intervention(do_shorts)
    town = np.repeat(np.arange(q.size), n)
    uniform = rng.random((3, town.size))
    sun = uniform[0] < q[town]
    if assigned is None:
        shorts = uniform[1] < shorts_table(world)[sun.astype(np.int64)]
    else:
        shorts = uniform[1] < assigned
    ice_cream = uniform[2] < ice_cream_table(world)[sun.astype(np.int64), shorts.astype(np.int64)]
    return Sample(town, sun.astype(np.int8), shorts.astype(np.int8), ice_cream.astype(np.int8))


def sample_counts(world, p_sun, n, *, size, rng, sees_sun=False, do_shorts=None) -> np.ndarray:
    """Draw the sufficient statistics of ``size`` independent data sets of ``n`` days each.

    A predictor fit by log loss to binary inputs depends on the data only through the counts of
    each combination of values, so a multinomial draw of those counts has exactly the same
    distribution as counting ``n`` sampled days. This makes data sets of millions of days cheap.

    Parameters
    ----------
    world : IceCreamWorld
    p_sun : float
        Sunniness of the town (or :func:`pooled_sunniness` of a pool, each day's town drawn at
        random with the pool's weights).
    n, size : int
        Days per data set, and number of data sets.
    rng : numpy.random.Generator
    sees_sun : bool
        If true, count by ``[z, s, y]``; otherwise by ``[s, y]``.
    do_shorts : None or float in [0, 1]
        Draw under an intervention on shorts instead (see :func:`joint_distribution`).

    Returns
    -------
    numpy.ndarray of int
        Shape ``(size, 2, 2)`` or ``(size, 2, 2, 2)``.

    Examples
    --------
    >>> counts = sample_counts(IceCreamWorld(), 0.5, 100, size=4, rng=np.random.default_rng(1))
    >>> counts.shape, counts.sum(axis=(1, 2)).tolist()
    ((4, 2, 2), [100, 100, 100, 100])
    """
    p_sun = check_probability(p_sun, "p_sun")
    n = check_positive_int(n, "n")
    size = check_positive_int(size, "size")
    rng = check_generator(rng)
    joint = joint_distribution(world, p_sun, do_shorts=do_shorts)
    cells = joint if sees_sun else joint.sum(axis=0)
    counts = rng.multinomial(n, cells.ravel() / cells.sum(), size=size)
    return counts.reshape((size,) + cells.shape)


def sample_pool_counts(
    world, p_sun, weights, n, *, size, rng, sees_sun=False, do_shorts=None
) -> np.ndarray:
    """Draw count tables of ``size`` data sets of ``n`` days pooled from several towns.

    Each day's town is drawn with probabilities ``weights`` and the day is then drawn from
    that town's own distribution. This samples the pool directly, town by town, so it does
    *not* assume that the pool behaves like one town of average sunniness (the equivalence of
    :func:`pooled_sunniness`), and results drawn with it can test that equivalence.

    Parameters
    ----------
    world : IceCreamWorld
    p_sun, weights : array_like, 1-d, same length
        Each town's sunniness and its probability of supplying a day.
    n, size : int
    rng : numpy.random.Generator
    sees_sun : bool
        Count by ``[z, s, y]`` rather than ``[s, y]``.
    do_shorts : None or float in [0, 1]
        Draw under an intervention on shorts instead (see :func:`joint_distribution`), e.g.
        ``0.5`` for a randomised experiment run on the pool's days.

    Returns
    -------
    numpy.ndarray of int
        Shape ``(size, 2, 2)`` or ``(size, 2, 2, 2)``.

    Examples
    --------
    >>> counts = sample_pool_counts(IceCreamWorld(), [0.1, 0.9], [0.5, 0.5], 100, size=3,
    ...                             rng=np.random.default_rng(1))
    >>> counts.shape, counts.sum(axis=(1, 2)).tolist()
    ((3, 2, 2), [100, 100, 100])
    """
    q = check_probabilities(p_sun, "p_sun")
    pooled_sunniness(q, weights)  # validates the weights
    w = np.asarray(weights, dtype=float)
    n = check_positive_int(n, "n")
    size = check_positive_int(size, "size")
    rng = check_generator(rng)
    joint = joint_distribution(world, q, do_shorts=do_shorts)  # [town, z, s, y]
    cells = (joint if sees_sun else joint.sum(axis=1)).reshape(q.size, -1)
    days = rng.multinomial(n, w / w.sum(), size=size)  # [set, town]
    counts = rng.multinomial(days, cells / cells.sum(axis=1, keepdims=True))
    shape = (2, 2, 2) if sees_sun else (2, 2)
    return counts.sum(axis=1).reshape((size,) + shape)


def predictor_from_counts(counts, *, prior=0.5) -> np.ndarray:
    """Return the smoothed frequency of ice cream in each cell of a count array.

    ``(k + prior) / (m + 2 * prior)``, where ``k`` counts days with ice cream and ``m`` all days
    in the cell. With ``prior = 0`` this is the maximum-likelihood (log-loss ERM) fit of any
    model that can represent every function of the cell, such as a logistic regression of ice
    cream on shorts with an intercept; ``prior = 0.5`` (Jeffreys) keeps it off 0 and 1 so that
    the log loss stays finite on tiny data sets.

    Parameters
    ----------
    counts : array_like of int, shape (..., 2)
        Counts with the last axis indexed by ice cream ``y``.
    prior : float, >= 0

    Examples
    --------
    >>> predictor_from_counts([[3, 1], [0, 4]], prior=0)
    array([0.25, 1.  ])
    >>> predictor_from_counts([[0, 0], [0, 4]], prior=0)
    Traceback (most recent call last):
    ...
    ValueError: with prior=0 every cell of counts needs at least one day; 1 cells are empty
    """
    array = np.asarray(counts)
    if array.ndim < 1 or array.shape[-1] != 2:
        raise ValueError(f"counts must have a last axis of length 2, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer) or np.any(array < 0):
        raise ValueError("counts must hold non-negative integers")
    prior = check_finite(prior, "prior")
    if prior < 0:
        raise ValueError(f"prior must be non-negative, got {prior}")
    total = array.sum(axis=-1)
    if prior == 0 and np.any(total == 0):
        raise ValueError(
            "with prior=0 every cell of counts needs at least one day; "
            f"{int(np.sum(total == 0))} cells are empty"
        )
    return (array[..., 1] + prior) / (total + 2 * prior)


def fit_counts(shorts, ice_cream, *, group=None, n_groups=None, prior=0.5) -> np.ndarray:
    """Fit ``P(Y = 1 | S)`` (or ``P(Y = 1 | group, S)``) to samples by counting.

    Parameters
    ----------
    shorts, ice_cream : array_like of 0/1, 1-d, same length
    group : array_like of int, optional
        A second input: the town (a domain label) or the sun. Values in ``range(n_groups)``.
    n_groups : int, optional
        Required with ``group``.
    prior : float
        See :func:`predictor_from_counts`.

    Returns
    -------
    numpy.ndarray
        Shape ``(2,)`` indexed by ``s``, or ``(n_groups, 2)`` indexed ``[group, s]``.

    Examples
    --------
    >>> fit_counts([0, 0, 1, 1], [0, 1, 1, 1], prior=0)
    array([0.5, 1. ])
    >>> fit_counts([0, 1, 0, 1], [0, 1, 1, 1], group=[0, 0, 1, 1], n_groups=2, prior=0)
    array([[0., 1.],
           [1., 1.]])
    """
    s = check_binary(shorts, "shorts")
    y = check_binary(ice_cream, "ice_cream")
    if s.size != y.size:
        raise ValueError(
            f"shorts and ice_cream must have the same length, got {s.size} and {y.size}"
        )
    if group is None:
        if n_groups is not None:
            raise ValueError(f"n_groups is only used with group, got n_groups={n_groups!r}")
        return predictor_from_counts(np.bincount(2 * s + y, minlength=4).reshape(2, 2), prior=prior)
    n_groups = check_positive_int(n_groups, "n_groups")
    g = np.asarray(group)
    if g.shape != s.shape or not np.issubdtype(g.dtype, np.integer):
        raise ValueError(
            f"group must be 1-d integers of the same length as shorts, got {g.dtype} {g.shape}"
        )
    if np.any((g < 0) | (g >= n_groups)):
        raise ValueError(f"group values must be in range({n_groups}), got {np.unique(g)}")
    counts = np.bincount(4 * g + 2 * s + y, minlength=4 * n_groups).reshape(n_groups, 2, 2)
    return predictor_from_counts(counts, prior=prior)


def excess_log_loss(world, p_sun, predictor, *, sees_sun=False) -> np.ndarray:
    """Return a predictor's expected log loss in a town minus the Bayes-optimal loss (nats).

    For a predictor from shorts alone this is ``sum_s P(s) KL(P(Y | s) || predictor[s])``;
    for one that also sees the sun, ``sum_{z,s} P(z, s) KL(P(Y | z, s) || predictor[z, s])``.
    Either way it is the loss that better learning, with the same inputs, could remove; for the
    shorts-only predictor the comparison is the best predictor *from shorts* in that town.

    Parameters
    ----------
    world : IceCreamWorld
    p_sun : float or array_like
        The town's sunniness; broadcast against the predictor's leading axes.
    predictor : array_like, shape (..., 2) or, with ``sees_sun``, (..., 2, 2)
        Predicted ``P(Y = 1 | ...)``, strictly between 0 and 1.
    sees_sun : bool

    Examples
    --------
    >>> world = IceCreamWorld()
    >>> float(excess_log_loss(world, 0.5, predict_from_shorts(world, 0.5)))
    0.0
    >>> excess_log_loss(world, 0.5, [0.2, 1.0])
    Traceback (most recent call last):
    ...
    ValueError: predictor must be strictly between 0 and 1, got [1.]
    """
    predictor = check_probabilities(predictor, "predictor")
    at_edge = (predictor == 0) | (predictor == 1)
    if np.any(at_edge):
        raise ValueError(f"predictor must be strictly between 0 and 1, got {predictor[at_edge]}")
    joint = joint_distribution(world, p_sun)  # [..., z, s, y]
    if sees_sun:
        if predictor.shape[-2:] != (2, 2):
            raise ValueError(
                f"with sees_sun, predictor must end in shape (2, 2), got {predictor.shape}"
            )
        truth, weight = ice_cream_table(world), joint.sum(axis=-1)
        axes = (-2, -1)
    else:
        if predictor.shape[-1:] != (2,):
            raise ValueError(f"predictor must end in an axis of length 2, got {predictor.shape}")
        weight = joint.sum(axis=(-3, -1))
        truth, axes = predict_from_shorts(world, p_sun), (-1,)
    divergence = rel_entr(truth, predictor) + rel_entr(1 - truth, 1 - predictor)
    return np.sum(weight * divergence, axis=axes)


def excess_loss_constant(world, train_sun, test_sun, *, sees_sun=False) -> float:
    """Return ``c`` such that a count fit on ``n`` training days has expected excess loss
    ``c / n + o(1 / n)`` in the test town.

    Valid when the fit's large-sample limit is the test town's Bayes predictor: always when the
    predictor sees the sun, and for shorts alone only when the two sunniness values are equal.
    Each cell ``c`` of inputs contributes ``P_test(c) / (2 P_train(c))``: the estimate in a cell
    seen on ``n P_train(c)`` days has variance ``p (1 - p) / (n P_train(c))`` and the divergence
    is ``(error)^2 / (2 p (1 - p))`` to second order. In distribution, ``c`` is half the number
    of cells (half the number of parameters), the classical chi-square result.

    Examples
    --------
    >>> world = IceCreamWorld()
    >>> float(excess_loss_constant(world, 0.5, 0.5))
    1.0
    >>> float(excess_loss_constant(world, 0.5, 0.5, sees_sun=True))
    2.0
    >>> excess_loss_constant(world, 0.5, 0.2)
    Traceback (most recent call last):
    ...
    ValueError: without the sun, train_sun and test_sun must be equal (the fit is biased
    otherwise), got 0.5 and 0.2
    """
    train_sun = check_probability(train_sun, "train_sun")
    test_sun = check_probability(test_sun, "test_sun")
    if not sees_sun and train_sun != test_sun:
        raise ValueError(
            "without the sun, train_sun and test_sun must be equal (the fit is biased otherwise), "
            f"got {train_sun} and {test_sun}"
        )
    axes = -1 if sees_sun else (-3, -1)
    train = joint_distribution(world, train_sun).sum(axis=axes)
    test = joint_distribution(world, test_sun).sum(axis=axes)
    if np.any((train == 0) & (test > 0)):
        raise ValueError("the test town has cells of inputs that the training town never shows")
    seen = test > 0
    return float(np.sum(test[seen] / (2 * train[seen])))


def adjust_for_sun(sun, shorts, ice_cream, *, p_sun=None) -> Estimate:
    """Estimate the causal effect of shorts from observational days on which the sun was seen.

    The back-door adjustment ``sum_z P(z) [P(Y=1 | z, S=1) - P(Y=1 | z, S=0)]`` (Pearl, 2009)
    is valid because the sun is the only common cause. The stratum rates ``P(Y | z, s)`` are
    the same in every town, so days pooled from several towns can estimate them; ``P(z)`` must
    be that of the town where the decision is taken. By default it is the sample's own share of
    sunny days (delta-method standard error including its uncertainty); give ``p_sun`` to
    transport the effect to a town of known sunniness instead.

    Examples
    --------
    >>> world = IceCreamWorld()
    >>> days = sample_world(world, 0.5, 50_000, rng=np.random.default_rng(2))
    >>> effect = adjust_for_sun(days.sun, days.shorts, days.ice_cream)
    >>> abs(effect.z_score(-0.05)) < 4
    True
    >>> abs(adjust_for_sun(days.sun, days.shorts, days.ice_cream, p_sun=0.1).z_score(-0.05)) < 4
    True
    """
    z = check_binary(sun, "sun")
    s = check_binary(shorts, "shorts")
    y = check_binary(ice_cream, "ice_cream")
    if not z.size == s.size == y.size:
        raise ValueError(
            f"sun, shorts and ice_cream must have the same length, got {z.size}, {s.size}, {y.size}"
        )
    counts = np.bincount(4 * z + 2 * s + y, minlength=8).reshape(2, 2, 2)
    days = counts.sum(axis=-1)  # [z, s]
    if np.any(days == 0):
        raise ValueError("every combination of sun and shorts must occur at least once")
    rate = counts[..., 1] / days
    stratum_effect = rate[:, 1] - rate[:, 0]
    if p_sun is None:
        share = days.sum(axis=1) / z.size  # P(z), estimated
        variance_share = (stratum_effect[1] - stratum_effect[0]) ** 2 * share[1] * share[0] / z.size
    else:
        q = check_probability(p_sun, "p_sun")
        share, variance_share = np.array([1 - q, q]), 0.0  # P(z), known
    variance_rate = np.sum(share**2 * np.sum(rate * (1 - rate) / days, axis=1))
    return Estimate(
        float(share @ stratum_effect), float(np.sqrt(variance_rate + variance_share)), int(z.size)
    )


def decision_regret(true_gain, believed_gain, cost) -> np.ndarray:
    """Return what a decision-maker loses by acting on a believed effect instead of the true one.

    The decision-maker puts on shorts when the believed gain in the chance of ice cream
    exceeds the cost of wearing them (in the same units, "ice creams"). The regret is the best
    achievable net gain, ``max(true_gain - cost, 0)``, minus the net gain of the action taken.

    Examples
    --------
    >>> decision_regret(-0.05, 0.5, [0.1, 0.6]).round(3)
    array([0.15, 0.  ])
    """
    true_gain = check_finite_array(true_gain, "true_gain")
    believed_gain = check_finite_array(believed_gain, "believed_gain")
    cost = check_finite_array(cost, "cost")
    acts = believed_gain > cost
    achieved = np.where(acts, true_gain - cost, 0.0)
    return np.maximum(true_gain - cost, 0.0) - achieved


def sunniness_features(shorts, p_sun, *, degree=2) -> np.ndarray:
    """Return a design matrix for a model that sees the town's sunniness ``q`` as a number.

    With ``x = logit(q)`` the columns are ``s, x, s*x, x**2, s*x**2, ...`` up to ``degree``: a
    logistic regression on them can give each value of shorts its own smooth curve in ``x``.
    Unlike a one-hot town label, such an input says *how* towns differ, so a model can
    interpolate to towns it never saw; how well depends on the model class (the true
    ``P(Y | S, q)`` is not a polynomial in ``x``).

    Examples
    --------
    >>> sunniness_features([0, 1], [0.5, 0.5], degree=1)
    array([[0., 0., 0.],
           [1., 0., 0.]])
    """
    s = check_binary(shorts, "shorts").astype(float)
    q = check_probabilities(p_sun, "p_sun")
    degree = check_positive_int(degree, "degree")
    if q.shape != s.shape:
        raise ValueError(f"p_sun must have the same shape as shorts {s.shape}, got {q.shape}")
    if np.any((q == 0) | (q == 1)):
        raise ValueError("p_sun must be strictly between 0 and 1 for its logit to be finite")
    x = logit(q)
    columns = [s]
    for power in range(1, degree + 1):
        columns += [x**power, s * x**power]
    return np.column_stack(columns)


def lowest_log_loss(world, p_sun, *, sees_sun=False) -> np.ndarray:
    """Return the lowest expected log loss (nats) any predictor can reach in a town.

    It is the conditional entropy ``H(Y | S)``, or ``H(Y | Z, S)`` with ``sees_sun``. Their
    difference, the information the hidden sun carries about ice cream beyond shorts,
    ``I(Y; Z | S)``, is what a shorts-only model cannot learn however much data it sees;
    ``H(Y | Z, S)`` itself is ice cream's own randomness, which no model removes.

    Examples
    --------
    >>> world = IceCreamWorld()
    >>> bool(lowest_log_loss(world, 0.5) > lowest_log_loss(world, 0.5, sees_sun=True))
    True
    """
    joint = joint_distribution(world, p_sun)  # [..., z, s, y]
    if sees_sun:
        weight, truth = joint.sum(axis=-1), ice_cream_table(world)
        axes = (-2, -1)
    else:
        weight, truth = joint.sum(axis=(-3, -1)), predict_from_shorts(world, p_sun)
        axes = (-1,)
    return np.sum(weight * (entr(truth) + entr(1 - truth)), axis=axes)


def estimate_contrast(shorts, ice_cream) -> Estimate:
    """Estimate ``P(Y=1 | S=1) - P(Y=1 | S=0)`` from days, with its standard error.

    The difference of two independent means, by :func:`lib.evidence.estimation.estimate_difference`.

    This is the effect of shorts that a predictor from shorts alone implies.

    Examples
    --------
    >>> contrast = estimate_contrast([0, 0, 1, 1], [0, 1, 1, 1])
    >>> contrast.value, round(contrast.standard_error, 4), contrast.n
    (0.5, 0.5, 4)
    """
    s = check_binary(shorts, "shorts")
    y = check_binary(ice_cream, "ice_cream")
    if s.size != y.size:
        raise ValueError(
            f"shorts and ice_cream must have the same length, got {s.size} and {y.size}"
        )
    days = np.bincount(s, minlength=2)
    if np.any(days < 2):
        raise ValueError(f"both values of shorts must occur at least twice, got {days.tolist()}")
    difference = estimate_difference(y[s == 1], y[s == 0], paired=False)
    return Estimate(difference.value, difference.standard_error, int(s.size))


def fit_logistic(features, positives, totals, *, max_iter=100, tol=1e-10) -> np.ndarray:
    """Fit unpenalised logistic regressions with an intercept to grouped counts, all at once.

    Newton's method on the log likelihood of ``positives`` successes in ``totals`` trials in
    each row of ``features``, vectorised over any leading axes of the counts (one fit per
    independent data set), so repeated training sets need no Python loop. It is written by hand
    because scikit-learn's ``LogisticRegression`` fits one data set per call; the tests check it
    against scikit-learn on the same counts.

    Parameters
    ----------
    features : array_like, shape (m, p)
        The design for the ``m`` rows (no intercept column: one is added).
    positives, totals : array_like, shape (..., m)
        Days with ice cream and all days, per row.

    Returns
    -------
    numpy.ndarray
        Coefficients, shape ``(..., p + 1)``, intercept first.

    Examples
    --------
    >>> coef = fit_logistic([[0.0], [1.0]], [1, 3], [4, 4])
    >>> predict_logistic([[0.0], [1.0]], coef).round(6)
    array([0.25, 0.75])
    """
    x = np.column_stack([np.ones(len(features)), np.asarray(features, dtype=float)])
    k = np.asarray(positives, dtype=float)
    m = np.asarray(totals, dtype=float)
    if k.shape != m.shape or k.shape[-1:] != x.shape[:1]:
        raise ValueError(
            f"positives and totals must have shape (..., {x.shape[0]}), got {k.shape} and {m.shape}"
        )
    if np.any(k < 0) or np.any(k > m):
        raise ValueError("positives must lie between 0 and totals")
    coef = np.zeros(k.shape[:-1] + x.shape[1:])
    for _ in range(check_positive_int(max_iter, "max_iter")):
        mean = expit(coef @ x.T)  # [..., m]
        gradient = (k - m * mean) @ x
        hessian = np.einsum("...r,ri,rj->...ij", m * mean * (1 - mean), x, x)
        step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        coef = coef + step
        if np.max(np.abs(step)) < tol:
            return coef
    raise ValueError(f"Newton's method did not converge in max_iter={max_iter} steps")


def predict_logistic(features, coef) -> np.ndarray:
    """Return the fitted probabilities of :func:`fit_logistic`'s coefficients, ``[..., row]``.

    Examples
    --------
    >>> predict_logistic([[0.0]], [0.0, 1.0])
    array([0.5])
    """
    features = np.asarray(features, dtype=float)
    if features.ndim != 2:
        raise ValueError(f"features must have shape (m, p), got {features.shape}")
    coef = np.asarray(coef, dtype=float)
    if coef.ndim == 0 or coef.shape[-1] != features.shape[1] + 1:
        raise ValueError(f"coef must have shape (..., {features.shape[1] + 1}), got {coef.shape}")
    x = np.column_stack([np.ones(len(features)), features])
    return expit(coef @ x.T)


def linear_gaussian_slope(var_hidden, var_input_noise) -> np.ndarray:
    """Return the least-squares slope of ``Y`` on ``X`` when a hidden ``Z`` drives both.

    In the linear-Gaussian version of the confounded world, ``X = Z + e_X`` and ``Y = Z + e_Y``
    with independent centred Gaussians of variances ``var_hidden`` (for the hidden ``Z``),
    ``var_input_noise`` (for ``e_X``) and any variance for ``e_Y``; ``X`` has no effect on ``Y``.
    The slope ERM converges to is ``Cov(X, Y) / Var(X) = var_hidden / (var_hidden +
    var_input_noise)``: it changes with the environment's variances, while the causal slope is 0.
    A pool of centred environments has the variances' weighted means, so its slope is that of an
    average environment.

    Examples
    --------
    >>> linear_gaussian_slope([0.5, 2.0], 1.0).round(3)
    array([0.333, 0.667])
    """
    hidden = check_finite_array(var_hidden, "var_hidden")
    noise = check_finite_array(var_input_noise, "var_input_noise")
    if np.any(hidden < 0) or np.any(noise < 0) or np.any(hidden + noise == 0):
        raise ValueError(
            "var_hidden and var_input_noise must be non-negative and not both zero, "
            f"got {hidden} and {noise}"
        )
    return hidden / (hidden + noise)


def sample_linear_gaussian(var_hidden, var_input_noise, var_output_noise, n, *, rng):
    """Draw ``n`` pairs ``(X, Y)`` with ``X = Z + e_X``, ``Y = Z + e_Y`` (see
    :func:`linear_gaussian_slope`); ``Z`` is drawn but not returned, as it is hidden.

    Returns
    -------
    tuple of numpy.ndarray
        ``x`` and ``y``, each of shape ``(n,)``.

    Examples
    --------
    >>> x, y = sample_linear_gaussian(1.0, 1.0, 0.5, 4, rng=np.random.default_rng(0))
    >>> x.shape, y.shape
    ((4,), (4,))
    """
    scales = []
    for name, value in (
        ("var_hidden", var_hidden),
        ("var_input_noise", var_input_noise),
        ("var_output_noise", var_output_noise),
    ):
        value = check_finite(value, name)
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
        scales.append(np.sqrt(value))
    n = check_positive_int(n, "n")
    rng = check_generator(rng)
    hidden, input_noise, output_noise = rng.standard_normal((3, n)) * np.array(scales)[:, None]
    return hidden + input_noise, hidden + output_noise
