"""The principle of indifference and the paradoxes that come from cutting outcomes differently.

The principle says: with no reason to favour one outcome over another, give them equal
probability. Its answer depends on which variable is made uniform, which is the source of
Bertrand's chord paradox (Bertrand, 1889), van Fraassen's cube factory (van Fraassen, 1989) and
the coarse-graining problem; Huemer (2018) proposes applying it only to the explanatorily
fundamental variable. Belrose and Pope (2024) argue that counting arguments for scheming apply it
to goals, and that the conclusion hangs on that choice. This module samples each construction and
gives its exact answer, so that a chapter can check one against the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.spatial.transform import Rotation

from ..evidence.validation import check_finite, check_generator, check_in_range, check_positive_int

__all__ = [
    "BERTRAND_METHODS",
    "CUBE_VARIABLES",
    "EULER_CONVENTIONS",
    "GoalWorld",
    "angle_to_nearest",
    "bertrand_probability",
    "behaviours_of_goals",
    "cap_probability",
    "cube_probability",
    "die_directions",
    "indifference_probability",
    "power_family_probability",
    "sample_behaviours",
    "sample_chord_distances",
    "sample_chord_distances_power",
    "sample_cube_sides",
    "sample_euler_rotations",
    "sample_goals",
    "sample_haar_euler_rotations",
    "sample_uniform_rotations",
    "bad_deployment_share_over_behaviours",
    "bad_deployment_share_over_goals",
    "up_direction_in_body",
]

# --- Bertrand's chord paradox ---------------------------------------------------------------------
# A chord of the unit circle is longer than the side of the inscribed equilateral triangle
# (sqrt 3) exactly when its distance from the centre is below 1/2; every method below is
# summarised by the distance it produces.

#: The three classic ways of choosing a chord "at random", with Bertrand's exact answers.
BERTRAND_METHODS = {
    "endpoints": Fraction(1, 3),
    "radius": Fraction(1, 2),
    "midpoint": Fraction(1, 4),
}


def _check_method(method):
    if method not in BERTRAND_METHODS:
        raise ValueError(f"method must be one of {sorted(BERTRAND_METHODS)}, got {method!r}")
    return method


def sample_chord_distances(method: str, n: int, *, rng: np.random.Generator) -> np.ndarray:
    """Return the distances from the centre of ``n`` random chords of the unit circle.

    ``"endpoints"``: two points uniform on the circle; ``"radius"``: a point uniform along a
    random radius, the chord perpendicular to it; ``"midpoint"``: the chord's midpoint uniform
    in the disc (its distance from the centre is then the square root of a uniform number).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = sample_chord_distances("endpoints", 5, rng=rng)
    >>> d.shape, bool(np.all((0 <= d) & (d <= 1)))
    ((5,), True)
    """
    method = _check_method(method)
    rng = check_generator(rng)
    n = check_positive_int(n, "n")
    if method == "endpoints":
        angles = rng.uniform(0, 2 * np.pi, size=(2, n))
        return np.abs(np.cos((angles[0] - angles[1]) / 2))
    if method == "radius":
        return rng.uniform(0, 1, size=n)
    return np.sqrt(rng.uniform(0, 1, size=n))


def bertrand_probability(method: str) -> float:
    """Return the exact chance that a chord chosen by ``method`` is longer than sqrt 3.

    Examples
    --------
    >>> [round(bertrand_probability(m), 4) for m in ("endpoints", "radius", "midpoint")]
    [0.3333, 0.5, 0.25]
    """
    return float(BERTRAND_METHODS[_check_method(method)])


def sample_chord_distances_power(
    exponent: float, n: int, *, rng: np.random.Generator
) -> np.ndarray:
    """Return chord distances ``U**exponent`` with U uniform: indifference over ``d**(1/exponent)``.

    ``exponent=1`` is the random-radius method and ``exponent=0.5`` the random-midpoint method;
    each exponent is "indifference" over a different description of the same chord.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sample_chord_distances_power(2.0, 3, rng=rng).shape
    (3,)
    >>> sample_chord_distances_power(0.0, 3, rng=rng)
    Traceback (most recent call last):
    ...
    ValueError: exponent must be positive, got 0.0
    """
    rng = check_generator(rng)
    exponent = check_finite(exponent, "exponent")
    if exponent <= 0:
        raise ValueError(f"exponent must be positive, got {exponent}")
    n = check_positive_int(n, "n")
    return rng.uniform(0, 1, size=n) ** exponent


def power_family_probability(exponent) -> np.ndarray | float:
    """Return P(distance < 1/2) = 2**(-1/exponent) for :func:`sample_chord_distances_power`.

    As ``exponent`` runs over (0, inf) the answer runs over all of (0, 1).

    Examples
    --------
    >>> power_family_probability(1.0), power_family_probability(0.5)
    (0.5, 0.25)
    """
    exponent = np.asarray(exponent, dtype=float)
    if not np.all(np.isfinite(exponent)) or np.any(exponent <= 0):
        raise ValueError(f"exponent must be positive and finite, got {exponent}")
    result = 2.0 ** (-1.0 / exponent)
    return float(result) if result.ndim == 0 else result


# --- van Fraassen's cube factory --------------------------------------------------------------------

#: Each description of a cube's size, with the power of the side it is.
CUBE_VARIABLES = {"side": 1, "area": 2, "volume": 3}


def _check_variable(variable):
    if variable not in CUBE_VARIABLES:
        raise ValueError(f"variable must be one of {sorted(CUBE_VARIABLES)}, got {variable!r}")
    return variable


def sample_cube_sides(
    variable: str, n: int, *, rng: np.random.Generator, max_side: float = 1.0
) -> np.ndarray:
    """Return the sides of ``n`` cubes when ``variable`` is uniform on (0, max_side**power].

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sides = sample_cube_sides("volume", 4, rng=rng)
    >>> sides.shape, bool(np.all((0 < sides) & (sides <= 1)))
    ((4,), True)
    """
    power = CUBE_VARIABLES[_check_variable(variable)]
    rng = check_generator(rng)
    n = check_positive_int(n, "n")
    max_side = check_finite(max_side, "max_side")
    if max_side <= 0:
        raise ValueError(f"max_side must be positive, got {max_side}")
    # 1 - U is uniform on (0, 1], so a side of exactly 0 cannot occur.
    value = (1 - rng.uniform(0, 1, size=n)) * max_side**power
    return value ** (1 / power)


def cube_probability(variable: str, side_threshold: float, max_side: float = 1.0) -> float:
    """Return P(side <= side_threshold) when ``variable`` is uniform: ``(t / max_side)**power``.

    Examples
    --------
    >>> [cube_probability(v, 0.5) for v in ("side", "area", "volume")]
    [0.5, 0.25, 0.125]
    """
    power = CUBE_VARIABLES[_check_variable(variable)]
    max_side = check_finite(max_side, "max_side")
    if max_side <= 0:
        raise ValueError(f"max_side must be positive, got {max_side}")
    side_threshold = check_in_range(side_threshold, "side_threshold", 0, max_side)
    return (side_threshold / max_side) ** power


# --- Coarse-graining ------------------------------------------------------------------------------


def indifference_probability(event, partition) -> Fraction:
    """Return the share of the partition's cells that make up ``event``: indifference over cells.

    Parameters
    ----------
    event : iterable of outcomes
        Must be a union of cells of ``partition``.
    partition : sequence of iterables of outcomes
        Disjoint, non-empty cells.

    Examples
    --------
    >>> faces = [{1}, {2}, {3}, {4}, {5}, {6}]
    >>> indifference_probability({6}, faces)
    Fraction(1, 6)
    >>> indifference_probability({6}, [{6}, {1, 2, 3, 4, 5}])
    Fraction(1, 2)
    >>> indifference_probability({5, 6}, [{6}, {1, 2, 3, 4, 5}])
    Traceback (most recent call last):
    ...
    ValueError: event must be a union of cells of partition, got {5, 6}
    """
    cells = [frozenset(cell) for cell in partition]
    if not cells or any(not cell for cell in cells):
        raise ValueError(
            f"partition must be a non-empty sequence of non-empty cells, got {partition!r}"
        )
    if sum(len(cell) for cell in cells) != len(frozenset().union(*cells)):
        raise ValueError(f"partition's cells must be disjoint, got {partition!r}")
    event = frozenset(event)
    inside = [cell for cell in cells if cell <= event]
    if frozenset().union(*inside) != event:
        raise ValueError(f"event must be a union of cells of partition, got {set(event)}")
    return Fraction(len(inside), len(cells))


# --- The orientation of a die -----------------------------------------------------------------


def sample_uniform_rotations(n: int, *, rng: np.random.Generator) -> np.ndarray:
    """Return ``n`` rotation matrices drawn uniformly (Haar measure), shape ``(n, 3, 3)``.

    SciPy's :meth:`scipy.spatial.transform.Rotation.random` draws them (as normalised
    standard-normal quaternions, which are uniform on the unit sphere in four dimensions).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = sample_uniform_rotations(2, rng=rng)
    >>> np.allclose(r @ r.transpose(0, 2, 1), np.eye(3)), np.allclose(np.linalg.det(r), 1)
    (True, True)
    """
    rng = check_generator(rng)
    n = check_positive_int(n, "n")
    return Rotation.random(n, rng=rng).as_matrix()


#: Conventions for "uniform over the three rotation angles", each a SciPy Euler sequence:
#: ``"XYZ"`` turns about the die's own axes x, y, z in turn (intrinsic), ``"xyz"`` about the
#: table's fixed axes (extrinsic), ``"ZYZ"`` is the proper Euler angles of rigid-body mechanics.
EULER_CONVENTIONS = ("XYZ", "xyz", "ZYZ")


def sample_euler_rotations(
    n: int, *, rng: np.random.Generator, convention: str = "XYZ"
) -> np.ndarray:
    """Return ``n`` rotations whose three Euler angles are each uniform on [0, 2 pi).

    This is indifference "over the three axes of rotation"; it is *not* the uniform (Haar)
    distribution over rotations, and which distribution it is depends on ``convention``
    (:data:`EULER_CONVENTIONS`). The default ``"XYZ"`` (intrinsic) is ``Rx(a) Ry(b) Rz(c)``;
    ``"xyz"`` (extrinsic) is ``Rz(c) Ry(b) Rx(a)``, whose distribution is that of the inverse of
    an ``"XYZ"`` rotation; ``"ZYZ"`` is ``Rz(a) Ry(b) Rz(c)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = sample_euler_rotations(2, rng=rng)
    >>> np.allclose(r @ r.transpose(0, 2, 1), np.eye(3))
    True
    >>> sample_euler_rotations(2, rng=rng, convention="XYX")
    Traceback (most recent call last):
    ...
    ValueError: convention must be one of ('XYZ', 'xyz', 'ZYZ'), got 'XYX'
    """
    rng = check_generator(rng)
    n = check_positive_int(n, "n")
    if convention not in EULER_CONVENTIONS:
        raise ValueError(f"convention must be one of {EULER_CONVENTIONS}, got {convention!r}")
    angles = rng.uniform(0, 2 * np.pi, size=(3, n))
    return Rotation.from_euler(convention, angles.T).as_matrix()


def sample_haar_euler_rotations(
    n: int, *, rng: np.random.Generator, convention: str = "ZYZ"
) -> np.ndarray:
    """Return ``n`` uniform (Haar) rotations drawn through Euler angles in ``convention``.

    Written in Euler angles, the Haar measure is not uniform in the middle angle ``b``: its
    density is proportional to ``sin b`` on [0, pi] for ``"ZYZ"`` (so ``cos b`` is uniform on
    [-1, 1]) and to ``cos b`` on [-pi/2, pi/2] for ``"XYZ"`` and ``"xyz"`` (so ``sin b`` is
    uniform); the outer angles stay uniform on [0, 2 pi). Indifference over the angles *with
    this Jacobian* gives the uniform orientation in every convention. The function runs the
    same Euler-angle code as :func:`sample_euler_rotations` and differs only in the middle angle.

    Examples
    --------
    >>> r = sample_haar_euler_rotations(3, rng=np.random.default_rng(0))
    >>> r.shape, bool(np.allclose(np.linalg.det(r), 1))
    ((3, 3, 3), True)
    """
    rng = check_generator(rng)
    n = check_positive_int(n, "n")
    if convention not in EULER_CONVENTIONS:
        raise ValueError(f"convention must be one of {EULER_CONVENTIONS}, got {convention!r}")
    outer = rng.uniform(0, 2 * np.pi, size=(2, n))
    uniform = rng.uniform(-1, 1, size=n)
    middle = np.arccos(uniform) if convention == "ZYZ" else np.arcsin(uniform)
    angles = np.stack([outer[0], middle, outer[1]], axis=1)
    return Rotation.from_euler(convention, angles).as_matrix()


def up_direction_in_body(rotations) -> np.ndarray:
    """Return, for each rotation (body to world), the body-frame direction pointing up.

    It is ``R.T @ e_z``, the third row of ``R``.

    Examples
    --------
    >>> up_direction_in_body(np.eye(3)[None])
    array([[0., 0., 1.]])
    """
    rotations = np.asarray(rotations, dtype=float)
    if rotations.ndim != 3 or rotations.shape[1:] != (3, 3):
        raise ValueError(f"rotations must have shape (n, 3, 3), got {rotations.shape}")
    return rotations[:, 2, :]


def die_directions(kind: str) -> np.ndarray:
    """Return unit vectors from a cube's centre to its face centres, edge midpoints or corners.

    Examples
    --------
    >>> [die_directions(k).shape[0] for k in ("faces", "edges", "corners")]
    [6, 12, 8]
    """
    grid = np.array(np.meshgrid([-1, 0, 1], [-1, 0, 1], [-1, 0, 1])).reshape(3, -1).T
    n_nonzero = np.count_nonzero(grid, axis=1)
    wanted = {"faces": 1, "edges": 2, "corners": 3}
    if kind not in wanted:
        raise ValueError(f"kind must be one of {sorted(wanted)}, got {kind!r}")
    chosen = grid[n_nonzero == wanted[kind]].astype(float)
    return chosen / np.linalg.norm(chosen, axis=1, keepdims=True)


def angle_to_nearest(directions, axes) -> np.ndarray:
    """Return the angle (radians) from each unit vector in ``directions`` to its nearest axis.

    Examples
    --------
    >>> angle_to_nearest(np.array([[0.0, 0.0, 1.0]]), die_directions("faces"))
    array([0.])
    """
    directions = np.asarray(directions, dtype=float)
    axes = np.asarray(axes, dtype=float)
    if directions.ndim != 2 or directions.shape[1] != 3 or axes.ndim != 2 or axes.shape[1] != 3:
        raise ValueError(
            f"directions and axes must have shape (n, 3), got {directions.shape}, {axes.shape}"
        )
    cosine = np.clip((directions @ axes.T).max(axis=1), -1.0, 1.0)
    return np.arccos(cosine)


def cap_probability(n_caps: int, angle: float) -> float:
    """Return the chance a uniform unit vector lies within ``angle`` of one of ``n_caps`` axes.

    Each spherical cap of angular radius ``angle`` covers ``(1 - cos angle) / 2`` of the sphere;
    the caps must not overlap (true for each of the die's three sets of axes below 30 degrees).

    Examples
    --------
    >>> round(cap_probability(6, np.radians(5)), 5)
    0.01142
    >>> round(cap_probability(8, np.radians(5)), 5)
    0.01522
    """
    n_caps = check_positive_int(n_caps, "n_caps")
    angle = check_in_range(angle, "angle", 0, np.pi)
    return float(n_caps * (1 - np.cos(angle)) / 2)


# --- Goals versus behaviours ---------------------------------------------------------------------


@dataclass(frozen=True)
class GoalWorld:
    """A toy in which a goal determines a behaviour, many goals to one behaviour.

    A goal is a pair (what it values, horizon): value 0 is the intended goal, values
    ``1..n_proxies`` are proxies; horizon 0 is short, 1 is long. A behaviour is the good (1) or
    bad (0) action in each of ``n_train`` training situations then ``n_deploy`` deployment
    situations. The toy's "goal-achieving engine": the intended goal acts well everywhere; a
    long-horizon proxy acts well in training (to keep its goal) and badly in deployment, i.e. it
    schemes; a short-horizon proxy acts badly everywhere and is caught in training.
    """

    n_proxies: int = 20
    n_train: int = 2
    n_deploy: int = 2

    def __post_init__(self):
        check_positive_int(self.n_proxies, "n_proxies", minimum=0)
        check_positive_int(self.n_train, "n_train")
        check_positive_int(self.n_deploy, "n_deploy")

    @property
    def n_goals(self) -> int:
        """Number of goals: ``2 * (n_proxies + 1)``."""
        return 2 * (self.n_proxies + 1)


def _check_world(world):
    if not isinstance(world, GoalWorld):
        raise TypeError(f"world must be a GoalWorld, got {world!r}")
    return world


def behaviours_of_goals(world: GoalWorld, values, horizons) -> np.ndarray:
    """Return the behaviour (one row of 0/1 actions) each goal ``(value, horizon)`` produces.

    Examples
    --------
    >>> behaviours_of_goals(GoalWorld(3), [0, 2, 2], [0, 1, 0])
    array([[1, 1, 1, 1],
           [1, 1, 0, 0],
           [0, 0, 0, 0]])
    """
    world = _check_world(world)
    values, horizons = np.asarray(values), np.asarray(horizons)
    if values.shape != horizons.shape or values.ndim != 1:
        raise ValueError(
            f"values and horizons must be 1-d of one shape, got {values.shape}, {horizons.shape}"
        )
    if np.any((values < 0) | (values > world.n_proxies)) or np.any(
        (horizons != 0) & (horizons != 1)
    ):
        raise ValueError(f"values must be in [0, {world.n_proxies}] and horizons in {{0, 1}}")
    intended, long = values == 0, horizons == 1
    train = np.repeat((intended | long)[:, None], world.n_train, axis=1)
    deploy = np.repeat(intended[:, None], world.n_deploy, axis=1)
    return np.hstack([train, deploy]).astype(int)


def sample_goals(
    world: GoalWorld, n: int, *, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``n`` goals ``(values, horizons)`` drawn uniformly from the world's goals.

    Examples
    --------
    >>> values, horizons = sample_goals(GoalWorld(3), 5, rng=np.random.default_rng(0))
    >>> values.shape, set(horizons.tolist()) <= {0, 1}
    ((5,), True)
    """
    world = _check_world(world)
    rng = check_generator(rng)
    n = check_positive_int(n, "n")
    return rng.integers(0, world.n_proxies + 1, size=n), rng.integers(0, 2, size=n)


def sample_behaviours(world: GoalWorld, n: int, *, rng: np.random.Generator) -> np.ndarray:
    """Return ``n`` behaviours drawn uniformly from all ``2**(n_train + n_deploy)`` behaviours.

    Examples
    --------
    >>> sample_behaviours(GoalWorld(3), 2, rng=np.random.default_rng(0)).shape
    (2, 4)
    """
    world = _check_world(world)
    rng = check_generator(rng)
    n = check_positive_int(n, "n")
    return rng.integers(0, 2, size=(n, world.n_train + world.n_deploy))


def bad_deployment_share_over_goals(world: GoalWorld) -> Fraction:
    """Return P(bad in deployment | good in training) under indifference over goals: ``K / (K + 2)``.

    Of the ``2 (K + 1)`` goals, the ``K`` short-horizon proxies fail training; of the ``K + 2``
    left, the ``K`` long-horizon proxies act badly in deployment. (In the toy these are the
    goals that scheme, so here the share of bad deployment behaviour is also the share of
    schemers; over behaviours it is not, since behaviours carry no goals.)

    Examples
    --------
    >>> bad_deployment_share_over_goals(GoalWorld(20))
    Fraction(10, 11)
    """
    world = _check_world(world)
    return Fraction(world.n_proxies, world.n_proxies + 2)


def bad_deployment_share_over_behaviours(world: GoalWorld) -> Fraction:
    """Return P(bad somewhere in deployment | good in training) under indifference over behaviours.

    All ``2**n_deploy`` deployment patterns are equally likely after good training, and all but
    one contain a bad action: ``1 - 2**(-n_deploy)``.

    Examples
    --------
    >>> bad_deployment_share_over_behaviours(GoalWorld(20))
    Fraction(3, 4)
    """
    world = _check_world(world)
    return 1 - Fraction(1, 2**world.n_deploy)
