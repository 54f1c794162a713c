"""Causal confusion in imitation: behaviour cloning with a brake light, and DAgger.

De Haan, Jayaraman and Levine (2019) describe a driver whose dashboard view shows the brake
light, which lights up when the driver brakes. A policy cloned from the driver's recordings can
learn to brake *because the light is on*: in the recordings the light predicts the next braking
almost perfectly, since braking persists, while the road ahead is harder to read. Acting, the
light shows the clone's own previous action, and the clone copies itself.

The smallest such world. A hazard ``h_t`` in front of the car comes and goes as a two-state
Markov chain (it appears with probability ``p_on`` per step and clears with probability
``p_off``). The expert sees the road and brakes exactly when there is a hazard, ``a_t = h_t``.
The learner sees a noisy sensor ``x_t = h_t + sensor_noise * xi_t`` and, when the car has one
(``light=True``), the brake light ``b_t = a_{t-1}``, the previous action of whoever drives.
Every step whose action differs from the expert's costs 1. The hazard does not depend on the
actions: only the light carries the driver's own actions back into its observations, which is
the covariate shift de Haan et al. study.

The learners are logistic regressions fitted to data (scikit-learn); nothing here tells them
what to weigh. *Behaviour cloning* fits the expert's recordings. *DAgger* (Ross, Gordon and
Bagnell, 2011) runs the learner, has the expert label the states the learner visits, aggregates
and refits.

Examples
--------
>>> world = BrakingWorld()
>>> round(world.hazard_share, 3)
0.2
>>> runs = drive(world, policy="expert", n_episodes=2, horizon=4, rng=np.random.default_rng(0))
>>> runs.observations.shape, int(runs.costs.sum())
((2, 4, 2), 0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from ..evidence.validation import (
    check_finite,
    check_generator,
    check_positive_int,
    check_probability,
)

__all__ = [
    "BrakingWorld",
    "Drives",
    "SensorThresholds",
    "dagger",
    "drive",
    "fit_clone",
    "held_out_accuracy",
    "threshold_errors",
]


@dataclass(frozen=True)
class BrakingWorld:
    """The braking task's parameters.

    Attributes
    ----------
    p_on, p_off : float
        Per-step probabilities that a hazard appears, and that one clears.
    sensor_noise : float
        Standard deviation of the learner's sensor noise.
    light : bool
        Whether the observation shows the brake light (the previous action).

    Examples
    --------
    >>> BrakingWorld(p_on=0.0)
    Traceback (most recent call last):
    ...
    ValueError: p_on must be in (0, 1], got 0.0
    """

    p_on: float = 0.05
    p_off: float = 0.2
    sensor_noise: float = 0.5
    light: bool = True

    def __post_init__(self):
        for name in ("p_on", "p_off"):
            value = check_probability(getattr(self, name), name)
            if value == 0:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if not check_finite(self.sensor_noise, "sensor_noise") > 0:
            raise ValueError(f"sensor_noise must be positive, got {self.sensor_noise}")
        if not isinstance(self.light, bool):
            raise TypeError(f"light must be True or False, got {self.light!r}")

    @property
    def hazard_share(self) -> float:
        """The stationary share of steps with a hazard, ``p_on / (p_on + p_off)``."""
        return self.p_on / (self.p_on + self.p_off)


@dataclass(frozen=True)
class Drives:
    """Episodes of driving.

    Attributes
    ----------
    observations : numpy.ndarray, shape (n_episodes, horizon, 2)
        Sensor and brake light at each step (the light is 0 in a world without one).
    labels : numpy.ndarray, shape (n_episodes, horizon)
        The expert's action at each step (brake iff hazard).
    actions : numpy.ndarray, shape (n_episodes, horizon)
        The driver's actions.
    """

    observations: np.ndarray
    labels: np.ndarray
    actions: np.ndarray

    @property
    def costs(self) -> np.ndarray:
        """Each episode's number of steps on which the action differs from the expert's."""
        return (self.actions != self.labels).sum(axis=1)

    def training_data(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(observations, labels)`` flattened over episodes and steps."""
        return self.observations.reshape(-1, 2), self.labels.reshape(-1)


