"""Goals read off behaviour: Fodor's frog, and goal models fitted to what an agent does.

Fodor's disjunction problem (Fodor and Piattelli-Palmarini, *What Darwin Got Wrong*, 2010, as
Belrose and Pope quote it): where small dark moving things ("black dots") are nearly always flies,
snapping at flies and snapping at black dots are equally fit, so selection cannot say which of the
two the frog is "really" after. This module builds that world small enough to compute:

- a :class:`FrogWorld` is a distribution over four kinds of object, ``fly`` (a fly that looks like
  a black dot), ``pellet`` (a black dot that is not a fly), ``pale fly`` (a fly that is not a
  black dot) and ``background`` (neither); the ancestral world has few pellets and pale flies;
- a frog sees two noisy cues, *dotness* (dark, small and moving) and *buzz* (a cue of flies
  themselves), learns to predict food from them (:func:`fit_frog`, logistic regression), and
  snaps Boltzmann-rationally on its prediction;
- a *goal hypothesis* names the kinds of object the frog is said to aim at (:data:`GOAL_HYPOTHESES`);
  :func:`fit_goal_model` fits it to observed snaps by maximum likelihood under a Boltzmann-rational
  policy, and :func:`profile_fly_share` profiles the likelihood of a utility that weighs "is a
  fly" against "is a black dot", which shows how far the data settle that weighing.

Everything here is the book's own construction; the essay gives the argument, not a model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, minimize
from scipy.special import expit, logit

from ..evidence.validation import (
    check_binary,
    check_finite,
    check_finite_array,
    check_generator,
    check_in_range,
    check_positive_int,
    check_probabilities,
    check_probability,
)

__all__ = [
    "GOAL_HYPOTHESES",
    "IS_DOT",
    "IS_FLY",
    "KINDS",
    "FrogPolicy",
    "FrogWorld",
    "GoalModel",
    "fit_frog",
    "fit_frogs_by_descent",
    "fit_goal_model",
    "goal_indicator",
    "log_likelihood",
    "payoffs",
    "profile_fly_share",
    "sample_objects",
    "sample_snaps",
]

#: The four kinds of object, in the order used by every array indexed by kind.
KINDS = ("fly", "pellet", "pale fly", "background")
#: Whether each kind is a fly (food) and whether it is a black dot (small, dark and moving).
IS_FLY = np.array([1, 0, 1, 0])
IS_DOT = np.array([1, 1, 0, 0])
#: Goal hypotheses: which kinds the frog is said to aim at.
GOAL_HYPOTHESES = {
    "flies": IS_FLY,
    "black dots": IS_DOT,
    "flies or black dots": IS_FLY | IS_DOT,
    "flies and black dots": IS_FLY & IS_DOT,
}


@dataclass(frozen=True)
class FrogWorld:
    """A pond: how common black dots are, and how often the dot-fly link breaks.

    Attributes
    ----------
    p_dot : float
        Share of objects that are black dots (flies that look like dots, or pellets).
    pellet_share : float
        Share of black dots that are not flies.
    pale_share : float
        Share of the other objects that are flies all the same (pale or still flies).

    Examples
    --------
    >>> FrogWorld(0.5, 0.1, 0.0).kind_probabilities().tolist()
    [0.45, 0.05, 0.0, 0.5]
    """

    p_dot: float = 0.5
    pellet_share: float = 0.01
    pale_share: float = 0.01

    def __post_init__(self):
        check_in_range(self.p_dot, "p_dot", 0, 1, closed=False)
        check_probability(self.pellet_share, "pellet_share")
        check_probability(self.pale_share, "pale_share")

    def kind_probabilities(self) -> np.ndarray:
        """Return the probability of each kind, in the order of :data:`KINDS`."""
        d, r, q = self.p_dot, self.pellet_share, self.pale_share
        return np.array([d * (1 - r), d * r, (1 - d) * q, (1 - d) * (1 - q)])

    def dot_fly_correlation(self) -> float:
        """Return the correlation between "is a black dot" and "is a fly" over objects.

        Examples
        --------
        >>> round(FrogWorld(0.5, 0.0, 0.0).dot_fly_correlation(), 6)
        1.0
        """
        p = self.kind_probabilities()
        fly, dot = p @ IS_FLY, p @ IS_DOT
        both = p @ (IS_FLY & IS_DOT)
        spread = np.sqrt(fly * (1 - fly) * dot * (1 - dot))
        return float((both - fly * dot) / spread) if spread > 0 else 0.0


def sample_objects(world: FrogWorld, n: int, *, noise, rng) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` objects and the two cues the frog sees.

    Parameters
    ----------
    world : FrogWorld
    n : int
    noise : pair of float
        Standard deviations of the Gaussian noise on the cues *dotness* (``IS_DOT`` of the kind
        plus noise) and *buzz* (``IS_FLY`` plus noise).
    rng : numpy.random.Generator

    Returns
    -------
    kinds : ndarray of int, shape (n,)
        Indices into :data:`KINDS`.
    cues : ndarray, shape (n, 2)
        Columns dotness and buzz.

    Examples
    --------
    >>> kinds, cues = sample_objects(FrogWorld(), 4, noise=(0.1, 0.1), rng=np.random.default_rng(0))
    >>> kinds.shape, cues.shape
    ((4,), (4, 2))
    """
    if not isinstance(world, FrogWorld):
        raise TypeError(f"world must be a FrogWorld, got {world!r}")
    n = check_positive_int(n, "n")
    noise = check_finite_array(noise, "noise")
    if noise.shape != (2,) or np.any(noise < 0):
        raise ValueError(f"noise must be two non-negative numbers, got {noise}")
    rng = check_generator(rng)
    kinds = rng.choice(len(KINDS), size=n, p=world.kind_probabilities())
    clean = np.column_stack([IS_DOT[kinds], IS_FLY[kinds]]).astype(float)
    return kinds, clean + noise * rng.standard_normal((n, 2))


