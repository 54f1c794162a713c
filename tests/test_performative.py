"""Tests of lib.worlds.performative: closed forms of the location family, RRM, strategic risks."""

import numpy as np
import pytest
from scipy import optimize

from lib.worlds.performative import (
    CreditWorld,
    best_response_features,
    contraction_rate,
    fit_penalised_logistic,
    location_best_response,
    location_performative_risk,
    optimal_point,
    optimise_performative_risk,
    repeated_retraining,
    repeated_risk_minimisation,
    sample_credit,
    stable_point,
    strategic_losses,
    strategic_performative_risk,
)

LOC = dict(mu=1.5, gamma=1.0, beta=2.0)


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.3, 0.7])
def test_stable_point_is_a_fixed_point_of_retraining(epsilon):
    ps = stable_point(epsilon=epsilon, **LOC)
    assert location_best_response(ps, epsilon=epsilon, **LOC) == pytest.approx(ps)


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.2])
def test_optimal_point_minimises_performative_risk(epsilon):
    found = optimize.minimize_scalar(
        lambda t: location_performative_risk(t, epsilon=epsilon, **LOC)
    ).x
    assert optimal_point(epsilon=epsilon, **LOC) == pytest.approx(found, rel=1e-6)


def test_performative_risk_equals_expected_loss_by_quadrature():
    # PR(theta) = E_{z ~ N(mu + eps theta, 1)} [gamma theta^2/2 - beta z theta].
    theta, epsilon = 0.7, 0.2
    nodes, weights = np.polynomial.hermite_e.hermegauss(20)
    z = LOC["mu"] + epsilon * theta + nodes
    loss = LOC["gamma"] * theta**2 / 2 - LOC["beta"] * z * theta
    expected = (weights * loss).sum() / weights.sum()
    assert location_performative_risk(theta, epsilon=epsilon, **LOC) == pytest.approx(expected)


def test_stable_and_optimal_coincide_without_performativity_and_differ_with_it():
    assert stable_point(epsilon=0.0, **LOC) == optimal_point(epsilon=0.0, **LOC)
    assert optimal_point(epsilon=0.1, **LOC) > stable_point(epsilon=0.1, **LOC)
    assert optimal_point(epsilon=0.3, **LOC) == float("inf")


def test_exact_retraining_converges_below_and_diverges_above_threshold():
    rng = np.random.default_rng(0)
    below = repeated_risk_minimisation(
        0.0, sigma=0.0, epsilon=0.45, n_rounds=200, n_samples=1, rng=rng, **LOC
    )
    assert below[-1] == pytest.approx(stable_point(epsilon=0.45, **LOC), rel=1e-6)
    above = repeated_risk_minimisation(
        0.0, sigma=0.0, epsilon=0.55, n_rounds=60, n_samples=1, rng=rng, **LOC
    )
    assert abs(above[-1]) > 1e2
    assert contraction_rate(epsilon=0.5, gamma=1.0, beta=2.0) == 1.0


