"""A goal-slot planner: draw plans from a prior, keep the one a learned classifier likes best.

Belrose and Pope's hospital example (:cite:`belrose2024counting`): a system asks a language
model for N operation plans, scores each with a classifier trained on historical plans to predict
malpractice lawsuits, and carries out the plan scored least risky. This module builds a small,
finite version of that system in which everything can be computed exactly:

* plans are vectors of step counts over :data:`FEATURES` (:func:`enumerate_plans`);
* historical plans come from hospital teams of two kinds, careful and careless
  (:class:`HospitalWorld`); careful teams write more checks and cleaning into their plans and are
  sued less, for reasons that are not in the plan: the team's carefulness is a hidden common
  cause, so checks and cleaning go with fewer lawsuits without lowering them;
* the prior over plans, the plan generator, is the distribution of historical plans
  (:func:`plan_prior`); two "schemes", falsifying records and pressuring patients, truly lower
  the chance of a lawsuit but are rare in it;
* the hidden truth: :func:`true_lawsuit_risk` (the chance of a lawsuit when a hospital team,
  careful or not as in the population, carries the plan out) and :func:`patient_benefit`;
* historical records, one by one (:func:`sample_records`) or as counts per plan for many
  histories at once (:func:`sample_record_counts`);
* the classifier, logistic regression on step counts, fitted for many histories at once
  (:func:`fit_lawsuit_classifiers`, :func:`lawsuit_scores`);
* best-of-N, exactly from order statistics (:func:`best_of_n_level_probabilities`,
  :func:`best_of_n_plan_probabilities`, :func:`best_of_n_means`) and by sampling
  (:func:`best_of_n_by_sampling`);
* best-of-N on a continuous proxy equal to the true reward plus noise
  (:func:`best_of_n_true_reward`), and Gao et al.'s functional form
  (:func:`fit_overoptimization_curve`);
* the prior tilted by a reward (:func:`tilted_distribution`) and REINFORCE with a KL penalty on
  a log-linear policy over plans (:func:`reinforce_with_kl`, :func:`policy_distribution`).

Scores are "lower is better" for best-of-N: the planner picks the plan with the lowest
predicted lawsuit log-odds. Ties are broken uniformly at random among the tied draws.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from functools import cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy import special, stats
from scipy.optimize import brentq
from scipy.special import expit, logsumexp
from threadpoolctl import ThreadpoolController

from ..evidence.validation import (
    check_finite,
    check_finite_array,
    check_generator,
    check_positive_int,
    check_probability,
    check_probability_vector,
)

__all__ = [
    "FEATURES",
    "MAX_REPEATS",
    "SCHEMES",
    "HospitalWorld",
    "best_of_n_by_sampling",
    "best_of_n_kl",
    "best_of_n_level_probabilities",
    "best_of_n_means",
    "best_of_n_plan_probabilities",
    "best_of_n_true_reward",
    "continuous_best_of_n_kl",
    "enumerate_plans",
    "fit_lawsuit_classifiers",
    "fit_overoptimization_curve",
    "group_by_score",
    "lawsuit_log_odds",
    "lawsuit_scores",
    "match_lawsuit_rate",
    "patient_benefit",
    "plan_prior",
    "policy_distribution",
    "reinforce_with_kl",
    "sample_record_counts",
    "sample_records",
    "tilted_distribution",
    "true_lawsuit_risk",
]

#: The steps a plan is made of, in the order of a plan's count vector.
FEATURES = (
    "operate",
    "consent",
    "sterilise",
    "check",
    "clean",
    "falsify records",
    "pressure patient",
)
#: The two schemes: steps that truly lower the chance of a lawsuit and that no honest plan uses.
SCHEMES = ("falsify records", "pressure patient")
#: Checks and cleaning can be written into a plan 0 to MAX_REPEATS times (the default cap;
#: HospitalWorld.max_repeats changes it); other steps 0 or 1 time.
MAX_REPEATS = 4
_REPEATABLE = ("check", "clean")

# Chance that a team writes each step into a plan (for check and clean: the binomial chance of
# each of the MAX_REPEATS possible repeats), careless team first, careful team second.
_STEP_RATES = {
    "consent": (0.70, 0.95),
    "sterilise": (0.75, 0.95),
    "check": (0.2, 0.6),
    "clean": (0.2, 0.6),
}
# The causal effect of each step on the log-odds of a lawsuit. Checks and cleaning have none; the
# schemes' effect is HospitalWorld.scheme_effect, the careful team's HospitalWorld.team_effect, the
# intercept HospitalWorld.lawsuit_intercept.
_LAWSUIT_EFFECT = {"operate": 1.5, "consent": -1.0, "sterilise": -0.7, "check": 0.0, "clean": 0.0}


@dataclass(frozen=True)
class HospitalWorld:
    """Parameters of the hospital's historical plans and of the hidden truth.

    Attributes
    ----------
    share_careful : float
        Share of plans written (and carried out) by careful teams.
    p_operate : float
        Chance that a plan operates, the same for both kinds of team.
    team_effect : float
        How much a careful team lowers the log-odds of a lawsuit, whatever the plan says. It is
        the hidden cause: with ``team_effect = 0`` checks and cleaning are still written more
        often by careful teams but no longer go with fewer lawsuits.
    scheme_rate : float
        Chance that a historical plan contains each scheme (independently of the team).
    scheme_effect : float
        How much each scheme lowers the log-odds of a lawsuit: the schemes would work.
    lawsuit_intercept : float
        The log-odds of a lawsuit for a careless team's empty plan. :func:`match_lawsuit_rate`
        sets it so that two worlds have the same lawsuit rate under their priors.
    max_repeats : int
        The cap on checks and on cleanings in a plan. Each of the ``max_repeats`` possible
        repeats is written with a chance scaled by ``MAX_REPEATS / max_repeats``, so that each
        kind of team writes as many checks and cleanings on average whatever the cap; a larger
        cap makes heavily stacked plans rarer. At least ``MAX_REPEATS``.
    check_rates : tuple of two floats, optional
        The chance of each possible extra check, (careless team, careful team), at the default
        cap. ``None`` (the default) keeps the rates of the chapter's world, ``(0.2, 0.6)``. Equal
        rates, such as ``(0.4, 0.4)``, make checks no mark of a careful team (cleaning still is).
    clean_rates : tuple of two floats, optional
        The same for each possible extra cleaning; ``None`` keeps ``(0.2, 0.6)``. With both
        ``check_rates`` and ``clean_rates`` at ``(0.6, 0.2)`` checks and cleaning mark a careless
        team instead.

    Examples
    --------
    >>> HospitalWorld(check_rates=(0.4, 0.4)).check_rates
    (0.4, 0.4)
    >>> HospitalWorld(check_rates=(0.4, 1.5))
    Traceback (most recent call last):
    ...
    ValueError: check_rates[1] must be in [0, 1], got 1.5
    >>> HospitalWorld(clean_rates=(0.6, 0.2)).clean_rates
    (0.6, 0.2)
    """

    share_careful: float = 0.5
    p_operate: float = 0.9
    team_effect: float = 1.5
    scheme_rate: float = 1e-3
    scheme_effect: float = 2.0
    lawsuit_intercept: float = -2.5
    max_repeats: int = MAX_REPEATS
    check_rates: tuple[float, float] | None = None
    clean_rates: tuple[float, float] | None = None

    def __post_init__(self):
        check_probability(self.share_careful, "share_careful")
        check_probability(self.p_operate, "p_operate")
        check_probability(self.scheme_rate, "scheme_rate")
        for name in ("team_effect", "scheme_effect"):
            if check_finite(getattr(self, name), name) < 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)}")
        check_finite(self.lawsuit_intercept, "lawsuit_intercept")
        check_positive_int(self.max_repeats, "max_repeats", minimum=MAX_REPEATS)
        for name in ("check_rates", "clean_rates"):
            rates = getattr(self, name)
            if rates is None:
                continue
            if not isinstance(rates, tuple) or len(rates) != 2:
                raise ValueError(
                    f"{name} must be a tuple (careless, careful) of two probabilities, "
                    f"got {rates!r}"
                )
            for i, rate in enumerate(rates):
                check_probability(rate, f"{name}[{i}]")


def _check_world(world):
    if not isinstance(world, HospitalWorld):
        raise TypeError(f"world must be a HospitalWorld, got {type(world).__name__}")
    return world


def _check_plans(plans, max_repeats=MAX_REPEATS) -> np.ndarray:
    plans = np.asarray(plans)
    limits = np.array([max_repeats if f in _REPEATABLE else 1 for f in FEATURES])
    if (
        plans.ndim != 2
        or plans.shape[1] != len(FEATURES)
        or np.any(plans < 0)
        or np.any(plans > limits)
    ):
        raise ValueError(
            f"plans must be an (n, {len(FEATURES)}) array of step counts within "
            f"{limits.tolist()}, got shape {plans.shape}"
        )
    return plans


def enumerate_plans(max_repeats: int = MAX_REPEATS) -> np.ndarray:
    """Return every possible plan as a row of step counts over :data:`FEATURES`.

    ``max_repeats`` is the cap on checks and on cleanings (a world's ``max_repeats``).

    Examples
    --------
    >>> plans = enumerate_plans()
    >>> plans.shape
    (800, 7)
    >>> plans[-1].tolist()
    [1, 1, 1, 4, 4, 1, 1]
    >>> enumerate_plans(8).shape
    (2592, 7)
    """
    max_repeats = check_positive_int(max_repeats, "max_repeats")
    ranges = [range(max_repeats + 1) if f in _REPEATABLE else range(2) for f in FEATURES]
    return np.array(list(itertools.product(*ranges)), dtype=np.int64)


def _repeat_rate(world, feature, careful):
    # the chance of each possible repeat, scaled so that the mean count does not depend on the cap
    rates = _STEP_RATES[feature]
    if feature == "check" and world.check_rates is not None:
        rates = world.check_rates
    if feature == "clean" and world.clean_rates is not None:
        rates = world.clean_rates
    return rates[careful] * MAX_REPEATS / world.max_repeats


def _step_probabilities(world, plans, careful: bool) -> np.ndarray:
    # Chance that a team of one kind writes each plan: independent steps given the team.
    probability = np.where(plans[:, 0] == 1, world.p_operate, 1 - world.p_operate)
    for j, feature in enumerate(FEATURES[1:], start=1):
        if feature in SCHEMES:
            rate = world.scheme_rate
            probability = probability * np.where(plans[:, j] == 1, rate, 1 - rate)
        elif feature in _REPEATABLE:
            probability = probability * stats.binom.pmf(
                plans[:, j], world.max_repeats, _repeat_rate(world, feature, careful)
            )
        else:
            rate = _STEP_RATES[feature][careful]
            probability = probability * np.where(plans[:, j] == 1, rate, 1 - rate)
    return probability


def plan_prior(world: HospitalWorld, plans) -> np.ndarray:
    """Return the prior probability of each plan: the share of historical plans like it.

    A mixture over the two kinds of team, each writing steps independently.

    Examples
    --------
    >>> plans = enumerate_plans()
    >>> prior = plan_prior(HospitalWorld(), plans)
    >>> round(float(prior.sum()), 12)
    1.0
    """
    world = _check_world(world)
    plans = _check_plans(plans, world.max_repeats)
    return world.share_careful * _step_probabilities(world, plans, True) + (
        1 - world.share_careful
    ) * _step_probabilities(world, plans, False)


def lawsuit_log_odds(world: HospitalWorld, plans, careful) -> np.ndarray:
    """Return the true log-odds of a lawsuit for each plan carried out by a team of a given kind.

    ``careful`` is a bool or a 0/1 array with one entry per plan.

    Examples
    --------
    >>> textbook = [[1, 1, 1, 0, 0, 0, 0]]
    >>> lawsuit_log_odds(HospitalWorld(), textbook, False).round(2).tolist()
    [-2.7]
    >>> lawsuit_log_odds(HospitalWorld(), textbook, True).round(2).tolist()
    [-4.2]
    """
    world = _check_world(world)
    plans = _check_plans(plans, world.max_repeats)
    effect = np.array(
        [-world.scheme_effect if f in SCHEMES else _LAWSUIT_EFFECT[f] for f in FEATURES]
    )
    careful = np.asarray(careful, dtype=float)
    return world.lawsuit_intercept + plans @ effect - world.team_effect * careful


def true_lawsuit_risk(world: HospitalWorld, plans) -> np.ndarray:
    """Return each plan's chance of a lawsuit when the hospital adopts it.

    The plan is carried out by a team drawn from the hospital's teams (careful with probability
    ``share_careful``), whoever wrote plans like it in the past: choosing a plan does not choose
    the team. This is the interventional risk, which the classifier never sees.

    Examples
    --------
    >>> risk = true_lawsuit_risk(HospitalWorld(), [[1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 4, 4, 0, 0]])
    >>> bool(risk[0] == risk[1])  # checks and cleaning change nothing
    True
    """
    world = _check_world(world)
    return world.share_careful * expit(lawsuit_log_odds(world, plans, True)) + (
        1 - world.share_careful
    ) * expit(lawsuit_log_odds(world, plans, False))


def patient_benefit(plans, *, max_repeats: int = MAX_REPEATS) -> np.ndarray:
    """Return each plan's chance of helping the patient.

    Only an operation helps (0.55 more, and 0.3 more again if the plan sterilises); a patient
    recovers anyway with probability 0.05. Nothing else in a plan matters to the patient.
    ``max_repeats`` is the cap on checks and cleanings the plans may use.

    Examples
    --------
    >>> patient_benefit([[1, 1, 1, 0, 0, 0, 0], [0, 1, 1, 4, 4, 0, 0]]).round(2).tolist()
    [0.9, 0.05]
    """
    plans = _check_plans(plans, max_repeats)
    return 0.05 + plans[:, 0] * (0.55 + 0.3 * plans[:, 2])


def sample_records(world: HospitalWorld, n_records: int, *, rng: np.random.Generator):
    """Draw ``n_records`` historical plans with their teams and whether a lawsuit followed.

    Returns
    -------
    plans : ndarray of int, shape ``(n_records, len(FEATURES))``
    careful : ndarray of bool
    sued : ndarray of bool

    Examples
    --------
    >>> plans, careful, sued = sample_records(HospitalWorld(), 5, rng=np.random.default_rng(0))
    >>> plans.shape, careful.shape, sued.shape
    ((5, 7), (5,), (5,))
    """
    world, rng = _check_world(world), check_generator(rng)
    n_records = check_positive_int(n_records, "n_records")
    careful = rng.random(n_records) < world.share_careful
    plans = np.empty((n_records, len(FEATURES)), dtype=np.int64)
    plans[:, 0] = rng.random(n_records) < world.p_operate
    for j, feature in enumerate(FEATURES[1:], start=1):
        if feature in SCHEMES:
            plans[:, j] = rng.random(n_records) < world.scheme_rate
            continue
        if feature in _REPEATABLE:
            trials = world.max_repeats
            rate = np.where(careful, *(_repeat_rate(world, feature, c) for c in (1, 0)))
        else:
            trials = 1
            rate = np.where(careful, _STEP_RATES[feature][1], _STEP_RATES[feature][0])
        plans[:, j] = rng.binomial(trials, rate)
    sued = rng.random(n_records) < expit(lawsuit_log_odds(world, plans, careful))
    return plans, careful, sued


def match_lawsuit_rate(world: HospitalWorld, rate: float) -> HospitalWorld:
    """Return ``world`` with its lawsuit intercept set so that the prior's lawsuit rate is ``rate``.

    A control world should differ from the chapter's world in one thing. Removing the hidden
    cause (``team_effect = 0``) also raises the lawsuit rate, since careful teams no longer
    lower it; shifting the intercept restores the rate, so that only the hidden cause changes.

    Examples
    --------
    >>> plans = enumerate_plans()
    >>> rate = float(plan_prior(HospitalWorld(), plans) @ true_lawsuit_risk(HospitalWorld(), plans))
    >>> control = match_lawsuit_rate(HospitalWorld(team_effect=0.0), rate)
    >>> round(float(plan_prior(control, plans) @ true_lawsuit_risk(control, plans)) - rate, 12)
    0.0
    >>> round(control.lawsuit_intercept, 3)
    -3.022
    """
    world = _check_world(world)
    rate = check_finite(rate, "rate")
    if not 0 < rate < 1:
        raise ValueError(f"rate must be in (0, 1), got {rate}")
    plans = enumerate_plans(world.max_repeats)
    prior = plan_prior(world, plans)

    def excess(intercept):
        shifted = replace(world, lawsuit_intercept=intercept)
        return prior @ true_lawsuit_risk(shifted, plans) - rate

    return replace(world, lawsuit_intercept=brentq(excess, -40.0, 40.0, xtol=1e-14))


def sample_record_counts(
    world: HospitalWorld, n_records: int, n_histories: int, *, rng: np.random.Generator
) -> np.ndarray:
    """Draw ``n_histories`` independent sets of ``n_records`` historical plans, as counts.

    The same records as :func:`sample_records` draws one at a time, summarised: how many
    records hold each plan of ``enumerate_plans(world.max_repeats)``, written by each kind of team, with and
    without a lawsuit. Given the world, the records of one history are a multinomial draw over
    these cells, so every history costs one draw however many records it holds.

    Returns
    -------
    ndarray of int, shape ``(n_histories, n_plans, 2, 2)``
        ``counts[h, i, careful, sued]``.

    Examples
    --------
    >>> counts = sample_record_counts(HospitalWorld(), 5_000, 3, rng=np.random.default_rng(0))
    >>> counts.shape, counts.sum(axis=(1, 2, 3)).tolist()
    ((3, 800, 2, 2), [5000, 5000, 5000])
    """
    world, rng = _check_world(world), check_generator(rng)
    n_records = check_positive_int(n_records, "n_records")
    n_histories = check_positive_int(n_histories, "n_histories")
    plans = enumerate_plans(world.max_repeats)
    cells = np.empty((len(plans), 2, 2))
    for careful, share in ((0, 1 - world.share_careful), (1, world.share_careful)):
        written = share * _step_probabilities(world, plans, bool(careful))
        sued = expit(lawsuit_log_odds(world, plans, careful))
        cells[:, careful, 0] = written * (1 - sued)
        cells[:, careful, 1] = written * sued
    counts = rng.multinomial(n_records, cells.ravel() / cells.sum(), size=n_histories)
    return counts.reshape(n_histories, len(plans), 2, 2)


@cache
def _thread_controller() -> ThreadpoolController:
    # Finding the loaded BLAS libraries takes milliseconds: do it once.
    return ThreadpoolController()


def fit_lawsuit_classifiers(
    design, sued, total, *, inverse_regularization: float = 1.0, tolerance: float = 1e-10
):
    r"""Fit L2-regularised logistic regressions of lawsuits on step counts, many at once.

    Each of a batch of record sets is summarised by how many records share each row of
    ``design`` (``total``) and how many of those were followed by a lawsuit (``sued``). For each
    record set this minimises :math:`\tfrac12 \lVert w \rVert^2 + C \sum_i \ell_i`, the
    objective of scikit-learn's ``LogisticRegression(C=C)`` on the records one by one (the
    intercept is not penalised), by Newton's method, batched over the record sets.

    A step that never occurs in a record set has a column of zeros in its records, so the data
    term's gradient for its weight is exactly zero and the penalty holds the weight at exactly
    0: the classifier is indifferent to that step.

    Parameters
    ----------
    design : array_like, shape ``(n_rows, k)``
        The features of each distinct record (e.g. :func:`enumerate_plans`).
    sued, total : array_like, shape ``(n_sets, n_rows)``
        Counts, ``0 <= sued <= total``; each set with both outcomes present.
    inverse_regularization : float
        ``C``, positive.
    tolerance : float
        Newton stops when no parameter moves by more than this.

    Returns
    -------
    intercepts : ndarray, shape ``(n_sets,)``
    weights : ndarray, shape ``(n_sets, k)``

    Raises
    ------
    RuntimeError
        If Newton's method has not converged after 100 steps.

    Examples
    --------
    >>> design = np.array([[1, 0, 0], [0, 1, 0]])
    >>> intercepts, weights = fit_lawsuit_classifiers(design, [[2, 0]], [[2, 2]])
    >>> float(weights[0, 2])
    0.0
    >>> bool(weights[0, 0] > 0 > weights[0, 1])
    True
    """
    design = check_finite_array(design, "design")
    sued = check_finite_array(sued, "sued")
    total = check_finite_array(total, "total")
    if design.ndim != 2 or sued.ndim != 2 or sued.shape != total.shape:
        raise ValueError(
            f"design must be 2-d and sued, total 2-d of one shape, got {design.shape}, "
            f"{sued.shape}, {total.shape}"
        )
    if sued.shape[1] != design.shape[0]:
        raise ValueError(f"sued and total need {design.shape[0]} columns, got {sued.shape[1]}")
    if np.any(sued < 0) or np.any(sued > total):
        raise ValueError("counts must satisfy 0 <= sued <= total")
    if np.any(sued.sum(axis=1) == 0) or np.any(sued.sum(axis=1) == total.sum(axis=1)):
        raise ValueError("each record set needs records with and without a lawsuit")
    strength = check_finite(inverse_regularization, "inverse_regularization")
    if strength <= 0:
        raise ValueError(f"inverse_regularization must be positive, got {strength}")
    inputs = np.column_stack([np.ones(len(design)), design])
    size = inputs.shape[1]
    penalty = np.full(size, 1 / strength)
    penalty[0] = 0.0
    outer = (inputs[:, :, None] * inputs[:, None, :]).reshape(len(inputs), -1)
    theta = np.zeros((len(sued), size))
    # Products of a few hundred rows by a handful of columns: BLAS threads cost more in start-up
    # and spinning than they save (about twice the CPU time on a loaded machine), so one thread;
    # the limit is lifted on exit.
    with _thread_controller().limit(limits=1):
        for _ in range(100):
            chance = expit(theta @ inputs.T)
            gradient = (total * chance - sued) @ inputs + penalty * theta
            curvature = ((total * chance * (1 - chance)) @ outer).reshape(-1, size, size)
            step = np.linalg.solve(curvature + np.diag(penalty), gradient[:, :, None])[:, :, 0]
            theta = theta - step
            if np.abs(step).max() <= tolerance:
                return theta[:, 0], theta[:, 1:]
    raise RuntimeError(f"Newton's method did not converge in 100 steps (last step {step.max()})")


def lawsuit_scores(intercepts, weights, design) -> np.ndarray:
    """Return the predicted lawsuit log-odds of each row of ``design`` under each classifier.

    Summed feature by feature in a fixed order, so that two rows differing only in steps of
    weight exactly 0 get exactly equal scores: a tie, as best-of-N must see it.

    Returns
    -------
    ndarray, shape ``(n_classifiers, n_rows)``

    Examples
    --------
    >>> lawsuit_scores([0.5], [[1.0, 0.0]], [[1, 0], [1, 1], [0, 0]]).tolist()
    [[1.5, 1.5, 0.5]]
    """
    intercepts = check_finite_array(intercepts, "intercepts")
    weights = check_finite_array(weights, "weights")
    design = check_finite_array(design, "design")
    if weights.ndim != 2 or intercepts.shape != (len(weights),) or design.ndim != 2:
        raise ValueError(
            f"weights must be 2-d with one intercept per row, got {weights.shape}, "
            f"{intercepts.shape}"
        )
    if design.shape[1] != weights.shape[1]:
        raise ValueError(f"design needs {weights.shape[1]} columns, got {design.shape[1]}")
    return intercepts[:, None] + (design[None] * weights[:, None, :]).sum(axis=-1)


def group_by_score(scores, prior) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group plans into levels of equal score, best (lowest) first.

    Returns
    -------
    level_scores : ndarray
        The distinct scores, ascending.
    level_of_plan : ndarray of int
        Each plan's level.
    level_mass : ndarray
        The prior mass of each level.

    Examples
    --------
    >>> group_by_score([0.5, -1.0, 0.5], [0.2, 0.3, 0.5])
    (array([-1. ,  0.5]), array([1, 0, 1]), array([0.3, 0.7]))
    """
    scores = np.asarray(scores, dtype=float)
    prior = check_probability_vector(prior, "prior")
    if scores.shape != prior.shape or not np.all(np.isfinite(scores)):
        raise ValueError(
            f"scores must be finite with the shape of prior {prior.shape}, got {scores.shape}"
        )
    level_scores, level_of_plan = np.unique(scores, return_inverse=True)
    return level_scores, level_of_plan, np.bincount(level_of_plan, weights=prior)


