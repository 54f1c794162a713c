"""Tests of lib.worlds.tightrope: the chain, the learners, exact costs against simulation and
Ross and Bagnell's bound, and bad inputs."""

import numpy as np
import pytest

from lib.worlds.tightrope import (
    ACTIONS,
    CLIMB,
    HOLD,
    LEFT,
    RIGHT,
    Tightrope,
    dagger_table,
    demonstrate,
    expected_cost,
    expert_actions,
    expert_state_loss,
    fit_table,
    learner_visits,
    log_log_slopes,
    transition_tensor,
)

ROPE = Tightrope(half_width=1, gust=0.2)


def test_transitions_are_distributions_and_net_returns_to_centre():
    for world in (ROPE, Tightrope(half_width=2, gust=0.3, net=True)):
        tensor = transition_tensor(world)
        np.testing.assert_allclose(tensor.sum(axis=-1), 1.0)
    net = transition_tensor(Tightrope(net=True))
    assert np.all(net[3, :, 1] == 1.0)


def test_low_rope_lets_a_fallen_walker_stand_up_by_holding_or_climbing_only():
    low = transition_tensor(Tightrope(low=True))
    np.testing.assert_allclose(low.sum(axis=-1), 1.0)
    assert low[3, HOLD, 1] == 1.0 and low[3, CLIMB, 1] == 1.0
    assert low[3, LEFT, 3] == 1.0 and low[3, RIGHT, 3] == 1.0
    np.testing.assert_array_equal(low[:3], transition_tensor(ROPE)[:3])


def test_slippery_rope_mixes_each_action_with_a_random_move_and_the_expert_falls():
    slippery = Tightrope(slip=0.3)
    tensor, plain = transition_tensor(slippery), transition_tensor(ROPE)
    np.testing.assert_allclose(tensor.sum(axis=-1), 1.0)
    random_move = plain[:, [LEFT, HOLD, RIGHT]].mean(axis=1)
    np.testing.assert_allclose(tensor[:, HOLD], 0.7 * plain[:, HOLD] + 0.3 * random_move)
    np.testing.assert_array_equal(transition_tensor(Tightrope(slip=0.0)), plain)
    counts = demonstrate(
        slippery, n_replicates=1, n_episodes=200, horizon=50, rng=np.random.default_rng(4)
    )
    assert counts[0, slippery.fallen, CLIMB] > 0  # its data show falls, labelled "climb"
    assert counts[0, slippery.fallen].sum() == counts[0, slippery.fallen, CLIMB]


def test_expert_never_falls_so_its_demonstrations_show_no_fall():
    counts = demonstrate(
        ROPE, n_replicates=3, n_episodes=200, horizon=50, rng=np.random.default_rng(0)
    )
    assert counts[:, ROPE.fallen].sum() == 0
    assert counts.sum() == 3 * 200 * 50
    expert = np.zeros((1, 4, 4))
    expert[0, np.arange(4), expert_actions(ROPE)] = 1.0
    assert expected_cost(ROPE, expert, horizons=[1000])[0, 0] == 0.0


def test_noisy_expert_falls_and_shows_how_to_climb():
    counts = demonstrate(
        ROPE, n_replicates=1, n_episodes=200, horizon=50, noise=0.3, rng=np.random.default_rng(1)
    )
    assert counts[0, ROPE.fallen, CLIMB] > 0
    assert counts[0, ROPE.fallen].sum() == counts[0, ROPE.fallen, CLIMB]


def test_exact_cost_matches_simulated_walks():
    rng = np.random.default_rng(2)
    table = fit_table(
        demonstrate(ROPE, n_replicates=1, n_episodes=5, horizon=10, rng=rng), backoff=1.0
    )
    # A clone from few data falls often enough to simulate: count its walks' steps fallen.
    visits = learner_visits(
        ROPE, np.repeat(table, 4, axis=0), n_episodes=5_000, horizon=30, rng=rng
    )
    simulated = visits[:, ROPE.fallen].sum(axis=-1) / 5_000
    exact = expected_cost(ROPE, table, horizons=[30])[0, 0]
    standard_error = simulated.std(ddof=1) / 2 + 30 * np.sqrt(exact / 30 / 5_000)
    assert np.all(np.abs(simulated - exact) < 5 * standard_error)


def test_clone_cost_obeys_ross_and_bagnell_bound():
    rng = np.random.default_rng(3)
    clones = fit_table(
        demonstrate(ROPE, n_replicates=5, n_episodes=20, horizon=20, rng=rng), backoff=1.0
    )
    horizons = np.array([10, 100, 1000])
    eps = np.stack([expert_state_loss(ROPE, clones, horizon=int(t)) for t in horizons], axis=1)
    cost = expected_cost(ROPE, clones, horizons=horizons)
    assert np.all(cost <= eps * horizons**2 + 1e-12)
    assert np.all(cost <= horizons)


def test_clone_compounds_and_dagger_does_not():
    rng = np.random.default_rng(4)
    demos = demonstrate(ROPE, n_replicates=4, n_episodes=100, horizon=50, rng=rng)
    clone = fit_table(demos, backoff=1.0)
    assert np.all(clone[:, ROPE.fallen, CLIMB] == 0)
    dagger, data = dagger_table(
        ROPE, demos, n_iterations=4, n_episodes=400, horizon=100, backoff=1.0, rng=rng
    )
    horizons = 2 ** np.arange(3, 11)
    clone_slopes = log_log_slopes(horizons, expected_cost(ROPE, clone, horizons=horizons))
    assert np.all(np.abs(clone_slopes - 2) < 0.15)
    seen = data[:, ROPE.fallen].sum(axis=-1) > 0
    dagger_slopes = log_log_slopes(horizons, expected_cost(ROPE, dagger, horizons=horizons))
    assert np.all(np.abs(dagger_slopes[seen] - 1) < 0.15)


def test_fit_table_backs_off_to_pooled_frequencies():
    counts = np.zeros((1, 4, 4))
    counts[0, 1, HOLD] = 3
    counts[0, 2, RIGHT] = 1
    table = fit_table(counts, backoff=2.0)
    np.testing.assert_allclose(table[0, 0], [0, 0.75, 0.25, 0])  # unseen: pooled shares
    np.testing.assert_allclose(table.sum(axis=-1), 1.0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: Tightrope(gust=1.5), "gust"),
        (lambda: Tightrope(net="yes"), "net"),
        (lambda: Tightrope(low=1), "low"),
        (lambda: Tightrope(slip=-0.1), "slip"),
        (lambda: fit_table(np.ones((1, 4, 3)), backoff=1.0), "shape"),
        (lambda: fit_table(np.ones((1, 4, 4)), backoff=0.0), "backoff"),
        (
            lambda: demonstrate(
                ROPE,
                n_replicates=1,
                n_episodes=1,
                horizon=1,
                start="edge",
                rng=np.random.default_rng(0),
            ),
            "start",
        ),
        (lambda: expected_cost(ROPE, np.ones((1, 4, 4)), horizons=[5]), "probability"),
        (lambda: log_log_slopes([1, 2, 3], np.zeros((1, 3))), "positive"),
    ],
)
def test_bad_inputs_raise(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_the_named_actions_index_the_action_constants():
    assert ACTIONS[HOLD] == "hold" and ACTIONS[RIGHT] == "right" and ACTIONS[CLIMB] == "climb"
