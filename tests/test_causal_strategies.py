"""Tests for lib.worlds.causal_strategies: closed forms, properties and bad inputs."""

from dataclasses import replace

import numpy as np
import pytest

from lib.worlds.causal_strategies import (
    STATE_FIELDS,
    Episodes,
    act_on_episodes,
    associational_choices,
    choice_rewards,
    choices_by_budget,
    concatenate_episodes,
    episode_state,
    expert_demonstrations,
    expert_exploit,
    expert_order,
    fit_policy,
    goal_correlations,
    pooled_associational_choices,
    sample_episodes,
    sample_worlds,
    simulate_interventions,
    simulate_observational,
    total_effects,
    with_quality_label,
)


class ExpertPolicy:
    """Explores like the expert (strongest untried correlation first) and exploits like it."""

    def __init__(self, episodes, budget):
        self.episodes = episodes
        self.budget = budget

    def predict(self, states):
        fields = states.reshape(len(states), -1, 4)
        explored = fields[..., 0] > 0
        if np.all(explored.sum(axis=1) == self.budget):
            return expert_exploit(explored, self.episodes)
        score = np.where(explored | (fields[..., 3] == 0), -np.inf, fields[..., 2])
        return np.argmax(score, axis=1)


def _episodes(n=200, seed=0, **world):
    return sample_episodes(n, n_samples=30, value=10.0, rng=np.random.default_rng(seed), **world)


def test_total_effects_sum_over_paths():
    # X0 -> X1 -> G and X0 -> G directly: total effect of X0 is 2 * 3 + 0.5.
    weights = np.array([[[0, 2.0, 0.5], [0, 0, 3.0], [0, 0, 0]]])
    effects = total_effects(weights)
    assert effects[0, 0, 2] == pytest.approx(6.5)
    assert effects[0, 1, 2] == pytest.approx(3.0)
    assert effects[0, 2, 0] == 0.0


def test_sample_worlds_respects_structure_options():
    rng = np.random.default_rng(0)
    inert = [(0, j) for j in range(1, 6)]
    weights, _ = sample_worlds(500, forbid_edges=inert, rng=rng)
    assert np.all(weights[:, 0] == 0)
    assert np.all(np.tril(weights) == 0)
    weights, _ = sample_worlds(500, require_edges=[(0, 5)], candidate_edges=False, rng=rng)
    assert np.all(np.abs(weights[:, 0, 5]) >= 0.5)
    assert np.all(weights[:, :, :-1] == 0)
    _, loadings = sample_worlds(50, confounding=1.5, rng=rng)
    assert np.all((loadings[:, :-1] == 1.5).sum(axis=1) == 1)


def test_interventions_recover_total_effects_on_average():
    rng = np.random.default_rng(1)
    weights, loadings = sample_worlds(1, n_candidates=3, confounding=2.0, rng=rng)
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


def test_pooled_associational_without_interventions_is_associational():
    episodes = _episodes()
    no_rows = episodes.intervened[:, :0]
    assert np.array_equal(
        pooled_associational_choices(episodes.observed, no_rows),
        associational_choices(episodes.observed),
    )


def test_episode_state_hides_responses_until_explored():
    episodes = _episodes(5)
    explored = np.zeros((5, 5), dtype=bool)
    explored[:, 2] = True
    fields = episode_state(explored, episodes).reshape(5, 5, STATE_FIELDS)
    assert np.array_equal(fields[..., 0], explored)
    assert np.all(fields[:, [0, 1, 3, 4], 1] == 0)
    assert np.allclose(fields[:, 2, 1], episodes.responses[:, 2])
    assert np.allclose(fields[..., 2], goal_correlations(episodes.observed))


