"""Performative prediction: retraining when the deployed model shifts the data.

Perdomo et al. (2020) call a prediction *performative* when deploying the model ``theta`` changes
the distribution ``D(theta)`` of the data it will be judged on. *Repeated risk minimisation*
(RRM) deploys a model, collects data from the distribution it induces, refits, and repeats. Its
fixed points are *performatively stable*: optimal for the distribution they themselves induce.
They are not in general *performatively optimal*, the minimisers of the performative risk
``PR(theta) = E_{z ~ D(theta)} loss(z; theta)``, which would account for the shift. Perdomo et
al.'s Theorem 3.5: if the loss is ``gamma``-strongly convex and ``beta``-jointly smooth and
``D`` is ``epsilon``-sensitive (Wasserstein-1), RRM contracts at rate ``epsilon * beta / gamma``
and so converges to the unique stable point when ``epsilon < gamma / beta``; their Proposition
3.6 shows the threshold cannot be improved.

Two worlds here.

*A location family.* ``z ~ N(mu + epsilon * theta, sigma**2)`` (``epsilon``-sensitive) and loss
``gamma * theta**2 / 2 - beta * z * theta`` (``gamma``-strongly convex, and jointly smooth with
constant ``beta`` when ``beta >= gamma``). Perdomo et al.'s proof that the threshold is tight
uses such a family with the squared loss (``beta = gamma``), where stable and optimal points
coincide; keeping ``gamma`` and ``beta`` apart makes them differ. The
best response to ``D(theta)`` is ``beta * (mu + epsilon * theta) / gamma``, so RRM is a linear
map with slope ``epsilon * beta / gamma``: it converges exactly when ``epsilon < gamma / beta``,
to ``theta_PS = beta * mu / (gamma - beta * epsilon)``. The performative risk is
``(gamma / 2 - beta * epsilon) * theta**2 - beta * mu * theta``, minimised, when
``epsilon < gamma / (2 * beta)``, at ``theta_PO = beta * mu / (gamma - 2 * beta * epsilon)``.

*Strategic classification.* Individuals with features ``x`` and a binary outcome ``y`` see the
deployed logistic-regression weights ``theta`` and move their strategic features to
``x - epsilon * theta`` (the best response to a linear score under a quadratic cost of moving, as
in Perdomo et al.'s credit simulation), lowering their predicted risk without changing ``y``.
Only a share of them can game (drawn independently of ``y``): if everyone shifted by the same
amount, the shift would move every score by one constant, which the intercept absorbs, and
stable and optimal points would coincide.

Examples
--------
>>> stable_point(mu=1.0, epsilon=0.25, gamma=1.0, beta=2.0)
4.0
>>> round(optimal_point(mu=1.0, epsilon=0.25, gamma=1.0, beta=2.0), 6)
inf
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import expit, log_expit
from sklearn.linear_model import LogisticRegression

from ..evidence.validation import (
    check_finite,
    check_generator,
    check_positive_int,
    check_probability,
)

__all__ = [
    "CreditWorld",
    "best_response_features",
    "contraction_rate",
    "fit_penalised_logistic",
    "location_best_response",
    "location_performative_risk",
    "online_retraining",
    "optimal_point",
    "optimise_performative_risk",
    "repeated_retraining",
    "repeated_risk_minimisation",
    "sample_credit",
    "stable_point",
    "strategic_losses",
    "strategic_performative_risk",
]


def _location(mu, epsilon, gamma, beta) -> tuple[float, float, float, float]:
    mu = check_finite(mu, "mu")
    epsilon = check_finite(epsilon, "epsilon")
    gamma = check_finite(gamma, "gamma")
    beta = check_finite(beta, "beta")
    if epsilon < 0:
        raise ValueError(f"epsilon must be non-negative, got {epsilon}")
    if gamma <= 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
    if beta < gamma:
        raise ValueError(f"beta must be at least gamma (a smoothness constant), got {beta}")
    return mu, epsilon, gamma, beta


def contraction_rate(*, epsilon, gamma, beta) -> float:
    """Return ``epsilon * beta / gamma``, RRM's rate in Theorem 3.5 of Perdomo et al.

    Examples
    --------
    >>> contraction_rate(epsilon=0.25, gamma=1.0, beta=2.0)
    0.5
    """
    _, epsilon, gamma, beta = _location(0.0, epsilon, gamma, beta)
    return epsilon * beta / gamma


def location_best_response(theta, *, mu, epsilon, gamma, beta):
    """Return RRM's map for the location family: the risk minimiser on ``D(theta)``.

    Examples
    --------
    >>> location_best_response(1.0, mu=1.0, epsilon=0.25, gamma=1.0, beta=2.0)
    2.5
    """
    mu, epsilon, gamma, beta = _location(mu, epsilon, gamma, beta)
    result = beta * (mu + epsilon * np.asarray(theta, dtype=float)) / gamma
    return float(result) if result.ndim == 0 else result


def stable_point(*, mu, epsilon, gamma, beta) -> float:
    """Return the location family's performatively stable point ``beta mu / (gamma - beta eps)``.

    It is RRM's fixed point; RRM reaches it only when ``epsilon < gamma / beta``.

    Examples
    --------
    >>> stable_point(mu=1.0, epsilon=0.5, gamma=1.0, beta=2.0)
    Traceback (most recent call last):
    ...
    ValueError: no stable point: epsilon * beta equals gamma (epsilon=0.5)
    """
    mu, epsilon, gamma, beta = _location(mu, epsilon, gamma, beta)
    if gamma == beta * epsilon:
        raise ValueError(f"no stable point: epsilon * beta equals gamma (epsilon={epsilon})")
    return beta * mu / (gamma - beta * epsilon)


def optimal_point(*, mu, epsilon, gamma, beta) -> float:
    """Return the location family's performatively optimal point, or ``inf`` if none exists.

    ``beta mu / (gamma - 2 beta epsilon)`` when ``epsilon < gamma / (2 beta)``; otherwise the
    performative risk is unbounded below (for ``mu > 0``) and ``inf`` is returned.

    Examples
    --------
    >>> optimal_point(mu=1.0, epsilon=0.1, gamma=1.0, beta=2.0)
    3.3333333333333335
    """
    mu, epsilon, gamma, beta = _location(mu, epsilon, gamma, beta)
    curvature = gamma - 2 * beta * epsilon
    return beta * mu / curvature if curvature > 0 else float("inf")


def location_performative_risk(theta, *, mu, epsilon, gamma, beta):
    """Return ``PR(theta) = (gamma/2 - beta epsilon) theta**2 - beta mu theta``.

    Examples
    --------
    >>> location_performative_risk(1.0, mu=1.0, epsilon=0.0, gamma=1.0, beta=2.0)
    -1.5
    """
    mu, epsilon, gamma, beta = _location(mu, epsilon, gamma, beta)
    theta = np.asarray(theta, dtype=float)
    result = (gamma / 2 - beta * epsilon) * theta**2 - beta * mu * theta
    return float(result) if result.ndim == 0 else result


def repeated_risk_minimisation(
    theta0, *, mu, sigma, epsilon, gamma, beta, n_rounds, n_samples, rng
) -> np.ndarray:
    """Simulate RRM in the location family from ``theta0``, with finite samples.

    Each round deploys ``theta_t``, draws ``n_samples`` values of ``z`` from ``D(theta_t)``, and
    sets ``theta_{t+1}`` to the minimiser of the empirical risk, ``beta * mean(z) / gamma``.

    Returns
    -------
    numpy.ndarray, shape (n_rounds + 1,)
        ``theta_0, ..., theta_{n_rounds}``.

    Examples
    --------
    >>> path = repeated_risk_minimisation(0.0, mu=1.0, sigma=0.0, epsilon=0.25, gamma=1.0,
    ...                                   beta=2.0, n_rounds=3, n_samples=2,
    ...                                   rng=np.random.default_rng(0))
    >>> path.tolist()
    [0.0, 2.0, 3.0, 3.5]
    """
    mu, epsilon, gamma, beta = _location(mu, epsilon, gamma, beta)
    theta = check_finite(theta0, "theta0")
    sigma = check_finite(sigma, "sigma")
    if sigma < 0:
        raise ValueError(f"sigma must be non-negative, got {sigma}")
    n_rounds = check_positive_int(n_rounds, "n_rounds")
    n_samples = check_positive_int(n_samples, "n_samples")
    rng = check_generator(rng)
    path = [theta]
    for _ in range(n_rounds):
        z = mu + epsilon * theta + sigma * rng.standard_normal(n_samples)
        theta = beta * float(z.mean()) / gamma
        path.append(theta)
    return np.array(path)


@dataclass(frozen=True)
class CreditWorld:
    """A synthetic credit population for strategic classification.

    Features ``x ~ N(0, I)``, one per weight; default ``y`` is Bernoulli with log odds
    ``x @ weights + intercept``. The first ``n_strategic`` features can be gamed, by a share
    ``gaming_share`` of individuals drawn independently of everything else.

    Examples
    --------
    >>> CreditWorld().weights
    (1.0, -1.0, 0.5)
    """

    weights: tuple = (1.0, -1.0, 0.5)
    intercept: float = -1.0
    n_strategic: int = 2
    gaming_share: float = 0.5

    def __post_init__(self):
        weights = tuple(check_finite(w, "weights") for w in self.weights)
        if not weights:
            raise ValueError("weights must hold at least one value")
        object.__setattr__(self, "weights", weights)
        check_finite(self.intercept, "intercept")
        n = check_positive_int(self.n_strategic, "n_strategic", minimum=0)
        if n > len(weights):
            raise ValueError(f"n_strategic must be at most {len(weights)}, got {n}")
        check_probability(self.gaming_share, "gaming_share")


def sample_credit(world: CreditWorld, *, n_samples: int, rng):
    """Draw ``n_samples`` individuals: features and outcomes before gaming, and who can game.

    Returns
    -------
    x : numpy.ndarray, shape (n_samples, n_features)
    y : numpy.ndarray of {0, 1}, shape (n_samples,)
    games : numpy.ndarray of bool, shape (n_samples,)

    Examples
    --------
    >>> x, y, games = sample_credit(CreditWorld(), n_samples=4, rng=np.random.default_rng(0))
    >>> x.shape, y.shape, games.dtype
    ((4, 3), (4,), dtype('bool'))
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    rng = check_generator(rng)
    x = rng.standard_normal((n_samples, len(world.weights)))
    y = (rng.random(n_samples) < expit(x @ np.array(world.weights) + world.intercept)).astype(int)
    games = rng.random(n_samples) < world.gaming_share
    return x, y, games


