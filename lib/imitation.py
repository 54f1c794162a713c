"""Imitation learning on a lane: behaviour cloning against DAgger.

A stylised version of the setting of Ross, Gordon and Bagnell (2011). A car's
lateral offset from the lane centre is an integer ``d`` in ``[-width, width]``. The expert
steers back towards the centre (action ``-sign(d)``; at the centre it holds its line, action 0)
and never errs, so its demonstrations visit only ``d = 0``. The learner is a lookup table from
offsets to actions, fitted to labelled states; on an offset it has never seen it holds its line
(action 0, the only action in the expert's data). It executes its table's action except that,
with probability ``slip``, it takes an action drawn uniformly from {-1, 0, +1}: the error rate
epsilon that Ross et al.'s bounds assume on the learner's training distribution. Every step
spent off the centre costs 1.

Behaviour cloning learns "hold your line" and nothing about recovering, so one slip leaves it
off the lane for good (until a lucky slip brings it back): its expected cost grows like
``epsilon * T**2`` for horizons ``T`` with ``epsilon * T`` small. DAgger runs the learner, asks
the expert what to do in the states the learner reaches, and refits on everything gathered:
the learner then learns to steer back, and each slip costs about one step, so the cost grows
like ``epsilon * T``.

Examples
--------
>>> expert_policy(2)
array([ 1,  1,  0, -1, -1])

Holding the line with slip 0.3: off centre at step 2 with probability 0.2, at step 3 with
probability 0.8 * 0.2 + 0.2 * 0.9 = 0.34, so 0.54 steps off centre in three:

>>> round(expected_cost(np.zeros(5, dtype=int), horizon=3, slip=0.3), 4)
0.54
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import check_generator, check_positive_int, check_probability

__all__ = [
    "ACTIONS",
    "LaneScenario",
    "cost_table",
    "local_exponents",
    "behaviour_cloning",
    "dagger",
    "expected_cost",
    "expert_policy",
    "fit_growth_exponent",
    "fit_policy",
    "simulate",
    "transition_matrix",
]

#: The actions: steer left, hold the line, steer right.
ACTIONS = np.array([-1, 0, 1])


@dataclass(frozen=True)
class LaneScenario:
    """The lane task's parameters: slip rate, lane half-width, horizons and sample sizes.

    Attributes
    ----------
    slip : float
        The learner's per-step probability of a uniformly random action (epsilon).
    width : int
        Offsets run over ``[-width, width]``.
    horizons : tuple of int
        Horizons ``T`` at which the costs are measured.
    n_demonstrations : int
        Expert runs for behaviour cloning.
    n_iterations, n_rollouts : int
        DAgger's rounds, and the learner's runs per round.
    n_eval : int
        Runs of each learned policy to estimate its cost.

    Examples
    --------
    >>> LaneScenario().horizons
    (8, 16, 32, 64, 128)
    >>> LaneScenario(slip=1.5)
    Traceback (most recent call last):
    ...
    ValueError: slip must be in [0, 1], got 1.5
    """

    slip: float = 0.005
    width: int = 20
    horizons: tuple = (8, 16, 32, 64, 128)
    n_demonstrations: int = 10
    n_iterations: int = 4
    n_rollouts: int = 1000
    n_eval: int = 4000

    def __post_init__(self):
        check_probability(self.slip, "slip")
        for name in ("width", "n_demonstrations", "n_iterations", "n_rollouts", "n_eval"):
            check_positive_int(getattr(self, name), name)
        horizons = tuple(check_positive_int(t, "horizons", minimum=2) for t in self.horizons)
        if len(horizons) < 3:
            raise ValueError(f"horizons must hold at least 3 values, got {self.horizons}")
        object.__setattr__(self, "horizons", horizons)


def expert_policy(width: int) -> np.ndarray:
    """Return the expert's table: action ``-sign(d)`` at offset ``d`` (index ``d + width``).

    Examples
    --------
    >>> expert_policy(1)
    array([ 1,  0, -1])
    """
    width = check_positive_int(width, "width")
    return -np.sign(np.arange(-width, width + 1))


def _check_policy(policy) -> np.ndarray:
    policy = np.asarray(policy)
    if policy.ndim != 1 or policy.size < 3 or policy.size % 2 == 0:
        raise ValueError(f"policy must be a 1-d table of odd length >= 3, got shape {policy.shape}")
    if not np.all(np.isin(policy, ACTIONS)):
        raise ValueError(f"policy must hold only actions -1, 0, 1, got {np.unique(policy)}")
    return policy.astype(int)


def transition_matrix(policy, *, slip: float) -> np.ndarray:
    """Return the Markov transition matrix over offsets under ``policy`` with slips.

    Row ``i`` is the distribution of the next offset's index given offset index ``i``;
    offsets are clipped to the lane's edges.

    Examples
    --------
    >>> transition_matrix([0, 0, 0], slip=0.3).round(2)
    array([[0.9, 0.1, 0. ],
           [0.1, 0.8, 0.1],
           [0. , 0.1, 0.9]])
    """
    policy = _check_policy(policy)
    slip = check_probability(slip, "slip")
    size = policy.size
    index = np.arange(size)
    matrix = np.zeros((size, size))
    chosen = np.clip(index + policy, 0, size - 1)
    np.add.at(matrix, (index, chosen), 1 - slip)
    for action in ACTIONS:
        np.add.at(matrix, (index, np.clip(index + action, 0, size - 1)), slip / 3)
    return matrix


def expected_cost(policy, *, horizon: int, slip: float) -> float:
    """Return the exact expected number of steps off centre in ``horizon`` steps from ``d = 0``.

    The cost counts the states ``d_1, ..., d_T``, the first being the centre, by propagating the
    distribution of the offset through :func:`transition_matrix`.

    Examples
    --------
    For the "hold the line" policy, the first slip happens at step ``t`` with probability
    ``(1 - q)**(t - 1) q``, ``q = 2 slip / 3``; with horizon 2 the cost is ``q``:

    >>> round(expected_cost(np.zeros(3, dtype=int), horizon=2, slip=0.3), 6)
    0.2
    >>> round(expected_cost(expert_policy(3), horizon=50, slip=0.0), 6)
    0.0
    """
    policy = _check_policy(policy)
    horizon = check_positive_int(horizon, "horizon")
    matrix = transition_matrix(policy, slip=slip)
    centre = policy.size // 2
    distribution = np.zeros(policy.size)
    distribution[centre] = 1.0
    cost = 0.0
    for _ in range(horizon - 1):
        distribution = distribution @ matrix
        cost += 1.0 - distribution[centre]
    return float(cost)


def simulate(
    policy, *, horizon: int, n_rollouts: int, slip: float, rng: np.random.Generator
) -> np.ndarray:
    """Return the offsets visited by ``n_rollouts`` runs of ``policy``, shape ``(n_rollouts, horizon)``.

    Every run starts at the centre; column ``t`` holds ``d_{t+1}``. The cost of a run is the
    number of non-zero entries in its row.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> simulate(expert_policy(2), horizon=4, n_rollouts=2, slip=0.0, rng=rng)
    array([[0, 0, 0, 0],
           [0, 0, 0, 0]])
    >>> simulate(expert_policy(2), horizon=4, n_rollouts=2, slip=2.0, rng=rng)
    Traceback (most recent call last):
    ...
    ValueError: slip must be in [0, 1], got 2.0
    """
    policy = _check_policy(policy)
    horizon = check_positive_int(horizon, "horizon")
    n_rollouts = check_positive_int(n_rollouts, "n_rollouts")
    slip = check_probability(slip, "slip")
    rng = check_generator(rng)
    width = policy.size // 2
    slipped = rng.random((n_rollouts, horizon)) < slip
    random_actions = rng.choice(ACTIONS, size=(n_rollouts, horizon))
    offsets = np.zeros((n_rollouts, horizon), dtype=int)
    # A loop over time steps (not over runs): each step depends on the last.
    for t in range(1, horizon):
        action = np.where(
            slipped[:, t - 1], random_actions[:, t - 1], policy[offsets[:, t - 1] + width]
        )
        offsets[:, t] = np.clip(offsets[:, t - 1] + action, -width, width)
    return offsets


def fit_policy(offsets, actions, *, width: int) -> np.ndarray:
    """Return the lookup table that takes each offset's most frequent labelled action.

    Offsets never seen get action 0 ("hold the line"), as do ties.

    Examples
    --------
    >>> fit_policy([0, 1, 1, 1], [0, -1, -1, 1], width=2)
    array([ 0,  0,  0, -1,  0])
    """
    width = check_positive_int(width, "width")
    offsets = np.asarray(offsets).ravel()
    actions = np.asarray(actions).ravel()
    if offsets.shape != actions.shape:
        raise ValueError(
            f"offsets and actions must have the same size, got {offsets.size} and {actions.size}"
        )
    if np.any(np.abs(offsets) > width):
        raise ValueError(
            f"offsets must lie in [-{width}, {width}], "
            f"got extremes {offsets.min()}, {offsets.max()}"
        )
    if not np.all(np.isin(actions, ACTIONS)):
        raise ValueError(f"actions must be -1, 0 or 1, got {np.unique(actions)}")
    counts = np.zeros((2 * width + 1, 3), dtype=int)
    np.add.at(counts, (offsets + width, actions + 1), 1)
    best = counts.argmax(axis=1)
    unique_best = (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) == 1
    return np.where(unique_best & (counts.sum(axis=1) > 0), ACTIONS[best], 0)


def behaviour_cloning(
    *, horizon: int, n_demonstrations: int, width: int, rng: np.random.Generator
) -> np.ndarray:
    """Return the policy fitted to the expert's own runs (the expert never slips).

    Examples
    --------
    >>> behaviour_cloning(horizon=5, n_demonstrations=3, width=2, rng=np.random.default_rng(0))
    array([0, 0, 0, 0, 0])
    """
    n_demonstrations = check_positive_int(n_demonstrations, "n_demonstrations")
    expert = expert_policy(width)
    visited = simulate(expert, horizon=horizon, n_rollouts=n_demonstrations, slip=0.0, rng=rng)
    return fit_policy(visited, expert[visited + width], width=width)


def dagger(
    *,
    horizon: int,
    n_iterations: int,
    n_rollouts: int,
    slip: float,
    width: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Return the policy DAgger reaches after ``n_iterations`` rounds.

    Round 1 is behaviour cloning (the expert's runs, Ross et al.'s ``beta_1 = 1``); each later
    round runs the current learner (``beta_i = 0``) for ``n_rollouts`` runs, labels every state
    it visited with the expert's action, adds them to the data, and refits on all of it.

    Examples
    --------
    >>> policy = dagger(horizon=20, n_iterations=3, n_rollouts=200, slip=0.1, width=3,
    ...                 rng=np.random.default_rng(0))
    >>> policy[2:5]
    array([ 1,  0, -1])
    """
    n_iterations = check_positive_int(n_iterations, "n_iterations")
    expert = expert_policy(width)
    visited = [simulate(expert, horizon=horizon, n_rollouts=n_rollouts, slip=0.0, rng=rng)]
    policy = fit_policy(visited[0], expert[visited[0] + width], width=width)
    for _ in range(n_iterations - 1):
        visited.append(simulate(policy, horizon=horizon, n_rollouts=n_rollouts, slip=slip, rng=rng))
        data = np.concatenate([v.ravel() for v in visited])
        policy = fit_policy(data, expert[data + width], width=width)
    return policy


