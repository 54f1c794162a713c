"""Passive learning of an active causal strategy, in small linear-Gaussian causal DAGs.

A *world* is a linear-Gaussian structural causal model over ``n_candidates + 1`` observed
variables in a fixed causal order: the candidates ``X_0 .. X_{k-1}`` and, last, the goal ``G``,
which causes nothing. A latent confounder ``U`` (never observed, never set) may push one
candidate and the goal in the same direction. An *episode* is a few interventions
``do(X_i = value)``, one per candidate, each observed once with noise, followed by one exploiting
choice: the candidate to set in order to make ``G`` as large as possible. This is the smallest
version of the setting of Lampinen et al. (2023), "Passive learning of active causal strategies
in agents and language models".

Weights are stored as ``weights[e, i, j]``: the direct effect of variable ``i`` on variable ``j``
in world ``e`` (non-zero only for ``i < j``). With unit-variance structural noise ``s``, a sample
is the row vector ``x = s (I - W)^{-1}``.
"""

from __future__ import annotations

import numpy as np

from .validation import check_finite, check_generator, check_positive_int, check_probability

__all__ = [
    "associational_choices",
    "choice_rewards",
    "episode_features",
    "expert_choices",
    "sample_worlds",
    "simulate_interventions",
    "simulate_observational",
    "total_effects",
]


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


def sample_worlds(
    n_worlds,
    *,
    n_candidates=3,
    edge_probability=0.5,
    confounding=0.0,
    candidate_edges=True,
    forbid_edge=None,
    require_edge=None,
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
    forbid_edge, require_edge : tuple of int, optional
        An edge ``(i, j)`` removed from, or forced into (with a random weight), every world.
    rng : numpy.random.Generator

    Returns
    -------
    weights : ndarray, shape (n_worlds, n_candidates + 1, n_candidates + 1)
    loadings : ndarray, shape (n_worlds, n_candidates + 1)

    Examples
    --------
    >>> weights, loadings = sample_worlds(2, confounding=1.0, rng=np.random.default_rng(0))
    >>> weights.shape, loadings.shape, float(loadings[:, -1].min())
    ((2, 4, 4), (2, 4), 1.0)
    """
    n_worlds = check_positive_int(n_worlds, "n_worlds")
    n_candidates = check_positive_int(n_candidates, "n_candidates", minimum=2)
    edge_probability = check_probability(edge_probability, "edge_probability")
    confounding = check_finite(confounding, "confounding")
    rng = check_generator(rng)
    n = n_candidates + 1
    for name, edge in (("forbid_edge", forbid_edge), ("require_edge", require_edge)):
        if edge is not None and not (len(edge) == 2 and 0 <= edge[0] < edge[1] < n):
            raise ValueError(f"{name} must be a pair (i, j) with 0 <= i < j < {n}, got {edge}")
    magnitude = rng.uniform(0.5, 1.5, size=(n_worlds, n, n))
    sign = rng.choice([-1.0, 1.0], size=(n_worlds, n, n))
    present = rng.random((n_worlds, n, n)) < edge_probability
    if require_edge is not None:
        present[:, require_edge[0], require_edge[1]] = True
    mask = np.triu(np.ones((n, n), dtype=bool), k=1)
    if not candidate_edges:
        mask[:, :-1] = False
    if forbid_edge is not None:
        mask[forbid_edge] = False
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
    (3, 5, 4)
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
    """Set each candidate in turn, ``do(X_i = value)``, and observe every variable once.

    Setting ``X_i`` cuts its incoming edges and its link to the latent confounder.

    Returns
    -------
    ndarray, shape (n_worlds, n_candidates, n)
        ``out[e, i]`` is the observation after ``do(X_i = value)`` in world ``e``.

    Examples
    --------
    >>> weights, loadings = sample_worlds(2, rng=np.random.default_rng(1))
    >>> out = simulate_interventions(weights, loadings, value=2.0, rng=np.random.default_rng(2))
    >>> out.shape, bool(np.all(np.diagonal(out, axis1=1, axis2=2) == 2.0))
    ((2, 3, 4), True)
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


def episode_features(interventions, observational, *, hide_interventions=False):
    """Fixed-length encoding of an episode: every intervention outcome, then each candidate's
    correlation with the goal in the observational sample.

    With ``hide_interventions`` the outcomes are replaced by zeros: the learner is denied them.

    Examples
    --------
    >>> episode_features(np.ones((2, 3, 4)), np.random.default_rng(0).normal(size=(2, 9, 4))).shape
    (2, 15)
    """
    interventions = np.asarray(interventions, dtype=np.float64)
    observational = np.asarray(observational, dtype=np.float64)
    if (
        interventions.ndim != 3
        or observational.ndim != 3
        or interventions.shape[0] != observational.shape[0]
    ):
        raise ValueError(
            f"interventions and observational must be 3-d with the same number of "
            f"worlds, got {interventions.shape} and {observational.shape}"
        )
    outcomes = interventions.reshape(len(interventions), -1)
    if hide_interventions:
        outcomes = np.zeros_like(outcomes)
    return np.hstack([outcomes, _goal_correlations(observational)])


def _goal_correlations(observational: np.ndarray) -> np.ndarray:
    centred = observational - observational.mean(axis=1, keepdims=True)
    scale = np.sqrt((centred**2).sum(axis=1))
    covariance = np.einsum("esi,es->ei", centred[..., :-1], centred[..., -1])
    return covariance / (scale[:, :-1] * scale[:, -1:])


def expert_choices(interventions):
    """The expert exploits what it found: the candidate whose intervention raised the goal most.

    Examples
    --------
    >>> expert_choices(np.array([[[1, 0, 0.5], [0, 1, 2.0]]]))
    array([1])
    """
    interventions = np.asarray(interventions, dtype=np.float64)
    if interventions.ndim != 3:
        raise ValueError(f"interventions must be 3-d, got shape {interventions.shape}")
    return np.argmax(interventions[..., -1], axis=1)


def associational_choices(observational):
    """The associational heuristic: the candidate most correlated with the goal, passively.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(1, 500, 3))
    >>> x[..., 2] += 2 * x[..., 1]
    >>> associational_choices(x)
    array([1])
    """
    observational = np.asarray(observational, dtype=np.float64)
    if observational.ndim != 3 or observational.shape[1] < 2:
        raise ValueError(
            f"observational must have shape (n_worlds, n_samples >= 2, n), "
            f"got {observational.shape}"
        )
    return np.argmax(_goal_correlations(observational), axis=1)


def choice_rewards(weights, choices):
    """Expected goal value after ``do(X_choice = 1)``: the chosen candidate's total effect on it.

    Examples
    --------
    >>> chain = np.array([[[0, 2.0, 0], [0, 0, 3.0], [0, 0, 0]]])
    >>> choice_rewards(chain, [0])
    array([6.])
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
    return effects[np.arange(len(effects)), choices]