def best_response_features(x, games, theta, *, world: CreditWorld, epsilon):
    """Return the features after gaming: ``x - epsilon * theta`` on the strategic coordinates,
    for the individuals who game.

    ``theta`` holds the deployed weights (no intercept).

    Examples
    --------
    >>> best_response_features([[1.0, 1.0, 1.0]] * 2, [True, False], [1.0, 2.0, 3.0],
    ...                        world=CreditWorld(), epsilon=0.5)
    array([[0.5, 0. , 1. ],
           [1. , 1. , 1. ]])
    """
    epsilon = check_finite(epsilon, "epsilon")
    if epsilon < 0:
        raise ValueError(f"epsilon must be non-negative, got {epsilon}")
    x = np.array(x, dtype=float)
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (x.shape[1],):
        raise ValueError(f"theta must have {x.shape[1]} weights, got shape {theta.shape}")
    games = np.asarray(games, dtype=bool)
    if games.shape != (x.shape[0],):
        raise ValueError(f"games must hold one flag per row of x, got shape {games.shape}")
    k = world.n_strategic
    x[games, :k] -= epsilon * theta[:k]
    return x


def fit_penalised_logistic(x, y, *, regularisation) -> np.ndarray:
    """Fit L2-regularised logistic regression; return ``(weights..., intercept)``.

    Minimises ``mean log loss + regularisation / 2 * ||weights||**2`` with scikit-learn
    (``C = 1 / (regularisation * n)``), to a tight tolerance so that reruns agree.
    """
    regularisation = check_finite(regularisation, "regularisation")
    if regularisation <= 0:
        raise ValueError(f"regularisation must be positive, got {regularisation}")
    x = np.asarray(x, dtype=float)
    model = LogisticRegression(C=1 / (regularisation * len(x)), tol=1e-10, max_iter=10_000)
    model.fit(x, y)
    return np.append(model.coef_.ravel(), model.intercept_[0])