def test_gaming_moves_only_gamers_strategic_features():
    world = CreditWorld()
    x = np.ones((2, 3))
    out = best_response_features(x, [True, False], [1.0, 1.0, 1.0], world=world, epsilon=2.0)
    np.testing.assert_allclose(out, [[-1.0, -1.0, 1.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(x, 1.0)  # the input is not modified


def test_fit_penalised_logistic_minimises_the_stated_objective():
    world = CreditWorld()
    x, y, games = sample_credit(world, n_samples=3000, rng=np.random.default_rng(1))
    params = fit_penalised_logistic(x, y, regularisation=0.05)
    # With epsilon 0 the performative risk is the ordinary regularised risk: its gradient vanishes.
    grad = optimize.approx_fprime(
        params,
        lambda p: strategic_performative_risk(
            p, x, y, games, world=world, epsilon=0.0, regularisation=0.05
        ),
        1e-7,
    )
    assert np.max(np.abs(grad)) < 1e-5


def test_uniform_gaming_is_absorbed_by_the_intercept():
    # If everyone games, the retrained weights stay where they are: the shift is a constant.
    world = CreditWorld(gaming_share=1.0)
    path = repeated_retraining(
        world,
        epsilon=3.0,
        regularisation=0.01,
        n_rounds=3,
        n_samples=20000,
        rng=np.random.default_rng(2),
    )
    assert np.max(np.abs(path[1:, :-1] - path[0, :-1])) < 0.1
    # ... and the intercept rises by epsilon * ||w_s||**2, the score every gamer loses.
    w_s = path[-2, :2]
    assert path[-1, -1] - path[0, -1] == pytest.approx(3.0 * w_s @ w_s, abs=0.2)


def test_performative_optimum_is_no_worse_than_its_start():
    world = CreditWorld()
    x, y, games = sample_credit(world, n_samples=2000, rng=np.random.default_rng(3))
    start = np.array([1.0, -1.0, 0.5, -1.0])
    kwargs = dict(world=world, epsilon=1.0, regularisation=0.01)
    best = optimise_performative_risk(x, y, games, start=start, **kwargs)
    assert strategic_performative_risk(best, x, y, games, **kwargs) <= strategic_performative_risk(
        start, x, y, games, **kwargs
    )
    assert strategic_losses(best, x, y, games, **kwargs).shape == (2000,)


def test_bad_inputs():
    with pytest.raises(ValueError, match="epsilon must be non-negative"):
        stable_point(mu=1.0, epsilon=-0.1, gamma=1.0, beta=2.0)
    with pytest.raises(ValueError, match="beta must be at least gamma"):
        contraction_rate(epsilon=0.1, gamma=2.0, beta=1.0)
    with pytest.raises(ValueError, match="gamma must be positive"):
        optimal_point(mu=1.0, epsilon=0.1, gamma=0.0, beta=1.0)
    with pytest.raises(ValueError, match="sigma must be non-negative"):
        repeated_risk_minimisation(
            0.0,
            sigma=-1.0,
            epsilon=0.1,
            n_rounds=1,
            n_samples=1,
            rng=np.random.default_rng(0),
            **LOC,
        )
    with pytest.raises(ValueError, match="n_strategic must be at most"):
        CreditWorld(n_strategic=4)
    with pytest.raises(ValueError, match="gaming_share must be in"):
        CreditWorld(gaming_share=1.5)
    with pytest.raises(ValueError, match="theta must have 3 weights"):
        best_response_features(np.ones((1, 3)), [True], [1.0], world=CreditWorld(), epsilon=1.0)
    with pytest.raises(ValueError, match="regularisation must be positive"):
        fit_penalised_logistic(np.ones((2, 1)), [0, 1], regularisation=0.0)


def test_online_retraining_static_world_prefers_long_intervals_and_moving_world_does_not():
    from lib.worlds.performative import online_retraining

    settings = dict(mu=1.0, gamma=1.0, beta=2.0, sigma=1.0, n_per_step=100, horizon=600)
    rng = np.random.default_rng(11)
    static = online_retraining(
        epsilon=0.0, response=1.0, interval=[1, 100], n_replicates=40, rng=rng, **settings
    ).mean(axis=1)
    moving = online_retraining(
        epsilon=0.25, response=1.0, interval=[1, 10, 100], n_replicates=40, rng=rng, **settings
    ).mean(axis=1)
    # Static world: only sampling noise, (gamma/2)(beta/gamma)^2 sigma^2 / (n k) per step.
    np.testing.assert_allclose(static, [2 / 100, 2 / 10_000], rtol=0.15)
    assert moving[1] < moving[0] and moving[1] < moving[2]


def test_online_retraining_rejects_bad_inputs():
    from lib.worlds.performative import online_retraining

    settings = dict(
        mu=1.0,
        epsilon=0.1,
        gamma=1.0,
        beta=2.0,
        sigma=1.0,
        n_per_step=1,
        horizon=5,
        n_replicates=1,
        rng=np.random.default_rng(0),
    )
    with pytest.raises(ValueError, match="response"):
        online_retraining(response=0.0, interval=1, **settings)
    with pytest.raises(ValueError, match="interval"):
        online_retraining(response=0.5, interval=0, **settings)


# Perdomo et al. (2020), Theorem 3.5 and Proposition 3.6, checked numerically: each round of
# repeated risk minimisation found by a numerical argmin of the expected loss (Gauss-Hermite
# quadrature over z ~ N(mu + eps * theta_t, 1)), not by the closed form, then compared with it.
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(20)


def _numerical_rrm(theta0, epsilon, n_rounds, loss, mu):
    path = [theta0]
    for _ in range(n_rounds):
        z = mu + epsilon * path[-1] + _NODES

        def risk(theta, z=z):
            return float((_WEIGHTS * loss(z, theta)).sum() / _WEIGHTS.sum())

        path.append(optimize.minimize_scalar(risk, tol=1e-12).x)
    return np.array(path)


def _location_loss(z, theta):
    return LOC["gamma"] * theta**2 / 2 - LOC["beta"] * z * theta


@pytest.mark.parametrize("epsilon", [0.05, 0.2, 0.35, 0.45, 0.55, 0.7])
def test_theorem_3_5_rate_is_epsilon_beta_over_gamma_on_both_sides_of_the_threshold(epsilon):
    path = _numerical_rrm(0.0, epsilon, 4, _location_loss, LOC["mu"])
    distance = np.abs(path - stable_point(epsilon=epsilon, **LOC))
    ratios = distance[1:] / distance[:-1]
    rate = contraction_rate(epsilon=epsilon, gamma=LOC["gamma"], beta=LOC["beta"])
    np.testing.assert_allclose(ratios, rate, rtol=1e-4)
    assert (distance[-1] < distance[0]) == (epsilon * LOC["beta"] / LOC["gamma"] < 1)


def test_threshold_found_numerically_is_gamma_over_beta():
    # Bisect on epsilon for the point where the numerical iterates' steps stop shrinking.
    def converges(epsilon):
        steps = np.abs(np.diff(_numerical_rrm(0.0, epsilon, 100, _location_loss, LOC["mu"])))
        return steps[-1] < steps[0]

    low, high = 0.3, 0.7
    for _ in range(12):
        middle = (low + high) / 2
        low, high = (middle, high) if converges(middle) else (low, middle)
    assert (low + high) / 2 == pytest.approx(LOC["gamma"] / LOC["beta"], abs=1e-3)


def test_proposition_3_6_squared_loss_fails_to_converge_at_epsilon_gamma_over_beta():
    # Squared loss (z - theta)^2: gamma = beta = 2, so the threshold is epsilon = 1. RRM is
    # theta' = mu + epsilon * theta; at epsilon = 1 it moves by mu every round, forever.
    def squared(z, theta):
        return (z - theta) ** 2

    mu = 1.0
    below = _numerical_rrm(0.0, 0.9, 200, squared, mu)
    assert below[-1] == pytest.approx(mu / (1 - 0.9), rel=1e-4)
    at = _numerical_rrm(0.0, 1.0, 50, squared, mu)
    np.testing.assert_allclose(np.diff(at), mu, rtol=1e-6)
    above = _numerical_rrm(0.0, 1.1, 50, squared, mu)
    assert np.all(np.diff(np.abs(above)) > 0) and abs(above[-1]) > 1e2


def _independent_strategic_run(epsilon, gaming_share, n_rounds, n, rng):
    """Strategic retraining written afresh: Newton's method for the penalised logistic fit."""
    truth, intercept, lam = np.array([1.0, -1.0, 0.5]), -1.0, 0.01

    def population(size):
        x = rng.standard_normal((size, 3))
        y = rng.random(size) < 1 / (1 + np.exp(-(x @ truth + intercept)))
        return x, y.astype(float), rng.random(size) < gaming_share

    def fit(x, y):
        design = np.hstack([x, np.ones((len(x), 1))])
        penalty = np.diag([lam, lam, lam, 0.0])
        params = np.zeros(4)
        for _ in range(50):
            p = 1 / (1 + np.exp(-design @ params))
            gradient = design.T @ (p - y) / len(y) + penalty @ params
            hessian = (design * (p * (1 - p))[:, None]).T @ design / len(y) + penalty
            step = np.linalg.solve(hessian, gradient)
            params -= step
            if np.abs(step).max() < 1e-12:
                break
        return params

    def gamed(x, games, params):
        moved = x.copy()
        moved[games, :2] -= epsilon * params[:2]
        return moved

    x, y, _ = population(n)
    path = [fit(x, y)]
    for _ in range(n_rounds):
        x, y, games = population(n)
        path.append(fit(gamed(x, games, path[-1]), y))
    return np.array(path), population, gamed, lam


def test_independent_recompute_of_the_strategic_two_cycle():
    # Chapter 04: even-minus-odd weight norm after 4 rounds' burn-in, 0.956 at epsilon 4 with a
    # standard error of 0.036 and 0.000 at epsilon 1 (margin 0.14). A fresh implementation on
    # fresh draws must agree within 4 standard errors of a difference of two such estimates.
    rng = np.random.default_rng(404)
    flips = {}
    for epsilon in (1.0, 4.0):
        path, *_ = _independent_strategic_run(epsilon, 0.5, 10, 5_000, rng)
        norms = np.linalg.norm(path[4:, :2], axis=1)
        flips[epsilon] = norms[::2].mean() - norms[1::2].mean()
    tolerance = 4 * np.sqrt(2) * 0.036
    assert flips[4.0] == pytest.approx(0.956, abs=tolerance)
    assert abs(flips[1.0]) < tolerance


def _independent_gap(share, rng):
    """Stable minus optimal performative risk at epsilon 1, by the fresh implementation."""
    path, population, gamed, lam = _independent_strategic_run(1.0, share, 12, 5_000, rng)
    stable = path[-4:].mean(axis=0)

    def losses(params, x, y, games):
        score = gamed(x, games, params) @ params[:3] + params[3]
        log_loss = np.logaddexp(0, score) - y * score
        return log_loss + lam / 2 * params[:3] @ params[:3]

    search = population(20_000)
    optimum = optimize.minimize(
        lambda p: losses(p, *search).mean(),
        stable,
        method="Nelder-Mead",
        options=dict(xatol=1e-8, fatol=1e-12, maxiter=20_000),
    ).x
    score = population(40_000)
    differences = losses(stable, *score) - losses(optimum, *score)
    return differences.mean(), differences.std(ddof=1) / np.sqrt(len(differences))


def test_independent_recompute_of_the_stable_minus_optimal_gap():
    # Chapter 04: at epsilon 1 with half the applicants gaming, the stable point's performative
    # risk exceeds the optimum's by 0.0024 +- 0.0003 nats; where everyone games, by nothing.
    rng = np.random.default_rng(405)
    half, half_se = _independent_gap(0.5, rng)
    every, _ = _independent_gap(1.0, rng)
    assert half == pytest.approx(0.0024, abs=4 * np.hypot(half_se, 0.0003))
    assert abs(every) < 0.001  # the chapter's margin for this control
