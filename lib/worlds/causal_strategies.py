"""Passive learning of an active causal strategy, in small linear-Gaussian causal DAGs.

A *world* is a linear-Gaussian structural causal model over ``n_candidates + 1`` observed
variables in a fixed causal order: the candidates ``X_0 .. X_{k-1}`` and, last, the goal ``G``,
which causes nothing. A latent confounder ``U`` (never observed, never set) may push one
candidate and the goal in the same direction. An *episode* gives a passive sample of the world,
then a budget of interventions ``do(X_i = value)`` that the policy chooses one at a time, each
revealing one noisy value of the goal, and finally one exploiting choice: the candidate to set in
order to make ``G`` as large as possible. This is the smallest version of the causal-DAG setting
of Lampinen et al. (2023), "Passive learning of active causal strategies in agents and language
models".

Weights are stored as ``weights[e, i, j]``: the direct effect of variable ``i`` on variable ``j``
in world ``e`` (non-zero only for ``i < j``). With unit-variance structural noise ``s``, a sample
is the row vector ``x = s (I - W)^{-1}``.

A batch of episodes is an :class:`Episodes` (from :func:`sample_episodes`). A policy's *state*
after some interventions is, for each candidate, four numbers: whether it has been set, the goal's
response to setting it (zero until it has been), its correlation with the goal in the passive
sample, and whether it may be set at all in this episode (:func:`episode_state`). Policies are anything with a ``predict(states) -> choices`` method, such
as a fitted scikit-learn classifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from ..evidence.validation import (
    check_finite,
    check_finite_array,
    check_generator,
    check_positive_int,
    check_probability,
)

__all__ = [
    "Episodes",
    "associational_choices",
    "choice_rewards",
    "choices_by_budget",
    "concatenate_episodes",
    "episode_state",
    "expert_demonstrations",
    "expert_exploit",
    "expert_order",
    "fit_policy",
    "goal_correlations",
    "pooled_associational_choices",
    "act_on_episodes",
    "sample_episodes",
    "sample_worlds",
    "simulate_interventions",
    "simulate_observational",
    "total_effects",
    "with_quality_label",
]

STATE_FIELDS = 4  # per candidate: explored, response, correlation, actionable


def _check_weights(weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 3 or weights.shape[1] != weights.shape[2] or weights.shape[1] < 2:
        raise ValueError(
            f"weights must have shape (n_worlds, n, n) with n >= 2, got {weights.shape}"
        )
    if np.any(np.tril(weights) != 0):
        raise ValueError("weights must be strictly upper triangular (variables in causal order)")
    return weights


def _check_loadings(loadings, weights: np.ndarray) -> np.ndarray:
    loadings = np.asarray(loadings, dtype=np.float64)
    if loadings.shape != weights.shape[:2]:
        raise ValueError(f"loadings must have shape {weights.shape[:2]}, got {loadings.shape}")
    return loadings


def _check_edges(edges, name: str, n: int) -> list[tuple[int, int]]:
    edges = [tuple(edge) for edge in edges]
    for edge in edges:
        if not (len(edge) == 2 and 0 <= edge[0] < edge[1] < n):
            raise ValueError(
                f"{name} must hold pairs (i, j) with 0 <= i < j < {n}, got {edge} in {name}"
            )
    return edges


def sample_worlds(
    n_worlds,
    *,
    n_candidates=5,
    edge_probability=0.5,
    confounding=0.0,
    candidate_edges=True,
    forbid_edges=(),
    require_edges=(),
    rng,
):
    """Draw random linear-Gaussian worlds.

    Each possible edge ``i -> j`` (``i < j``) is present with probability ``edge_probability`` and
    has a weight drawn uniformly from ``±[0.5, 1.5]``. The latent confounder loads with strength
    ``confounding`` on one candidate, chosen at random, and on the goal.

    Parameters
    ----------
    n_worlds : int
    n_candidates : int
        Candidates for intervention; the goal is variable ``n_candidates``.
    edge_probability : float
    confounding : float
        Loading of the latent confounder on its candidate and on the goal (0: none).
    candidate_edges : bool
        If False, no candidate causes another: every edge points into the goal.
    forbid_edges, require_edges : sequence of (int, int)
        Edges ``(i, j)`` removed from, or forced into (with a random weight), every world.
    rng : numpy.random.Generator

    Returns
    -------
    weights : ndarray, shape (n_worlds, n_candidates + 1, n_candidates + 1)
    loadings : ndarray, shape (n_worlds, n_candidates + 1)

    Examples
    --------
    >>> weights, loadings = sample_worlds(2, confounding=1.0, rng=np.random.default_rng(0))
    >>> weights.shape, loadings.shape, float(loadings[:, -1].min())
    ((2, 6, 6), (2, 6), 1.0)
    """
    n_worlds = check_positive_int(n_worlds, "n_worlds")
    n_candidates = check_positive_int(n_candidates, "n_candidates", minimum=2)
    edge_probability = check_probability(edge_probability, "edge_probability")
    confounding = check_finite(confounding, "confounding")
    rng = check_generator(rng)
    n = n_candidates + 1
    forbid_edges = _check_edges(forbid_edges, "forbid_edges", n)
    require_edges = _check_edges(require_edges, "require_edges", n)
    if set(forbid_edges) & set(require_edges):
        raise ValueError(f"an edge cannot be both forbidden and required, got {forbid_edges}")
    magnitude = rng.uniform(0.5, 1.5, size=(n_worlds, n, n))
    sign = rng.choice([-1.0, 1.0], size=(n_worlds, n, n))
    present = rng.random((n_worlds, n, n)) < edge_probability
    mask = np.triu(np.ones((n, n), dtype=bool), k=1)
    if not candidate_edges:
        mask[:, :-1] = False
    for edge in forbid_edges:
        mask[edge] = False
    for edge in require_edges:
        present[:, edge[0], edge[1]] = True
        mask[edge] = True
    weights = np.where(present & mask, sign * magnitude, 0.0)
    loadings = np.zeros((n_worlds, n))
    loadings[np.arange(n_worlds), rng.integers(n_candidates, size=n_worlds)] = confounding
    loadings[:, -1] = confounding
    return weights, loadings


def total_effects(weights):
    """Total causal effects: ``effects[e, i, j]`` is the change in ``X_j`` per unit ``do(X_i)``.

    In a linear model the total effect sums the products of weights along every directed path,
    ``(I - W)^{-1} - I``.

    Examples
    --------
    >>> chain = np.array([[[0, 2.0, 0], [0, 0, 3.0], [0, 0, 0]]])
    >>> total_effects(chain)[0, 0, 2]
    np.float64(6.0)
    """
    weights = _check_weights(weights)
    identity = np.eye(weights.shape[1])
    return np.linalg.inv(identity - weights) - identity


def simulate_observational(weights, loadings, *, n_samples, rng):
    """Draw ``n_samples`` passive observations of each world, shape ``(n_worlds, n_samples, n)``.

    Examples
    --------
    >>> weights, loadings = sample_worlds(3, rng=np.random.default_rng(1))
    >>> simulate_observational(weights, loadings, n_samples=5, rng=np.random.default_rng(2)).shape
    (3, 5, 6)
    """
    weights = _check_weights(weights)
    loadings = _check_loadings(loadings, weights)
    n_samples = check_positive_int(n_samples, "n_samples", minimum=2)
    rng = check_generator(rng)
    n_worlds, n = weights.shape[:2]
    noise = rng.standard_normal((n_worlds, n_samples, n))
    latent = rng.standard_normal((n_worlds, n_samples, 1))
    structural = noise + latent * loadings[:, None, :]
    return structural @ np.linalg.inv(np.eye(n) - weights)


def simulate_interventions(weights, loadings, *, value, rng):
    """For each candidate, one observation of every variable after ``do(X_i = value)``.

    Setting ``X_i`` cuts its incoming edges and its link to the latent confounder. A policy that
    sets a candidate is shown this row (its goal entry, in :func:`episode_state`).

    Returns
    -------
    ndarray, shape (n_worlds, n_candidates, n)
        ``out[e, i]`` is the observation after ``do(X_i = value)`` in world ``e``.

    Examples
    --------
    >>> weights, loadings = sample_worlds(2, rng=np.random.default_rng(1))
    >>> out = simulate_interventions(weights, loadings, value=2.0, rng=np.random.default_rng(2))
    >>> out.shape, bool(np.all(np.diagonal(out, axis1=1, axis2=2) == 2.0))
    ((2, 5, 6), True)
    """
    weights = _check_weights(weights)
    loadings = _check_loadings(loadings, weights)
    value = check_finite(value, "value")
    rng = check_generator(rng)
    n_worlds, n = weights.shape[:2]
    k = n - 1
    cut = np.repeat(weights[:, None], k, axis=1)
    cut[:, np.arange(k), :, np.arange(k)] = 0.0
    noise = rng.standard_normal((n_worlds, k, n))
    latent = rng.standard_normal((n_worlds, k, 1))
    structural = noise + latent * loadings[:, None, :]
    structural[:, np.arange(k), np.arange(k)] = value
    inverse = np.linalg.inv(np.eye(n) - cut)
    return np.einsum("eij,eijk->eik", structural, inverse)


def goal_correlations(samples):
    """Each candidate's sample correlation with the goal (the last variable), per world.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(1, 500, 3))
    >>> x[..., 2] += 2 * x[..., 1]
    >>> goal_correlations(x).round(1)
    array([[0. , 0.9]])
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 3 or samples.shape[1] < 2 or samples.shape[2] < 2:
        raise ValueError(
            f"samples must have shape (n_worlds, n_samples >= 2, n >= 2), got {samples.shape}"
        )
    centred = samples - samples.mean(axis=1, keepdims=True)
    scale = np.sqrt((centred**2).sum(axis=1))
    covariance = np.einsum("esi,es->ei", centred[..., :-1], centred[..., -1])
    return covariance / (scale[:, :-1] * scale[:, -1:])