def test_expert_order_and_exploit():
    order = expert_order([[0.2, 0.9, 0.5, -0.3]], [[1, 0, 1, 1]])
    assert order.tolist() == [[2, 0, 3, 1]]  # actionable by priority, the locked one last
    episodes = _episodes(300)
    explored = np.random.default_rng(3).random((300, 5)) < 0.5
    explored[:, 0] = True
    chosen = expert_exploit(explored, episodes)
    rows = np.arange(300)
    best = np.where(explored, episodes.responses, -np.inf).max(axis=1)
    helped = best > 0
    # Where a tested candidate raised the goal, the expert takes the best of them ...
    assert np.all(explored[rows, chosen][helped])
    assert np.array_equal(episodes.responses[rows, chosen][helped], best[helped])
    # ... otherwise the most correlated candidate it did not test (or, all tested, the best).
    untested = np.where(~explored, episodes.correlations, -np.inf)
    fallback = ~helped & (~explored).any(axis=1)
    assert fallback.sum() > 10  # the case occurs in this sample
    assert np.array_equal(chosen[fallback], untested.argmax(axis=1)[fallback])
    every = ~helped & explored.all(axis=1)
    assert np.array_equal(episodes.responses[rows, chosen][every], best[every])


def test_demonstrations_follow_the_order_and_budgets():
    episodes = _episodes(50)
    order = expert_order(episodes.correlations, episodes.actionable)
    budgets = np.random.default_rng(4).integers(0, 6, size=50)
    states, actions, final, choices = expert_demonstrations(episodes, order, budgets)
    assert len(states) == len(actions) == budgets.sum()
    assert final.shape == (50, 20)
    explored_at_end = final.reshape(50, 5, 4)[..., 0]
    assert np.array_equal(explored_at_end.sum(axis=1), budgets)


def test_roll_out_of_the_expert_reproduces_it():
    episodes = _episodes(100)
    policy = ExpertPolicy(episodes, budget=3)
    explored, choices = act_on_episodes(policy, policy, episodes, budget=3)
    order = expert_order(episodes.correlations, episodes.actionable)
    expected = np.zeros_like(explored)
    np.put_along_axis(expected, order[:, :3], True, axis=1)
    assert np.array_equal(explored, expected)
    *_, expert_choices = expert_demonstrations(episodes, order, np.full(100, 3))
    assert np.array_equal(choices, expert_choices)


def test_locked_candidates_reveal_nothing_and_earn_nothing():
    episodes = _episodes(10)
    locked = replace(episodes, actionable=np.tile([False, True, True, True, True], (10, 1)))

    class AlwaysFirst:
        def predict(self, states):
            return np.zeros(len(states), dtype=int)

    explored, choices = act_on_episodes(AlwaysFirst(), AlwaysFirst(), locked, budget=2)
    assert not explored.any()
    assert np.all(choice_rewards(locked.weights, choices, locked.actionable) == 0)


def test_quality_label_and_concatenation():
    states = np.arange(6.0).reshape(2, 3)
    labelled = with_quality_label(states, [0.0, 1.0])
    assert labelled.shape == (2, 7)
    assert np.all(labelled[0, 4:] == 0) and np.array_equal(labelled[1, 4:], states[1])
    joined = concatenate_episodes([_episodes(3, seed=1), _episodes(4, seed=2)])
    assert joined.weights.shape == (7, 6, 6) and joined.actionable.shape == (7, 5)


def test_fit_policy_imitates_a_demonstrated_rule_and_rejects_bad_inputs():
    rng = np.random.default_rng(3)
    states = rng.normal(size=(400, 3))
    actions = np.argmax(states, axis=1)  # the rule to imitate: the largest feature
    fresh = rng.normal(size=(400, 3))
    assert np.mean(fit_policy(states, actions).predict(fresh) == np.argmax(fresh, axis=1)) > 0.9
    with pytest.raises(ValueError, match="actions must have shape"):
        fit_policy(states, actions[:-1])
    with pytest.raises(ValueError, match="inverse_regularization must be positive"):
        fit_policy(states, actions, inverse_regularization=0.0)