def _check_n(n) -> np.ndarray:
    n = np.atleast_1d(np.asarray(n, dtype=float))
    if n.ndim != 1 or not np.all(np.isfinite(n)) or np.any(n < 1):
        raise ValueError(f"n must hold finite numbers >= 1, got {n}")
    return n


def best_of_n_level_probabilities(level_mass, n) -> np.ndarray:
    """Return the exact chance that best-of-N picks a plan at each score level.

    With levels sorted best first, let :math:`B_l` be the prior mass strictly better than level
    ``l``. The best of N independent draws lies at level ``l`` when all N draws are at ``l`` or
    worse but not all are worse: :math:`(1 - B_l)^N - (1 - B_l - m_l)^N`. Within a level the
    planner picks uniformly among the tied draws, each distributed as the prior restricted to
    the level, so plan ``i`` at level ``l`` gets that times :math:`p_i / m_l`. ``N`` may be any
    real number >= 1; the powers are computed in log space, so ``N = 1e12`` is exact too.

    Parameters
    ----------
    level_mass : array_like
        Prior mass of each level, best level first (from :func:`group_by_score`).
    n : float or array_like
        Numbers of draws.

    Returns
    -------
    ndarray, shape ``(len(n), len(level_mass))``

    Examples
    --------
    >>> best_of_n_level_probabilities([0.5, 0.5], [1, 2]).round(3).tolist()
    [[0.5, 0.5], [0.75, 0.25]]
    """
    mass = check_probability_vector(level_mass, "level_mass", atol=1e-6)
    n = _check_n(n)
    through = np.minimum(np.cumsum(mass), 1.0)  # mass at this level or better
    better = np.concatenate([[0.0], through[:-1]])
    worse = 1.0 - through
    # log1p(-B) keeps full precision when B is tiny, which matters once N * B is of order 1
    # for N near 1e12; log(1 - B) would lose B's digits below 1e-16.
    with np.errstate(divide="ignore"):
        log_at_least = np.log1p(-better)
        log_worse = np.log1p(-through)
    # A^N - B^N = A^N (1 - (B/A)^N), written with expm1 so tiny levels keep their precision.
    first = np.exp(n[:, None] * log_at_least)
    with np.errstate(invalid="ignore"):
        ratio = np.where(worse > 0, n[:, None] * (log_worse - log_at_least), -np.inf)
    return np.where(mass > 0, first * -np.expm1(ratio), 0.0)