def associational_choices(observational):
    """The associational heuristic: the candidate most correlated with the goal, passively.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(1, 500, 3))
    >>> x[..., 2] += 2 * x[..., 1]
    >>> associational_choices(x)
    array([1])
    """
    return np.argmax(goal_correlations(observational), axis=1)


def pooled_associational_choices(observational, interventions):
    """The associational heuristic given the interventional rows too, as if they were passive.

    The rows seen after each ``do(X_i = value)`` are appended to the passive sample and the
    candidate most correlated with the goal in the pooled sample is chosen: the same data the
    experimenting expert saw, read by correlation rather than as experiments.

    Examples
    --------
    >>> observed = np.zeros((1, 4, 3))  # four passive rows in which nothing varies but G
    >>> observed[0, :, 2] = [0.0, 1.0, 0.0, 1.0]
    >>> intervened = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]])  # do(X1 = 1) raised G
    >>> pooled_associational_choices(observed, intervened)
    array([1])
    """
    observational = np.asarray(observational, dtype=np.float64)
    interventions = np.asarray(interventions, dtype=np.float64)
    if interventions.ndim != 3 or interventions.shape[::2] != observational.shape[::2]:
        raise ValueError(
            f"interventions must have shape (n_worlds, n_rows, {observational.shape[-1]}) "
            f"matching observational {observational.shape}, got {interventions.shape}"
        )
    return associational_choices(np.concatenate([observational, interventions], axis=1))