def strategic_losses(params, x, y, games, *, world: CreditWorld, epsilon, regularisation):
    """Return each individual's regularised log loss under ``params``, after they respond to it.

    ``params`` is ``(weights..., intercept)``; ``x, y, games`` a fixed sample before gaming, so
    that different models are compared on the same people. Each entry includes the penalty
    ``regularisation / 2 * ||weights||**2``, so their mean is the performative risk.

    Examples
    --------
    >>> losses = strategic_losses([0.0, 0.0, 0.0, 0.0], [[1.0, 2.0, 3.0]], [1], [True],
    ...                           world=CreditWorld(), epsilon=1.0, regularisation=0.1)
    >>> round(float(losses[0]), 4)  # log 2 for a coin-flip prediction
    0.6931
    """
    params = np.asarray(params, dtype=float)
    weights, intercept = params[:-1], params[-1]
    shifted = best_response_features(x, games, weights, world=world, epsilon=epsilon)
    score = shifted @ weights + intercept
    losses = -np.where(np.asarray(y) == 1, log_expit(score), log_expit(-score))
    return losses + regularisation / 2 * weights @ weights


def strategic_performative_risk(
    params, x, y, games, *, world: CreditWorld, epsilon, regularisation
):
    """Return the mean of :func:`strategic_losses`: the performative risk on the sample."""
    return float(
        strategic_losses(
            params, x, y, games, world=world, epsilon=epsilon, regularisation=regularisation
        ).mean()
    )


