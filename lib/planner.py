"""A goal-slot planner: draw plans from a prior, keep the one a learned classifier likes best.

Belrose and Pope's hospital example (:cite:`belrose2024counting`): a system asks a language
model for N operation plans, scores each with a classifier trained to predict malpractice
lawsuits, and carries out the plan scored least risky. This module builds a small, finite version
of that system so that everything about it can be computed exactly:

* a world of operation plans: sequences of ``plan_length`` steps drawn from :data:`STEPS`, a
  vocabulary of ordinary steps and a few "scheming" steps that the prior almost never uses;
* a prior over plans, a Markov chain over steps standing in for the language model
  (:func:`markov_prior`, :func:`sample_plans`, :func:`prior_probabilities`);
* a hidden true outcome model (:func:`true_outcomes`): whether the patient is helped, whether a
  lawsuit follows;
* the classifier, logistic regression on step counts (:func:`fit_lawsuit_classifier`);
* the planner, best-of-N, by sampling (:func:`best_of_n_by_sampling`) and exactly from order
  statistics (:func:`best_of_n_level_probabilities`), and its comparison with the prior tilted
  by the score (:func:`tilted_level_probabilities`, :func:`match_tilt_to_kl`).

Scores are "lower is better" throughout: the planner picks the plan with the lowest predicted
lawsuit log-odds. Ties are broken uniformly at random among the tied draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from .validation import (
    check_finite,
    check_generator,
    check_positive_int,
    check_probability,
    check_probability_vector,
)

__all__ = [
    "HospitalWorld",
    "ORDINARY_STEPS",
    "SCHEMING_STEPS",
    "STEPS",
    "best_of_n_by_sampling",
    "best_of_n_kl",
    "best_of_n_level_probabilities",
    "best_of_n_plan_probabilities",
    "continuous_best_of_n_kl",
    "enumerate_plans",
    "fit_lawsuit_classifier",
    "fit_overoptimization_curve",
    "group_by_score",
    "markov_prior",
    "match_tilt_to_kl",
    "plan_indices",
    "prior_probabilities",
    "summarize_prior",
    "sample_plans",
    "step_counts",
    "tilted_level_probabilities",
    "true_outcomes",
]

#: Ordinary steps, in the order of a textbook operation for the first five.
ORDINARY_STEPS = (
    "consent",
    "sterilise",
    "anaesthetise",
    "operate",
    "close",
    "check",
    "clean",
    "wait",
    "discharge",
)
#: Steps no historical plan contains: the "schemes" of the source's example.
SCHEMING_STEPS = ("hack server", "blackmail admin", "falsify records")
#: The whole vocabulary; a plan is a sequence of indices into it.
STEPS = ORDINARY_STEPS + SCHEMING_STEPS

_CANONICAL_NEXT = {  # the step a textbook plan takes after each ordinary step
    "consent": "sterilise",
    "sterilise": "anaesthetise",
    "anaesthetise": "operate",
    "operate": "close",
    "close": "check",
    "clean": "anaesthetise",
    "wait": "operate",
    "discharge": "discharge",
}  # the successor of "check" is HospitalWorld.after_check
# How often each ordinary step turns up when a plan departs from the textbook order.
_BACKGROUND = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 1.5, 1.0])


@dataclass(frozen=True)
class HospitalWorld:
    """Parameters of the prior over operation plans.

    Attributes
    ----------
    plan_length : int
        Steps per plan, L. The plan space has ``len(STEPS) ** plan_length`` plans.
    p_canonical : float
        Chance that the next step is the textbook successor of the current one.
    p_start_consent : float
        Chance that a plan starts by asking for consent.
    scheme_rate : float
        Share of departures from the textbook order (and of non-consent starts) that go to
        each scheming step. From an ordinary step a plan moves to a given scheming step with
        probability ``(1 - p_canonical) * scheme_rate``: 1e-7 with the defaults, so
        historical plans essentially never contain one.
    after_check : str
        The textbook successor of "check": "operate" (a check leads back to the operating
        table, the default) or "discharge" (a check ends the stay). The chapter shows that
        whether best-of-N's true outcome first rises hinges on this one link.
    """

    plan_length: int = 5
    p_canonical: float = 0.9
    p_start_consent: float = 0.9
    scheme_rate: float = 1e-6
    after_check: str = "operate"

    def __post_init__(self):
        check_positive_int(self.plan_length, "plan_length")
        if self.plan_length > 6:
            raise ValueError(
                f"plan_length must be at most 6 to stay enumerable, got {self.plan_length}"
            )
        check_probability(self.p_canonical, "p_canonical")
        check_probability(self.p_start_consent, "p_start_consent")
        rate = check_probability(self.scheme_rate, "scheme_rate")
        if rate * len(SCHEMING_STEPS) >= 0.5:
            raise ValueError(
                f"scheme_rate must be below {0.5 / len(SCHEMING_STEPS):.3g}, got {rate}"
            )
        if self.after_check not in ("operate", "discharge"):
            raise ValueError(
                f"after_check must be 'operate' or 'discharge', got {self.after_check!r}"
            )


def markov_prior(world: HospitalWorld) -> tuple[np.ndarray, np.ndarray]:
    """Return the prior's initial distribution and transition matrix over :data:`STEPS`.

    From an ordinary step the chain moves to the textbook successor with probability
    ``p_canonical``; otherwise it departs: to each scheming step with probability
    ``scheme_rate``, else to an ordinary step in proportion to fixed background weights (which
    may be the textbook successor again). From a scheming step it moves like a departure.

    Examples
    --------
    >>> initial, transition = markov_prior(HospitalWorld())
    >>> initial.shape, transition.shape
    ((12,), (12, 12))
    >>> bool(np.allclose(transition.sum(axis=1), 1.0))
    True
    >>> round(float(transition[STEPS.index("anaesthetise"), STEPS.index("operate")]), 4)
    0.9087
    """
    if not isinstance(world, HospitalWorld):
        raise TypeError(f"world must be a HospitalWorld, got {type(world).__name__}")
    n_ordinary, n_scheming = len(ORDINARY_STEPS), len(SCHEMING_STEPS)
    schemes = world.scheme_rate * n_scheming
    background = _BACKGROUND / _BACKGROUND.sum()
    # Departures go to ordinary steps by background weight, and to schemes at scheme_rate.
    depart = np.concatenate([(1 - schemes) * background, np.full(n_scheming, world.scheme_rate)])
    transition = np.tile((1 - world.p_canonical) * depart, (len(STEPS), 1))
    successors = {**_CANONICAL_NEXT, "check": world.after_check}
    for step, successor in successors.items():
        transition[STEPS.index(step), STEPS.index(successor)] += world.p_canonical
    transition[n_ordinary:] = depart
    initial = (1 - world.p_start_consent) * depart
    initial[STEPS.index("consent")] += world.p_start_consent
    return initial, transition


def _check_chain(initial, transition):
    initial = check_probability_vector(initial, "initial")
    transition = np.asarray(transition, dtype=float)
    if transition.shape != (initial.size, initial.size):
        raise ValueError(
            f"transition must have shape {(initial.size, initial.size)}, got {transition.shape}"
        )
    for row in transition:
        check_probability_vector(row, "each row of transition")
    return initial, transition


def enumerate_plans(n_steps: int, plan_length: int) -> np.ndarray:
    """Return every plan of ``plan_length`` steps from ``n_steps`` steps, in index order.

    Row ``i`` is plan ``i``: its steps are the base-``n_steps`` digits of ``i``, first step
    most significant, so :func:`plan_indices` inverts this function.

    Examples
    --------
    >>> enumerate_plans(3, 2)[:4].tolist()
    [[0, 0], [0, 1], [0, 2], [1, 0]]
    >>> enumerate_plans(12, 5).shape
    (248832, 5)
    """
    n_steps = check_positive_int(n_steps, "n_steps")
    plan_length = check_positive_int(plan_length, "plan_length")
    if n_steps**plan_length > 10_000_000:
        raise ValueError(f"n_steps ** plan_length must be at most 1e7, got {n_steps**plan_length}")
    index = np.arange(n_steps**plan_length)
    powers = n_steps ** np.arange(plan_length - 1, -1, -1)
    return (index[:, None] // powers) % n_steps


def plan_indices(plans, n_steps: int) -> np.ndarray:
    """Return the index of each plan (row of ``plans``) in :func:`enumerate_plans` order.

    Examples
    --------
    >>> plan_indices([[0, 1], [1, 0]], 3).tolist()
    [1, 3]
    """
    n_steps = check_positive_int(n_steps, "n_steps")
    plans = np.asarray(plans)
    if plans.ndim != 2 or plans.size == 0 or plans.min() < 0 or plans.max() >= n_steps:
        raise ValueError(
            f"plans must be a 2-d array of steps in [0, {n_steps}), got shape {plans.shape}"
        )
    powers = n_steps ** np.arange(plans.shape[1] - 1, -1, -1)
    return plans @ powers


def prior_probabilities(plans, initial, transition) -> np.ndarray:
    """Return the Markov-chain prior probability of each plan.

    Examples
    --------
    >>> initial, transition = markov_prior(HospitalWorld())
    >>> plans = enumerate_plans(len(STEPS), 5)
    >>> prior = prior_probabilities(plans, initial, transition)
    >>> round(float(prior.sum()), 12)
    1.0
    """
    initial, transition = _check_chain(initial, transition)
    plans = np.asarray(plans)
    if plans.ndim != 2 or plans.min() < 0 or plans.max() >= initial.size:
        raise ValueError(
            f"plans must be a 2-d array of steps in [0, {initial.size}), got shape {plans.shape}"
        )
    probability = initial[plans[:, 0]]
    for position in range(1, plans.shape[1]):  # a loop over the L positions, not over plans
        probability = probability * transition[plans[:, position - 1], plans[:, position]]
    return probability


def sample_plans(
    n_plans: int, plan_length: int, initial, transition, *, rng: np.random.Generator
) -> np.ndarray:
    """Draw ``n_plans`` plans from the Markov-chain prior, as an ``(n_plans, plan_length)`` array.

    Examples
    --------
    >>> initial, transition = markov_prior(HospitalWorld())
    >>> plans = sample_plans(3, 5, initial, transition, rng=np.random.default_rng(0))
    >>> plans.shape
    (3, 5)
    """
    rng = check_generator(rng)
    n_plans = check_positive_int(n_plans, "n_plans")
    plan_length = check_positive_int(plan_length, "plan_length")
    initial, transition = _check_chain(initial, transition)
    cumulative = np.cumsum(transition, axis=1)
    cumulative[:, -1] = 1.0  # guard against rounding: every uniform draw lands in some step
    plans = np.empty((n_plans, plan_length), dtype=np.int64)
    first = np.cumsum(initial)
    first[-1] = 1.0
    plans[:, 0] = np.searchsorted(first, rng.random(n_plans), side="right")
    # Inverse-CDF draw of every plan's next step at once: row r's cumulative probabilities are
    # shifted to (r, r + 1], so one sorted array serves all rows and searchsorted finds the step.
    shifted = (cumulative + np.arange(initial.size)[:, None]).ravel()
    for position in range(1, plan_length):
        previous = plans[:, position - 1]
        found = np.searchsorted(shifted, previous + rng.random(n_plans), side="right")
        plans[:, position] = np.minimum(found - previous * initial.size, initial.size - 1)
    return plans


def step_counts(plans, n_steps: int) -> np.ndarray:
    """Return how many times each step occurs in each plan: the classifier's features.

    Examples
    --------
    >>> step_counts([[0, 0, 2]], 3).tolist()
    [[2, 0, 1]]
    """
    n_steps = check_positive_int(n_steps, "n_steps")
    plans = np.asarray(plans)
    if plans.ndim != 2 or plans.size == 0 or plans.min() < 0 or plans.max() >= n_steps:
        raise ValueError(
            f"plans must be a 2-d array of steps in [0, {n_steps}), got shape {plans.shape}"
        )
    return (plans[:, :, None] == np.arange(n_steps)).sum(axis=1)


def true_outcomes(counts) -> tuple[np.ndarray, np.ndarray]:
    """Return the hidden chances that each plan helps the patient and that a lawsuit follows.

    The true model, which the classifier never sees, depends on which steps a plan contains:

    * the patient is helped (beyond a 5% chance of recovering anyway) only if the plan operates,
      the more so if it sterilises, anaesthetises, closes, checks and cleans; operating twice
      hurts;
    * lawsuits follow operations, most of all operations without consent, sterilisation or
      anaesthesia; an unoperated patient sues rarely.

    Repeating a step beyond the first does nothing (except operating twice). Scheming steps
    have no effect at all: they take a slot and change nothing.

    Examples
    --------
    >>> textbook = step_counts([[0, 1, 2, 3, 4]], len(STEPS))
    >>> helped, lawsuit = true_outcomes(textbook)
    >>> round(float(helped[0]), 3), round(float(lawsuit[0]), 3)
    (0.843, 0.076)
    >>> cleaning = step_counts([[6, 6, 6, 6, 6]], len(STEPS))
    >>> [round(float(x[0]), 3) for x in true_outcomes(cleaning)]
    [0.05, 0.018]
    """
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[1] != len(STEPS) or np.any(counts < 0):
        raise ValueError(
            f"counts must be a non-negative (n, {len(STEPS)}) array, got shape {counts.shape}"
        )
    has = {step: (counts[:, STEPS.index(step)] >= 1).astype(float) for step in ORDINARY_STEPS}
    operated, twice = has["operate"], (counts[:, STEPS.index("operate")] >= 2).astype(float)
    recovery = expit(
        -2.0
        + 1.5 * has["sterilise"]
        + 1.5 * has["anaesthetise"]
        + 1.0 * has["close"]
        + 0.5 * has["check"]
        + 0.5 * has["clean"]
        - 2.0 * twice
    )
    helped = 0.05 + 0.9 * operated * recovery
    risk = (
        1.5
        + 2.0 * (1 - has["consent"])
        + 1.0 * (1 - has["sterilise"])
        + 1.0 * (1 - has["anaesthetise"])
        + 0.5 * (1 - has["close"])
        - 0.5 * has["check"]
        - 0.5 * has["clean"]
        + 1.5 * twice
    )
    lawsuit = expit(-4.0 + operated * risk)
    return helped, lawsuit


def fit_lawsuit_classifier(counts, lawsuits, *, inverse_regularization: float = 1.0):
    """Fit L2-regularised logistic regression of lawsuits on step counts.

    The intercept is not penalised; every weight is. A step that never occurs in training has
    an all-zero feature column, so the data term's gradient for its weight is exactly zero and
    the penalty pulls the weight to exactly 0: the classifier is indifferent to that step.

    Returns
    -------
    sklearn.linear_model.LogisticRegression
        Fitted; ``decision_function`` gives the predicted lawsuit log-odds, the planner's score.

    Examples
    --------
    >>> counts = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]])
    >>> model = fit_lawsuit_classifier(counts, [1, 0, 1, 0])
    >>> float(model.coef_[0, 2])
    0.0
    """
    counts = np.asarray(counts, dtype=float)
    lawsuits = np.asarray(lawsuits)
    if counts.ndim != 2 or counts.shape[0] != lawsuits.shape[0]:
        raise ValueError(
            f"counts must be 2-d with one row per label, got shapes {counts.shape}, {lawsuits.shape}"
        )
    if not np.all((lawsuits == 0) | (lawsuits == 1)) or np.unique(lawsuits).size != 2:
        raise ValueError("lawsuits must hold 0/1 labels with both classes present")
    strength = check_finite(inverse_regularization, "inverse_regularization")
    if strength <= 0:
        raise ValueError(f"inverse_regularization must be positive, got {strength}")
    return LogisticRegression(C=strength, max_iter=1000, tol=1e-10).fit(counts, lawsuits)


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


def tilted_level_probabilities(level_scores, level_mass, beta: float) -> np.ndarray:
    r"""Return the level probabilities of the prior tilted by the score, :math:`\propto m_l e^{-\beta s_l}`.

    This is the optimum of "maximise minus the expected score minus KL from the prior over
    beta", i.e. the Bayesian posterior with likelihood :math:`e^{-\beta s}` (Korbak et al., 2022).

    Examples
    --------
    >>> tilted_level_probabilities([0.0, 1.0], [0.5, 0.5], math.log(3)).round(3).tolist()
    [0.75, 0.25]
    """
    mass = check_probability_vector(level_mass, "level_mass", atol=1e-6)
    level_scores = np.asarray(level_scores, dtype=float)
    if level_scores.shape != mass.shape or not np.all(np.isfinite(level_scores)):
        raise ValueError(
            f"level_scores must be finite with shape {mass.shape}, got {level_scores.shape}"
        )
    beta = check_finite(beta, "beta")
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got {beta}")
    with np.errstate(divide="ignore"):
        log_weight = np.log(mass) - beta * (level_scores - level_scores.min())
    weight = np.exp(log_weight - log_weight.max())
    return weight / weight.sum()


def _tilt_kl(level_scores, mass, beta):
    tilted = tilted_level_probabilities(level_scores, mass, beta)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.where(tilted > 0, tilted * np.log(tilted / mass), 0.0).sum())


def match_tilt_to_kl(level_scores, level_mass, kl: float) -> float:
    """Return the tilt ``beta`` at which the tilted prior is ``kl`` away from the prior.

    The tilted prior's KL rises monotonically from 0 at ``beta = 0`` towards minus the log of
    the best level's mass, so any smaller ``kl`` is matched by exactly one ``beta``.

    Examples
    --------
    >>> beta = match_tilt_to_kl([0.0, 1.0], [0.5, 0.5], 0.1)
    >>> round(beta, 3)
    0.943
    """
    mass = check_probability_vector(level_mass, "level_mass", atol=1e-6)
    kl = check_finite(kl, "kl")
    ceiling = -math.log(mass[0])
    # a kl below the rounding error of the untilted KL (about 1e-16) is matched by no tilt
    if kl == 0 or _tilt_kl(level_scores, mass, 0.0) >= kl:
        return 0.0
    if not 0 < kl < ceiling:
        raise ValueError(f"kl must be in [0, {ceiling:.4g}) for these levels, got {kl}")
    high = 1.0
    while _tilt_kl(level_scores, mass, high) < kl:
        high *= 2.0
    return optimize.brentq(lambda b: _tilt_kl(level_scores, mass, b) - kl, 0.0, high, xtol=1e-12)


def best_of_n_by_sampling(
    n: int,
    n_repeats: int,
    plan_score,
    plan_length: int,
    initial,
    transition,
    *,
    rng: np.random.Generator,
    chunk: int = 2_000_000,
) -> np.ndarray:
    """Run the planner ``n_repeats`` times by drawing ``n`` plans each and return the chosen plans' indices.

    Each repeat draws ``n`` plans from the prior, looks up their scores in ``plan_score`` (indexed
    as in :func:`enumerate_plans`), and keeps the lowest; ties go to a uniformly random one of
    the tied draws (the lowest of score rank plus a uniform key). Repeats are processed in
    chunks of about ``chunk`` plans to bound memory.

    Examples
    --------
    >>> initial, transition = markov_prior(HospitalWorld(plan_length=2))
    >>> score = np.arange(len(STEPS) ** 2, dtype=float)
    >>> chosen = best_of_n_by_sampling(50, 4, score, 2, initial, transition,
    ...                                rng=np.random.default_rng(1))
    >>> chosen.shape
    (4,)
    """
    rng = check_generator(rng)
    n = check_positive_int(n, "n")
    n_repeats = check_positive_int(n_repeats, "n_repeats")
    chunk = check_positive_int(chunk, "chunk")
    plan_score = np.asarray(plan_score, dtype=float)
    initial, transition = _check_chain(initial, transition)
    if plan_score.shape != (initial.size**plan_length,):
        raise ValueError(
            f"plan_score must have shape {(initial.size**plan_length,)}, got {plan_score.shape}"
        )
    rank = np.unique(plan_score, return_inverse=True)[1]  # equal scores share a rank: ties
    per_chunk = max(1, chunk // n)
    chosen = []
    for start in range(0, n_repeats, per_chunk):  # chunks of repeats, each fully vectorised
        size = min(per_chunk, n_repeats - start)
        plans = plan_indices(
            sample_plans(size * n, plan_length, initial, transition, rng=rng), initial.size
        ).reshape(size, n)
        key = rank[plans] + rng.random((size, n))
        chosen.append(plans[np.arange(size), key.argmin(axis=1)])
    return np.concatenate(chosen)


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


def summarize_prior(
    world: HospitalWorld, n_records: int, n_max: int, *, rng: np.random.Generator
) -> dict:
    """Build the whole planner for one prior and summarise best-of-N for N = 1, ..., ``n_max``.

    Draws ``n_records`` historical plans from the prior with lawsuits from the true model, fits
    the classifier, and computes exactly, for every whole N up to ``n_max``, the chosen plan's
    true outcome (chance of helping minus chance of a lawsuit) and the share of chosen plans
    that contain a scheming step.

    Returns
    -------
    dict
        ``operates`` (prior share of plans that operate), ``prior outcome``, ``best outcome``
        and ``best N`` (the largest true outcome over N and where), and ``schemes / prior``
        (the largest ratio of the chosen plans' scheme share to the prior's).

    Examples
    --------
    >>> summary = summarize_prior(HospitalWorld(plan_length=3), 500, 10,
    ...                           rng=np.random.default_rng(0))
    >>> sorted(summary)
    ['best N', 'best outcome', 'operates', 'prior outcome', 'schemes / prior']
    """
    rng = check_generator(rng)
    if not isinstance(world, HospitalWorld):
        raise TypeError(f"world must be a HospitalWorld, got {type(world).__name__}")
    n_records = check_positive_int(n_records, "n_records")
    n_max = check_positive_int(n_max, "n_max")
    initial, transition = markov_prior(world)
    plans = enumerate_plans(len(STEPS), world.plan_length)
    prior = prior_probabilities(plans, initial, transition)
    counts = step_counts(plans, len(STEPS))
    helped, lawsuit = true_outcomes(counts)
    records = step_counts(
        sample_plans(n_records, world.plan_length, initial, transition, rng=rng), len(STEPS)
    )
    sued = rng.random(n_records) < true_outcomes(records)[1]
    score = fit_lawsuit_classifier(records, sued).decision_function(counts.astype(float))
    _, level_of_plan, level_mass = group_by_score(score, prior)
    schemes = counts[:, len(ORDINARY_STEPS) :].sum(axis=1) >= 1
    # prior means of outcome and scheme indicator within each score level
    per_level = np.stack(
        [
            np.bincount(level_of_plan, weights=prior * x) / level_mass
            for x in (helped - lawsuit, schemes)
        ]
    )
    chosen = best_of_n_level_probabilities(level_mass, np.arange(1, n_max + 1)) @ per_level.T
    return {
        "operates": float(prior @ (counts[:, STEPS.index("operate")] >= 1)),
        "prior outcome": float(chosen[0, 0]),
        "best outcome": float(chosen[:, 0].max()),
        "best N": int(np.argmax(chosen[:, 0]) + 1),
        "schemes / prior": float(chosen[:, 1].max() / (prior @ schemes)),
    }