def _check_mask(values, name: str, shape) -> np.ndarray:
    values = np.asarray(values)
    if not np.all((values == 0) | (values == 1)):
        raise ValueError(f"{name} must hold only 0/1 or booleans, got values {np.unique(values)}")
    values = values.astype(bool)
    if values.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {values.shape}")
    return values


@dataclass(frozen=True)
class Episodes:
    """A batch of episodes: worlds, what can be seen of them, and which candidates may be set.

    Attributes
    ----------
    weights : ndarray, shape (n_worlds, k + 1, k + 1)
        The worlds (see :func:`sample_worlds`); used only to score choices.
    observed : ndarray, shape (n_worlds, n_samples, k + 1)
        The passive sample given up front.
    intervened : ndarray, shape (n_worlds, k, k + 1)
        One row per candidate, observed after ``do(X_i = value)``; a policy sees row ``i``'s goal
        entry only once it sets ``X_i``.
    value : float
        The value interventions set.
    actionable : ndarray of bool, shape (n_worlds, k)
        Which candidates may be set in each episode.
    """

    weights: np.ndarray
    observed: np.ndarray
    intervened: np.ndarray
    value: float
    actionable: np.ndarray

    def __post_init__(self):
        n_worlds, n = _check_weights(self.weights).shape[:2]
        shapes = {
            "observed": (np.shape(self.observed)[0], np.shape(self.observed)[-1]),
            "intervened": np.shape(self.intervened)[::2],
            "actionable": np.shape(self.actionable),
        }
        expected = {
            "observed": (n_worlds, n),
            "intervened": (n_worlds, n),
            "actionable": (n_worlds, n - 1),
        }
        for name, shape in shapes.items():
            if shape != expected[name]:
                raise ValueError(f"{name} does not fit weights of shape {np.shape(self.weights)}")
        check_finite(self.value, "value")
        _check_mask(self.actionable, "actionable", (n_worlds, n - 1))

    @property
    def responses(self) -> np.ndarray:
        """The goal's value after each ``do(X_i = value)``, per unit set: shape (n_worlds, k)."""
        return self.intervened[..., -1] / self.value

    @cached_property
    def correlations(self) -> np.ndarray:
        """Each candidate's correlation with the goal in the passive sample.

        Computed once per batch (policies read it many times); the arrays are not to be
        modified in place after it has been read.
        """
        return goal_correlations(self.observed)

    @cached_property
    def effects(self) -> np.ndarray:
        """Each candidate's true total effect on the goal (hidden from every policy), computed
        once per batch."""
        return total_effects(self.weights)[:, :-1, -1]