def test_fixed_seed_is_reproducible():
    first = sample_worlds(3, rng=np.random.default_rng(4))[0]
    second = sample_worlds(3, rng=np.random.default_rng(4))[0]
    assert np.array_equal(first, second)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_worlds": 0}, "n_worlds"),
        ({"n_worlds": 2, "edge_probability": 1.5}, "edge_probability"),
        ({"n_worlds": 2, "forbid_edges": [(3, 0)]}, "forbid_edges"),
        ({"n_worlds": 2, "require_edges": [(0, 9)]}, "require_edges"),
        ({"n_worlds": 2, "forbid_edges": [(0, 5)], "require_edges": [(0, 5)]}, "both"),
    ],
)
def test_sample_worlds_rejects_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_worlds(rng=np.random.default_rng(0), **kwargs)


def test_other_functions_reject_bad_inputs():
    rng = np.random.default_rng(0)
    weights, loadings = sample_worlds(2, rng=rng)
    episodes = _episodes(2)
    with pytest.raises(ValueError, match="weights"):
        total_effects(np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match="loadings"):
        simulate_observational(weights, loadings[:, :2], n_samples=5, rng=rng)
    with pytest.raises(ValueError, match="n_samples"):
        simulate_observational(weights, loadings, n_samples=1, rng=rng)
    with pytest.raises(ValueError, match="value"):
        simulate_interventions(weights, loadings, value=float("nan"), rng=rng)
    with pytest.raises(ValueError, match="choices"):
        choice_rewards(weights, [0, 5])
    with pytest.raises(TypeError):
        simulate_observational(weights, loadings, n_samples=5, rng=0)
    with pytest.raises(ValueError, match="actionable"):
        Episodes(weights, episodes.observed, episodes.intervened, 10.0, np.ones((2, 4)))
    with pytest.raises(TypeError, match="episodes"):
        episode_state(np.zeros((2, 5)), episodes.weights)
    with pytest.raises(ValueError, match="explored"):
        episode_state(np.full((2, 5), 2), episodes)
    order = expert_order(episodes.correlations, episodes.actionable)
    with pytest.raises(ValueError, match="budgets"):
        expert_demonstrations(episodes, order, [6, 0])
    with pytest.raises(ValueError, match="order"):
        expert_demonstrations(episodes, order[:, :3], [1, 0])
    with pytest.raises(ValueError, match="budget"):
        act_on_episodes(None, None, episodes, budget=-1)
    with pytest.raises(ValueError, match="quality"):
        with_quality_label(np.ones((2, 3)), [1.0])
    with pytest.raises(ValueError, match="value"):
        concatenate_episodes([_episodes(2), replace(_episodes(2), value=5.0)])


def test_choices_by_budget_equal_one_roll_out_per_budget():
    episodes = _episodes(60)
    states, actions, final, choices = expert_demonstrations(
        episodes,
        expert_order(episodes.correlations, episodes.actionable),
        np.random.default_rng(5).integers(0, 6, size=60),
    )
    policy = (fit_policy(states, actions), fit_policy(final, choices))
    rows = choices_by_budget(*policy, episodes, budget=4)
    assert rows.shape == (5, 60)
    for budget in range(5):
        assert np.array_equal(rows[budget], act_on_episodes(*policy, episodes, budget=budget)[1])
    with pytest.raises(ValueError, match="budget"):
        choices_by_budget(*policy, episodes, budget=-1)


def test_correlations_and_effects_are_computed_once_and_match_a_fresh_computation():
    episodes = sample_episodes(3, n_samples=20, value=5.0, rng=np.random.default_rng(4))
    first = episodes.correlations
    assert episodes.correlations is first
    assert episodes.effects is episodes.effects
    np.testing.assert_array_equal(first, goal_correlations(episodes.observed))
    np.testing.assert_array_equal(episodes.effects, total_effects(episodes.weights)[:, :-1, -1])
    # A replaced batch computes its own.
    other = replace(episodes, observed=episodes.observed[:, ::-1] * 2.0)
    np.testing.assert_allclose(other.correlations, first)
    assert other.correlations is not first