def _brake(policy, observations: np.ndarray) -> np.ndarray:
    if not hasattr(policy, "predict"):
        raise TypeError(f"policy must be 'expert' or a fitted classifier, got {policy!r}")
    return policy.predict(observations).astype(int)


def drive(world: BrakingWorld, *, policy, n_episodes: int, horizon: int, rng) -> Drives:
    """Run ``n_episodes`` episodes of ``horizon`` steps with ``policy`` at the wheel.

    Each episode starts from the hazard chain's stationary distribution, the driver taking over
    from the expert: the first brake light shows the expert's action on the step before.

    Parameters
    ----------
    world : BrakingWorld
    policy : "expert" or fitted classifier
        A classifier's ``predict`` maps the observations (sensor, light) to brake (1) or not (0);
        see :func:`fit_clone` for a learner that ignores the light.
    n_episodes, horizon : int
    rng : numpy.random.Generator
    """
    n_episodes = check_positive_int(n_episodes, "n_episodes")
    horizon = check_positive_int(horizon, "horizon")
    rng = check_generator(rng)
    expert = isinstance(policy, str) and policy == "expert"
    if isinstance(policy, str) and not expert:
        raise ValueError(f"policy must be 'expert' or a fitted classifier, got {policy!r}")
    hazard = rng.random(n_episodes) < world.hazard_share
    previous = hazard.astype(int)  # the expert's action on the step before takeover
    observations = np.zeros((n_episodes, horizon, 2))
    labels = np.zeros((n_episodes, horizon), dtype=int)
    actions = np.zeros((n_episodes, horizon), dtype=int)
    for step in range(horizon):
        stay = np.where(hazard, 1 - world.p_off, world.p_on)
        hazard = rng.random(n_episodes) < stay
        observations[:, step, 0] = hazard + world.sensor_noise * rng.standard_normal(n_episodes)
        observations[:, step, 1] = previous if world.light else 0
        labels[:, step] = hazard
        actions[:, step] = labels[:, step] if expert else _brake(policy, observations[:, step])
        previous = actions[:, step]
    return Drives(observations, labels, actions)


class _SensorOnly:
    """A classifier fitted on the sensor column alone: the brake light masked."""

    def __init__(self, model):
        self.model = model

    def predict(self, observations):
        return self.model.predict(np.asarray(observations)[:, :1])


def fit_clone(observations, labels, *, mask_light: bool):
    """Fit a logistic-regression policy to labelled observations.

    Parameters
    ----------
    observations : array_like, shape (n, 2)
    labels : array_like of {0, 1}, shape (n,)
    mask_light : bool
        Fit on the sensor alone, ignoring the brake light.

    Returns
    -------
    object with ``predict``
    """
    if not isinstance(mask_light, bool):
        raise TypeError(f"mask_light must be True or False, got {mask_light!r}")
    observations = np.asarray(observations, dtype=float)
    if observations.ndim != 2 or observations.shape[1] != 2:
        raise ValueError(f"observations must have shape (n, 2), got {observations.shape}")
    if mask_light:
        return _SensorOnly(LogisticRegression().fit(observations[:, :1], labels))
    return LogisticRegression().fit(observations, labels)


def held_out_accuracy(policy, drives: Drives) -> np.ndarray:
    """Return, per episode, the share of steps on which ``policy`` agrees with the labels.

    ``drives`` should be the expert's own (held-out) recordings: this is the offline score a
    cloned policy is usually judged by.
    """
    observations, labels = drives.training_data()
    agree = _brake(policy, observations) == labels
    return agree.reshape(drives.labels.shape).mean(axis=1)