def sample_episodes(n_worlds, *, n_samples, value, rng, **world):
    """Draw worlds (keyword arguments as :func:`sample_worlds`), a passive sample of each, and
    one observation after each possible intervention. Every candidate is actionable.

    Examples
    --------
    >>> episodes = sample_episodes(4, n_samples=10, value=5.0, rng=np.random.default_rng(0))
    >>> episodes.observed.shape, episodes.responses.shape, bool(episodes.actionable.all())
    ((4, 10, 6), (4, 5), True)
    """
    weights, loadings = sample_worlds(n_worlds, rng=rng, **world)
    observed = simulate_observational(weights, loadings, n_samples=n_samples, rng=rng)
    intervened = simulate_interventions(weights, loadings, value=value, rng=rng)
    actionable = np.ones(weights.shape[:2], dtype=bool)[:, :-1]
    return Episodes(weights, observed, intervened, float(value), actionable)


def concatenate_episodes(parts):
    """Join batches of :class:`Episodes` drawn from different worlds into one batch.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> parts = [sample_episodes(n, n_samples=5, value=1.0, rng=rng) for n in (2, 3)]
    >>> concatenate_episodes(parts).weights.shape
    (5, 6, 6)
    """
    parts = list(parts)
    if not parts or not all(isinstance(part, Episodes) for part in parts):
        raise TypeError(f"parts must be a non-empty sequence of Episodes, got {parts!r}")
    values = {part.value for part in parts}
    if len(values) != 1:
        raise ValueError(f"parts must share one intervention value, got {sorted(values)}")
    fields = ("weights", "observed", "intervened")
    joined = {name: np.concatenate([getattr(part, name) for part in parts]) for name in fields}
    actionable = np.concatenate([part.actionable for part in parts])
    return Episodes(**joined, value=values.pop(), actionable=actionable)


