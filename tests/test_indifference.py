"""Tests of lib.worlds.indifference: each sampler against its exact answer, properties and bad inputs."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.worlds.indifference import (
    BERTRAND_METHODS,
    CUBE_VARIABLES,
    EULER_CONVENTIONS,
    GoalWorld,
    angle_to_nearest,
    bad_deployment_share_over_behaviours,
    bad_deployment_share_over_goals,
    behaviours_of_goals,
    bertrand_probability,
    cap_probability,
    cube_probability,
    die_directions,
    indifference_probability,
    power_family_probability,
    sample_behaviours,
    sample_chord_distances,
    sample_chord_distances_power,
    sample_cube_sides,
    sample_euler_rotations,
    sample_goals,
    sample_uniform_rotations,
    up_direction_in_body,
)

N = 200_000


def _close_to(outcomes, exact):
    share = np.mean(outcomes)
    se = np.sqrt(exact * (1 - exact) / np.size(outcomes))
    return abs(share - exact) < 4 * se


@pytest.mark.parametrize("method", sorted(BERTRAND_METHODS))
def test_bertrand_samplers_match_their_exact_answers(method):
    distances = sample_chord_distances(method, N, rng=np.random.default_rng(3))
    assert _close_to(distances < 0.5, bertrand_probability(method))


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.9])
def test_endpoint_chords_follow_the_arccos_law(threshold):
    # Two uniform endpoints: the half-angle between them is uniform, so
    # P(d < t) = 1 - (2 / pi) arccos t (1/3 at t = 1/2, Bertrand's answer).
    distances = sample_chord_distances("endpoints", N, rng=np.random.default_rng(10))
    assert _close_to(distances < threshold, 1 - 2 * np.arccos(threshold) / np.pi)


@pytest.mark.parametrize("exponent", [0.2, 0.5, 1.0, 3.0])
def test_power_family_matches_closed_form(exponent):
    distances = sample_chord_distances_power(exponent, N, rng=np.random.default_rng(4))
    assert _close_to(distances < 0.5, power_family_probability(exponent))


@given(st.floats(0.01, 100), st.floats(0.01, 100))
def test_power_family_is_increasing(a, b):
    low, high = sorted((a, b))
    assert power_family_probability(low) <= power_family_probability(high)
    assert 0 < power_family_probability(low) < 1


@pytest.mark.parametrize("variable", ["side", "area", "volume"])
def test_cube_samplers_match_their_exact_answers(variable):
    sides = sample_cube_sides(variable, N, rng=np.random.default_rng(5), max_side=2.0)
    assert _close_to(sides <= 1.0, cube_probability(variable, 1.0, max_side=2.0))


def test_cube_answers_are_the_classic_three():
    assert [cube_probability(v, 0.5) for v in ("side", "area", "volume")] == [0.5, 0.25, 0.125]


@given(st.sets(st.integers(1, 6), min_size=1, max_size=5))
def test_coarse_graining_gives_one_half_to_any_event(event):
    rest = set(range(1, 7)) - event
    assert indifference_probability(event, [event, rest]) == Fraction(1, 2)
    assert indifference_probability(event, [{face} for face in range(1, 7)]) == Fraction(
        len(event), 6
    )


def test_uniform_rotations_spread_the_up_direction_uniformly():
    up = up_direction_in_body(sample_uniform_rotations(N, rng=np.random.default_rng(6)))
    np.testing.assert_allclose(np.linalg.norm(up, axis=1), 1.0)
    # A uniform unit vector has E[z^2] = 1/3; SE from the variance of z^2 (4/45).
    assert abs(np.mean(up[:, 2] ** 2) - 1 / 3) < 4 * np.sqrt(4 / 45 / N)
    near = angle_to_nearest(up, die_directions("corners")) < np.radians(10)
    assert _close_to(near, cap_probability(8, np.radians(10)))


def test_euler_angles_are_not_uniform_over_rotations():
    up = up_direction_in_body(sample_euler_rotations(N, rng=np.random.default_rng(7)))
    # z = cos(a) cos(b), so E[z^2] = 1/4, not 1/3; Var(z^2) = (3/8)^2 - 1/16 = 5/64.
    assert abs(np.mean(up[:, 2] ** 2) - 1 / 4) < 4 * np.sqrt(5 / 64 / N)


def test_die_directions_are_unit_vectors():
    for kind in ("faces", "edges", "corners"):
        np.testing.assert_allclose(np.linalg.norm(die_directions(kind), axis=1), 1.0)


def test_goal_world_counts():
    world = GoalWorld(n_proxies=5, n_train=2, n_deploy=3)
    values, horizons = np.repeat(np.arange(6), 2), np.tile([0, 1], 6)
    behaviours = behaviours_of_goals(world, values, horizons)
    good = behaviours[:, :2].all(axis=1)
    scheming = good & ~behaviours[:, 2:].all(axis=1)
    assert Fraction(int(scheming.sum()), int(good.sum())) == bad_deployment_share_over_goals(world)
    assert bad_deployment_share_over_behaviours(world) == Fraction(7, 8)


def test_goal_and_behaviour_samplers_match_exact_shares():
    world = GoalWorld(n_proxies=20)
    rng = np.random.default_rng(8)
    behaviours = behaviours_of_goals(world, *sample_goals(world, N, rng=rng))
    good = behaviours[:, :2].all(axis=1)
    assert _close_to(
        ~behaviours[good, 2:].all(axis=1), float(bad_deployment_share_over_goals(world))
    )
    uniform = sample_behaviours(world, N, rng=rng)
    good = uniform[:, :2].all(axis=1)
    assert _close_to(
        ~uniform[good, 2:].all(axis=1), float(bad_deployment_share_over_behaviours(world))
    )


def test_fixed_seed_gives_fixed_values():
    first = sample_chord_distances("radius", 3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(first, np.random.default_rng(0).uniform(0, 1, size=3))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: sample_chord_distances("diameter", 3, rng=np.random.default_rng(0)),
            ValueError,
            "method",
        ),
        (
            lambda: sample_chord_distances("radius", 0, rng=np.random.default_rng(0)),
            ValueError,
            "n must",
        ),
        (lambda: sample_chord_distances("radius", 3, rng=1), TypeError, "rng"),
        (lambda: power_family_probability(-1.0), ValueError, "exponent"),
        (
            lambda: sample_cube_sides("mass", 3, rng=np.random.default_rng(0)),
            ValueError,
            "variable",
        ),
        (
            lambda: sample_cube_sides("side", 3, rng=np.random.default_rng(0), max_side=0.0),
            ValueError,
            "max_side",
        ),
        (lambda: cube_probability("side", 2.0), ValueError, "side_threshold"),
        (lambda: indifference_probability({1}, [{1, 2}, {2, 3}]), ValueError, "disjoint"),
        (lambda: indifference_probability({1}, []), ValueError, "partition"),
        (lambda: die_directions("vertices"), ValueError, "kind"),
        (lambda: up_direction_in_body(np.eye(3)), ValueError, "rotations"),
        (
            lambda: angle_to_nearest(np.ones((2, 2)), die_directions("faces")),
            ValueError,
            "directions",
        ),
        (lambda: cap_probability(0, 0.1), ValueError, "n_caps"),
        (lambda: GoalWorld(n_proxies=-1), ValueError, "n_proxies"),
        (lambda: bad_deployment_share_over_goals("world"), TypeError, "GoalWorld"),
        (lambda: behaviours_of_goals(GoalWorld(2), [3], [0]), ValueError, "values"),
        (
            lambda: sample_chord_distances_power(0.0, 3, rng=np.random.default_rng(0)),
            ValueError,
            "exponent must be positive, got 0.0",
        ),
        (
            lambda: sample_chord_distances_power(float("nan"), 3, rng=np.random.default_rng(0)),
            ValueError,
            "exponent must be finite",
        ),
        (
            lambda: sample_chord_distances_power(1.0, 0, rng=np.random.default_rng(0)),
            ValueError,
            "n must be an integer >= 1, got 0",
        ),
        (lambda: sample_chord_distances_power(1.0, 3, rng=None), TypeError, "rng must be"),
        (lambda: sample_goals("world", 3, rng=np.random.default_rng(0)), TypeError, "GoalWorld"),
        (
            lambda: sample_goals(GoalWorld(2), 0, rng=np.random.default_rng(0)),
            ValueError,
            "n must be an integer >= 1, got 0",
        ),
        (lambda: sample_goals(GoalWorld(2), 3, rng=3), TypeError, "rng must be"),
        (
            lambda: sample_behaviours("world", 3, rng=np.random.default_rng(0)),
            TypeError,
            "GoalWorld",
        ),
        (
            lambda: sample_behaviours(GoalWorld(2), 2.5, rng=np.random.default_rng(0)),
            TypeError,
            "n must be an integer",
        ),
        (lambda: sample_behaviours(GoalWorld(2), 3, rng=3), TypeError, "rng must be"),
    ],
)
def test_bad_inputs_are_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_rotations_are_orthogonal(seed):
    rng = np.random.default_rng(seed)
    for rotations in (sample_uniform_rotations(50, rng=rng), sample_euler_rotations(50, rng=rng)):
        np.testing.assert_allclose(
            rotations @ rotations.transpose(0, 2, 1),
            np.broadcast_to(np.eye(3), (50, 3, 3)),
            atol=1e-12,
        )
        np.testing.assert_allclose(np.linalg.det(rotations), 1.0)


def test_euler_rotations_are_rx_ry_rz_of_the_drawn_angles():
    # The convention the chapter states: R = Rx(a) Ry(b) Rz(c), angles uniform on [0, 2 pi).
    from lib.worlds.indifference import sample_euler_rotations

    rotations = sample_euler_rotations(3, rng=np.random.default_rng(5))
    a, b, c = np.random.default_rng(5).uniform(0, 2 * np.pi, size=(3, 3))
    for k in range(3):
        ca, sa, cb, sb, cc, sc = (
            np.cos(a[k]),
            np.sin(a[k]),
            np.cos(b[k]),
            np.sin(b[k]),
            np.cos(c[k]),
            np.sin(c[k]),
        )
        rx = np.array([[1, 0, 0], [0, ca, -sa], [0, sa, ca]])
        ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
        rz = np.array([[cc, -sc, 0], [sc, cc, 0], [0, 0, 1]])
        np.testing.assert_allclose(rotations[k], rx @ ry @ rz, atol=1e-12)


def test_extrinsic_xyz_is_the_inverse_of_intrinsic_xyz():
    # Same angles: the extrinsic x-y-z rotation equals the transpose of the intrinsic X-Y-Z
    # rotation of the negated angles, so under uniform angles "xyz" is distributed as XYZ^T.
    from scipy.spatial.transform import Rotation

    angles = np.random.default_rng(2).uniform(0, 2 * np.pi, size=(4, 3))
    extrinsic = Rotation.from_euler("xyz", angles).as_matrix()
    intrinsic = Rotation.from_euler("XYZ", -angles).as_matrix()
    np.testing.assert_allclose(extrinsic, intrinsic.transpose(0, 2, 1), atol=1e-12)


def test_euler_conventions_give_their_exact_mean_z_squared():
    # z-component of the up direction (third row of R): XYZ cos(a) cos(b) and xyz cos(b) cos(a),
    # mean square 1/4; ZYZ cos(b), mean square 1/2; Haar (uniform on the sphere) 1/3.
    from lib.worlds.indifference import sample_haar_euler_rotations

    rng = np.random.default_rng(11)
    n = 200_000
    expected = {"XYZ": 0.25, "xyz": 0.25, "ZYZ": 0.5}
    for convention, mean in expected.items():
        z = up_direction_in_body(sample_euler_rotations(n, rng=rng, convention=convention))[:, 2]
        se = np.std(z**2) / np.sqrt(n)
        assert abs(np.mean(z**2) - mean) < 5 * se
    z = up_direction_in_body(sample_haar_euler_rotations(n, rng=rng))[:, 2]
    assert abs(np.mean(z**2) - 1 / 3) < 5 * np.std(z**2) / np.sqrt(n)


def test_haar_in_euler_angles_matches_the_cap_probabilities():
    from lib.worlds.indifference import sample_haar_euler_rotations

    n = 200_000
    rng = np.random.default_rng(3)
    for convention in ("ZYZ", "XYZ", "xyz"):
        rotations = sample_haar_euler_rotations(n, rng=rng, convention=convention)
        up = up_direction_in_body(rotations)
        for kind, caps in (("faces", 6), ("edges", 12), ("corners", 8)):
            share = np.mean(angle_to_nearest(up, die_directions(kind)) < np.radians(5))
            exact = cap_probability(caps, np.radians(5))
            assert abs(share - exact) < 5 * np.sqrt(exact * (1 - exact) / n)
    with pytest.raises(ValueError, match="convention must be one of"):
        sample_haar_euler_rotations(2, rng=rng, convention="ZXZ")


def test_every_named_cube_variable_and_euler_convention_is_accepted():
    rng = np.random.default_rng(11)
    for variable in CUBE_VARIABLES:
        assert 0 <= cube_probability(variable, 0.5) <= 1
    for convention in EULER_CONVENTIONS:
        rotations = sample_euler_rotations(3, rng=rng, convention=convention)
        assert np.allclose(rotations @ np.swapaxes(rotations, -1, -2), np.eye(3))