def _check_kinds(kinds) -> np.ndarray:
    kinds = np.asarray(kinds)
    if kinds.ndim != 1 or not np.issubdtype(kinds.dtype, np.integer):
        raise ValueError(f"kinds must be a 1-d integer array, got {kinds!r}")
    if kinds.size and (kinds.min() < 0 or kinds.max() >= len(KINDS)):
        raise ValueError(f"kinds must index KINDS (0..{len(KINDS) - 1}), got {np.unique(kinds)}")
    return kinds


def payoffs(kinds, snaps, *, snap_cost) -> np.ndarray:
    """Return each object's contribution to fitness: a snap earns 1 if it catches a fly, minus
    ``snap_cost`` whatever it catches; not snapping earns 0.

    ``snaps`` may be 0/1 outcomes or snap probabilities (then the result is the expected payoff).

    Examples
    --------
    >>> payoffs([0, 1, 3], [1, 1, 0], snap_cost=0.25).tolist()
    [0.75, -0.25, 0.0]
    """
    kinds = _check_kinds(kinds)
    snaps = check_probabilities(snaps, "snaps")
    if snaps.shape != kinds.shape:
        raise ValueError(f"snaps must match kinds in shape, got {snaps.shape} and {kinds.shape}")
    snap_cost = check_probability(snap_cost, "snap_cost")
    # + 0.0 turns the -0.0 of a non-snap at a non-fly into 0.0
    return snaps * (IS_FLY[kinds] - snap_cost) + 0.0


@dataclass(frozen=True)
class FrogPolicy:
    """A frog: a learned predictor of food from its cues, and a Boltzmann-rational snap on it.

    The frog snaps with probability ``expit(beta * (p_food - snap_cost))``, where ``p_food`` is
    its logistic regression's predicted chance that the object is a fly: the expected payoff of a
    snap, sharpened by ``beta``.

    Attributes
    ----------
    coef : ndarray, shape (1, 2)
        The logistic regression's weights on ``cues * cue_scale`` (scikit-learn's ``coef_``).
    intercept : ndarray, shape (1,)
        Its intercept (scikit-learn's ``intercept_``).
    cue_scale : ndarray, shape (2,)
        Gains that multiply the cues before the penalised fit. Under an L2 penalty a cue with a
        larger gain is cheaper to use (a gain ``g`` is the same as a penalty ``1 / g**2`` times
        as strong on that cue's weight in its own units), so this is the learner's inductive bias.
    beta, snap_cost : float
    """

    coef: np.ndarray
    intercept: np.ndarray
    cue_scale: np.ndarray
    beta: float
    snap_cost: float

    def food_probability(self, cues) -> np.ndarray:
        """Return the frog's predicted chance that each object is a fly."""
        cues = check_finite_array(cues, "cues")
        if cues.ndim != 2 or cues.shape[1] != 2:
            raise ValueError(f"cues must have shape (n, 2), got {cues.shape}")
        # scikit-learn's predict_proba for two classes, operation for operation
        return expit((cues * self.cue_scale @ self.coef.T + self.intercept).ravel())

    def snap_probability(self, cues) -> np.ndarray:
        """Return the chance that the frog snaps at each object."""
        return expit(self.beta * (self.food_probability(cues) - self.snap_cost))

    def cue_weights(self) -> np.ndarray:
        """Return the weights on dotness and buzz in the cues' own units."""
        return self.coef[0] * self.cue_scale


