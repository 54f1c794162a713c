"""Tests of lib.worlds.behaviour_cloning: the driving simulator, the learners, and bad inputs."""

import numpy as np
import pytest

from lib.worlds.behaviour_cloning import (
    BrakingWorld,
    Drives,
    dagger,
    drive,
    fit_clone,
    held_out_accuracy,
)

WORLD = BrakingWorld(p_on=0.05, p_off=0.2, sensor_noise=0.5)


def test_expert_costs_nothing_and_light_shows_previous_action():
    runs = drive(WORLD, policy="expert", n_episodes=50, horizon=30, rng=np.random.default_rng(0))
    assert runs.costs.sum() == 0
    np.testing.assert_array_equal(runs.observations[:, 1:, 1], runs.actions[:, :-1])


def test_hazard_chain_is_stationary_with_the_right_share_and_persistence():
    runs = drive(WORLD, policy="expert", n_episodes=4000, horizon=20, rng=np.random.default_rng(1))
    share = runs.labels.mean(axis=0)
    se = np.sqrt(0.2 * 0.8 / 4000)
    assert np.all(np.abs(share - WORLD.hazard_share) < 5 * se)
    on = runs.labels[:, :-1] == 1
    stays = (runs.labels[:, 1:] == 1)[on].mean()
    assert abs(stays - 0.8) < 0.02


def test_sensor_noise_has_the_stated_spread():
    runs = drive(WORLD, policy="expert", n_episodes=2000, horizon=10, rng=np.random.default_rng(2))
    residual = runs.observations[..., 0] - runs.labels
    assert abs(residual.std() - 0.5) < 0.01


def test_no_light_world_shows_no_light():
    world = BrakingWorld(light=False)
    runs = drive(world, policy="expert", n_episodes=5, horizon=10, rng=np.random.default_rng(3))
    assert not runs.observations[..., 1].any()


def test_masked_clone_ignores_the_light():
    runs = drive(WORLD, policy="expert", n_episodes=200, horizon=20, rng=np.random.default_rng(4))
    masked = fit_clone(*runs.training_data(), mask_light=True)
    obs = np.array([[0.6, 0.0], [0.6, 1.0]])
    assert masked.predict(obs)[0] == masked.predict(obs)[1]


def test_masked_clone_errs_equally_on_and_off_its_own_trajectory():
    # Without the light nothing the learner does reaches its inputs: no covariate shift.
    rng = np.random.default_rng(5)
    demos = drive(WORLD, policy="expert", n_episodes=300, horizon=30, rng=rng)
    masked = fit_clone(*demos.training_data(), mask_light=True)
    held_out = drive(WORLD, policy="expert", n_episodes=2000, horizon=30, rng=rng)
    acting = drive(WORLD, policy=masked, n_episodes=2000, horizon=30, rng=rng)
    offline = 1 - held_out_accuracy(masked, held_out)
    online = acting.costs / 30
    se = np.hypot(offline.std(ddof=1), online.std(ddof=1)) / np.sqrt(2000)
    assert abs(offline.mean() - online.mean()) < 4 * se


def test_dagger_trusts_the_light_less_than_the_clone():
    # In the chapter's world (long hazards, noisy sensor) the expert's labels on the learner's
    # own states, where the light is the learner's and often wrong, cut the light's weight.
    world = BrakingWorld(p_on=0.0125, p_off=0.05, sensor_noise=1.0)
    rng = np.random.default_rng(6)
    demos = drive(world, policy="expert", n_episodes=200, horizon=50, rng=rng)
    clone = fit_clone(*demos.training_data(), mask_light=False)
    policy = dagger(world, demos, n_iterations=2, n_rollouts=100, horizon=50, rng=rng)
    assert policy.coef_[0][1] < 0.75 * clone.coef_[0][1]
    assert policy.predict(np.array([[1.5, 1.0]]))[0] == 1


def test_bad_inputs():
    with pytest.raises(ValueError, match="p_on must be in"):
        BrakingWorld(p_on=0.0)
    with pytest.raises(ValueError, match="sensor_noise must be positive"):
        BrakingWorld(sensor_noise=0.0)
    with pytest.raises(TypeError, match="light must be True or False"):
        BrakingWorld(light=1)
    with pytest.raises(ValueError, match="policy must be 'expert'"):
        drive(WORLD, policy="human", n_episodes=1, horizon=1, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="policy must be 'expert' or a fitted"):
        drive(WORLD, policy=3, n_episodes=1, horizon=1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="observations must have shape"):
        fit_clone(np.ones((4, 3)), [0, 1, 0, 1], mask_light=False)
    with pytest.raises(TypeError, match="mask_light"):
        fit_clone(np.ones((4, 2)), [0, 1, 0, 1], mask_light="yes")
    empty = Drives(np.zeros((1, 2, 2)), np.zeros((1, 2), int), np.ones((1, 2), int))
    assert empty.costs.tolist() == [2]


def test_threshold_errors_match_driving_the_same_thresholds():
    from lib.worlds.behaviour_cloning import SensorThresholds, threshold_errors

    world = BrakingWorld(p_on=0.0125, p_off=0.05, sensor_noise=1.0)
    policy = SensorThresholds(off=2.0, on=-0.5)
    driven = drive(world, policy=policy, n_episodes=3000, horizon=40, rng=np.random.default_rng(5))
    errors = threshold_errors(
        world, [2.0], [-0.5], n_episodes=3000, horizon=40, rng=np.random.default_rng(6)
    )
    se = np.hypot((driven.costs / 40).std(), errors.std()) / np.sqrt(3000)
    assert abs((driven.costs / 40).mean() - errors.mean()) < 5 * se


def test_thresholds_reproduce_a_fitted_logistic_policy():
    from lib.worlds.behaviour_cloning import SensorThresholds

    runs = drive(WORLD, policy="expert", n_episodes=200, horizon=30, rng=np.random.default_rng(7))
    model = fit_clone(*runs.training_data(), mask_light=False)
    (w_sensor, w_light), b = model.coef_[0], model.intercept_[0]
    policy = SensorThresholds(off=-b / w_sensor, on=-(b + w_light) / w_sensor)
    x = runs.observations.reshape(-1, 2)
    assert np.mean(policy.predict(x) == model.predict(x)) > 0.999