def episode_state(explored, episodes):
    """The fixed-length encoding a policy sees: four numbers per candidate, concatenated.

    Per candidate: whether it has been set, the goal's response to setting it (zero until it
    has been), its correlation with the goal in the passive sample, and whether it is
    actionable.

    Parameters
    ----------
    explored : array_like of bool, shape (n_worlds, k)
        Which candidates have been set so far.
    episodes : Episodes

    Returns
    -------
    ndarray, shape (n_worlds, 4 k)

    Examples
    --------
    >>> episodes = sample_episodes(1, n_samples=10, value=5.0, rng=np.random.default_rng(0))
    >>> state = episode_state([[1, 0, 0, 0, 0]], episodes).reshape(5, 4)
    >>> state[:, 0], bool(state[0, 1] == episodes.responses[0, 0]), state[1:, 1]
    (array([1., 0., 0., 0., 0.]), True, array([0., 0., 0., 0.]))
    """
    if not isinstance(episodes, Episodes):
        raise TypeError(f"episodes must be Episodes, got {type(episodes).__name__}")
    responses = episodes.responses
    explored = _check_mask(explored, "explored", responses.shape)
    fields = [
        explored,
        np.where(explored, responses, 0.0),
        episodes.correlations,
        episodes.actionable,
    ]
    return np.stack(fields, axis=-1).astype(np.float64).reshape(len(responses), -1)


def expert_order(priority, actionable):
    """The order in which the expert sets candidates: actionable ones, highest priority first.

    Non-actionable candidates come last; :func:`expert_demonstrations` never reaches them
    when the budget is at most the number of actionable candidates.

    Examples
    --------
    >>> expert_order([[0.1, 0.9, 0.5]], [[1, 1, 1]])
    array([[1, 2, 0]])
    >>> expert_order([[0.1, 0.9, 0.5]], [[1, 0, 1]])
    array([[2, 0, 1]])
    """
    priority = check_finite_array(priority, "priority")
    if priority.ndim != 2:
        raise ValueError(f"priority must be 2-d (n_worlds, k), got shape {priority.shape}")
    actionable = _check_mask(actionable, "actionable", priority.shape)
    return np.argsort(np.where(actionable, -priority, np.inf), axis=1, kind="stable")


def expert_exploit(explored, episodes):
    """The expert's exploiting choice.

    Among the candidates it set, the one that raised the goal most, if any raised it at all;
    otherwise (none set, or every one it set lowered the goal) the actionable candidate it has
    not set that is most correlated with the goal in the passive sample; and if it set every
    actionable candidate and none helped, the one that lowered the goal least. An untested
    candidate's expected effect is zero under the prior, above one seen to lower the goal.

    Examples
    --------
    >>> episodes = sample_episodes(3, n_samples=10, value=5.0, rng=np.random.default_rng(0))
    >>> none, every = np.zeros((3, 5), bool), np.ones((3, 5), bool)
    >>> bool(np.all(expert_exploit(every, episodes) == episodes.responses.argmax(axis=1)))
    True
    >>> bool(np.all(expert_exploit(none, episodes) == episodes.correlations.argmax(axis=1)))
    True
    """
    state = episode_state(explored, episodes)
    explored, revealed, correlations, actionable = np.moveaxis(
        state.reshape(len(state), -1, STATE_FIELDS), -1, 0
    )
    by_response = np.where(explored > 0, revealed, -np.inf)
    untested = (actionable > 0) & (explored == 0)
    by_correlation = np.where(untested, correlations, -np.inf)
    helped = by_response.max(axis=1) > 0
    return np.where(
        helped | ~untested.any(axis=1),
        np.argmax(by_response, axis=1),
        np.argmax(by_correlation, axis=1),
    )