def repeated_retraining(
    world: CreditWorld, *, epsilon, regularisation, n_rounds, n_samples, rng
) -> np.ndarray:
    """Run RRM in strategic classification: deploy, let people respond, refit on fresh data.

    Round 0 fits on ungamed data. Returns the parameters after each round, shape
    ``(n_rounds + 1, n_features + 1)``.
    """
    n_rounds = check_positive_int(n_rounds, "n_rounds")
    rng = check_generator(rng)
    x, y, _ = sample_credit(world, n_samples=n_samples, rng=rng)
    path = [fit_penalised_logistic(x, y, regularisation=regularisation)]
    for _ in range(n_rounds):
        x, y, games = sample_credit(world, n_samples=n_samples, rng=rng)
        gamed = best_response_features(x, games, path[-1][:-1], world=world, epsilon=epsilon)
        path.append(fit_penalised_logistic(gamed, y, regularisation=regularisation))
    return np.array(path)


def optimise_performative_risk(x, y, games, *, world: CreditWorld, epsilon, regularisation, start):
    """Minimise :func:`strategic_performative_risk` over the parameters (BFGS from ``start``).

    The performative risk is not convex in general, so this finds a local minimum; starting
    from the stable point, it is the best improvement on it that a local search finds.
    """
    result = optimize.minimize(
        lambda p: strategic_performative_risk(
            p, x, y, games, world=world, epsilon=epsilon, regularisation=regularisation
        ),
        np.asarray(start, dtype=float),
        method="BFGS",
        options={"gtol": 1e-9},
    )
    return result.x