def fit_growth_exponent(horizons, costs, standard_errors) -> tuple[float, float]:
    """Return the slope of log cost on log horizon, and its standard error.

    Weighted least squares on ``log cost``, each point weighted by its inverse variance
    ``(cost / standard_error)**2`` (the delta method's variance of a log).

    Examples
    --------
    >>> horizons = np.array([1.0, 2.0, 4.0, 8.0])
    >>> slope, se = fit_growth_exponent(horizons, 3 * horizons**2, 0.01 * horizons**2)
    >>> round(slope, 6)
    2.0
    >>> fit_growth_exponent([1, 2], [1, 2], [0.1, 0.1])
    Traceback (most recent call last):
    ...
    ValueError: horizons must hold at least 3 points, got 2
    """
    horizons, costs, errors = (
        np.asarray(v, dtype=float) for v in (horizons, costs, standard_errors)
    )
    if horizons.ndim != 1 or horizons.size < 3:
        raise ValueError(f"horizons must hold at least 3 points, got {horizons.size}")
    if costs.shape != horizons.shape or errors.shape != horizons.shape:
        raise ValueError(f"costs and standard_errors must match horizons' shape {horizons.shape}")
    for name, values in (("horizons", horizons), ("costs", costs), ("standard_errors", errors)):
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ValueError(f"{name} must be positive and finite, got {values}")
    design = np.column_stack([np.ones_like(horizons), np.log(horizons)])
    weights = (costs / errors) ** 2
    covariance = np.linalg.inv(design.T @ (design * weights[:, None]))
    coefficients = covariance @ design.T @ (weights * np.log(costs))
    return float(coefficients[1]), float(np.sqrt(covariance[1, 1]))


