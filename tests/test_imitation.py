"""Tests of lib.imitation: exact costs, simulation against them, properties and bad inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.imitation import (
    LaneScenario,
    behaviour_cloning,
    cost_table,
    dagger,
    expected_cost,
    expert_policy,
    fit_growth_exponent,
    fit_policy,
    local_exponents,
    simulate,
    transition_matrix,
)


@settings(max_examples=30)
@given(st.lists(st.sampled_from([-1, 0, 1]), min_size=1, max_size=6), st.floats(0, 1))
def test_transition_rows_are_distributions(half, slip):
    policy = np.array(half + [0] + half[::-1])
    matrix = transition_matrix(policy, slip=slip)
    assert np.all(matrix >= 0)
    assert np.allclose(matrix.sum(axis=1), 1.0)


def test_expert_without_slips_costs_nothing():
    assert expected_cost(expert_policy(5), horizon=100, slip=0.0) == 0.0
    runs = simulate(
        expert_policy(5), horizon=30, n_rollouts=10, slip=0.0, rng=np.random.default_rng(0)
    )
    assert not runs.any()


@pytest.mark.parametrize("horizon", [2, 3])
def test_hold_the_line_cost_by_hand(horizon):
    # q = 2 slip / 3 = 0.2 to leave; 0.1 chance to return from offset ±1.
    by_hand = {2: 0.2, 3: 0.2 + 0.8 * 0.2 + 0.2 * 0.9}[horizon]
    assert expected_cost(np.zeros(5, dtype=int), horizon=horizon, slip=0.3) == pytest.approx(
        by_hand
    )


@pytest.mark.parametrize("policy", [np.zeros(41, dtype=int), expert_policy(20)])
def test_simulated_cost_matches_exact_cost(policy):
    n = 20_000
    runs = simulate(policy, horizon=40, n_rollouts=n, slip=0.02, rng=np.random.default_rng(1))
    cost = (runs != 0).sum(axis=1)
    exact = expected_cost(policy, horizon=40, slip=0.02)
    assert abs(cost.mean() - exact) <= 4 * cost.std(ddof=1) / np.sqrt(n)


def test_fit_policy_takes_the_majority_and_defaults_to_holding():
    table = fit_policy([0, 0, 1, 1, 1, -2, -2], [0, 0, -1, -1, 1, 1, -1], width=2)
    assert table.tolist() == [0, 0, 0, -1, 0]


def test_cloning_learns_only_to_hold_and_dagger_learns_to_recover():
    rng = np.random.default_rng(2)
    cloned = behaviour_cloning(horizon=30, n_demonstrations=5, width=10, rng=rng)
    assert not cloned.any()
    learned = dagger(horizon=30, n_iterations=4, n_rollouts=500, slip=0.05, width=10, rng=rng)
    assert learned[9] == 1 and learned[11] == -1 and learned[10] == 0


def test_dagger_costs_far_less_than_cloning_at_long_horizons():
    rng = np.random.default_rng(3)
    cloned = behaviour_cloning(horizon=64, n_demonstrations=5, width=20, rng=rng)
    learned = dagger(horizon=64, n_iterations=4, n_rollouts=1000, slip=0.005, width=20, rng=rng)
    hold, expert = np.zeros(41, dtype=int), expert_policy(20)
    assert np.array_equal(cloned, hold)
    # Cloning pays the hold-the-line cost, about q T (T - 1) / 2 with q = 2 slip / 3: 6.08 here.
    cloned_cost = expected_cost(cloned, horizon=64, slip=0.005)
    assert cloned_cost == expected_cost(hold, horizon=64, slip=0.005)
    # DAgger pays the expert's cost (about q (T - 1) = 0.21) plus at most the cost of states its
    # runs rarely reach (two slips before a correction): at most (q T)**2 = 0.045 more.
    q, horizon = 2 * 0.005 / 3, 64
    learned_cost = expected_cost(learned, horizon=horizon, slip=0.005)
    expert_cost = expected_cost(expert, horizon=horizon, slip=0.005)
    assert expert_cost - 1e-12 <= learned_cost <= expert_cost + (q * horizon) ** 2


@given(st.floats(min_value=0.2, max_value=3.0), st.floats(min_value=0.1, max_value=10.0))
def test_growth_exponent_recovers_a_power_law(exponent, scale):
    horizons = np.array([4.0, 8.0, 16.0, 32.0])
    costs = scale * horizons**exponent
    slope, se = fit_growth_exponent(horizons, costs, 0.05 * costs)
    assert slope == pytest.approx(exponent)
    # Equal relative errors of 5%: the slope's se is 0.05 / sqrt(sum((log T - mean)^2)).
    logs = np.log(horizons)
    assert se == pytest.approx(0.05 / np.sqrt(((logs - logs.mean()) ** 2).sum()))


def test_growth_exponent_exact_cloning_slope_is_near_two_for_small_slips():
    horizons = np.array([4, 8, 16, 32])
    costs = np.array(
        [expected_cost(np.zeros(41, dtype=int), horizon=int(t), slip=1e-4) for t in horizons]
    )
    slope, _ = fit_growth_exponent(horizons, costs, 0.01 * costs)
    # q T (T - 1) / 2 has local slope 2 + 1 / (T - 1): between 2 and 2.34 over this grid.
    assert 2.0 < slope < 2.34


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda r: expert_policy(0), ValueError, "width must be an integer >= 1"),
        (lambda r: transition_matrix([0, 0], slip=0.1), ValueError, "odd length"),
        (lambda r: transition_matrix([0, 2, 0], slip=0.1), ValueError, "only actions -1, 0, 1"),
        (
            lambda r: expected_cost([0, 0, 0], horizon=0, slip=0.1),
            ValueError,
            "horizon must be an integer",
        ),
        (
            lambda r: simulate([0, 0, 0], horizon=3, n_rollouts=2, slip=0.1, rng=1),
            TypeError,
            "rng must be",
        ),
        (
            lambda r: simulate([0, 0, 0], horizon=3, n_rollouts=2, slip=-0.1, rng=r),
            ValueError,
            "slip must be",
        ),
        (lambda r: fit_policy([0, 3], [0, 0], width=2), ValueError, "offsets must lie in"),
        (lambda r: fit_policy([0, 1], [0], width=2), ValueError, "same size"),
        (lambda r: fit_policy([0, 1], [0, 5], width=2), ValueError, "actions must be"),
        (
            lambda r: dagger(horizon=3, n_iterations=0, n_rollouts=2, slip=0.1, width=2, rng=r),
            ValueError,
            "n_iterations must be",
        ),
        (
            lambda r: fit_growth_exponent([1, 2, 3], [1, 0, 2], [1, 1, 1]),
            ValueError,
            "costs must be positive",
        ),
        (lambda r: fit_growth_exponent([1, 2, 3], [1, 2], [1, 1]), ValueError, "must match"),
        (
            lambda r: behaviour_cloning(horizon=3, n_demonstrations=0, width=2, rng=r),
            ValueError,
            "n_demonstrations must be an integer >= 1, got 0",
        ),
    ],
)
def test_bad_inputs_are_rejected(call, error, message):
    with pytest.raises(error, match=message):
        call(np.random.default_rng(0))


def test_cost_table_two_routes_agree_and_hold_the_line_is_exact():
    rng = np.random.default_rng(4)
    cost, se, exact = cost_table(
        lambda t: np.zeros(41, dtype=int), horizons=[10, 40], n_eval=20_000, slip=0.02, rng=rng
    )
    assert np.all(np.abs(cost - exact) <= 4 * se)
    assert exact[0] == pytest.approx(expected_cost(np.zeros(41, dtype=int), horizon=10, slip=0.02))


def test_local_exponents_of_the_exact_cloning_cost_fall_below_two():
    horizons = np.array([8, 16, 32, 64, 128, 256])
    costs = [expected_cost(np.zeros(41, dtype=int), horizon=int(t), slip=0.005) for t in horizons]
    local = local_exponents(horizons, costs)
    assert np.all(np.diff(local) < 0)
    assert local[-1] < 2.0 < local[0]


def test_lane_scenario_defaults_and_validation():
    lane = LaneScenario()
    assert (lane.slip, lane.width, lane.horizons) == (0.005, 20, (8, 16, 32, 64, 128))
    with pytest.raises(ValueError, match="horizons must hold at least 3"):
        LaneScenario(horizons=(8, 16))
    with pytest.raises(TypeError, match="learn must be callable"):
        cost_table(3, horizons=[2], n_eval=2, slip=0.1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="must be positive"):
        local_exponents([1, 2], [1.0, 0.0])
