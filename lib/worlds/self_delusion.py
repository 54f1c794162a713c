"""Self-delusion: a model that imitates an informed expert, then acts on its own.

The setting of Ortega et al. (2021), "Shaking the foundations", at its smallest: a two-armed
Bernoulli bandit whose better arm ``theta`` is hidden. An *informed* expert knows ``theta`` and
pulls it, except that with probability ``noise`` it pulls an arm chosen uniformly at random. A
sequence model trained by imitation predicts the expert's next action from the history of
actions and rewards. In the expert's data an action is evidence about ``theta`` (the expert
chose it because it knew), so the best predictor of the next action counts past actions. When
the model acts, the actions in its history are its own: counting them as evidence, it takes its
first, random, pull as a sign of the better arm and keeps pulling it. Ortega et al. call this a
self-delusion; the remedy they derive is to treat one's own past actions as interventions, which
carry no evidence about ``theta``, so that only the rewards update the belief. Acting by sampling
from that interventional predictor is Thompson sampling (the Bayesian control rule of Ortega and
Braun).

The history enters through four counts, successes and failures on each arm: the Bayesian log
odds of ``theta`` are linear in them, with or without the actions counted as evidence, so a
logistic regression on the counts can approximate either predictor. A policy is fitted to data;
this module simulates the bandit, the experts and fitted policies, and gives the two Bayesian
predictors in closed form, for comparison.

Examples
--------
>>> world = BanditWorld(p_good=0.6, p_bad=0.4, noise=0.1)
>>> counts = np.array([[1, 0, 0, 0]])  # one success on arm 0
>>> round(float(log_odds_arm_zero(counts, world=world, actions_as_evidence=False)[0]), 4)
0.4055
>>> round(float(log_odds_arm_zero(counts, world=world, actions_as_evidence=True)[0]), 4)
3.3499
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from ..evidence.validation import (
    check_generator,
    check_in_range,
    check_positive_int,
    check_probability,
)

__all__ = [
    "BanditWorld",
    "Rollouts",
    "expert_probability_arm_zero",
    "log_odds_arm_zero",
    "policy_probability_arm_zero",
    "roll_out",
    "settled_on_best",
]

#: Expert kinds: "informed" knows the better arm; "uninformed" knows no more than the learner
#: (it pulls arm 0 with the probability that the better arm is arm 0, given the rewards).
EXPERTS = ("informed", "uninformed")


@dataclass(frozen=True)
class BanditWorld:
    """A two-armed Bernoulli bandit with a hidden better arm.

    Attributes
    ----------
    p_good, p_bad : float
        Success probabilities of the better and the worse arm, ``0 < p_bad < p_good < 1``.
    noise : float
        The expert's probability of pulling an arm uniformly at random, in ``(0, 1]``.

    Examples
    --------
    >>> BanditWorld(p_good=0.4, p_bad=0.6)
    Traceback (most recent call last):
    ...
    ValueError: p_good must exceed p_bad, got p_good=0.4 and p_bad=0.6
    """

    p_good: float = 0.6
    p_bad: float = 0.4
    noise: float = 0.1

    def __post_init__(self):
        check_in_range(self.p_good, "p_good", 0, 1, closed=False)
        check_in_range(self.p_bad, "p_bad", 0, 1, closed=False)
        if self.p_good <= self.p_bad:
            raise ValueError(
                f"p_good must exceed p_bad, got p_good={self.p_good} and p_bad={self.p_bad}"
            )
        if not 0 < check_probability(self.noise, "noise"):
            raise ValueError(f"noise must be in (0, 1], got {self.noise}")


def _check_counts(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or counts.shape[1] != 4:
        raise ValueError(f"counts must have shape (n, 4), got {counts.shape}")
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise ValueError("counts must be finite and non-negative")
    return counts


def log_odds_arm_zero(counts, *, world: BanditWorld, actions_as_evidence: bool) -> np.ndarray:
    """Return the posterior log odds that arm 0 is the better arm, under a uniform prior.

    Parameters
    ----------
    counts : array_like, shape (n, 4)
        Successes and failures on arm 0, then on arm 1: ``(s0, f0, s1, f1)``.
    world : BanditWorld
    actions_as_evidence : bool
        ``True``: the pulls are the informed expert's, so each pull of arm ``k`` multiplies the
        odds for ``theta = k`` by ``(1 - noise/2) / (noise/2)`` (conditioning, the delusional
        predictor once the pulls are one's own). ``False``: the pulls are interventions and only
        the rewards count.

    Returns
    -------
    numpy.ndarray, shape (n,)

    Examples
    --------
    >>> world = BanditWorld()
    >>> log_odds_arm_zero([[2, 1, 0, 0], [0, 0, 2, 1]], world=world, actions_as_evidence=False)
    array([ 0.40546511, -0.40546511])
    """
    if not isinstance(actions_as_evidence, bool):
        raise TypeError(f"actions_as_evidence must be True or False, got {actions_as_evidence!r}")
    s0, f0, s1, f1 = _check_counts(counts).T
    success = np.log(world.p_good / world.p_bad)
    failure = np.log((1 - world.p_good) / (1 - world.p_bad))
    # Arm 0 good: successes on 0 and failures on 1 favour it; the reverse favours arm 1.
    odds = success * (s0 - s1) + failure * (f0 - f1)
    if actions_as_evidence:
        half = world.noise / 2
        odds = odds + np.log((1 - half) / half) * ((s0 + f0) - (s1 + f1))
    return odds


def expert_probability_arm_zero(counts, theta, *, world: BanditWorld, expert: str) -> np.ndarray:
    """Return the probability that the expert pulls arm 0 next.

    Parameters
    ----------
    counts : array_like, shape (n, 4)
        The history's counts (used by the uninformed expert only).
    theta : array_like of {0, 1}, shape (n,)
        The better arm (used by the informed expert only).
    world : BanditWorld
    expert : {"informed", "uninformed"}

    Examples
    --------
    >>> world = BanditWorld(noise=0.1)
    >>> expert_probability_arm_zero([[0, 0, 0, 0]] * 2, [0, 1], world=world, expert="informed")
    array([0.95, 0.05])
    >>> expert_probability_arm_zero([[0, 0, 0, 0]], [0], world=world, expert="uninformed")
    array([0.5])
    """
    if expert not in EXPERTS:
        raise ValueError(f"expert must be one of {EXPERTS}, got {expert!r}")
    counts = _check_counts(counts)
    theta = np.asarray(theta)
    if theta.shape != (counts.shape[0],) or not np.all(np.isin(theta, (0, 1))):
        raise ValueError(f"theta must hold one 0 or 1 per history, got {theta!r}")
    if expert == "informed":
        belief = (theta == 0).astype(float)
    else:
        belief = expit(log_odds_arm_zero(counts, world=world, actions_as_evidence=False))
    return (1 - world.noise) * belief + world.noise / 2


def policy_probability_arm_zero(policy, counts, *, world: BanditWorld) -> np.ndarray:
    """Return the probability that ``policy`` pulls arm 0, given the histories' counts.

    Parameters
    ----------
    policy : {"delusional Bayes", "interventional Bayes", "posterior sampling"} or fitted classifier
        The two closed-form predictors of the informed expert's action (posterior with the
        pulls counted as evidence, or not; both mix in the expert's random pulls), pure
        posterior sampling (Thompson sampling: arm 0 with the interventional posterior
        probability that it is the better arm, no random pulls), or a fitted scikit-learn binary
        classifier over the four counts whose class 1 means "pull arm 0" (its ``predict_proba``
        is used).
    counts : array_like, shape (n, 4)
    world : BanditWorld

    Examples
    --------
    >>> world = BanditWorld(noise=0.1)
    >>> p = policy_probability_arm_zero("delusional Bayes", [[1, 0, 0, 0]], world=world)
    >>> round(float(p[0]), 3)
    0.919
    >>> p = policy_probability_arm_zero("posterior sampling", [[1, 0, 0, 0]], world=world)
    >>> round(float(p[0]), 3)  # expit(log 1.5): one success on arm 0, nothing else
    0.6
    """
    counts = _check_counts(counts)
    if isinstance(policy, str):
        if policy not in ("delusional Bayes", "interventional Bayes", "posterior sampling"):
            raise ValueError(
                "policy must be 'delusional Bayes', 'interventional Bayes', 'posterior sampling' "
                f"or a fitted classifier, got {policy!r}"
            )
        belief = expit(
            log_odds_arm_zero(counts, world=world, actions_as_evidence=policy == "delusional Bayes")
        )
        if policy == "posterior sampling":
            return belief
        return (1 - world.noise) * belief + world.noise / 2
    if not hasattr(policy, "predict_proba"):
        raise TypeError(f"policy must be a fitted classifier or a name, got {policy!r}")
    return policy.predict_proba(counts)[:, list(policy.classes_).index(1)]


@dataclass(frozen=True)
class Rollouts:
    """Episodes of the bandit.

    Attributes
    ----------
    theta : numpy.ndarray, shape (n_episodes,)
        The better arm of each episode.
    counts : numpy.ndarray, shape (n_episodes, horizon, 4)
        The counts ``(s0, f0, s1, f1)`` *before* each step's pull.
    actions : numpy.ndarray, shape (n_episodes, horizon)
        The arms pulled.
    labels : numpy.ndarray, shape (n_episodes, horizon)
        1 where the expert, asked at that step's history, pulls arm 0: the imitation target.
    """

    theta: np.ndarray
    counts: np.ndarray
    actions: np.ndarray
    labels: np.ndarray

    def training_data(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(counts, labels)`` flattened over episodes and steps, to fit a classifier."""
        return self.counts.reshape(-1, 4), self.labels.reshape(-1)

    def regret(self, world: BanditWorld) -> np.ndarray:
        """Return the expected cumulative regret after each step, averaged over episodes."""
        bad = (self.actions != self.theta[:, None]).mean(axis=0)
        return np.cumsum(bad) * (world.p_good - world.p_bad)


def roll_out(
    world: BanditWorld,
    *,
    actor,
    expert: str,
    n_episodes: int,
    horizon: int,
    rng: np.random.Generator,
) -> Rollouts:
    """Run ``n_episodes`` episodes of ``horizon`` pulls, the expert labelling every step.

    Parameters
    ----------
    world : BanditWorld
    actor : "expert" or policy
        Who pulls: the expert itself (its demonstrations), or a policy as accepted by
        :func:`policy_probability_arm_zero`, which samples its pull from its probabilities.
    expert : {"informed", "uninformed"}
        Which expert demonstrates (``actor="expert"``) or labels the actor's steps.
    n_episodes, horizon : int
    rng : numpy.random.Generator

    Examples
    --------
    >>> runs = roll_out(BanditWorld(), actor="expert", expert="informed", n_episodes=3,
    ...                 horizon=5, rng=np.random.default_rng(0))
    >>> runs.counts.shape, runs.actions.shape
    ((3, 5, 4), (3, 5))
    >>> bool(np.all(runs.counts[:, -1].sum(axis=1) == 4))
    True
    """
    n_episodes = check_positive_int(n_episodes, "n_episodes")
    horizon = check_positive_int(horizon, "horizon")
    rng = check_generator(rng)
    theta = rng.integers(0, 2, size=n_episodes)
    counts = np.zeros((n_episodes, horizon, 4))
    actions = np.zeros((n_episodes, horizon), dtype=int)
    labels = np.zeros((n_episodes, horizon), dtype=int)
    current = np.zeros((n_episodes, 4))
    rows = np.arange(n_episodes)
    for step in range(horizon):
        counts[:, step] = current
        label_p = expert_probability_arm_zero(current, theta, world=world, expert=expert)
        labels[:, step] = rng.random(n_episodes) < label_p
        if isinstance(actor, str) and actor == "expert":
            pull_zero = labels[:, step] == 1
        else:
            pull_zero = rng.random(n_episodes) < policy_probability_arm_zero(
                actor, current, world=world
            )
        action = np.where(pull_zero, 0, 1)
        p_success = np.where(action == theta, world.p_good, world.p_bad)
        success = rng.random(n_episodes) < p_success
        current[rows, 2 * action + (~success).astype(int)] += 1
        actions[:, step] = action
    return Rollouts(theta, counts, actions, labels)


def settled_on_best(rollouts: Rollouts, *, last: int) -> np.ndarray:
    """Return, per episode, whether most of the ``last`` pulls went to the better arm.

    Examples
    --------
    >>> runs = Rollouts(np.array([0, 1]), np.zeros((2, 3, 4)),
    ...                 np.array([[1, 0, 0], [1, 0, 0]]), np.zeros((2, 3), dtype=int))
    >>> settled_on_best(runs, last=2)
    array([ True, False])
    """
    last = check_positive_int(last, "last")
    if last > rollouts.actions.shape[1]:
        raise ValueError(
            f"last must be at most the horizon {rollouts.actions.shape[1]}, got {last}"
        )
    best = rollouts.actions[:, -last:] == rollouts.theta[:, None]
    return best.mean(axis=1) > 0.5