def expert_demonstrations(episodes, order, budgets):
    """The states and actions of the expert's recorded episodes, for imitation.

    Episode ``e`` sets ``order[e, :budgets[e]]`` one at a time, then exploits
    (:func:`expert_exploit`). Each intervention contributes one (state before it, candidate set)
    pair; each episode contributes one (final state, exploiting choice) pair.

    Returns
    -------
    explore_states, explore_actions, exploit_states, exploit_actions : ndarray

    Examples
    --------
    >>> episodes = sample_episodes(2, n_samples=10, value=5.0, rng=np.random.default_rng(0))
    >>> order = expert_order(episodes.correlations, episodes.actionable)
    >>> states, actions, final, choices = expert_demonstrations(episodes, order, [2, 0])
    >>> states.shape, final.shape, bool(np.all(actions == order[0, :2]))
    ((2, 20), (2, 20), True)
    """
    if not isinstance(episodes, Episodes):
        raise TypeError(f"episodes must be Episodes, got {type(episodes).__name__}")
    shape = episodes.actionable.shape
    order = np.asarray(order)
    budgets = np.asarray(budgets)
    if order.shape != shape or not np.issubdtype(order.dtype, np.integer):
        raise ValueError(f"order must be integers of shape {shape}, got {order!r}")
    if budgets.shape != (shape[0],) or budgets.min() < 0 or budgets.max() > shape[1]:
        raise ValueError(f"budgets must be {shape[0]} integers in [0, {shape[1]}], got {budgets!r}")
    explored = np.zeros(shape, dtype=bool)
    explore_states, explore_actions = [], []
    for step in range(shape[1]):
        acting = budgets > step
        explore_states.append(episode_state(explored, episodes)[acting])
        explore_actions.append(order[acting, step])
        explored[np.flatnonzero(acting), order[acting, step]] = True
    return (
        np.concatenate(explore_states),
        np.concatenate(explore_actions),
        episode_state(explored, episodes),
        expert_exploit(explored, episodes),
    )


def fit_policy(states, actions, *, inverse_regularization=10.0):
    """Fit an imitating policy: multinomial logistic regression of actions on states.

    Newton's method with a Cholesky solve, to a tight tolerance (``1e-8``), so that the fit, and
    every number computed from it, agrees to many digits whichever BLAS kernel runs it. The
    problems are small (thousands of rows, tens of columns): BLAS threads cost more CPU time in
    start-up and spinning than they save (several times the CPU of a single-threaded fit on a
    loaded two-core machine), so the fit runs single-threaded; the limit is lifted on exit.

    Parameters
    ----------
    states : array_like, shape (n_rows, n_features)
    actions : array_like of int, shape (n_rows,)
    inverse_regularization : float
        scikit-learn's ``C``: larger means weaker L2 regularization.

    Returns
    -------
    sklearn.linear_model.LogisticRegression
        Fitted; its ``predict(states)`` returns actions.

    Examples
    --------
    >>> states = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> fit_policy(states, [0, 0, 1, 1]).predict([[0.5], [2.5]])
    array([0, 1])
    """
    states = check_finite_array(states, "states")
    actions = np.asarray(actions)
    if states.ndim != 2 or actions.shape != (len(states),):
        raise ValueError(
            f"actions must have shape ({len(states)},) for states of shape {states.shape}, "
            f"got {actions.shape}"
        )
    strength = check_finite(inverse_regularization, "inverse_regularization")
    if strength <= 0:
        raise ValueError(f"inverse_regularization must be positive, got {strength}")
    model = LogisticRegression(C=strength, solver="newton-cholesky", tol=1e-8)
    with threadpool_limits(limits=1):
        return model.fit(states, actions)


def act_on_episodes(explorer, exploiter, episodes, *, budget):
    """Let a policy act: ``budget`` interventions chosen by ``explorer``, then ``exploiter``.

    Setting a candidate that is not actionable reveals nothing (the step is wasted); setting one
    twice reveals the same response again.

    Parameters
    ----------
    explorer, exploiter : objects with ``predict(states) -> candidate indices``
        Fed :func:`episode_state` before each intervention, and after the last.
    episodes : Episodes
    budget : int
        Interventions allowed before the exploiting choice (0: none).

    Returns
    -------
    explored : ndarray of bool, shape (n_worlds, k)
    choices : ndarray of int, shape (n_worlds,)

    Examples
    --------
    >>> class MostCorrelated:  # sets the most correlated candidate not yet set
    ...     def predict(self, states):
    ...         fields = states.reshape(len(states), -1, 4)
    ...         return np.argmax(fields[..., 2] - 9 * fields[..., 0], axis=1)
    >>> episodes = sample_episodes(2, n_samples=10, value=5.0, rng=np.random.default_rng(0))
    >>> explored, choices = act_on_episodes(MostCorrelated(), MostCorrelated(), episodes, budget=2)
    >>> explored.sum(axis=1), bool(np.all(explored[[0, 1], choices] == False))
    (array([2, 2]), True)
    """
    budget = check_positive_int(budget, "budget", minimum=0)
    explored = np.zeros(episodes.actionable.shape, dtype=bool)
    rows = np.arange(len(explored))
    with threadpool_limits(limits=1):  # small products: threads cost more than they save
        for _ in range(budget):
            chosen = np.asarray(explorer.predict(episode_state(explored, episodes)))
            explored[rows, chosen] |= episodes.actionable[rows, chosen]
        return explored, np.asarray(exploiter.predict(episode_state(explored, episodes)))