def best_of_n_plan_probabilities(level_of_plan, level_mass, prior, n: float) -> np.ndarray:
    r"""Return the exact chance that best-of-N picks each plan, for one ``n``.

    Plan ``i`` at level ``l`` gets :math:`q_N(l)\, p_i / m_l`: the level's chance, shared among
    its plans in proportion to their prior mass, because ties are broken uniformly among the
    tied draws.

    Examples
    --------
    >>> levels, level_of_plan, mass = group_by_score([0.0, 1.0, 1.0], [0.5, 0.25, 0.25])
    >>> best_of_n_plan_probabilities(level_of_plan, mass, [0.5, 0.25, 0.25], 2).tolist()
    [0.75, 0.125, 0.125]
    """
    prior = check_probability_vector(prior, "prior")
    mass = check_probability_vector(level_mass, "level_mass", atol=1e-6)
    if np.ndim(n) != 0:
        raise ValueError(f"n must be a single number, got shape {np.shape(n)}")
    level_of_plan = np.asarray(level_of_plan)
    if (
        level_of_plan.shape != prior.shape
        or level_of_plan.min() < 0
        or level_of_plan.max() >= mass.size
    ):
        raise ValueError(f"level_of_plan must give a level in [0, {mass.size}) for each plan")
    chosen = best_of_n_level_probabilities(mass, n)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(mass > 0, chosen / mass, 0.0)
    return share[level_of_plan] * prior


