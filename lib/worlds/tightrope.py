"""Compounding error in imitation: a tightrope walker, its cost computed exactly as a Markov chain.

Ross and Bagnell (2010) prove that a policy cloned from an expert, making mistakes at rate
``epsilon`` on the expert's own states, can cost up to order ``epsilon * T**2`` over a horizon
``T``: a mistake can take it to states the expert never visits, where it has no data and errs
again. DAgger (Ross, Gordon and Bagnell, 2011), trained on the states the learner itself
reaches, costs order ``u * epsilon * T`` when a mistake costs at most ``u`` to undo.

The smallest world in which a mistake can compound. A walker stands on a rope of positions
``-half_width, ..., half_width``; each step it moves left, holds or moves right, and a gust
pushes it one position either way with total probability ``gust``. Stepping or being blown
beyond either end, it falls: it hangs from the rope (one state, ``FALLEN``), where every step
costs 1, until it takes the one action that climbs back to the centre (``CLIMB``; on the rope,
``CLIMB`` does nothing, like holding). The expert steps towards the centre and climbs when
fallen, so it never falls and never shows a fallen state. In the **control** world
(``net=True``) a net returns a fallen walker to the centre after one step whatever it does:
deviations do not accumulate, whatever the learner. On a **low** rope (``low=True``) a fallen
walker is back at the centre if it holds still as well as if it climbs: whether its deviations
accumulate then depends on what the learner does in the state it never saw, not on the world
alone. On a **slippery** rope (``slip > 0``) every walker's action, the expert's included, is
replaced with probability ``slip`` by a move drawn uniformly from left, hold and right: the expert
then falls now and then, and its demonstrations show falls and climbs.

The learner is a table fitted to the expert's labels by counting: in a state with ``n``
labelled visits it plays action ``a`` with probability ``(n_a + backoff * f_a) / (n + backoff)``,
where ``f`` is the share of each action over all its data (additive smoothing towards the
pooled frequencies, the posterior predictive of a Dirichlet prior centred on them), and it
samples its action from that distribution. With many visits it copies the expert; where it has
never been it plays the pooled frequencies, in which ``CLIMB`` has share zero unless its data
contain a fall. It shares nothing across states, the setting of Ross and Bagnell's analysis,
which assumes nothing about a learner off the expert's distribution.

Because the world and the policy are finite tables, the expected cost over any horizon is
computed exactly by propagating the state distribution; only the data are sampled.

Examples
--------
>>> world = Tightrope(half_width=1, gust=0.2)
>>> world.n_states, world.fallen
(4, 3)
>>> expert_actions(world).tolist()  # RIGHT at -1, HOLD at 0, LEFT at +1, CLIMB when fallen
[2, 1, 0, 3]
>>> rng = np.random.default_rng(0)
>>> counts = demonstrate(world, n_replicates=2, n_episodes=20, horizon=10, rng=rng)
>>> counts.shape, int(counts.sum()), int(counts[:, world.fallen].sum())
((2, 4, 4), 400, 0)
>>> clone = fit_table(counts, backoff=1.0)
>>> float(clone[0, world.fallen, CLIMB])  # never saw a fall: cannot climb
0.0
>>> costs = expected_cost(world, clone, horizons=[10, 100, 1000])
>>> bool(np.all(np.diff(costs, axis=1) > 0))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..evidence.validation import (
    check_finite,
    check_generator,
    check_positive_int,
    check_probability,
)

__all__ = [
    "ACTIONS",
    "CLIMB",
    "HOLD",
    "LEFT",
    "RIGHT",
    "Tightrope",
    "dagger_table",
    "demonstrate",
    "expected_cost",
    "expert_actions",
    "expert_state_loss",
    "fit_table",
    "learner_visits",
    "log_log_slopes",
    "transition_tensor",
]

LEFT, HOLD, RIGHT, CLIMB = range(4)
ACTIONS = ("left", "hold", "right", "climb")
_MOVES = np.array([-1, 0, 1, 0])


@dataclass(frozen=True)
class Tightrope:
    """The tightrope's parameters.

    Attributes
    ----------
    half_width : int
        Positions run from ``-half_width`` to ``half_width``; beyond them the walker falls.
    gust : float
        Probability per step that a gust moves the walker one position (either way, equally).
    net : bool
        If True, a fallen walker is back at the centre after one step whatever it does (the
        control world, where deviations do not accumulate).
    low : bool
        If True, a fallen walker gets back to the centre by holding as well as by climbing (a
        rope low enough to stand up from): recovery then depends on the learner's behaviour in
        the fallen state.
    slip : float
        Probability per step that the walker's action (anyone's, the expert's too) is replaced
        by a move drawn uniformly from left, hold and right.

    Examples
    --------
    >>> Tightrope(half_width=0)
    Traceback (most recent call last):
    ...
    ValueError: half_width must be an integer >= 1, got 0
    """

    half_width: int = 1
    gust: float = 0.2
    net: bool = False
    low: bool = False
    slip: float = 0.0

    def __post_init__(self):
        check_positive_int(self.half_width, "half_width")
        check_probability(self.gust, "gust")
        check_probability(self.slip, "slip")
        if not isinstance(self.net, bool):
            raise TypeError(f"net must be a bool, got {self.net!r}")
        if not isinstance(self.low, bool):
            raise TypeError(f"low must be a bool, got {self.low!r}")

    @property
    def n_states(self) -> int:
        """Positions on the rope, then the fallen state."""
        return 2 * self.half_width + 2

    @property
    def centre(self) -> int:
        """Index of position 0."""
        return self.half_width

    @property
    def fallen(self) -> int:
        """Index of the fallen state (the last)."""
        return self.n_states - 1


def _check_world(world) -> Tightrope:
    if not isinstance(world, Tightrope):
        raise TypeError(f"world must be a Tightrope, got {world!r}")
    return world


def transition_tensor(world: Tightrope) -> np.ndarray:
    """Return ``P[s, a, s']``, the probability of moving from state ``s`` to ``s'`` under ``a``.

    Examples
    --------
    >>> P = transition_tensor(Tightrope(half_width=1, gust=0.2))
    >>> np.allclose(P.sum(axis=-1), 1.0)
    True
    >>> P[1, HOLD].round(2).tolist()  # from the centre, holding: gusts only
    [0.1, 0.8, 0.1, 0.0]
    >>> P[3, HOLD].tolist(), P[3, CLIMB].tolist()  # fallen: stuck unless it climbs
    ([0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0])
    >>> transition_tensor(Tightrope(low=True))[3, HOLD].tolist()  # a low rope: holding works too
    [0.0, 1.0, 0.0, 0.0]
    >>> transition_tensor(Tightrope(slip=0.3))[3, CLIMB].round(2).tolist()  # slips: climbs can fail
    [0.0, 0.7, 0.0, 0.3]
    """
    world = _check_world(world)
    width, n = world.half_width, world.n_states
    tensor = np.zeros((n, len(ACTIONS), n))
    positions = np.arange(-width, width + 1)
    for gust, probability in ((-1, world.gust / 2), (0, 1 - world.gust), (1, world.gust / 2)):
        landing = positions[:, None] + _MOVES[None, :] + gust
        index = np.where(np.abs(landing) > width, world.fallen, landing + width)
        for action in range(len(ACTIONS)):
            np.add.at(tensor[:, action], (np.arange(2 * width + 1), index[:, action]), probability)
    tensor[world.fallen, :, world.fallen] = 1.0
    tensor[world.fallen, CLIMB] = 0.0
    tensor[world.fallen, CLIMB, world.centre] = 1.0
    if world.low:
        tensor[world.fallen, HOLD] = 0.0
        tensor[world.fallen, HOLD, world.centre] = 1.0
    if world.net:
        tensor[world.fallen] = 0.0
        tensor[world.fallen, :, world.centre] = 1.0
    if world.slip:
        moves = tensor[:, [LEFT, HOLD, RIGHT]].mean(axis=1, keepdims=True)
        tensor = (1 - world.slip) * tensor + world.slip * moves
    return tensor


def expert_actions(world: Tightrope) -> np.ndarray:
    """Return the expert's action in each state: towards the centre, and climb when fallen."""
    world = _check_world(world)
    positions = np.arange(-world.half_width, world.half_width + 1)
    on_rope = np.where(positions > 0, LEFT, np.where(positions < 0, RIGHT, HOLD))
    return np.append(on_rope, CLIMB)


def _step(tensor, states, actions, rng):
    cumulative = np.cumsum(tensor[states, actions], axis=-1)
    draws = rng.random(states.shape)[..., None]
    return np.minimum((draws > cumulative).sum(axis=-1), tensor.shape[0] - 1)


def _sample_actions(policies, states, rng):
    rows = np.arange(policies.shape[0])[:, None]
    cumulative = np.cumsum(policies[rows, states], axis=-1)
    draws = rng.random(states.shape)[..., None]
    return np.minimum((draws > cumulative).sum(axis=-1), len(ACTIONS) - 1)


def demonstrate(
    world: Tightrope,
    *,
    n_replicates: int,
    n_episodes: int,
    horizon: int,
    rng,
    noise: float = 0.0,
    start: str = "centre",
) -> np.ndarray:
    """Record the expert: counts ``[replicate, state, expert's action]`` of labelled visits.

    Each episode starts at the centre (or fallen, ``start="fallen"``: the expert shows how it
    recovers). With ``noise > 0`` the expert's *executed* action is replaced, with that
    probability, by a move drawn uniformly from left, hold and right, while the label recorded
    is the action it intended: noise injected into the demonstrations, as in DART (Laskey et
    al., 2017), so that the expert is pushed off its own path and shows how to come back.

    Examples
    --------
    >>> world = Tightrope()
    >>> c = demonstrate(world, n_replicates=1, n_episodes=5, horizon=3, start="fallen",
    ...                 rng=np.random.default_rng(0))
    >>> int(c[0, world.fallen, CLIMB])  # every episode starts fallen and climbs
    5
    """
    world = _check_world(world)
    for value, name in ((n_replicates, "n_replicates"), (n_episodes, "n_episodes")):
        check_positive_int(value, name)
    check_positive_int(horizon, "horizon")
    noise = check_probability(noise, "noise")
    rng = check_generator(rng)
    if start not in ("centre", "fallen"):
        raise ValueError(f"start must be 'centre' or 'fallen', got {start!r}")
    tensor, expert = transition_tensor(world), expert_actions(world)
    counts = np.zeros((n_replicates, world.n_states, len(ACTIONS)))
    first = world.centre if start == "centre" else world.fallen
    states = np.full((n_replicates, n_episodes), first)
    rows = np.arange(n_replicates)[:, None]
    for _ in range(horizon):
        labels = expert[states]
        np.add.at(counts, (rows, states, labels), 1)
        slips = rng.random(states.shape) < noise
        moves = rng.integers(0, 3, size=states.shape)
        states = _step(tensor, states, np.where(slips, moves, labels), rng)
    return counts


def fit_table(counts, *, backoff) -> np.ndarray:
    """Fit the learner: ``(n_a + backoff * f_a) / (n + backoff)`` in each state.

    Parameters
    ----------
    counts : array_like, shape (n_replicates, n_states, 4)
        Labelled visits, from :func:`demonstrate` (or summed with :func:`learner_visits`).
    backoff : float
        Positive: the weight of the pooled action frequencies ``f`` (per replicate).

    Returns
    -------
    numpy.ndarray
        Action probabilities, the same shape as ``counts``.

    Examples
    --------
    >>> table = fit_table(np.array([[[0, 9, 0, 0], [1, 0, 0, 0]]]), backoff=1.0)
    >>> table.round(2).tolist()
    [[[0.01, 0.99, 0.0, 0.0], [0.55, 0.45, 0.0, 0.0]]]
    >>> fit_table(np.zeros((1, 2, 4)), backoff=1.0)
    Traceback (most recent call last):
    ...
    ValueError: counts must hold at least one labelled visit per replicate
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 3 or counts.shape[-1] != len(ACTIONS):
        raise ValueError(f"counts must have shape (n_replicates, n_states, 4), got {counts.shape}")
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise ValueError("counts must be finite and non-negative")
    backoff = check_finite(backoff, "backoff")
    if backoff <= 0:
        raise ValueError(f"backoff must be positive, got {backoff}")
    pooled = counts.sum(axis=1, keepdims=True)
    if np.any(pooled.sum(axis=-1) == 0):
        raise ValueError("counts must hold at least one labelled visit per replicate")
    shares = pooled / pooled.sum(axis=-1, keepdims=True)
    return (counts + backoff * shares) / (counts.sum(axis=-1, keepdims=True) + backoff)


def _check_policies(policies, world: Tightrope) -> np.ndarray:
    policies = np.asarray(policies, dtype=float)
    if policies.ndim != 3 or policies.shape[1:] != (world.n_states, len(ACTIONS)):
        raise ValueError(
            f"policies must have shape (n_replicates, {world.n_states}, 4), got {policies.shape}"
        )
    if np.any(policies < 0) or not np.allclose(policies.sum(axis=-1), 1.0):
        raise ValueError("policies must hold a probability distribution over actions per state")
    return policies


def learner_visits(world: Tightrope, policies, *, n_episodes: int, horizon: int, rng) -> np.ndarray:
    """Let each replicate's learner walk; return counts of the states it visits, labelled by the
    expert's action there (DAgger's data)."""
    world = _check_world(world)
    policies = _check_policies(policies, world)
    check_positive_int(n_episodes, "n_episodes")
    check_positive_int(horizon, "horizon")
    rng = check_generator(rng)
    tensor, expert = transition_tensor(world), expert_actions(world)
    counts = np.zeros_like(policies)
    states = np.full((policies.shape[0], n_episodes), world.centre)
    rows = np.arange(policies.shape[0])[:, None]
    for _ in range(horizon):
        np.add.at(counts, (rows, states, expert[states]), 1)
        states = _step(tensor, states, _sample_actions(policies, states, rng), rng)
    return counts


def dagger_table(
    world: Tightrope, counts, *, n_iterations: int, n_episodes: int, horizon: int, backoff, rng
) -> tuple[np.ndarray, np.ndarray]:
    """DAgger: starting from the clone of ``counts``, let the learner walk, add the expert's
    labels of the states it visited to the data, refit; ``n_iterations`` times.

    Returns the final policies and the aggregated counts.

    Examples
    --------
    >>> world, rng = Tightrope(), np.random.default_rng(1)
    >>> demos = demonstrate(world, n_replicates=2, n_episodes=5, horizon=20, rng=rng)
    >>> table, data = dagger_table(world, demos, n_iterations=2, n_episodes=5, horizon=20,
    ...                            backoff=1.0, rng=rng)
    >>> int(data.sum() - demos.sum())  # two rounds of 5 walks of 20 steps, per replicate
    400
    """
    check_positive_int(n_iterations, "n_iterations")
    rng = check_generator(rng)
    counts = np.asarray(counts, dtype=float)
    policies = fit_table(counts, backoff=backoff)
    for _ in range(n_iterations):
        counts = counts + learner_visits(
            world, policies, n_episodes=n_episodes, horizon=horizon, rng=rng
        )
        policies = fit_table(counts, backoff=backoff)
    return policies, counts


def _state_distributions(world: Tightrope, chains: np.ndarray, horizon: int) -> np.ndarray:
    """Distributions over states at steps 0, ..., horizon - 1, from the centre."""
    distribution = np.zeros(chains.shape[:2])
    distribution[:, world.centre] = 1.0
    out = np.empty((horizon, *distribution.shape))
    for t in range(horizon):
        out[t] = distribution
        distribution = np.einsum("rs,rst->rt", distribution, chains)
    return out


def expected_cost(world: Tightrope, policies, *, horizons) -> np.ndarray:
    """Exact expected cost ``J(T)`` at each ``T`` in ``horizons``: the expected number of the first
    ``T`` steps spent fallen, starting from the centre.

    The state distribution and the running cost evolve linearly, ``(d, J) -> (d M, J + d_fallen)``
    with ``M`` the learner's transition matrix, so ``J(T)`` is read off the ``T``-th power of
    that augmented matrix (by repeated squaring, so long horizons cost little).

    Returns an array of shape ``(n_replicates, len(horizons))``.

    Examples
    --------
    >>> world = Tightrope(gust=0.0)
    >>> stuck = np.zeros((1, 4, 4)); stuck[:, :, RIGHT] = 1.0  # always steps right, never climbs
    >>> expected_cost(world, stuck, horizons=[1, 2, 3, 4, 5]).tolist()  # falls at step 2, stays
    [[0.0, 0.0, 1.0, 2.0, 3.0]]
    """
    world = _check_world(world)
    policies = _check_policies(policies, world)
    horizons = [check_positive_int(int(t), "horizons") for t in np.ravel(horizons)]
    chains = np.einsum("rsa,sat->rst", policies, transition_tensor(world))
    n = world.n_states
    augmented = np.zeros((chains.shape[0], n + 1, n + 1))
    augmented[:, :n, :n] = chains
    augmented[:, world.fallen, n] = 1.0
    augmented[:, n, n] = 1.0
    start = np.zeros(n + 1)
    start[world.centre] = 1.0
    return np.stack(
        [(start @ np.linalg.matrix_power(augmented, t))[:, n] for t in horizons], axis=1
    )


def expert_state_loss(world: Tightrope, policies, *, horizon: int) -> np.ndarray:
    """Ross and Bagnell's ``epsilon``: the learner's probability of not taking the expert's action,
    averaged over the states the *expert* visits in ``horizon`` steps (per replicate)."""
    world = _check_world(world)
    policies = _check_policies(policies, world)
    check_positive_int(horizon, "horizon")
    expert = expert_actions(world)
    one_hot = np.eye(len(ACTIONS))[expert][None]
    chains = np.einsum(
        "rsa,sat->rst", np.broadcast_to(one_hot, policies.shape), transition_tensor(world)
    )
    visits = _state_distributions(world, chains, horizon).mean(axis=0)
    mistakes = 1.0 - policies[:, np.arange(world.n_states), expert]
    return (visits * mistakes).sum(axis=1)


def log_log_slopes(horizons, costs) -> np.ndarray:
    """Least-squares slope of ``log(cost)`` on ``log(horizon)``, one per row of ``costs``.

    Examples
    --------
    >>> t = np.array([10, 100, 1000])
    >>> log_log_slopes(t, np.array([t**2.0, 3 * t])).round(6).tolist()
    [2.0, 1.0]
    """
    x = np.log(np.asarray(horizons, dtype=float))
    y = np.asarray(costs, dtype=float)
    if y.ndim != 2 or y.shape[1] != x.size or x.size < 3:
        raise ValueError(
            f"costs must have shape (n_replicates, {x.size}) with at least 3 horizons, got {y.shape}"
        )
    if np.any(y <= 0):
        raise ValueError("costs must be positive")
    y = np.log(y)
    xc = x - x.mean()
    return (y - y.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