def _newton_logistic(inputs, labels, l2_reg_strength, max_steps: int = 100):
    # Damped Newton on the mean log-loss plus the L2 penalty on the weights (not the intercept),
    # from zero; returns (theta, converged), theta = (weights..., intercept). A step is halved
    # until the objective does not rise beyond rounding.
    design = np.column_stack([inputs, np.ones(len(inputs))])
    penalty = np.full(design.shape[1], l2_reg_strength)
    penalty[-1] = 0.0

    def objective(theta, raw):
        return float(np.mean(np.logaddexp(0.0, raw) - labels * raw)) + 0.5 * float(
            penalty @ theta**2
        )

    theta, raw = np.zeros(design.shape[1]), np.zeros(len(labels))
    loss = objective(theta, raw)
    for _ in range(max_steps):
        chance = expit(raw)
        gradient = design.T @ (chance - labels) / len(labels) + penalty * theta
        curvature = (design.T * (chance * (1 - chance))) @ design / len(labels)
        step = np.linalg.solve(curvature + np.diag(penalty), gradient)
        for _ in range(30):
            trial = theta - step
            trial_raw = design @ trial
            trial_loss = objective(trial, trial_raw)
            if trial_loss <= loss + 1e-12 * abs(loss):
                break
            step = step / 2
        theta, raw, loss = trial, trial_raw, trial_loss
        if np.abs(step).max() <= 1e-12 * max(1.0, np.abs(theta).max()):
            return theta, True
    return theta, False


def fit_frog(
    cues, kinds, *, cue_scale, penalty, beta, snap_cost, target: str = "flies"
) -> FrogPolicy:
    """Fit a frog's food predictor by L2-penalised logistic regression and return its policy.

    This stands in for whatever shaped the frog (selection, or gradient descent): it is trained
    only on whether the objects it met were food.

    Parameters
    ----------
    cues : ndarray, shape (n, 2)
    kinds : ndarray of int, shape (n,)
    cue_scale : pair of positive float
        Multiplies the cues before fitting (the learner's inductive bias; see :class:`FrogPolicy`).
    penalty : float
        Positive; scikit-learn's ``C`` (inverse penalty strength).
    beta : float
        Positive; how sharply the frog acts on the expected payoff of a snap.
    snap_cost : float
        In [0, 1].
    target : str
        The goal hypothesis whose objects the frog learns to predict (a key of
        :data:`GOAL_HYPOTHESES`); "flies", food, by default. Another target makes the frog one
        head of a learner with a goal slot: a policy for that goal, trained on its labels.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> kinds, cues = sample_objects(FrogWorld(), 500, noise=(0.3, 0.3), rng=rng)
    >>> frog = fit_frog(cues, kinds, cue_scale=(1, 1), penalty=1.0, beta=10.0, snap_cost=0.3)
    >>> bool(frog.snap_probability([[1.0, 1.0]])[0] > 0.9)
    True
    """
    kinds = _check_kinds(kinds)
    cues = check_finite_array(cues, "cues")
    if cues.shape != (kinds.size, 2):
        raise ValueError(f"cues must have shape ({kinds.size}, 2), got {cues.shape}")
    cue_scale = check_finite_array(cue_scale, "cue_scale")
    if cue_scale.shape != (2,) or np.any(cue_scale <= 0):
        raise ValueError(f"cue_scale must be two positive numbers, got {cue_scale}")
    penalty = check_finite(penalty, "penalty")
    if penalty <= 0:
        raise ValueError(f"penalty must be positive, got {penalty}")
    beta = check_finite(beta, "beta")
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    snap_cost = check_probability(snap_cost, "snap_cost")
    if target not in GOAL_HYPOTHESES:
        raise ValueError(f"target must be one of {list(GOAL_HYPOTHESES)}, got {target!r}")
    labels = goal_indicator(target, kinds)
    if np.unique(labels).size < 2:
        raise ValueError(f"the objects must include some of goal {target!r} and some others")
    # The objective of LogisticRegression(C=penalty): the mean log-loss plus the L2 penalty
    # 1 / (2 C n) |w|^2 on the weights, not the intercept. Three parameters: damped Newton
    # reaches the optimum to rounding in a few steps, about ten times faster than scikit-learn's
    # L-BFGS-B with its per-call overhead; tests/test_goals.py checks the weights against it.
    theta, converged = _newton_logistic(
        cues * cue_scale, labels.astype(np.float64), 1 / (penalty * kinds.size)
    )
    if not converged:
        warnings.warn(
            "the frog's logistic regression did not converge in 100 Newton steps",
            OptimizeWarning,
            stacklevel=2,
        )
    return FrogPolicy(theta[None, :-1], theta[-1:], cue_scale, beta, snap_cost)


