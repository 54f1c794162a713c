"""Tests for lib.causal_strategies: closed forms, properties and bad inputs."""

import numpy as np
import pytest

from lib.causal_strategies import (
    associational_choices,
    choice_rewards,
    episode_features,
    expert_choices,
    sample_worlds,
    simulate_interventions,
    simulate_observational,
    total_effects,
)


def test_total_effects_sum_over_paths():
    # X0 -> X1 -> G and X0 -> G directly: total effect of X0 is 2 * 3 + 0.5.
    weights = np.array([[[0, 2.0, 0.5], [0, 0, 3.0], [0, 0, 0]]])
    effects = total_effects(weights)
    assert effects[0, 0, 2] == pytest.approx(6.5)
    assert effects[0, 1, 2] == pytest.approx(3.0)
    assert effects[0, 2, 0] == 0.0


def test_sample_worlds_respects_structure_options():
    rng = np.random.default_rng(0)
    weights, loadings = sample_worlds(500, forbid_edge=(0, 3), rng=rng)
    assert np.all(weights[:, 0, 3] == 0)
    assert np.all(np.tril(weights) == 0)
    weights, _ = sample_worlds(500, require_edge=(0, 3), candidate_edges=False, rng=rng)
    assert np.all(np.abs(weights[:, 0, 3]) >= 0.5)
    assert np.all(weights[:, :, :-1] == 0)
    _, loadings = sample_worlds(50, confounding=1.5, rng=rng)
    assert np.all((loadings[:, :-1] == 1.5).sum(axis=1) == 1)


def test_interventions_recover_total_effects_on_average():
    rng = np.random.default_rng(1)
    weights, loadings = sample_worlds(1, confounding=2.0, rng=rng)
    repeated_w = np.repeat(weights, 20_000, axis=0)
    repeated_l = np.repeat(loadings, 20_000, axis=0)
    outcomes = simulate_interventions(repeated_w, repeated_l, value=1.0, rng=rng)
    mean_goal = outcomes[..., -1].mean(axis=0)
    standard_error = outcomes[..., -1].std(axis=0) / np.sqrt(20_000)
    expected = total_effects(weights)[0, :-1, -1]
    assert np.all(np.abs(mean_goal - expected) < 4 * standard_error)


def test_confounder_makes_correlation_without_effect():
    # No edges at all: only the latent confounder links candidate and goal.
    weights = np.zeros((1, 4, 4))
    loadings = np.array([[0.0, 2.0, 0.0, 2.0]])
    observed = simulate_observational(
        weights, loadings, n_samples=5_000, rng=np.random.default_rng(2)
    )
    assert associational_choices(observed)[0] == 1
    assert choice_rewards(weights, associational_choices(observed))[0] == 0.0


def test_expert_and_features():
    interventions = np.array([[[5, 0, 0, 1.0], [0, 5, 0, 3.0], [0, 0, 5, -1.0]]])
    assert expert_choices(interventions)[0] == 1
    observed = np.random.default_rng(3).normal(size=(1, 20, 4))
    features = episode_features(interventions, observed)
    assert features.shape == (1, 15)
    hidden = episode_features(interventions, observed, hide_interventions=True)
    assert np.all(hidden[:, :12] == 0) and np.array_equal(hidden[:, 12:], features[:, 12:])


def test_fixed_seed_is_reproducible():
    first = sample_worlds(3, rng=np.random.default_rng(4))[0]
    second = sample_worlds(3, rng=np.random.default_rng(4))[0]
    assert np.array_equal(first, second)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_worlds": 0}, "n_worlds"),
        ({"n_worlds": 2, "edge_probability": 1.5}, "edge_probability"),
        ({"n_worlds": 2, "forbid_edge": (3, 0)}, "forbid_edge"),
        ({"n_worlds": 2, "require_edge": (0, 9)}, "require_edge"),
    ],
)
def test_sample_worlds_rejects_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_worlds(rng=np.random.default_rng(0), **kwargs)


def test_other_functions_reject_bad_inputs():
    rng = np.random.default_rng(0)
    weights, loadings = sample_worlds(2, rng=rng)
    with pytest.raises(ValueError, match="weights"):
        total_effects(np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match="loadings"):
        simulate_observational(weights, loadings[:, :2], n_samples=5, rng=rng)
    with pytest.raises(ValueError, match="n_samples"):
        simulate_observational(weights, loadings, n_samples=1, rng=rng)
    with pytest.raises(ValueError, match="value"):
        simulate_interventions(weights, loadings, value=float("nan"), rng=rng)
    with pytest.raises(ValueError, match="choices"):
        choice_rewards(weights, [0, 3])
    with pytest.raises(TypeError):
        simulate_observational(weights, loadings, n_samples=5, rng=0)