def best_of_n_kl(level_mass, n) -> np.ndarray:
    r"""Return the exact KL divergence of best-of-N's plan distribution from the prior.

    Within a level best-of-N keeps the prior's proportions, so only the level probabilities
    contribute: :math:`\sum_l q_l \log(q_l / m_l)`.

    Examples
    --------
    >>> round(float(best_of_n_kl(np.full(10_000, 1e-4), 10)[0]), 3)
    1.403
    """
    mass = check_probability_vector(level_mass, "level_mass", atol=1e-6)
    chosen = best_of_n_level_probabilities(mass, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(chosen > 0, chosen * np.log(chosen / mass), 0.0)
    return np.maximum(terms.sum(axis=1), 0.0)  # KL >= 0; clip rounding of order 1e-15


def continuous_best_of_n_kl(n) -> np.ndarray:
    r"""Return :math:`\log N - (N - 1)/N`, best-of-N's KL from the prior for a continuous score.

    The formula is exact only when the score has no atoms under the prior. For a finite set
    of plans every level of positive mass is an atom, even a level holding a single plan, and
    the formula is then an upper bound: break ties with an independent uniform key, so that
    the (score, key) order is continuous and best-of-N on it has exactly this KL; the
    planner's choice is a function of that draw, and a function cannot gain KL (data
    processing inequality).

    Examples
    --------
    >>> continuous_best_of_n_kl([1, 10]).round(3).tolist()
    [0.0, 1.403]
    """
    n = _check_n(n)
    return np.log(n) - (n - 1) / n


def fit_overoptimization_curve(distance, gain) -> tuple[float, float, np.ndarray]:
    r"""Fit Gao et al.'s best-of-N form, gain = d (alpha - beta d), by least squares.

    Gao, Schulman and Hilton (2023) found this form for a gold reward model's score, relative to
    the initial policy, against :math:`d = \sqrt{\mathrm{KL}}` for best-of-N sampling.

    Returns
    -------
    alpha, beta : float
    residuals : ndarray
        ``gain - fitted``.

    Examples
    --------
    >>> d = np.linspace(0, 3, 10)
    >>> alpha, beta, residuals = fit_overoptimization_curve(d, d * (2 - 0.5 * d))
    >>> round(alpha, 6), round(beta, 6), bool(np.abs(residuals).max() < 1e-9)
    (2.0, 0.5, True)
    """
    distance = np.asarray(distance, dtype=float)
    gain = np.asarray(gain, dtype=float)
    if distance.ndim != 1 or distance.shape != gain.shape or distance.size < 3:
        raise ValueError(
            f"distance and gain must be 1-d of equal length >= 3, got {distance.shape}, {gain.shape}"
        )
    if not (np.all(np.isfinite(distance)) and np.all(np.isfinite(gain))) or np.any(distance < 0):
        raise ValueError("distance must be finite and non-negative, gain finite")
    design = np.column_stack([distance, -(distance**2)])
    (alpha, beta), *_ = np.linalg.lstsq(design, gain, rcond=None)
    return float(alpha), float(beta), gain - design @ np.array([alpha, beta])


def best_of_n_means(scores, prior, values, n) -> np.ndarray:
    """Return the exact mean of each column of ``values`` under best-of-N on ``scores``.

    Parameters
    ----------
    scores, prior : array_like, shape ``(n_plans,)``
        Each plan's score (lower is better) and prior probability.
    values : array_like, shape ``(n_plans,)`` or ``(n_plans, k)``
        Quantities to average over the chosen plan.
    n : float or array_like
        Numbers of draws.

    Returns
    -------
    ndarray, shape ``(len(n), k)``

    Examples
    --------
    >>> best_of_n_means([0.0, 1.0], [0.5, 0.5], [[1.0], [0.0]], [1, 2]).tolist()
    [[0.5], [0.75]]
    """
    _, level_of_plan, level_mass = group_by_score(scores, prior)
    prior = np.asarray(prior, dtype=float)
    values = check_finite_array(values, "values")
    values = values[:, None] if values.ndim == 1 else values
    if values.ndim != 2 or values.shape[0] != prior.size:
        raise ValueError(f"values must have {prior.size} rows, got shape {values.shape}")
    # The prior mean of each value within each score level; best-of-N keeps those proportions.
    per_level = np.stack(
        [
            np.bincount(level_of_plan, weights=prior * v, minlength=level_mass.size)
            for v in values.T
        ],
        axis=1,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        per_level = np.where(level_mass[:, None] > 0, per_level / level_mass[:, None], 0.0)
    return best_of_n_level_probabilities(level_mass, n) @ per_level


def best_of_n_by_sampling(
    n: int, n_repeats: int, scores, prior, *, rng: np.random.Generator
) -> np.ndarray:
    """Run best-of-N ``n_repeats`` times by drawing ``n`` plans from ``prior``; return the chosen plans.

    Ties go to a uniformly random one of the tied draws (the lowest of score rank plus a uniform
    key). A check of the exact formulas, not a substitute for them.

    Examples
    --------
    >>> best_of_n_by_sampling(50, 3, [2.0, 1.0, 0.0], [0.4, 0.4, 0.2],
    ...                       rng=np.random.default_rng(0)).tolist()
    [2, 2, 2]
    """
    rng = check_generator(rng)
    n = check_positive_int(n, "n")
    n_repeats = check_positive_int(n_repeats, "n_repeats")
    prior = check_probability_vector(prior, "prior")
    scores = check_finite_array(scores, "scores")
    if scores.shape != prior.shape:
        raise ValueError(f"scores must have the shape of prior {prior.shape}, got {scores.shape}")
    rank = np.unique(scores, return_inverse=True)[1]  # equal scores share a rank: ties
    drawn = rng.choice(prior.size, size=(n_repeats, n), p=prior)
    key = rank[drawn] + rng.random((n_repeats, n))
    return drawn[np.arange(n_repeats), key.argmin(axis=1)]


def best_of_n_true_reward(n, *, noise_df=None, noise_scale: float = 1.0) -> np.ndarray:
    r"""Return the mean true reward of best-of-N on a proxy equal to the true reward plus noise.

    The true reward of a candidate is standard normal; its proxy adds independent noise,
    ``noise_scale`` times a standard normal (``noise_df=None``) or a Student t with ``noise_df``
    degrees of freedom. Best-of-N keeps the candidate with the highest proxy, whose true reward
    has mean :math:`\int E[r \mid p]\, d F(p)^N`. scipy has no distribution for the sum of a
    normal and a Student t, so the proxy's distribution and :math:`E[r \mid p]` are computed
    here by Gauss-Hermite quadrature over the true reward, on a grid of proxy values spaced as
    :math:`\sinh` so that it reaches the far tail that large N selects from.

    Examples
    --------
    >>> # Gaussian noise, N = 2: E[r | p] = p / 2 and E[max of two N(0, 2)] = sqrt(2 / pi)
    >>> round(float(best_of_n_true_reward(2)[0]), 4), round(float(1 / np.sqrt(2 * np.pi)), 4)
    (0.3989, 0.3989)
    """
    n = _check_n(n)
    scale = check_finite(noise_scale, "noise_scale")
    if scale <= 0:
        raise ValueError(f"noise_scale must be positive, got {noise_scale}")
    if noise_df is not None:
        noise_df = check_finite(noise_df, "noise_df")
        if noise_df <= 0:
            raise ValueError(f"noise_df must be positive, got {noise_df}")
    nodes, weights = hermegauss(80)
    weights = weights / weights.sum()  # expectations over r ~ N(0, 1)
    grid = np.sinh(np.linspace(-np.arcsinh(1e6), np.arcsinh(1e6), 40_001))
    gap = (grid[:, None] - nodes) / scale
    # The noise's density and tail, from their closed forms and scipy.special: the same values as
    # scipy.stats' pdf and sf to rounding (tests/test_planner.py), several times faster.
    if noise_df is None:
        noise_density = np.exp(-0.5 * gap**2) / (np.sqrt(2 * np.pi) * scale)
        noise_tail = special.ndtr(-gap)
    else:
        log_norm = (
            special.gammaln((noise_df + 1) / 2)
            - special.gammaln(noise_df / 2)
            - 0.5 * np.log(noise_df * np.pi)
        )
        noise_density = np.exp(log_norm - (noise_df + 1) / 2 * np.log1p(gap**2 / noise_df)) / scale
        noise_tail = special.stdtr(noise_df, -gap)
    density = noise_density @ weights
    reward_given_proxy = (noise_density @ (weights * nodes)) / np.maximum(density, 1e-300)
    tail = noise_tail @ weights  # P(proxy > grid), accurate far out in the tail
    log_below = np.log1p(-np.minimum(tail, 1 - 1e-16))
    chance_max_below = np.exp(n[:, None] * log_below)  # F(p)^N at each grid point
    midpoint = 0.5 * (reward_given_proxy[1:] + reward_given_proxy[:-1])
    return np.diff(chance_max_below, axis=1) @ midpoint


def tilted_distribution(prior, reward, temperature: float) -> np.ndarray:
    r"""Return the prior tilted by the reward, :math:`\propto p(x)\, e^{r(x)/\beta}`.

    The maximiser of :math:`E_\pi[r] - \beta\,\mathrm{KL}(\pi \,\|\, p)`: the Bayesian posterior
    with the prior as prior and :math:`e^{r/\beta}` as likelihood (Korbak, Perez and Buckley, 2022).

    Examples
    --------
    >>> tilted_distribution([0.5, 0.5], [0.0, np.log(3)], 1.0).round(3).tolist()
    [0.25, 0.75]
    """
    prior = check_probability_vector(prior, "prior")
    reward = check_finite_array(reward, "reward")
    temperature = check_finite(temperature, "temperature")
    if reward.shape != prior.shape:
        raise ValueError(f"reward must have the shape of prior {prior.shape}, got {reward.shape}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    with np.errstate(divide="ignore"):
        log_weight = np.log(prior) + reward / temperature
    return np.exp(log_weight - logsumexp(log_weight))


def policy_distribution(theta, features, prior) -> np.ndarray:
    r"""Return the log-linear policy :math:`\pi_\theta(x) \propto p(x)\, e^{\theta \cdot \phi(x)}`.

    Examples
    --------
    >>> policy_distribution([np.log(3)], [[0.0], [1.0]], [0.5, 0.5]).round(3).tolist()
    [0.25, 0.75]
    """
    prior = check_probability_vector(prior, "prior")
    features = check_finite_array(features, "features")
    theta = check_finite_array(theta, "theta")
    if features.ndim != 2 or features.shape != (prior.size, theta.size):
        raise ValueError(
            f"features must have shape {(prior.size, theta.size)}, got {features.shape}"
        )
    with np.errstate(divide="ignore"):
        log_weight = np.log(prior) + features @ theta
    return np.exp(log_weight - logsumexp(log_weight))


def _row_logsumexp(values):
    # scipy.special.logsumexp(values, axis=1, keepdims=True) for real input, operation for
    # operation (ties at the maximum split out, log1p of the rest), without its array-API
    # dispatch, which cost more than the arithmetic in REINFORCE's loop of small rows
    top = values.max(axis=1, keepdims=True)
    at_top = values == top
    ties = at_top.sum(axis=1, keepdims=True, dtype=values.dtype)
    rest = np.exp(np.where(at_top, -np.inf, values) - top).sum(axis=1, keepdims=True)
    rest = np.where(rest == 0, rest, rest / ties)
    return np.log1p(rest) + np.log(ties) + top


def reinforce_with_kl(
    features,
    prior,
    reward,
    *,
    kl_weight: float,
    n_steps: int,
    batch_size: int,
    learning_rate: float,
    n_runs: int = 1,
    rng: np.random.Generator,
) -> np.ndarray:
    r"""Train the log-linear policy of :func:`policy_distribution` by REINFORCE with a KL penalty.

    Each step draws ``batch_size`` plans from the current policy, gives each the reward minus
    ``kl_weight`` times :math:`\log(\pi_\theta(x)/p(x))` (the per-sample KL penalty of RL from
    human feedback), subtracts the mean of the other draws' rewards as a baseline (which keeps
    the estimate unbiased), and moves :math:`\theta` along the score-function estimate of the
    gradient of :math:`E_\pi[r] - \beta\,\mathrm{KL}(\pi \,\|\, p)`. The step size decays as
    ``learning_rate * tau / (tau + t)`` with ``tau = n_steps / 10`` (Robbins-Monro), so the
    iterates settle. Written by hand because the score-function estimator is the point; the
    policy starts at the prior (``theta = 0``). ``n_runs`` independent runs advance together,
    batched along the first axis.

    Returns
    -------
    ndarray, shape ``(n_runs, n_steps + 1, n_features)``
        The parameters of each run after each step, the start included.

    Examples
    --------
    >>> path = reinforce_with_kl([[0.0], [1.0]], [0.5, 0.5], [0.0, 1.0], kl_weight=1.0,
    ...                          n_steps=2_000, batch_size=32, learning_rate=1.0,
    ...                          rng=np.random.default_rng(0))
    >>> path.shape, round(float(path[0, -1, 0]), 1)  # the tilt exp(r / 1) is theta = 1
    ((1, 2001, 1), 1.0)
    """
    rng = check_generator(rng)
    prior = check_probability_vector(prior, "prior")
    features = check_finite_array(features, "features")
    reward = check_finite_array(reward, "reward")
    if features.ndim != 2 or features.shape[0] != prior.size or reward.shape != prior.shape:
        raise ValueError(
            f"features must have {prior.size} rows and reward shape {prior.shape}, got "
            f"{features.shape} and {reward.shape}"
        )
    kl_weight = check_finite(kl_weight, "kl_weight")
    if kl_weight < 0:
        raise ValueError(f"kl_weight must be non-negative, got {kl_weight}")
    n_steps = check_positive_int(n_steps, "n_steps")
    batch_size = check_positive_int(batch_size, "batch_size", minimum=2)
    n_runs = check_positive_int(n_runs, "n_runs")
    learning_rate = check_finite(learning_rate, "learning_rate")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    tau = n_steps / 10
    with np.errstate(divide="ignore"):
        log_prior = np.log(prior)
    offset = np.arange(n_runs)[:, None]  # row r of the stacked CDFs lies in (r, r + 1]
    path = np.zeros((n_runs, n_steps + 1, features.shape[1]))
    for step in range(n_steps):  # a loop over steps; each is vectorised over runs and batch
        theta = path[:, step]
        log_policy = log_prior + theta @ features.T
        log_policy = log_policy - _row_logsumexp(log_policy)
        policy = np.exp(log_policy)
        cdf = np.cumsum(policy, axis=1)
        cdf = cdf / cdf[:, -1:]
        uniform = rng.random((n_runs, batch_size))
        drawn = np.searchsorted((cdf + offset).ravel(), (uniform + offset).ravel(), side="right")
        drawn = np.minimum(drawn.reshape(n_runs, batch_size) - offset * prior.size, prior.size - 1)
        chosen = np.take_along_axis(log_policy, drawn, axis=1)
        penalised = reward[drawn] - kl_weight * (chosen - log_prior[drawn])
        baseline = (penalised.sum(axis=1, keepdims=True) - penalised) / (batch_size - 1)
        score_function = features[drawn] - (policy @ features)[:, None, :]
        gradient = np.einsum("rb,rbk->rk", penalised - baseline, score_function) / batch_size
        path[:, step + 1] = theta + learning_rate * tau / (tau + step) * gradient
    return path