def fit_frogs_by_descent(
    cues,
    kinds,
    *,
    cue_scales,
    penalties,
    beta,
    snap_cost,
    steps,
    learning_rate,
    init_sd,
    rng,
) -> list[FrogPolicy]:
    """Fit many frogs at once by plain gradient descent from a random start, stopped early.

    The objective is :func:`fit_frog`'s (mean log-loss plus ``|w|**2 / (2 C n)``), but each
    frog starts from weights drawn with standard deviation ``init_sd`` (intercept 0) and takes
    ``steps`` full-batch steps of size ``learning_rate``: where it ends, and so what it does on
    objects it never met, depends on its random start as well as on its data and bias.

    Parameters
    ----------
    cues : ndarray, shape (frogs, n, 2)
    kinds : ndarray of int, shape (frogs, n)
    cue_scales : ndarray, shape (frogs, 2)
        Each frog's positive gains on the cues (its inductive bias, as in :func:`fit_frog`).
    penalties : ndarray, shape (frogs,)
        Each frog's positive ``C`` (inverse penalty strength).
    beta, snap_cost : float
        As in :func:`fit_frog`.
    steps : int
        Positive.
    learning_rate, init_sd : float
        Positive and non-negative.
    rng : numpy.random.Generator
        Draws the starting weights.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> kinds, cues = sample_objects(FrogWorld(), 500, noise=(0.3, 0.3), rng=rng)
    >>> [frog] = fit_frogs_by_descent(
    ...     cues[None], kinds[None], cue_scales=np.ones((1, 2)), penalties=np.ones(1),
    ...     beta=10.0, snap_cost=0.3, steps=300, learning_rate=0.5, init_sd=2.0, rng=rng)
    >>> bool(frog.snap_probability([[1.0, 1.0]])[0] > 0.9)
    True
    """
    cues = check_finite_array(cues, "cues")
    kinds = np.asarray(kinds)
    if cues.ndim != 3 or cues.shape[2] != 2 or kinds.shape != cues.shape[:2]:
        raise ValueError(
            f"cues must have shape (frogs, n, 2) and kinds (frogs, n), got {cues.shape} and "
            f"{kinds.shape}"
        )
    labels = goal_indicator("flies", _check_kinds(kinds.ravel())).reshape(kinds.shape)
    n_frogs, n = kinds.shape
    cue_scales = check_finite_array(cue_scales, "cue_scales")
    if cue_scales.shape != (n_frogs, 2) or np.any(cue_scales <= 0):
        raise ValueError(f"cue_scales must be ({n_frogs}, 2) positive gains, got {cue_scales}")
    penalties = check_finite_array(penalties, "penalties")
    if penalties.shape != (n_frogs,) or np.any(penalties <= 0):
        raise ValueError(f"penalties must be {n_frogs} positive numbers, got {penalties}")
    for name, value in (("beta", beta), ("learning_rate", learning_rate)):
        if check_finite(value, name) <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
    if check_finite(init_sd, "init_sd") < 0:
        raise ValueError(f"init_sd must be non-negative, got {init_sd}")
    snap_cost = check_probability(snap_cost, "snap_cost")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    rng = check_generator(rng)
    # elementwise over (frogs, n) arrays, one per cue: no batched BLAS calls, so the result does
    # not depend on the BLAS kernel, and about 15% faster than batched matmul for two cues
    scaled = cues * cue_scales[:, None, :]
    inputs = (np.ascontiguousarray(scaled[..., 0]), np.ascontiguousarray(scaled[..., 1]))
    targets = labels.astype(np.float64)
    shrink = 1 / (penalties[:, None] * n)
    start = init_sd * rng.standard_normal((n_frogs, 2))
    weights = [start[:, :1].copy(), start[:, 1:].copy()]
    intercepts = np.zeros((n_frogs, 1))
    logits = np.empty_like(targets)
    for _ in range(steps):
        np.multiply(inputs[0], weights[0], out=logits)
        logits += inputs[1] * weights[1]
        logits += intercepts
        # expit(z) = (1 + tanh(z / 2)) / 2, which numpy computes faster than scipy's expit
        logits *= 0.5
        residual = np.tanh(logits, out=logits)
        residual += 1.0
        residual *= 0.5
        residual -= targets
        for x, w in zip(inputs, weights):
            w -= learning_rate * (np.einsum("ij,ij->i", x, residual)[:, None] / n + w * shrink)
        intercepts -= learning_rate * residual.mean(axis=1, keepdims=True)
    weights = np.concatenate(weights, axis=1)
    return [
        FrogPolicy(w[None].copy(), b.copy(), scale, beta, snap_cost)
        for w, b, scale in zip(weights, intercepts, cue_scales)
    ]