def choices_by_budget(explorer, exploiter, episodes, *, budget):
    """The exploiting choice after each number of interventions from 0 to ``budget``, in one pass.

    The same as calling :func:`act_on_episodes` once for each budget, since a policy's first ``b``
    interventions do not depend on how many more it will be allowed; this makes the
    explorer's ``budget`` choices once instead of once per budget.

    Returns
    -------
    ndarray of int, shape (budget + 1, n_worlds)
        Row ``b`` holds the choices after ``b`` interventions.

    Examples
    --------
    >>> class MostCorrelated:  # sets the most correlated candidate not yet set
    ...     def predict(self, states):
    ...         fields = states.reshape(len(states), -1, 4)
    ...         return np.argmax(fields[..., 2] - 9 * fields[..., 0], axis=1)
    >>> episodes = sample_episodes(3, n_samples=10, value=5.0, rng=np.random.default_rng(0))
    >>> rows = choices_by_budget(MostCorrelated(), MostCorrelated(), episodes, budget=2)
    >>> rows.shape, bool(np.all(rows[2] == act_on_episodes(MostCorrelated(), MostCorrelated(), episodes, budget=2)[1]))
    ((3, 3), True)
    """
    budget = check_positive_int(budget, "budget", minimum=0)
    explored = np.zeros(episodes.actionable.shape, dtype=bool)
    rows = np.arange(len(explored))
    choices = []
    with threadpool_limits(limits=1):  # small products: threads cost more than they save
        for step in range(budget + 1):
            state = episode_state(explored, episodes)
            choices.append(np.asarray(exploiter.predict(state)))
            if step < budget:
                chosen = np.asarray(explorer.predict(state))
                explored[rows, chosen] |= episodes.actionable[rows, chosen]
    return np.stack(choices)


def choice_rewards(weights, choices, actionable=None):
    """Expected goal value after ``do(X_choice = 1)``: the chosen candidate's total effect on it.

    A choice that is not ``actionable`` sets nothing and earns 0.

    Examples
    --------
    >>> chain = np.array([[[0, 2.0, 0], [0, 0, 3.0], [0, 0, 0]]])
    >>> choice_rewards(chain, [0]), choice_rewards(chain, [0], actionable=[[0, 1]])
    (array([6.]), array([0.]))
    """
    effects = total_effects(weights)[:, :-1, -1]
    choices = np.asarray(choices)
    if (
        choices.shape != (len(effects),)
        or not np.issubdtype(choices.dtype, np.integer)
        or choices.min() < 0
        or choices.max() >= effects.shape[1]
    ):
        raise ValueError(
            f"choices must be {len(effects)} integers in [0, {effects.shape[1]}), got {choices!r}"
        )
    reward = effects[np.arange(len(effects)), choices]
    if actionable is not None:
        actionable = _check_mask(actionable, "actionable", effects.shape)
        reward = np.where(actionable[np.arange(len(effects)), choices], reward, 0.0)
    return reward


def with_quality_label(states, quality):
    """Append a demonstration's quality label to its states, and the label times each feature.

    The products let a linear policy behave differently for high and low labels: the label is
    a condition, not just one more feature to add.

    Examples
    --------
    >>> with_quality_label(np.array([[2.0, 3.0]]), [1.0])
    array([[2., 3., 1., 2., 3.]])
    """
    states = check_finite_array(states, "states")
    quality = check_finite_array(quality, "quality")
    if states.ndim != 2 or quality.shape != (len(states),):
        raise ValueError(
            f"quality must have shape ({len(states)},) for states of shape {states.shape}, "
            f"got {quality.shape}"
        )
    return np.hstack([states, quality[:, None], quality[:, None] * states])