def cost_table(learn, *, horizons, n_eval: int, slip: float, rng: np.random.Generator):
    """Return simulated and exact costs of the policies ``learn(T)`` for each horizon ``T``.

    Two routes to each policy's expected cost: the mean of ``n_eval`` simulated runs
    (:func:`simulate`), with its standard error, and the exact value from propagating the
    offset's distribution through the Markov chain (:func:`expected_cost`). They share the
    policy and the dynamics' definition, not the code path: the check between them tests the
    simulator and the chain against each other.

    Parameters
    ----------
    learn : callable
        ``learn(horizon) -> policy``, e.g. a call of :func:`behaviour_cloning`.

    Returns
    -------
    cost, standard_error, exact : ndarray, shape (len(horizons),)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> cost, se, exact = cost_table(lambda t: np.zeros(5, dtype=int), horizons=[2, 3],
    ...                              n_eval=10, slip=0.0, rng=rng)
    >>> cost.tolist(), exact.tolist()
    ([0.0, 0.0], [0.0, 0.0])
    """
    if not callable(learn):
        raise TypeError(f"learn must be callable, got {learn!r}")
    rng = check_generator(rng)
    rows = []
    for horizon in horizons:  # a loop over horizons: each has its own learned policy
        horizon = check_positive_int(horizon, "horizons")
        policy = learn(horizon)
        runs = simulate(policy, horizon=horizon, n_rollouts=n_eval, slip=slip, rng=rng)
        costs = (runs != 0).sum(axis=1)
        se = costs.std(ddof=1) / np.sqrt(n_eval) if n_eval > 1 else np.nan
        rows.append((costs.mean(), se, expected_cost(policy, horizon=horizon, slip=slip)))
    return tuple(np.array(column, dtype=float) for column in zip(*rows))


def local_exponents(horizons, costs) -> np.ndarray:
    """Return the slopes of log cost on log horizon between successive horizons.

    A power law ``c T**a`` has every local exponent equal to ``a``; a curve that bends, as
    behaviour cloning's cost does once ``epsilon T`` is no longer small, shows falling ones.

    Examples
    --------
    >>> local_exponents([1, 2, 4], [3.0, 12.0, 48.0]).round(6).tolist()
    [2.0, 2.0]
    """
    horizons, costs = (np.asarray(v, dtype=float) for v in (horizons, costs))
    if horizons.ndim != 1 or horizons.shape != costs.shape or horizons.size < 2:
        raise ValueError(
            f"horizons and costs must be 1-d of equal length >= 2, "
            f"got shapes {horizons.shape} and {costs.shape}"
        )
    if np.any(horizons <= 0) or np.any(costs <= 0):
        raise ValueError("horizons and costs must be positive")
    return np.diff(np.log(costs)) / np.diff(np.log(horizons))