def sample_snaps(probabilities, *, rng) -> np.ndarray:
    """Return 0/1 snaps drawn with the given probabilities.

    Examples
    --------
    >>> sample_snaps([0.0, 1.0], rng=np.random.default_rng(0)).tolist()
    [0, 1]
    """
    probabilities = check_probabilities(probabilities, "probabilities")
    rng = check_generator(rng)
    return (rng.random(probabilities.shape) < probabilities).astype(np.int64)


def goal_indicator(goal: str, kinds) -> np.ndarray:
    """Return 1 for the objects that goal hypothesis ``goal`` says the frog aims at, else 0.

    Examples
    --------
    >>> goal_indicator("black dots", [0, 1, 2, 3]).tolist()
    [1, 1, 0, 0]
    """
    if goal not in GOAL_HYPOTHESES:
        raise ValueError(f"goal must be one of {list(GOAL_HYPOTHESES)}, got {goal!r}")
    return GOAL_HYPOTHESES[goal][_check_kinds(kinds)]


@dataclass(frozen=True)
class GoalModel:
    """A goal hypothesis fitted to behaviour: a Boltzmann-rational snapper whose utility is 1
    for a goal object and 0 otherwise, minus a cost of snapping.

    Its snap probabilities are ``expit(beta * (1 - cost))`` at goal objects and
    ``expit(-beta * cost)`` at the others.

    Attributes
    ----------
    goal : str
    snap_at_goal, snap_elsewhere : float
        Fitted snap probabilities at goal objects and at the rest.
    """

    goal: str
    snap_at_goal: float
    snap_elsewhere: float

    @property
    def beta(self) -> float:
        """The fitted rationality (inverse temperature)."""
        return float(logit(self.snap_at_goal) - logit(self.snap_elsewhere))

    @property
    def cost(self) -> float:
        """The fitted cost of a snap, in units of the goal's utility."""
        return float(-logit(self.snap_elsewhere) / self.beta)

    def snap_probability(self, kinds) -> np.ndarray:
        """Return the snap probability the model predicts for each object."""
        goal = goal_indicator(self.goal, kinds)
        return np.where(goal == 1, self.snap_at_goal, self.snap_elsewhere)


def fit_goal_model(goal: str, kinds, snaps) -> GoalModel:
    """Fit goal hypothesis ``goal`` to observed snaps by maximum likelihood.

    With a utility that takes two values (goal or not) the Boltzmann-rational model has two free
    numbers, ``beta`` and ``cost``, and its maximum-likelihood fit is the snap frequency in each
    of the two groups of objects: logistic regression on one binary input is counting. We add half
    a snap and half a non-snap to each group (the Jeffreys prior) so that a group with no snaps, or
    only snaps, keeps a finite log-likelihood.

    Examples
    --------
    >>> model = fit_goal_model("flies", [0, 0, 1, 3], [1, 1, 1, 0])
    >>> model.snap_at_goal, model.snap_elsewhere
    (0.8333333333333334, 0.5)
    """
    goal_of = goal_indicator(goal, kinds)
    snaps = check_binary(snaps, "snaps")
    if snaps.shape != goal_of.shape:
        raise ValueError(f"snaps must match kinds in shape, got {snaps.shape} and {goal_of.shape}")
    # objects and snaps among the other objects (index 0) and the goal's (index 1); whole-number
    # counts, so exact
    group = goal_of.astype(np.intp)
    objects = np.bincount(group, minlength=2)
    snapped = np.bincount(group, weights=snaps, minlength=2)
    rates = (snapped + 0.5) / (objects + 1.0)
    return GoalModel(goal, float(rates[1]), float(rates[0]))