def dagger(
    world: BrakingWorld,
    demonstrations: Drives,
    *,
    n_iterations: int,
    n_rollouts: int,
    horizon: int,
    rng,
):
    """Run DAgger from behaviour cloning on ``demonstrations``; return the final policy.

    Each iteration drives ``n_rollouts`` episodes with the current policy, keeps the states it
    visited with the expert's labels for them, adds them to all data so far, and refits.
    """
    n_iterations = check_positive_int(n_iterations, "n_iterations")
    rng = check_generator(rng)
    observations, labels = demonstrations.training_data()
    policy = fit_clone(observations, labels, mask_light=False)
    for _ in range(n_iterations):
        visited = drive(world, policy=policy, n_episodes=n_rollouts, horizon=horizon, rng=rng)
        new_obs, new_labels = visited.training_data()
        observations = np.concatenate([observations, new_obs])
        labels = np.concatenate([labels, new_labels])
        policy = fit_clone(observations, labels, mask_light=False)
    return policy


@dataclass(frozen=True)
class SensorThresholds:
    """A policy of DAgger's form: brake iff the sensor exceeds a threshold that depends on the light.

    A logistic regression on (sensor, light) with a positive sensor weight brakes iff
    ``w_s * sensor + w_l * light + b > 0``, that is iff the sensor exceeds ``-b / w_s`` with the
    light off and ``-(b + w_l) / w_s`` with it on: every such policy is a pair of thresholds.

    Examples
    --------
    >>> SensorThresholds(off=0.5, on=-1.0).predict(np.array([[0.0, 0], [0.0, 1], [0.6, 0]])).tolist()
    [0, 1, 1]
    """

    off: float
    on: float

    def __post_init__(self):
        check_finite(self.off, "off")
        check_finite(self.on, "on")

    def predict(self, observations):
        observations = np.asarray(observations, dtype=float)
        threshold = np.where(observations[:, 1] > 0.5, self.on, self.off)
        return (observations[:, 0] > threshold).astype(int)


def threshold_errors(
    world: BrakingWorld, off, on, *, n_episodes: int, horizon: int, rng
) -> np.ndarray:
    """Error per step at the wheel of every pair of thresholds ``(off[i], on[i])``, all driven
    through the same hazards and sensor noise (common random numbers), as :func:`drive` does.

    Returns an array of shape ``(len(off), n_episodes)``: each episode's share of wrong steps.

    Examples
    --------
    >>> world = BrakingWorld(sensor_noise=0.01)
    >>> errors = threshold_errors(world, [0.5, 5.0], [0.5, 5.0], n_episodes=200, horizon=20,
    ...                           rng=np.random.default_rng(0))
    >>> mean = errors.mean(axis=1)  # a clear sensor read at 0.5 never errs; at 5, never brakes
    >>> float(mean[0]), bool(0.1 < mean[1] < 0.3)
    (0.0, True)
    """
    off = np.atleast_1d(np.asarray(off, dtype=float))
    on = np.atleast_1d(np.asarray(on, dtype=float))
    if off.shape != on.shape or off.ndim != 1:
        raise ValueError(f"off and on must be 1-d of equal length, got {off.shape} and {on.shape}")
    n_episodes = check_positive_int(n_episodes, "n_episodes")
    horizon = check_positive_int(horizon, "horizon")
    rng = check_generator(rng)
    hazard = rng.random(n_episodes) < world.hazard_share
    previous = np.broadcast_to(hazard.astype(int), (off.size, n_episodes))
    wrong = np.zeros((off.size, n_episodes))
    for _ in range(horizon):
        stay = np.where(hazard, 1 - world.p_off, world.p_on)
        hazard = rng.random(n_episodes) < stay
        sensor = hazard + world.sensor_noise * rng.standard_normal(n_episodes)
        light = previous if world.light else np.zeros_like(previous)
        threshold = np.where(light > 0, on[:, None], off[:, None])
        action = (sensor[None, :] > threshold).astype(int)
        wrong += action != hazard[None, :]
        previous = action
    return wrong / horizon