def online_retraining(
    *,
    mu,
    epsilon,
    gamma,
    beta,
    sigma,
    n_per_step: int,
    response,
    interval,
    horizon: int,
    n_replicates: int,
    rng,
) -> np.ndarray:
    """Continual learning in a location family whose world follows the deployed model gradually.

    The world's mean ``m_t`` moves each step a fraction ``response`` of the way towards where the
    deployed model pushes it, ``m_{t+1} = m_t + response * (mu + epsilon * theta_t - m_t)``
    (``response = 1``: the world jumps at once, as in Perdomo et al.; small: it drifts). Each
    step yields ``n_per_step`` draws ``z ~ N(m_t, sigma**2)``. The learner starts at the best
    response to the world before deployment, ``beta * mu / gamma``, and every ``interval`` steps
    refits to the draws since its last refit, ``theta = beta * mean(z) / gamma``. The harm of
    a step is the excess loss over the best response to the world as it is at that step,
    ``gamma / 2 * (theta_t - beta * m_t / gamma)**2``.

    ``response`` and ``interval`` may be 1-d arrays of equal length (or one of them a scalar):
    one configuration each, simulated together; all configurations see the same sampling noise
    (common random numbers), so differences between them are paired by replicate.

    Returns
    -------
    numpy.ndarray, shape (n_configurations, n_replicates)
        The mean harm per step over the horizon.

    Examples
    --------
    >>> harm = online_retraining(mu=1.0, epsilon=0.0, gamma=1.0, beta=2.0, sigma=0.0,
    ...                          n_per_step=1, response=0.5, interval=[1, 10], horizon=50,
    ...                          n_replicates=2, rng=np.random.default_rng(0))
    >>> harm.tolist()  # a world that ignores the model: nothing to catch up with
    [[0.0, 0.0], [0.0, 0.0]]
    >>> harm = online_retraining(mu=1.0, epsilon=0.25, gamma=1.0, beta=2.0, sigma=0.0,
    ...                          n_per_step=1, response=1.0, interval=[1, 10], horizon=100,
    ...                          n_replicates=1, rng=np.random.default_rng(0))
    >>> bool(harm[1, 0] > harm[0, 0] > 0)  # refitting less often lags further behind
    True
    """
    mu, epsilon, gamma, beta = _location(mu, epsilon, gamma, beta)
    sigma = check_finite(sigma, "sigma")
    if sigma < 0:
        raise ValueError(f"sigma must be non-negative, got {sigma}")
    n_per_step = check_positive_int(n_per_step, "n_per_step")
    horizon = check_positive_int(horizon, "horizon")
    n_replicates = check_positive_int(n_replicates, "n_replicates")
    rng = check_generator(rng)
    response = np.atleast_1d(np.asarray(response, dtype=float))
    interval = np.atleast_1d(np.asarray(interval))
    if response.ndim != 1 or np.any(response <= 0) or np.any(response > 1):
        raise ValueError(f"response must be in (0, 1], got {response}")
    if interval.ndim != 1 or np.any(interval < 1) or not np.all(interval == np.round(interval)):
        raise ValueError(f"interval must hold integers >= 1, got {interval}")
    response, interval = np.broadcast_arrays(response[:, None], interval[:, None].astype(int))
    shape = (response.shape[0], n_replicates)
    world = np.full(shape, mu)
    theta = np.full(shape, beta * mu / gamma)
    total, harm = np.zeros(shape), np.zeros(shape)
    for step in range(horizon):
        harm += gamma / 2 * (theta - beta * world / gamma) ** 2
        # Common random numbers: every configuration sees the same sampling noise, so that
        # differences between configurations are paired replicate by replicate.
        total += world + sigma / np.sqrt(n_per_step) * rng.standard_normal(n_replicates)
        world = world + response * (mu + epsilon * theta - world)
        refit = (step + 1) % interval == 0
        theta = np.where(refit, beta / gamma * total / interval, theta)
        total = np.where(refit, 0.0, total)
    return harm / horizon