def log_likelihood(snaps, probabilities) -> np.ndarray:
    """Return the log-likelihood, in nats, of each observed snap under predicted probabilities.

    Examples
    --------
    >>> np.round(log_likelihood([1, 0], [0.5, 0.25]), 4).tolist()
    [-0.6931, -0.2877]
    """
    snaps = check_binary(snaps, "snaps")
    probabilities = check_probabilities(probabilities, "probabilities")
    if probabilities.shape != snaps.shape:
        raise ValueError(
            f"probabilities must match snaps in shape, got {probabilities.shape} and {snaps.shape}"
        )
    with np.errstate(divide="ignore"):
        return np.where(snaps == 1, np.log(probabilities), np.log1p(-probabilities))


def _negative_log_likelihood(params, attribute, snaps, counts):
    # weighted logistic log-loss of (slope, intercept) and its gradient
    score = params[0] * attribute + params[1]
    loss = counts @ (np.logaddexp(0, score) - snaps * score)
    residual = counts * (expit(score) - snaps)
    return loss, np.array([residual @ attribute, residual.sum()])


def _fit_weighted_logistic(attribute, snaps, counts) -> np.ndarray:
    """Return the fitted log-odds of an unpenalised two-parameter logistic regression on grouped
    data. Hand-written (scipy's BFGS on the exact gradient) because scikit-learn's solver takes
    about a tenth of a second per fit here and the profile needs hundreds of fits."""
    result = minimize(
        _negative_log_likelihood,
        np.zeros(2),
        args=(attribute, snaps, counts),
        jac=True,
        method="BFGS",
        options={"gtol": 1e-9, "maxiter": 1_000},
    )
    return result.x[0] * attribute + result.x[1]


def profile_fly_share(kinds, snaps, shares) -> np.ndarray:
    """Return the profile log-likelihood of each ``share`` of a utility put on flies.

    The goal model: utility ``W * (share * is_fly + (1 - share) * is_dot)``, snap probability
    ``expit(utility + intercept)`` (a Boltzmann-rational snapper; ``W`` absorbs the rationality
    and the intercept the cost of a snap). For each share, ``W`` and the intercept are fitted by
    maximum likelihood (unpenalised logistic regression on the one composite attribute), and the
    maximised log-likelihood, in nats, is returned. Share 1 is the goal "flies" and share 0 the
    goal "black dots"; a flat profile means the data cannot settle how the two are weighed.

    Parameters
    ----------
    kinds : ndarray of int, shape (n,)
    snaps : array_like of 0/1, shape (n,)
    shares : array_like of float in [0, 1]

    Examples
    --------
    >>> kinds = np.repeat([0, 1, 2, 3], 50)
    >>> snaps = np.tile([1, 1, 1, 1, 0], 40)
    >>> profile_fly_share(kinds, snaps, [0.0, 1.0]).shape
    (2,)
    """
    kinds = _check_kinds(kinds)
    snaps = check_binary(snaps, "snaps")
    if snaps.shape != kinds.shape:
        raise ValueError(f"snaps must match kinds in shape, got {snaps.shape} and {kinds.shape}")
    if np.unique(snaps).size < 2:
        raise ValueError("snaps must contain both snaps and non-snaps for a finite fit")
    shares = check_probabilities(shares, "shares")
    if shares.ndim != 1:
        raise ValueError(f"shares must be 1-d, got shape {shares.shape}")
    # The likelihood depends on the data only through the snap counts of each kind, so each fit
    # runs on (kind, snap) groups weighted by their sizes: the same maximum, far faster.
    groups = np.array([(k, y) for k in range(len(KINDS)) for y in (0, 1)])
    counts = np.array([np.sum((kinds == k) & (snaps == y)) for k, y in groups], dtype=float)
    groups, counts = groups[counts > 0], counts[counts > 0]
    profile = np.empty(shares.size)
    for index, share in enumerate(shares):
        attribute = share * IS_FLY[groups[:, 0]] + (1 - share) * IS_DOT[groups[:, 0]]
        if np.ptp(attribute) == 0:
            # one value for every object: only the intercept can be fitted
            fitted = np.full(groups.shape[0], snaps.mean())
        else:
            fitted = expit(_fit_weighted_logistic(attribute, groups[:, 1], counts))
        profile[index] = counts @ log_likelihood(groups[:, 1], fitted)
    return profile
