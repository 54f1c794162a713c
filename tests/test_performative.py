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
