"""Invariant prediction from environment labels: IRMv1, V-REx and group DRO against ERM.

Given data from several training *environments*, each method trains one predictor for all of
them but uses the environment labels differently:

* **ERM** ignores them: it minimises the average of the environments' risks.
* **IRMv1** (Arjovsky et al. 2019) adds, for each environment, the squared gradient of its risk
  with respect to a scalar multiplier ``s`` of the logits at ``s = 1``: zero when rescaling the
  predictor could not lower that environment's risk, that is when the same classifier is optimal
  in every environment.
* **V-REx** (Krueger et al. 2021) adds the variance of the environments' risks.
* **Group DRO** (Sagawa et al. 2020) minimises the worst environment's risk, by the online
  algorithm of that paper: weights on the environments grow exponentially with their risks.

Penalties follow the reference code of Arjovsky et al. for Coloured MNIST: penalty weight 1 for
the first ``anneal_steps`` steps, then ``penalty_weight``, with the whole loss divided by
``penalty_weight`` from then on; an L2 penalty on all parameters; full-batch Adam.

The network is :mod:`lib.learners.networks`'. The penalties are functions of per-example
logits ``f_i``, so the gradient of every objective here is ``sum_i c_i df_i/dtheta`` with
per-example coefficients ``c_i = dJ/df_i`` (for IRMv1, ``c_i = 2 g_e [sigma'(f_i) f_i + sigma(f_i)
- y_i] / n_e``, with ``g_e`` the environment's scale gradient). This module computes those
coefficients and the reference code's schedule; :mod:`lib.learners.networks` turns them into
parameter gradients (its back-propagation, for a linear-logistic model or a ReLU network) and
takes the Adam steps. :func:`fit_settings` trains several settings (methods, penalty weights,
schedules) in one stack along the network's model axis, each as it would train alone.
:func:`fit_partitions` does the same for runs whose environments are different partitions of the
same examples (each run's environments are weights over them), with one pass over the examples a
step for all runs. Every objective's gradient is tested against finite differences
(``scipy.optimize.check_grad``) in ``tests/test_invariance.py``.

The module also holds the closed forms of the linear structural model that opens Arjovsky et
al.'s argument (:func:`sem_coefficients`), in which only the regression on the cause of ``Y`` is
the same in every environment.

Examples
--------
>>> sem_coefficients(1.0)["both"]
(0.5, 0.5)
>>> network = init_network(3, (), n_models=2, rng=np.random.default_rng(0))
>>> method_objective(network, [(np.zeros((2, 5, 3)), np.ones((2, 5)))], method="erm")[0].round(4)
array([0.6931, 0.6931])
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from ..evidence.validation import (
    check_finite,
    check_finite_array,
    check_generator,
    check_positive_int,
    check_probabilities,
    check_probability,
)
from ..worlds.coloured_digits import colour_digits, grey_features, split_pool
from .networks import (
    Network,
    _adam_step,
    _backward,
    _forward,
    _transposed_inputs,
    forward,
    init_adam,
    init_network,  # noqa: F401 (the doctests build networks with it)
    per_example_loss,
    stack_networks,
)

__all__ = [
    "INVARIANCE_METHODS",
    "SETTING_OPTIONS",
    "Environment",
    "append_cue",
    "mix_environments",
    "pool_and_resplit",
    "split_by_loss",
    "sample_coloured_environments",
    "sample_shared_environments",
    "accuracy",
    "environment_risks",
    "fit",
    "fit_and_score",
    "fit_partitions",
    "fit_settings",
    "fit_least_squares",
    "join_environments",
    "method_objective",
    "sample_sem",
    "sem_coefficients",
    "trace_training",
    "train_method",
]

#: Training methods understood by :func:`method_objective` and :func:`train_method`.
INVARIANCE_METHODS = ("erm", "irm", "vrex", "dro")


# --- The linear structural model -------------------------------------------------------------


def sem_coefficients(sigma, *, x2_noise: float = 1.0) -> dict:
    """Return the population least-squares coefficients of ``Y`` on ``X1``, ``X2`` and both.

    The model, after the example of Arjovsky et al. (2019): ``X1 ~ N(0, sigma^2)``,
    ``Y = X1 + N(0, sigma^2)``, ``X2 = Y + N(0, x2_noise^2)``, all noises independent; an
    environment is a value of ``sigma``. ``X1`` causes ``Y``; ``X2`` is an effect of ``Y``.
    With ``a = sigma^2`` and ``c = x2_noise^2``:

    * on ``X1`` alone the coefficient is 1 (``Y``'s mechanism), whatever ``sigma``;
    * on ``X2`` alone it is ``2a / (2a + c)``;
    * on both it is ``(c / (a + c), a / (a + c))``.

    Parameters
    ----------
    sigma : float
        The environment's noise scale, positive.
    x2_noise : float
        Standard deviation of the noise in ``X2``, positive.

    Returns
    -------
    dict
        ``{"x1": (beta,), "x2": (beta,), "both": (alpha, beta)}``, tuples of floats.

    Examples
    --------
    >>> sem_coefficients(2.0)
    {'x1': (1.0,), 'x2': (0.8888888888888888,), 'both': (0.2, 0.8)}
    """
    sigma = _check_positive(sigma, "sigma")
    noise = _check_positive(x2_noise, "x2_noise")
    a, c = sigma**2, noise**2
    return {"x1": (1.0,), "x2": (2 * a / (2 * a + c),), "both": (c / (a + c), a / (a + c))}


def sample_sem(n, sigma, *, x2_noise: float = 1.0, rng: np.random.Generator):
    """Draw ``n`` examples of the linear structural model of :func:`sem_coefficients`.

    Returns
    -------
    inputs : ndarray, shape (n, 2)
        Columns ``X1`` and ``X2``.
    target : ndarray, shape (n,)
        ``Y``.

    Examples
    --------
    >>> x, y = sample_sem(4, 1.0, rng=np.random.default_rng(0))
    >>> x.shape, y.shape
    ((4, 2), (4,))
    """
    n = check_positive_int(n, "n")
    sigma = _check_positive(sigma, "sigma")
    noise = _check_positive(x2_noise, "x2_noise")
    rng = check_generator(rng)
    draws = rng.standard_normal((3, n))
    x1 = sigma * draws[0]
    y = x1 + sigma * draws[1]
    x2 = y + noise * draws[2]
    return np.column_stack([x1, x2]), y


def fit_least_squares(inputs, target) -> np.ndarray:
    """Return the least-squares coefficients of ``target`` on the columns of ``inputs``.

    No intercept: the structural model's variables have mean zero. A thin wrapper around
    :func:`numpy.linalg.lstsq` that validates its inputs.

    Examples
    --------
    >>> fit_least_squares([[1.0], [2.0]], [2.0, 4.0])
    array([2.])
    """
    inputs = check_finite_array(inputs, "inputs")
    target = check_finite_array(target, "target")
    if inputs.ndim == 1:
        inputs = inputs[:, None]
    if inputs.ndim != 2 or target.shape != (inputs.shape[0],):
        raise ValueError(
            f"inputs must be (n, k) and target (n,), got {inputs.shape} and {target.shape}"
        )
    if inputs.shape[0] < inputs.shape[1]:
        raise ValueError(f"need at least as many rows as columns, got shape {inputs.shape}")
    return np.linalg.lstsq(inputs, target, rcond=None)[0]


# --- Coloured-digit environments, one slice per seed -----------------------------------------


@dataclass(frozen=True)
class Environment:
    """One environment's examples for ``n_seeds`` independent replicates, stacked.

    Attributes
    ----------
    features : ndarray, shape (n_seeds, n, 128) or (n_seeds, n, 129)
        Coloured images (:mod:`lib.worlds.coloured_digits`), with one extra 0/1 column after
        :func:`append_cue`.
    grey : ndarray, shape (n_seeds, n, 64)
        The same images without colour (and without the extra cue).
    label, colour : ndarray of int, shape (n_seeds, n)
    """

    features: np.ndarray
    grey: np.ndarray
    label: np.ndarray
    colour: np.ndarray

    def pair(self, *, grey: bool = False) -> tuple:
        """Return ``(inputs, labels)``, as :func:`train_method` and :func:`accuracy` take them."""
        return (self.grey if grey else self.features), self.label


def sample_coloured_environments(
    images,
    digits,
    agreements,
    *,
    fractions,
    label_noise: float,
    n_seeds,
    rng: np.random.Generator,
) -> list:
    """Split the digit pool into disjoint environments and colour each, for ``n_seeds`` seeds.

    For every seed the pool is split afresh (:func:`lib.worlds.coloured_digits.split_pool`), so no
    image is in two environments of the same seed, and each part is coloured with its
    environment's agreement (:func:`lib.worlds.coloured_digits.colour_digits`).

    Parameters
    ----------
    images, digits : array_like
        From :func:`lib.worlds.coloured_digits.load_digit_pool`.
    agreements : sequence of float
        Probability that colour agrees with the label, per environment.
    fractions : sequence of float
        Share of the pool per environment, as for ``split_pool``.
    label_noise : float
    n_seeds : int
    rng : numpy.random.Generator

    Returns
    -------
    list of Environment

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> train_a, test = sample_coloured_environments(
    ...     images, digits, (0.9, 0.1), fractions=(0.5, 0.5), label_noise=0.25, n_seeds=2,
    ...     rng=np.random.default_rng(0))
    >>> train_a.features.shape, test.grey.shape
    ((2, 898, 128), (2, 898, 64))
    """
    agreements = check_probabilities(agreements, "agreements")
    if agreements.ndim != 1 or agreements.size == 0:
        raise ValueError(f"agreements must be a non-empty 1-d sequence, got {agreements}")
    shares = check_finite_array(fractions, "fractions")
    if shares.shape != agreements.shape:
        raise ValueError(
            f"fractions must have one entry per environment ({agreements.size}), got {fractions}"
        )
    label_noise = check_probability(label_noise, "label_noise")
    n_seeds = check_positive_int(n_seeds, "n_seeds")
    rng = check_generator(rng)
    images = np.asarray(images, dtype=np.float64)
    digits = np.asarray(digits)
    drawn = [[] for _ in agreements]
    for _ in range(n_seeds):
        parts = split_pool(len(digits), shares, rng=rng)
        for k, (part, p) in enumerate(zip(parts, agreements)):
            drawn[k].append(
                colour_digits(
                    images[part], digits[part], p_agree=p, label_noise=label_noise, rng=rng
                )
            )
    environments = []
    for data in drawn:
        features = np.stack([d.features for d in data])
        label = np.stack([d.label for d in data])
        environments.append(
            Environment(
                features=features,
                grey=np.stack([grey_features(d) for d in data]),
                label=label,
                colour=np.stack([d.colour for d in data]),
            )
        )
    return environments


def sample_shared_environments(
    images,
    digits,
    agreements,
    *,
    test_agreement: float,
    train_fraction: float,
    label_noise: float,
    n_seeds,
    rng: np.random.Generator,
) -> list:
    """Training environments that all hold the same images, coloured independently; and a test.

    For every seed the pool is split once into training images (``train_fraction`` of it) and
    test images (the rest). Each training environment colours *all* the training images
    afresh (its own label-noise and colour draws, :func:`lib.worlds.coloured_digits.colour_digits`),
    so it has as many examples as the training images, twice what a disjoint split into two
    gives; the test environment colours the test images. This tests whether the number of
    examples per environment, not the number of distinct images, limits the penalties.

    Parameters
    ----------
    images, digits : array_like
        From :func:`lib.worlds.coloured_digits.load_digit_pool`.
    agreements : sequence of float
        Probability that colour agrees with the label, per training environment.
    test_agreement : float
    train_fraction : float
        Share of the pool used for training, in (0, 1).
    label_noise : float
    n_seeds : int
    rng : numpy.random.Generator

    Returns
    -------
    list of Environment
        The training environments, then the test environment.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> *train, test = sample_shared_environments(
    ...     images, digits, (0.9, 0.8), test_agreement=0.1, train_fraction=0.8,
    ...     label_noise=0.25, n_seeds=2, rng=np.random.default_rng(0))
    >>> train[0].features.shape, test.features.shape
    ((2, 1437, 128), (2, 359, 128))
    >>> bool(np.array_equal(train[0].grey, train[1].grey))
    True
    """
    agreements = check_probabilities(agreements, "agreements")
    if agreements.ndim != 1 or agreements.size == 0:
        raise ValueError(f"agreements must be a non-empty 1-d sequence, got {agreements}")
    test_agreement = check_probability(test_agreement, "test_agreement")
    train_fraction = check_finite(train_fraction, "train_fraction")
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    label_noise = check_probability(label_noise, "label_noise")
    n_seeds = check_positive_int(n_seeds, "n_seeds")
    rng = check_generator(rng)
    images = np.asarray(images, dtype=np.float64)
    digits = np.asarray(digits)
    drawn = [[] for _ in range(agreements.size + 1)]
    for _ in range(n_seeds):
        train, test = split_pool(len(digits), (train_fraction, 1 - train_fraction), rng=rng)
        parts = [train] * agreements.size + [test]
        for k, (part, p) in enumerate(zip(parts, (*agreements, test_agreement))):
            drawn[k].append(
                colour_digits(
                    images[part], digits[part], p_agree=p, label_noise=label_noise, rng=rng
                )
            )
    return [
        Environment(
            features=np.stack([d.features for d in data]),
            grey=np.stack([grey_features(d) for d in data]),
            label=np.stack([d.label for d in data]),
            colour=np.stack([d.colour for d in data]),
        )
        for data in drawn
    ]


def append_cue(environments, agreements, *, rng: np.random.Generator) -> list:
    """Return the environments with one more feature: a 0/1 cue equal to the label or not.

    In environment ``k`` the cue equals the label with probability ``agreements[k]``, drawn
    independently of everything else: a second spurious feature, added to the very same
    examples, so that a comparison with and without the cue is paired example by example.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> envs = sample_coloured_environments(
    ...     images, digits, (0.9, 0.1), fractions=(0.5, 0.5), label_noise=0.25, n_seeds=1,
    ...     rng=np.random.default_rng(0))
    >>> cued = append_cue(envs, (1.0, 0.0), rng=np.random.default_rng(1))
    >>> cued[0].features.shape
    (1, 898, 129)
    >>> bool(np.all(cued[0].features[..., -1] == cued[0].label))
    True
    """
    rng = check_generator(rng)
    if len(environments) < 1 or not all(isinstance(e, Environment) for e in environments):
        raise TypeError("environments must be a non-empty sequence of Environment")
    agreements = check_probabilities(agreements, "agreements")
    if agreements.shape != (len(environments),):
        raise ValueError(
            f"agreements must have one entry per environment ({len(environments)}), "
            f"got {agreements}"
        )
    result = []
    for env, p in zip(environments, agreements):
        agree = rng.random(env.label.shape) < p
        cue = np.where(agree, env.label, 1 - env.label).astype(np.float64)
        features = np.concatenate([env.features, cue[..., None]], axis=2)
        result.append(
            Environment(features=features, grey=env.grey, label=env.label, colour=env.colour)
        )
    return result


def join_environments(environments) -> Environment:
    """Return the environments' examples pooled into one, in order (each seed's, side by side).

    The shared examples over which the ``membership`` of :func:`pool_and_resplit`,
    :func:`mix_environments` and :func:`split_by_loss` is given, for :func:`fit_partitions`.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> envs = sample_coloured_environments(
    ...     images, digits, (0.9, 0.1), fractions=(0.5, 0.5), label_noise=0.0, n_seeds=2,
    ...     rng=np.random.default_rng(0))
    >>> join_environments(envs).features.shape
    (2, 1796, 128)
    """
    if len(environments) < 1 or not all(isinstance(e, Environment) for e in environments):
        raise TypeError("environments must be a non-empty sequence of Environment")
    pooled = environments[0]
    for env in environments[1:]:
        pooled = _join(pooled, env)
    return pooled


def _membership(rows, n_total):
    # 0/1 weights over the pooled examples, shape (n_seeds, n_total): 1 on each seed's rows.
    weights = np.zeros((rows.shape[0], n_total))
    np.put_along_axis(weights, rows, 1.0, axis=1)
    return weights


def _check_membership_flag(membership):
    if not isinstance(membership, bool):
        raise TypeError(f"membership must be True or False, got {membership!r}")


def pool_and_resplit(environments, *, rng: np.random.Generator, membership: bool = False) -> list:
    """Pool the given environments and deal the examples back at random, keeping the sizes.

    The examples are exactly the same; only the environment labels change, so any difference
    a method shows between the original and the re-dealt environments is what the labels gave.
    With ``membership=True`` it returns ``(environments, weights)``: ``weights`` holds, per new
    environment, 0/1 weights of shape ``(n_seeds, n_pooled)`` over the examples of
    :func:`join_environments` (``environments`` pooled), marking the examples dealt to it
    (for :func:`fit_partitions`). The random draws are the same either way.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> envs = sample_coloured_environments(
    ...     images, digits, (1.0, 0.0), fractions=(0.5, 0.5), label_noise=0.0, n_seeds=1,
    ...     rng=np.random.default_rng(0))
    >>> [float(np.mean(e.colour == e.label)) for e in envs]
    [1.0, 0.0]
    >>> mixed = pool_and_resplit(envs, rng=np.random.default_rng(1))
    >>> [round(float(np.mean(e.colour == e.label)), 1) for e in mixed]
    [0.5, 0.5]
    """
    rng = check_generator(rng)
    _check_membership_flag(membership)
    if len(environments) < 1 or not all(isinstance(e, Environment) for e in environments):
        raise TypeError("environments must be a non-empty sequence of Environment")
    sizes = [e.label.shape[1] for e in environments]
    fields = ("features", "grey", "label", "colour")
    pooled = {
        name: np.concatenate([getattr(e, name) for e in environments], axis=1) for name in fields
    }
    n_seeds, n_total = pooled["label"].shape
    order = np.argsort(rng.random((n_seeds, n_total)), axis=1)
    edges = np.concatenate([[0], np.cumsum(sizes)])
    result, weights = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        rows = order[:, a:b]
        picked = {
            name: np.take_along_axis(value, rows if value.ndim == 2 else rows[..., None], axis=1)
            for name, value in pooled.items()
        }
        result.append(Environment(**picked))
        weights.append(_membership(rows, n_total))
    return (result, weights) if membership else result


def _check_two_equal(environments):
    if len(environments) != 2 or not all(isinstance(e, Environment) for e in environments):
        raise TypeError("environments must be a sequence of two Environment instances")
    sizes = [e.label.shape for e in environments]
    if sizes[0] != sizes[1]:
        raise ValueError(f"the two environments must have equal shapes, got {sizes}")


def _take(env: Environment, rows) -> Environment:
    # Each seed's examples in the order ``rows`` gives, shape (n_seeds, m).
    fields = {}
    for name in ("features", "grey", "label", "colour"):
        value = getattr(env, name)
        fields[name] = np.take_along_axis(value, rows if value.ndim == 2 else rows[..., None], 1)
    return Environment(**fields)


def _join(first: Environment, second: Environment) -> Environment:
    return Environment(
        **{
            name: np.concatenate([getattr(first, name), getattr(second, name)], axis=1)
            for name in ("features", "grey", "label", "colour")
        }
    )


def mix_environments(
    environments, keep, *, rng: np.random.Generator, membership: bool = False
) -> list:
    """Return two environments whose labels are right for a share ``keep`` of the examples.

    Environment labels that are hard to come by are often partly wrong. From each of two
    environments of equal size, a random ``round((1 - keep) * n)`` examples per seed are swapped
    into the other, so that after the swap a share ``keep`` of each environment's examples truly
    came from it. ``keep = 1`` returns the environments unchanged, ``keep = 0.5`` deals them at
    random (as :func:`pool_and_resplit` does, in distribution) and ``keep = 0`` exchanges the
    labels.

    Parameters
    ----------
    environments : sequence of two Environment, of equal shapes
    keep : float in [0, 1]
    rng : numpy.random.Generator
    membership : bool
        Also return, per new environment, 0/1 weights over the examples of
        :func:`join_environments` (as :func:`pool_and_resplit` does); the draws are the same.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> envs = sample_coloured_environments(
    ...     images, digits, (1.0, 0.0), fractions=(0.5, 0.5), label_noise=0.0, n_seeds=1,
    ...     rng=np.random.default_rng(0))
    >>> mixed = mix_environments(envs, 0.75, rng=np.random.default_rng(1))
    >>> [round(float(np.mean(e.colour == e.label)), 2) for e in mixed]
    [0.75, 0.25]
    """
    _check_two_equal(environments)
    keep = check_probability(keep, "keep")
    rng = check_generator(rng)
    n_seeds, n = environments[0].label.shape
    _check_membership_flag(membership)
    n_swap = int(round((1 - keep) * n))
    orders = [np.argsort(rng.random((n_seeds, n)), axis=1) for _ in environments]
    stay = [_take(e, order[:, n_swap:]) for e, order in zip(environments, orders)]
    move = [_take(e, order[:, :n_swap]) for e, order in zip(environments, orders)]
    result = [_join(stay[0], move[1]), _join(stay[1], move[0])]
    if not membership:
        return result
    first, second = orders[0], orders[1] + n  # rows of the pooled examples
    rows = [
        np.concatenate([first[:, n_swap:], second[:, :n_swap]], axis=1),
        np.concatenate([second[:, n_swap:], first[:, :n_swap]], axis=1),
    ]
    return result, [_membership(r, 2 * n) for r in rows]


def split_by_loss(logits, environments, *, membership: bool = False) -> list:
    """Pool the environments and split them in two by a reference model's loss on each example.

    Environments inferred without labels, after the idea of Creager et al.'s EIIL: a model
    trained by ERM leans on whatever feature helps on average, and the examples it gets most
    wrong are those where that feature misleads. Each seed's examples with the larger half of
    the logistic losses form the first environment, the rest the second (equal sizes, so the
    seeds stay stacked).

    Parameters
    ----------
    logits : sequence of ndarray
        The reference model's logits on each environment, shape ``(n_seeds, n_e)`` each
        (e.g. :func:`predict_logits`).
    environments : sequence of Environment
        The environments those logits were computed on; pooled here.
    membership : bool
        Also return, per new environment, 0/1 weights over the examples of
        :func:`join_environments` (as :func:`pool_and_resplit` does).

    Returns
    -------
    list of two Environment
        High-loss examples, then low-loss ones (an odd example out joins the second).

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> envs = sample_coloured_environments(
    ...     images, digits, (0.8,), fractions=(1.0,), label_noise=0.0, n_seeds=1,
    ...     rng=np.random.default_rng(0))
    >>> by_colour = [np.where(envs[0].colour == 1, 3.0, -3.0)]  # a model that reads colour
    >>> hard, easy = split_by_loss(by_colour, envs)
    >>> [round(float(np.mean(e.colour == e.label)), 2) for e in (hard, easy)]  # misses land in hard
    [0.58, 1.0]
    """
    _check_membership_flag(membership)
    if len(environments) < 1 or not all(isinstance(e, Environment) for e in environments):
        raise TypeError("environments must be a non-empty sequence of Environment")
    if len(logits) != len(environments):
        raise ValueError(
            f"logits must have one array per environment ({len(environments)}), got {len(logits)}"
        )
    pooled = environments[0]
    for env in environments[1:]:
        pooled = _join(pooled, env)
    scores = []
    for k, (value, env) in enumerate(zip(logits, environments)):
        value = check_finite_array(value, f"logits[{k}]")
        if value.shape != env.label.shape:
            raise ValueError(f"logits[{k}] must have shape {env.label.shape}, got {value.shape}")
        scores.append(value)
    scores = np.concatenate(scores, axis=1)
    loss = np.logaddexp(0.0, scores) - pooled.label * scores
    order = np.argsort(-loss, axis=1, kind="stable")
    half = pooled.label.shape[1] // 2
    result = [_take(pooled, order[:, :half]), _take(pooled, order[:, half:])]
    if not membership:
        return result
    n_total = pooled.label.shape[1]
    return result, [_membership(order[:, :half], n_total), _membership(order[:, half:], n_total)]


# --- Objectives of the logits -----------------------------------------------------------------


def _check_network_inputs(network, inputs) -> np.ndarray:
    if not isinstance(network, Network):
        raise TypeError(
            f"network must be a Network (lib.learners.networks), got {type(network).__name__}"
        )
    inputs = np.asarray(inputs, dtype=np.float64)
    m, f = network.n_models, network.n_features
    if inputs.ndim != 3 or inputs.shape[0] != m or inputs.shape[2] != f:
        raise ValueError(f"inputs must have shape ({m}, n_examples, {f}), got {inputs.shape}")
    return inputs


def _check_environments(network, environments):
    if isinstance(environments, (str, bytes)) or len(environments) < 1:
        raise ValueError("environments must be a non-empty sequence of (inputs, labels) pairs")
    checked = []
    for k, pair in enumerate(environments):
        if len(pair) != 2:
            raise ValueError(f"environment {k} must be an (inputs, labels) pair")
        inputs = _check_network_inputs(network, pair[0])
        labels = np.asarray(pair[1])
        if labels.shape != inputs.shape[:2] or not np.all((labels == 0) | (labels == 1)):
            raise ValueError(
                f"labels of environment {k} must be 0/1 of shape {inputs.shape[:2]}, "
                f"got shape {labels.shape}"
            )
        checked.append((inputs, labels.astype(np.float64)))
    return checked


def _logistic_loss(logits, labels):
    # lib.learners.networks' per-example logistic loss log(1 + e^f) - y f, written as
    # max(f, 0) + log1p(e^-|f|) - y f: equal to rounding (tests), and about five times faster
    # than np.logaddexp, which calls the C library's exp and log1p once per element.
    loss = np.log1p(np.exp(-np.abs(logits)))
    loss += np.maximum(logits, 0.0)
    loss -= labels * logits
    return loss


def _sigmoid(logits):
    # 1 / (1 + e^-f), equal to scipy.special.expit to rounding (tests) and about twice as fast;
    # f is floored at -700 so that e^-f cannot overflow (the result there is below 1e-300).
    p = np.maximum(logits, -700.0)
    np.negative(p, out=p)
    np.exp(p, out=p)
    p += 1.0
    return np.divide(1.0, p, out=p)


def _risk_terms(logits, labels, *, with_risk=True, with_scale=True, share=None):
    # Each environment's mean logistic loss R_e, dR_e/df_i, IRMv1's scale gradient g_e and
    # dg_e/df_i, from lib.learners.networks' per-example losses. Without the risk, or without
    # the scale terms (None), when the caller's derivatives do not need them (the risk: ERM and
    # IRMv1; the scale terms: every method but IRMv1).
    # share (n_models, n), rows summing to 1: the environment's weights on the examples, its
    # risk then the weighted mean (fit_partitions: environments as weights on shared examples).
    if share is not None:
        return _weighted_risk_terms(logits, labels, share, with_risk, with_scale)
    n = logits.shape[1]
    risk = np.mean(_logistic_loss(logits, labels), axis=1) if with_risk else None
    residual = _sigmoid(logits)
    residual -= labels
    if not with_scale:
        residual /= n
        return risk, residual, None, None
    p = residual + labels
    # In place, in the order (p (1 - p) f + residual) / n: the same numbers, fewer temporaries.
    d_scale_gradient = residual * logits
    scale_gradient = np.mean(d_scale_gradient, axis=1)
    np.subtract(1.0, p, out=d_scale_gradient)
    d_scale_gradient *= p
    d_scale_gradient *= logits
    d_scale_gradient += residual
    d_scale_gradient /= n
    residual /= n
    return risk, residual, scale_gradient, d_scale_gradient


def _weighted_risk_terms(logits, labels, share, with_risk, with_scale):
    # _risk_terms with the mean over examples replaced by the weights ``share``.
    risk = np.sum(share * _logistic_loss(logits, labels), axis=1) if with_risk else None
    residual = _sigmoid(logits)
    residual -= labels
    if not with_scale:
        return risk, residual * share, None, None
    p = residual + labels
    scale_gradient = np.sum(share * residual * logits, axis=1)
    d_scale_gradient = p * (1.0 - p)
    d_scale_gradient *= logits
    d_scale_gradient += residual
    d_scale_gradient *= share
    return risk, residual * share, scale_gradient, d_scale_gradient


def _check_shares(weights, shapes, name):
    # Non-negative example weights, one array per environment of the given shapes, each row
    # with a positive sum; returned normalised (rows summing to 1).
    if isinstance(weights, np.ndarray) or len(weights) != len(shapes):
        raise ValueError(f"{name} must be a sequence of one array per environment ({len(shapes)})")
    shares = []
    for k, (w, shape) in enumerate(zip(weights, shapes)):
        w = check_finite_array(w, f"{name}[{k}]")
        if w.shape != shape or np.any(w < 0):
            raise ValueError(f"{name}[{k}] must be non-negative of shape {shape}, got {w.shape}")
        total = w.sum(axis=1, keepdims=True)
        if np.any(total <= 0):
            raise ValueError(f"{name}[{k}] must give every model's row a positive sum")
        shares.append(w / total)
    return shares


def environment_risks(network, environments) -> np.ndarray:
    """Return each model's mean logistic loss in each environment, shape ``(n_models, n_envs)``.

    Examples
    --------
    >>> network = init_network(1, (), n_models=1, init="zeros", rng=np.random.default_rng(0))
    >>> environment_risks(network, [(np.zeros((1, 3, 1)), np.ones((1, 3)))]).round(4)
    array([[0.6931]])
    """
    environments = _check_environments(network, environments)
    return np.stack(
        [
            np.mean(per_example_loss(forward(network, x), y, output="logistic"), axis=1)
            for x, y in environments
        ],
        axis=1,
    )


def method_objective(
    network,
    environments,
    *,
    method: str,
    penalty_weight: float = 1.0,
    group_weights=None,
    example_weights=None,
):
    """Return a method's training objective and its derivatives with respect to the logits.

    The objective, before the L2 penalty and before :func:`train_method`'s rescaling, is

    * ``erm``: ``mean_e R_e``;
    * ``irm``: ``mean_e R_e + penalty_weight * mean_e g_e^2``, with ``g_e`` the derivative of
      ``R_e`` with respect to a multiplier of the logits, at 1 (IRMv1;
      :func:`lib.learners.networks.dummy_scale_gradient`);
    * ``vrex``: ``mean_e R_e + penalty_weight * var_e R_e`` (population variance);
    * ``dro``: ``sum_e q_e R_e`` with the given ``group_weights`` ``q`` (group DRO's step).

    Parameters
    ----------
    network : Network
        A logistic-output stack from :func:`lib.learners.networks.init_network`.
    environments : sequence of (inputs, labels)
        ``inputs`` of shape ``(n_models, n_e, n_features)``, ``labels`` 0/1 of shape
        ``(n_models, n_e)``; each model sees its own slice.
    method : {"erm", "irm", "vrex", "dro"}
    penalty_weight : float
        Weight of the IRMv1 or V-REx penalty, non-negative; ignored by ERM and group DRO.
    group_weights : array_like, shape (n_models, n_envs), optional
        Group DRO's weights on the environments (rows on the simplex); uniform if omitted.
    example_weights : sequence of array_like, optional
        One non-negative array of shape ``(n_models, n_e)`` per environment: each
        environment's risk is then the weighted mean of its examples' losses (and IRMv1's
        ``g_e`` the weighted mean of its terms). 0/1 weights make an environment of the
        examples marked 1, which lets several environments be weights on the same examples
        (:func:`fit_partitions`). Equal weights are the plain mean.

    Returns
    -------
    value : ndarray, shape (n_models,)
    coefficients : list of ndarray
        Per environment, ``d value / d f_i`` of shape ``(n_models, n_e)``, ready for
        :func:`lib.learners.networks.backward`.

    Examples
    --------
    >>> network = init_network(1, (), n_models=1, init="zeros", rng=np.random.default_rng(0))
    >>> env = (np.zeros((1, 2, 1)), np.array([[0, 1]]))
    >>> value, coefficients = method_objective(network, [env, env], method="irm", penalty_weight=10.0)
    >>> value.round(4), coefficients[0]
    (array([0.6931]), array([[ 0.125, -0.125]]))
    """
    environments = _check_environments(network, environments)
    if network.output != "logistic":
        raise ValueError(f"network must have a logistic output, got {network.output!r}")
    if method not in INVARIANCE_METHODS:
        raise ValueError(f"method must be one of {INVARIANCE_METHODS}, got {method!r}")
    weight = check_finite(penalty_weight, "penalty_weight")
    if weight < 0:
        raise ValueError(f"penalty_weight must be non-negative, got {penalty_weight}")
    shares = [None] * len(environments)
    if example_weights is not None:
        shares = _check_shares(
            example_weights, [y.shape for _, y in environments], "example_weights"
        )
    terms = [
        _risk_terms(forward(network, x), y, share=share)
        for (x, y), share in zip(environments, shares)
    ]
    risks = np.stack([t[0] for t in terms], axis=1)
    q = _check_group_weights(group_weights, risks.shape) if method == "dro" else None
    return _combine(terms, method, weight, q)


def _combine(terms, method, weight, q):
    # The objective's value and its derivatives in the logits, from each environment's
    # (risk, d risk / d f, scale gradient g, d g / d f).
    # The value is None when the risks were not computed (train_method, for ERM and IRMv1, whose
    # derivatives do not depend on them).
    n_envs = len(terms)
    derivatives_only = terms[0][0] is None
    if not derivatives_only:
        risks = np.stack([t[0] for t in terms], axis=1)  # (n_models, n_envs)
    if method == "dro":
        return np.sum(q * risks, axis=1), [q[:, [e]] * t[1] for e, t in enumerate(terms)]
    coefficients = [t[1] / n_envs for t in terms]
    if derivatives_only and method == "erm":
        return None, coefficients
    value = None if derivatives_only else risks.mean(axis=1)
    if method == "irm":
        if not derivatives_only:
            scale_gradients = np.stack([t[2] for t in terms], axis=1)
            value = value + weight * np.mean(scale_gradients**2, axis=1)
        for e, t in enumerate(terms):
            # weight * 2 * g_e * dg_e / n_envs, in that order, without temporaries.
            term = (weight * 2 * t[2])[:, None] * t[3]
            term /= n_envs
            coefficients[e] += term
    elif method == "vrex":
        deviation = risks - risks.mean(axis=1, keepdims=True)
        value = value + weight * np.mean(deviation**2, axis=1)
        for e, t in enumerate(terms):
            coefficients[e] = coefficients[e] + weight * 2 * deviation[:, [e]] * t[1] / n_envs
    return value, coefficients


def _check_group_weights(group_weights, shape):
    if group_weights is None:
        return np.full(shape, 1.0 / shape[1])
    q = check_finite_array(group_weights, "group_weights")
    if q.shape != shape or np.any(q < 0) or not np.allclose(q.sum(axis=1), 1.0):
        raise ValueError(f"group_weights must be non-negative rows of shape {shape} summing to 1")
    return q


# --- Training ---------------------------------------------------------------------------------


def train_method(
    network,
    environments,
    *,
    method: str,
    steps: int,
    learning_rate: float,
    l2_weight: float,
    penalty_weight: float = 1.0,
    anneal_steps: int = 0,
    dro_step: float = 0.01,
    reset_at_switch: bool = False,
):
    """Return ``network`` trained by full-batch Adam on ``method``'s objective.

    At each step the loss is ``objective + l2_weight * ||theta||^2`` (all parameters, as in the
    reference code), with the IRMv1 or V-REx penalty weighted 1 for the first ``anneal_steps``
    steps and ``penalty_weight`` afterwards, when the whole loss is divided by
    ``penalty_weight`` (if it exceeds 1) to keep the gradients' scale. Group DRO multiplies each
    environment's weight by ``exp(dro_step * R_e)`` and renormalises before every step. The
    network, its forward and backward passes and Adam are :mod:`lib.learners.networks`'; this
    function adds the penalties' per-example coefficients and the reference code's schedule.
    It takes exactly ``steps`` steps (the reference code's budget) and checks no convergence.

    Parameters
    ----------
    network : Network
        From :func:`lib.learners.networks.init_network` (logistic output); not modified.
    environments : sequence of (inputs, labels)
        As for :func:`method_objective`.
    method : {"erm", "irm", "vrex", "dro"}
    steps : int
        Full-batch Adam steps.
    learning_rate, l2_weight : float
        Adam's step size (positive); the L2 penalty's weight (non-negative).
    penalty_weight : float
        The IRMv1 or V-REx weight after annealing, non-negative.
    anneal_steps : int
        Steps with penalty weight 1 before ``penalty_weight`` applies.
    dro_step : float
        Group DRO's step size on the environment weights, non-negative.
    reset_at_switch : bool
        Start Adam afresh (:func:`lib.learners.networks.init_adam`) at the step where the
        penalty weight switches to ``penalty_weight``. The reference code does not; this is an
        ablation: after the switch the rescaled gradient is much smaller than Adam's
        second-moment estimate remembers, so its steps shrink until that memory fades.

    Returns
    -------
    Network

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((1, 200, 2))
    >>> y = (x[..., 0] > 0).astype(int)
    >>> network = init_network(2, (), n_models=1, rng=rng)
    >>> trained = train_method(network, [(x, y)], method="erm", steps=200, learning_rate=0.05,
    ...                 l2_weight=0.0)
    >>> float(accuracy(trained, x, y)[0]) > 0.95
    True
    """
    return _train(
        network,
        _check_environments(network, environments),
        method=method,
        steps=steps,
        learning_rate=learning_rate,
        l2_weight=l2_weight,
        penalty_weight=penalty_weight,
        anneal_steps=anneal_steps,
        dro_step=dro_step,
        reset_at_switch=reset_at_switch,
    )


def _sum_networks(parts, like, l2_weight):
    # The sum of several gradient Networks plus the L2 term 2 * l2_weight * theta; l2_weight a
    # float or one value per model.
    l2 = np.asarray(l2_weight, dtype=np.float64)
    weights = [2 * (l2 if l2.ndim == 0 else l2[:, None, None]) * w for w in like.weights]
    biases = [2 * (l2 if l2.ndim == 0 else l2[:, None]) * b for b in like.biases]
    for part in parts:
        weights = [a + g for a, g in zip(weights, part.weights)]
        biases = [a + g for a, g in zip(biases, part.biases)]
    return like._replace(tuple(weights), tuple(biases))


class _Dense:
    # Inputs as given: lib.learners.networks' forward and backward passes. copies > 1 repeats
    # the inputs for a network of copies * n_seeds models (settings stacked, see _train).
    def __init__(self, inputs, copies=1):
        self.inputs = inputs if copies == 1 else np.tile(inputs, (copies, 1, 1))
        self.inputs_t = _transposed_inputs(self.inputs)

    def arrange(self, labels):
        # The labels in the order of this design's examples: as given.
        return labels

    def forward(self, network):
        values, layer_inputs = _forward(network, self.inputs)
        return values[..., 0], layer_inputs

    def backward(self, network, coefficients, layer_inputs):
        return _backward(network, layer_inputs, coefficients[..., None], self.inputs_t)


class _ColourBlocks:
    # Coloured images, stored as the 64 grey pixels, the colour and any extra columns
    # (append_cue). The first layer's product w . x on the 128 features equals grey . w_c, with
    # w_c the red or green half of w picked by the image's colour: the same model (linear, or a
    # network whose later layers are computed as lib.learners.networks computes them) as on the
    # 128 features, equal to rounding (tests), at a quarter of the first layer's arithmetic.
    # Each seed's images are held sorted by colour, red first, so that the images all seeds
    # agree are red (or green) meet only their own half of w; only a narrow band in the
    # middle, where seeds differ, needs both halves. Logits and coefficients are in that
    # sorted order too: the labels are put in it once (arrange), not the logits every step.
    # With copies > 1 the network holds copies * n_seeds models (setting-major: model
    # j * n_seeds + s is setting j on seed s) and each seed's images are read once per step
    # for all its copies.
    # extra may also hold one set of extra columns per copy, shape (copies, n_seeds, n, k):
    # settings whose environments differ only in those columns (append_cue) then share the
    # reading of the images.
    def __init__(self, grey, colour, extra, copies=1):
        green = np.asarray(colour) == 1
        self.order = np.argsort(green, axis=1, kind="stable")  # red first
        rows = self.order[..., None]
        self.grey = np.ascontiguousarray(np.take_along_axis(np.asarray(grey, float), rows, 1))
        extra = np.asarray(extra, float)
        extra_rows = rows if extra.ndim == 3 else rows[None]
        self.extra = np.ascontiguousarray(np.take_along_axis(extra, extra_rows, extra.ndim - 2))
        n_red = np.sum(~green, axis=1)
        self.lo, self.hi = int(n_red.min()), int(n_red.max())
        self.band_green = np.take_along_axis(green, self.order, 1)[:, self.lo : self.hi]
        self.n_pixels = self.grey.shape[2]
        self.copies = copies

    @classmethod
    def from_environment(cls, env, copies=1):
        # None unless the features are exactly the colour blocks (plus extra columns).
        n_pixels = env.grey.shape[2]
        features = env.features
        if features.shape[2] < 2 * n_pixels or not np.all((env.colour == 0) | (env.colour == 1)):
            return None
        red = env.colour[..., None] == 0
        if not (
            np.array_equal(features[..., :n_pixels], np.where(red, env.grey, 0.0))
            and np.array_equal(features[..., n_pixels : 2 * n_pixels], np.where(red, 0.0, env.grey))
        ):
            return None
        return cls(env.grey, env.colour, features[..., 2 * n_pixels :], copies)

    def _halves(self, network):
        # Each seed's first-layer red, green and extra-column weights, (n_seeds, ., copies *
        # width): a linear model has width 1, a network its first hidden layer's width.
        k, c = self.n_pixels, self.copies
        w0 = network.weights[0]
        w = w0.reshape(c, self.grey.shape[0], w0.shape[1], w0.shape[2])
        return tuple(
            np.ascontiguousarray(  # BLAS takes contiguous faster
                part.transpose(1, 2, 0, 3).reshape(part.shape[1], part.shape[2], c * w0.shape[2])
            )
            for part in (w[:, :, :k], w[:, :, k : 2 * k], w[:, :, 2 * k :])
        )

    def _first_layer(self, network):
        # The first layer's pre-activations, (copies * n_seeds, n, width), in arranged order.
        red, green, extra = self._halves(network)
        lo, hi, grey = self.lo, self.hi, self.grey
        parts = [grey[:, :lo] @ red]
        if hi > lo:
            band = grey[:, lo:hi]
            parts.append(np.where(self.band_green[..., None], band @ green, band @ red))
        parts.append(grey[:, hi:] @ green)
        values = np.concatenate(parts, axis=1)  # (n_seeds, n, copies * width), by colour
        n_seeds, n = self.order.shape
        width = network.weights[0].shape[2]
        if self.extra.shape[-1] and self.extra.ndim == 3:
            values = values + self.extra @ extra
        elif self.extra.shape[-1]:  # each copy its own extra columns
            values = values + np.concatenate(
                [
                    self.extra[j] @ extra[:, :, j * width : (j + 1) * width]
                    for j in range(self.copies)
                ],
                axis=2,
            )
        values = values.reshape(n_seeds, n, self.copies, width).transpose(2, 0, 1, 3)
        # The bias added while reordering to setting-major: one pass, not a copy and then a sum.
        bias = network.biases[0].reshape(self.copies, n_seeds, 1, width)
        return (values + bias).reshape(self.copies * n_seeds, n, width)

    def arrange(self, labels):
        # The labels in the order of this design's examples (each seed's, sorted by colour).
        return np.take_along_axis(labels, self.order, 1)

    def forward(self, network):
        # The later layers as lib.learners.networks' _forward computes them.
        values = self._first_layer(network)
        layer_inputs = [None]
        for w, b in zip(network.weights[1:], network.biases[1:]):
            values = np.maximum(values, 0.0) if network.activation == "relu" else np.tanh(values)
            layer_inputs.append(values)
            w_t = np.ascontiguousarray(w.transpose(0, 2, 1))
            values = np.einsum("mnf,mhf->mnh", values, w_t) + b[:, None, :]
        return values[..., 0], layer_inputs

    def backward(self, network, coefficients, layer_inputs):
        # The later layers as lib.learners.networks' _backward computes them, then the first.
        n_layers = len(network.weights)
        weights, biases = [None] * n_layers, [None] * n_layers
        delta = coefficients[..., None]
        for layer in range(n_layers - 1, 0, -1):
            values = layer_inputs[layer]
            delta_t = np.ascontiguousarray(delta.transpose(0, 2, 1))
            weights[layer] = np.einsum("mfn,mhn->mfh", _transposed_inputs(values), delta_t)
            biases[layer] = delta.sum(axis=1)
            delta = np.einsum("mnh,mfh->mnf", delta, network.weights[layer])
            if network.activation == "relu":
                delta = delta * (values > 0)
            else:
                delta = delta * (1.0 - values**2)
        n_seeds, n = self.order.shape
        width = delta.shape[2]
        lo, hi, grey = self.lo, self.hi, self.grey
        per_seed = delta.reshape(self.copies, n_seeds, n, width).transpose(1, 0, 3, 2)
        per_seed = per_seed.reshape(n_seeds, self.copies * width, n)
        red = per_seed[:, :, :lo] @ grey[:, :lo]
        green = per_seed[:, :, hi:] @ grey[:, hi:]
        if hi > lo:
            band, is_green = per_seed[:, :, lo:hi], self.band_green[:, None, :]
            red = red + np.where(is_green, 0.0, band) @ grey[:, lo:hi]
            green = green + np.where(is_green, band, 0.0) @ grey[:, lo:hi]
        parts = [red, green]
        if self.extra.shape[-1] and self.extra.ndim == 3:
            parts.append(per_seed @ self.extra)
        elif self.extra.shape[-1]:  # each copy its own extra columns
            parts.append(
                np.concatenate(
                    [
                        per_seed[:, j * width : (j + 1) * width] @ self.extra[j]
                        for j in range(self.copies)
                    ],
                    axis=1,
                )
            )
        first = np.concatenate(parts, axis=2)  # (n_seeds, copies * width, n_features)
        first = first.reshape(n_seeds, self.copies, width, -1).transpose(1, 0, 3, 2)
        weights[0] = first.reshape(self.copies * n_seeds, -1, width)
        biases[0] = delta.sum(axis=1)
        return network._replace(tuple(weights), tuple(biases))


def _design(network, env, *, grey, copies=1):
    # The cheapest representation of an environment's inputs that gives the same model (to
    # rounding) for this network (of copies * n_seeds models).
    if not grey:
        blocks = _ColourBlocks.from_environment(env, copies)
        if blocks is not None:
            return blocks
    return _Dense(np.asarray(env.pair(grey=grey)[0], dtype=np.float64), copies)


def _per_setting(value, name, copies, check):
    # One validated value per stacked setting, from a scalar or a sequence of length copies.
    values = list(value) if isinstance(value, (list, tuple)) else [value] * copies
    if len(values) != copies:
        raise ValueError(f"{name} must have one entry per setting ({copies}), got {value!r}")
    return [check(v, name) for v in values]


def _non_negative(value, name):
    if check_finite(value, name) < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return float(value)


def _known_method(value, name):
    if value not in INVARIANCE_METHODS:
        raise ValueError(f"method must be one of {INVARIANCE_METHODS}, got {value!r}")
    return value


def _boolean(value, name):
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _train(
    network,
    environments,
    *,
    method,
    steps,
    learning_rate,
    l2_weight,
    penalty_weight,
    anneal_steps,
    dro_step,
    reset_at_switch=False,
    trace=None,
    snapshot=None,
    copies=1,
    n_settings=None,
    membership=None,
):
    # membership: per environment an array (n_models, n) of weights on the examples summing to
    # 1 per row (arranged as the design's examples); environments is then one (design, labels)
    # pair, the examples all environments share, read once a step (fit_partitions).
    # Full-batch Adam on validated environments: (inputs, labels) pairs, or (design, labels) with
    # a design from _design. trace: a list to which each step appends the norms of the gradient
    # Adam receives and of the update it makes, per model.
    # copies > 1 trains several settings in one stack: the network then holds copies * n_seeds
    # models (setting-major), the designs were built with the same copies, the labels have
    # n_seeds rows, and method, steps, penalty_weight, anneal_steps, dro_step and
    # reset_at_switch may each be one value per setting (learning_rate and l2_weight are shared).
    # Each model's arithmetic is that of its own setting trained alone; a model whose steps
    # are done keeps its parameters while the others go on. n_settings (default: copies) may
    # differ from copies when each setting has its own environments, stacked along the seeds.
    # snapshot: a dict {step: None}; each key's entry is set to the network after that step.
    copies = check_positive_int(copies, "copies")
    n_settings = copies if n_settings is None else check_positive_int(n_settings, "n_settings")
    if not isinstance(network, Network) or network.output != "logistic":
        raise TypeError("network must be a Network with a logistic output")
    methods = _per_setting(method, "method", n_settings, _known_method)
    steps = _per_setting(steps, "steps", n_settings, check_positive_int)
    anneal = _per_setting(
        anneal_steps, "anneal_steps", n_settings, lambda v, n: check_positive_int(v, n, minimum=0)
    )
    learning_rate = _check_positive(learning_rate, "learning_rate")
    # lib.learners.networks' Adam takes one step size per layer; every layer gets the same.
    layer_rates = (learning_rate,) * len(network.weights)
    l2_weight = _non_negative(l2_weight, "l2_weight")
    weights_after = _per_setting(penalty_weight, "penalty_weight", n_settings, _non_negative)
    dro_steps = _per_setting(dro_step, "dro_step", n_settings, _non_negative)
    resets = _per_setting(reset_at_switch, "reset_at_switch", n_settings, _boolean)
    designs = [_Dense(x) if isinstance(x, np.ndarray) else x for x, _ in environments]
    labels = [y if copies == 1 else np.tile(y, (copies, 1)) for _, y in environments]
    n_models = network.n_models
    n_envs = len(environments) if membership is None else len(membership)
    if membership is not None:
        shares = np.stack(membership)  # (n_envs, n_models, n)
        share_cache = {}  # each group's rows of the shares, and their mean over environments

    def each(values):  # one entry per model, setting-major
        return np.repeat(np.asarray(values), n_models // n_settings)

    method_of = each(methods)
    penalised = (method_of == "irm") | (method_of == "vrex")
    steps_of, anneal_of = each(steps), each(anneal)
    weight_after, dro_step_of, reset_of = each(weights_after), each(dro_steps), each(resets)
    state = init_adam(network)
    log_q = np.zeros((n_models, n_envs))
    group_cache = {}
    # Small matrices: BLAS threads cost more than they save (and contend on a shared machine).
    with threadpool_limits(limits=1, user_api="blas"):
        for step in range(1, max(steps) + 1):
            active = step <= steps_of
            weight = np.where(step > anneal_of, weight_after, 1.0)
            reset = reset_of & penalised & (step == anneal_of + 1)
            if reset.any():
                state = _reset_adam(state, network, reset)
            forwards = [d.forward(network) for d in designs]
            coefficients = [None] * (n_envs if membership is None else 1)

            def dro_weights(risks, rows):
                # Group DRO's online step on these models' environment weights.
                log_q[rows] = log_q[rows] + dro_step_of[rows, None] * risks
                q = np.exp(log_q[rows] - log_q[rows].max(axis=1, keepdims=True))
                return q / q.sum(axis=1, keepdims=True)

            # Models of the same method at the same penalty weight this step form a group; each
            # group's derivatives are computed on its rows alone, exactly as alone.
            for (kind, w), rows in _groups(
                method_of, np.where(penalised, weight, 1.0), group_cache
            ):
                if membership is not None:  # the environments as weights on shared examples
                    key = id(rows)
                    if key not in share_cache:
                        mine = shares[:, rows]
                        share_cache[key] = (rows, mine, mine.mean(axis=0))
                    _, mine, mean_share = share_cache[key]
                    part = [
                        _shared_coefficients(
                            forwards[0][0][rows],
                            labels[0][rows],
                            mine,
                            mean_share,
                            kind,
                            w,
                            lambda risks, rows=rows: dro_weights(risks, rows),
                        )
                    ]
                else:
                    terms = [
                        _risk_terms(
                            logits[rows],
                            y[rows],
                            with_risk=kind in ("vrex", "dro"),
                            with_scale=kind == "irm",
                        )
                        for (logits, _), y in zip(forwards, labels)
                    ]
                    q = None
                    if kind == "dro":
                        q = dro_weights(np.stack([t[0] for t in terms], axis=1), rows)
                    _, part = _combine(terms, kind, w, q)
                if isinstance(rows, slice):
                    coefficients = part
                else:
                    for e, c in enumerate(part):
                        if coefficients[e] is None:
                            coefficients[e] = np.empty_like(forwards[e][0])
                        coefficients[e][rows] = c
            # The reference code divides the whole loss, L2 term included, by the penalty weight.
            scale = np.where((weight > 1.0) & penalised, 1.0 / weight, 1.0)
            if n_settings == 1:  # the plain float arithmetic of a single setting
                scale = float(scale[0])
            parts = [
                d.backward(
                    network, (scale if n_settings == 1 else scale[:, None]) * c, layer_inputs
                )
                for d, (_, layer_inputs), c in zip(designs, forwards, coefficients)
            ]
            gradient = _sum_networks(parts, network, scale * l2_weight)
            updated, state = _adam_step(network, gradient, state, layer_rates, active)
            if trace is not None:
                change = updated._replace(
                    tuple(a - b for a, b in zip(updated.weights, network.weights)),
                    tuple(a - b for a, b in zip(updated.biases, network.biases)),
                )
                trace.append((_norm(gradient), _norm(change)))
            network = updated
            if snapshot is not None and step in snapshot:
                snapshot[step] = network
    return network


def _shared_coefficients(logits, labels, shares, mean_share, kind, weight, dro_weights):
    # The derivative of a method's objective in the logits, summed over the environments, when
    # every environment is weights ``shares`` (n_envs, n_models, n; rows summing to 1) on the
    # same examples: _combine's coefficients added up, with each per-example quantity
    # computed once, not once per environment. mean_share: shares' mean over environments.
    # dro_weights: risks (n_models, n_envs) -> group DRO's weights on the environments.
    n_envs = shares.shape[0]
    residual = _sigmoid(logits)
    residual -= labels
    if kind == "erm":  # sum_e share_e r / n_envs
        residual *= mean_share
        return residual
    if kind == "irm":
        # sum_e share_e (r + 2 w g_e a) / n_envs, with g_e = sum_i share_ei r_i f_i and
        # a = p (1 - p) f + r, IRMv1's dg_e/df_i before the weights.
        rf = residual * logits
        factor = [2.0 * weight * np.einsum("mn,mn->m", rf, s) / n_envs for s in shares]
        p = residual + labels
        a = np.subtract(1.0, p)
        a *= p
        a *= logits
        a += residual
        spread = factor[0][:, None] * shares[0]
        for f, s in zip(factor[1:], shares[1:]):
            spread += f[:, None] * s
        a *= spread
        residual *= mean_share
        residual += a
        return residual
    loss = _logistic_loss(logits, labels)
    risks = np.stack([np.einsum("mn,mn->m", loss, s) for s in shares], axis=1)
    if kind == "vrex":  # sum_e share_e r (1 + 2 w (R_e - mean R)) / n_envs
        per_env = (1.0 + 2.0 * weight * (risks - risks.mean(axis=1, keepdims=True))) / n_envs
    else:  # dro: sum_e q_e share_e r
        per_env = dro_weights(risks)
    spread = per_env[:, [0]] * shares[0]
    for e in range(1, n_envs):
        spread += per_env[:, [e]] * shares[e]
    residual *= spread
    return residual


def _groups(method_of, weight, cache=None):
    # ((method, penalty weight), rows) for each group of models that share both this step; rows
    # is slice(None) when one group holds every model (no copies of the arrays then). cache, a
    # dict, keeps the answer for each weight vector (they change only at the switches).
    if cache is not None:
        key = weight.tobytes()
        if key not in cache:
            cache[key] = _groups(method_of, weight)
        return cache[key]
    keys = list(zip(method_of.tolist(), weight.tolist()))
    if len(set(keys)) == 1:
        return [(keys[0], slice(None))]
    groups = {}
    for m, key in enumerate(keys):
        groups.setdefault(key, []).append(m)
    return [(key, np.array(rows)) for key, rows in groups.items()]


def _reset_adam(state, network, models):
    # Adam's state with the given models' moments and step counts set to a fresh start.
    fresh = init_adam(network)

    def pick(new, old):
        return old._replace(
            tuple(
                np.where(models.reshape((-1,) + (1,) * (a.ndim - 1)), b, a)
                for a, b in zip(old.weights, new.weights)
            ),
            tuple(
                np.where(models.reshape((-1,) + (1,) * (a.ndim - 1)), b, a)
                for a, b in zip(old.biases, new.biases)
            ),
        )

    return type(state)(
        np.where(models, fresh.steps, state.steps),
        pick(fresh.first, state.first),
        pick(fresh.second, state.second),
        state.beta1,
        state.beta2,
        state.eps,
    )


def _norm(network) -> np.ndarray:
    # Each model's Euclidean norm over all its parameters.
    squares = [
        np.sum(p**2, axis=tuple(range(1, p.ndim))) for p in (*network.weights, *network.biases)
    ]
    return np.sqrt(np.sum(squares, axis=0))


def _checked_pairs(network, environments, grey):
    # The (inputs, labels) pairs, validated as train_method validates them.
    if not all(isinstance(e, Environment) for e in environments):
        raise TypeError("environments must be Environment instances")
    return _check_environments(network, [e.pair(grey=grey) for e in environments])


def _environment_pairs(network, environments, grey):
    # Validated as train_method validates, then each environment's cheapest design (_design).
    pairs = _checked_pairs(network, environments, grey)
    return [_arranged(_design(network, e, grey=grey), y) for e, (_, y) in zip(environments, pairs)]


def _arranged(design, labels):
    # (design, labels) with the labels in the design's order of examples.
    return design, design.arrange(labels)


def fit(network, environments, *, grey: bool = False, **training):
    """Train on ``environments`` (a sequence of :class:`Environment`) and return the network.

    Parameters
    ----------
    network : Network
        The starting models (:func:`lib.learners.networks.init_network`), not modified.
    environments : sequence of Environment
    grey : bool
        Use the grey images instead of the coloured features (the grey-scale oracle).
    **training
        Passed to :func:`train_method` (``method``, ``steps``, ``learning_rate``, ...).

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> envs = sample_coloured_environments(
    ...     images, digits, (1.0, 1.0), fractions=(0.5, 0.5), label_noise=0.0, n_seeds=1,
    ...     rng=np.random.default_rng(0))
    >>> network = init_network(128, (), n_models=1, rng=np.random.default_rng(1))
    >>> trained = fit(network, envs, method="erm", steps=50, learning_rate=0.05, l2_weight=0.0)
    >>> bool(accuracy(trained, *envs[0].pair())[0] > 0.95)
    True
    """
    pairs = _environment_pairs(network, environments, grey)
    options = {"penalty_weight": 1.0, "anneal_steps": 0, "dro_step": 0.01} | training
    return _train(network, pairs, **options)


#: Options that :func:`fit_settings` lets each stacked setting choose for itself.
SETTING_OPTIONS = (
    "method",
    "steps",
    "penalty_weight",
    "anneal_steps",
    "dro_step",
    "reset_at_switch",
)


def fit_settings(
    network,
    environments,
    settings,
    *,
    grey: bool = False,
    trace: bool = False,
    snapshot_at=None,
    **training,
):
    """Train several settings on the same environments in one stack; one Network per setting.

    Each setting is trained exactly as :func:`fit` would train it alone (to rounding: the
    matrix products are grouped differently), but all of them in one loop, with each seed's
    images read once per step for all settings. The step is memory-bound, so several
    settings cost little more than one.

    Parameters
    ----------
    network : Network
        The starting models, one per seed (:func:`lib.learners.networks.init_network`); every
        setting starts from them. Not modified.
    environments : sequence of Environment, or one such sequence per setting
        Shared by all settings (each seed's images are then read once per step for all of
        them), or each setting's own (of equal shapes; stacked along the seeds, which still
        saves the per-step overhead of separate runs).
    settings : sequence of dict
        Each a dict of the options in ``SETTING_OPTIONS`` (``method``, ``steps``,
        ``penalty_weight``, ``anneal_steps``, ``dro_step``, ``reset_at_switch``) that differ
        from ``training``.
    grey : bool
        Use the grey images.
    trace : bool
        Also return, per setting, the gradient and update norms of :func:`trace_training`,
        each of shape ``(steps, n_models)`` with ``steps`` the largest of the settings' (a
        setting whose steps are done has update norm zero from then on).
    snapshot_at : int, optional
        Also return, per setting, the network after this many steps (at most the largest of
        the settings' steps): a setting trained for 1001 steps then gives its 501-step model
        too, at no extra cost.
    **training
        Options shared by all settings (``learning_rate`` and ``l2_weight`` must be shared),
        and defaults for the others, as for :func:`train_method`.

    Returns
    -------
    list of Network
        Or, with ``trace``, ``(networks, traces)`` with ``traces`` a list of
        ``(gradient_norm, update_norm)``; with ``snapshot_at``, one more list of Network last.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> envs = sample_coloured_environments(
    ...     images, digits, (0.9, 0.8), fractions=(0.5, 0.5), label_noise=0.25, n_seeds=2,
    ...     rng=np.random.default_rng(0))
    >>> network = init_network(128, (), n_models=2, rng=np.random.default_rng(1))
    >>> options = {"steps": 30, "learning_rate": 0.01, "l2_weight": 0.001}
    >>> erm, irm = fit_settings(network, envs, [{"method": "erm"},
    ...     {"method": "irm", "penalty_weight": 1e4, "anneal_steps": 10}], **options)
    >>> alone = fit(network, envs, method="erm", **options)
    >>> bool(np.allclose(erm.weights[0], alone.weights[0], rtol=0, atol=1e-10))
    True
    """
    _check_settings(settings)
    if not isinstance(trace, bool):
        raise TypeError(f"trace must be True or False, got {trace!r}")
    snapshot = None
    if snapshot_at is not None:
        snapshot_at = check_positive_int(snapshot_at, "snapshot_at")
        longest = max(s.get("steps", training.get("steps", 0)) for s in settings)
        if snapshot_at > longest:
            raise ValueError(
                f"snapshot_at must be at most the steps ({longest}), got {snapshot_at}"
            )
        snapshot = {snapshot_at: None}
    n_settings = len(settings)
    stacked = stack_networks([network] * n_settings)
    own = len(environments) > 0 and all(isinstance(e, (list, tuple)) for e in environments)
    cue_designs = _designs_differing_in_extra(environments, n_settings) if own else None
    if cue_designs is not None:  # the same images, each setting its own extra columns
        pairs = _checked_pairs(network, environments[0], grey)
        joined, copies = environments[0], n_settings
    elif own:  # each setting its own environments: stacked along the seeds, read once each
        if len(environments) != n_settings:
            raise ValueError(
                f"environments must be one sequence per setting ({n_settings}), "
                f"got {len(environments)}"
            )
        for envs in environments:
            _checked_pairs(network, envs, grey)  # validated for one stack of seeds
            if len(envs) != len(environments[0]):
                raise ValueError("every setting needs the same number of environments")
        joined = [
            Environment(
                **{
                    name: np.concatenate([getattr(e, name) for e in group])
                    for name in ("features", "grey", "label", "colour")
                }
            )
            for group in zip(*environments)
        ]
        pairs = _checked_pairs(stacked, joined, grey)
        copies = 1
    else:
        pairs = _checked_pairs(network, environments, grey)  # one stack of seeds
        joined, copies = environments, n_settings
    if cue_designs is not None and not grey:
        designs = [_arranged(d, y) for d, (_, y) in zip(cue_designs, pairs)]
    else:
        if cue_designs is not None:  # grey: the extra columns are not used
            pairs = _checked_pairs(network, environments[0], grey)
        designs = [
            _arranged(_design(stacked, e, grey=grey, copies=copies), y)
            for e, (_, y) in zip(joined, pairs)
        ]
    options = _setting_options(settings, training)
    record = [] if trace else None
    trained = _train(
        stacked,
        designs,
        trace=record,
        snapshot=snapshot,
        copies=copies,
        n_settings=n_settings,
        **options,
    )
    n_seeds = network.n_models
    parts = [np.arange(j * n_seeds, (j + 1) * n_seeds) for j in range(n_settings)]
    out = [[trained.take(rows) for rows in parts]]
    if trace:
        gradient = np.array([t[0] for t in record])
        update = np.array([t[1] for t in record])
        out.append([(gradient[:, rows], update[:, rows]) for rows in parts])
    if snapshot is not None:
        out.append([snapshot[snapshot_at].take(rows) for rows in parts])
    return out[0] if len(out) == 1 else tuple(out)


def _check_settings(settings):
    if isinstance(settings, dict) or len(settings) < 1:
        raise ValueError("settings must be a non-empty sequence of dicts")
    for k, setting in enumerate(settings):
        if not isinstance(setting, dict):
            raise TypeError(f"settings[{k}] must be a dict, got {type(setting).__name__}")
        unknown = set(setting) - set(SETTING_OPTIONS)
        if unknown:
            raise ValueError(
                f"settings[{k}] has options {sorted(unknown)}; each setting may set only "
                f"{SETTING_OPTIONS}"
            )


def _setting_options(settings, training):
    # _train's options: the shared ones, and one value per setting for those a setting sets.
    defaults = {"penalty_weight": 1.0, "anneal_steps": 0, "dro_step": 0.01}
    options = defaults | {"reset_at_switch": False} | training
    for name in SETTING_OPTIONS:
        if name in options or any(name in s for s in settings):
            if name not in options and not all(name in s for s in settings):
                raise ValueError(f"{name} must be given in training or in every setting")
            options[name] = [s.get(name, options.get(name)) for s in settings]
    return options


def fit_partitions(network, examples, memberships, settings, *, grey: bool = False, **training):
    """Train settings whose environments are each their own partition of the same examples.

    Random relabelling, partly wrong labels and environments inferred from a model's losses
    (:func:`pool_and_resplit`, :func:`mix_environments`, :func:`split_by_loss`) all deal the
    same training examples into environments in different ways. Here each setting's
    environments are weights over the shared ``examples`` (0/1 for membership), so one
    forward and one backward pass over them per step serves every setting, each with its
    own environments and options. Each setting trains as :func:`fit` would train it on the
    environments its weights mark (to rounding: the sums run in another order).

    Parameters
    ----------
    network : Network
        The starting models, one per seed; every setting starts from them. Not modified.
    examples : Environment
        The shared examples, e.g. :func:`join_environments` of the original environments.
    memberships : sequence
        One per setting: a sequence of arrays, one per environment, of non-negative weights of
        shape ``(n_seeds, n)`` over ``examples`` (e.g. the ``membership`` output of
        :func:`pool_and_resplit`). Each environment's risk is the weighted mean of the losses.
        Every setting needs the same number of environments.
    settings : sequence of dict
        As for :func:`fit_settings`, one per membership.
    grey : bool
        Use the grey images.
    **training
        Options shared by all settings, and defaults for the others, as for :func:`fit_settings`.

    Returns
    -------
    list of Network
        One per setting.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> envs = sample_coloured_environments(
    ...     images, digits, (0.9, 0.8), fractions=(0.5, 0.5), label_noise=0.25, n_seeds=2,
    ...     rng=np.random.default_rng(0))
    >>> shuffled, weights = pool_and_resplit(envs, rng=np.random.default_rng(1), membership=True)
    >>> network = init_network(128, (), n_models=2, rng=np.random.default_rng(2))
    >>> options = {"method": "irm", "steps": 30, "learning_rate": 0.01, "l2_weight": 0.001}
    >>> (shared,) = fit_partitions(network, join_environments(envs), [weights], [{}], **options)
    >>> alone = fit(network, shuffled, **options)
    >>> bool(np.allclose(shared.weights[0], alone.weights[0], rtol=0, atol=1e-10))
    True
    """
    _check_settings(settings)
    if not isinstance(examples, Environment):
        raise TypeError(f"examples must be an Environment, got {type(examples).__name__}")
    if isinstance(memberships, np.ndarray) or len(memberships) != len(settings):
        raise ValueError(
            f"memberships must be a sequence of one entry per setting ({len(settings)}), "
            f"got {len(memberships)}"
        )
    n_settings = len(settings)
    ((_, labels),) = _checked_pairs(network, [examples], grey)
    n_envs = len(memberships[0])
    shares = []
    for j, weights in enumerate(memberships):
        if len(weights) != n_envs or n_envs < 1:
            raise ValueError("every setting needs the same number of environments (at least one)")
        shares.append(_check_shares(weights, [labels.shape] * n_envs, f"memberships[{j}]"))
    stacked = stack_networks([network] * n_settings)
    design = _design(stacked, examples, grey=grey, copies=n_settings)
    membership = [
        np.concatenate([design.arrange(shares[j][e]) for j in range(n_settings)])
        for e in range(n_envs)
    ]
    trained = _train(
        stacked,
        [_arranged(design, labels)],
        copies=n_settings,
        membership=membership,
        **_setting_options(settings, training),
    )
    n_seeds = network.n_models
    return [trained.take(np.arange(j * n_seeds, (j + 1) * n_seeds)) for j in range(n_settings)]


def _designs_differing_in_extra(environments, n_settings):
    # One _ColourBlocks per environment index with each setting's extra columns, when every
    # setting's environments hold the same images, labels and colours and differ only in the
    # extra columns after the colour blocks (append_cue); else None.
    if len(environments) != n_settings or n_settings < 2:
        return None
    first = environments[0]
    if any(len(envs) != len(first) for envs in environments):
        return None
    designs = []
    for k, env in enumerate(first):
        if not isinstance(env, Environment):
            return None
        n_pixels = env.grey.shape[2]
        if env.features.shape[2] <= 2 * n_pixels:
            return None
        others = [envs[k] for envs in environments]
        for other in others[1:]:
            if not isinstance(other, Environment) or other.features.shape != env.features.shape:
                return None
            if not all(
                np.array_equal(getattr(other, name), getattr(env, name))
                for name in ("grey", "label", "colour")
            ) or not np.array_equal(
                other.features[..., : 2 * n_pixels], env.features[..., : 2 * n_pixels]
            ):
                return None
        if _ColourBlocks.from_environment(env) is None:
            return None
        extra = np.stack([o.features[..., 2 * n_pixels :] for o in others])
        designs.append(_ColourBlocks(env.grey, env.colour, extra, copies=n_settings))
    return designs


def fit_and_score(network, environments, test, *, grey: bool = False, **training):
    """Train on ``environments`` and return ``(training accuracy, test accuracy)`` per model.

    Training accuracy is the mean of the environments' accuracies, as the reference code of
    Arjovsky et al. reports it.

    Parameters
    ----------
    network : Network
        Initial models (:func:`lib.learners.networks.init_network`), shared by the methods
        compared.
    environments : sequence of Environment
        The training environments.
    test : Environment
    grey : bool
        Use the grey images instead of the coloured features (the grey-scale oracle).
    **training
        Passed to :func:`train_method` (``method``, ``steps``, ``learning_rate``, ...).

    Returns
    -------
    train_accuracy, test_accuracy : ndarray, shape (n_models,)

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> *envs, test = sample_coloured_environments(
    ...     images, digits, (1.0, 1.0, 1.0), fractions=(0.4, 0.4, 0.2), label_noise=0.0,
    ...     n_seeds=2, rng=np.random.default_rng(0))
    >>> network = init_network(128, (), n_models=2, rng=np.random.default_rng(1))
    >>> train_accuracy, test_accuracy = fit_and_score(
    ...     network, envs, test, method="erm", steps=100, learning_rate=0.05, l2_weight=0.0)
    >>> bool(np.all(test_accuracy > 0.95))
    True
    """
    if not isinstance(test, Environment):
        raise TypeError("test must be an Environment")
    trained = fit(network, environments, grey=grey, **training)
    pairs = [e.pair(grey=grey) for e in environments]
    train_accuracy = np.mean([accuracy(trained, *pair) for pair in pairs], axis=0)
    return train_accuracy, accuracy(trained, *test.pair(grey=grey))


def trace_training(network, environments, *, grey: bool = False, **training):
    """Train as :func:`fit` does; return the network and each step's gradient and update sizes.

    The gradient is the one Adam receives (after the L2 term and after the reference code's
    division by the penalty weight); the update is the change Adam makes to the parameters. Both
    are Euclidean norms over all of a model's parameters. Comparing them before and after the
    penalty switches on shows how Adam's memory of the earlier gradients sets its step size.

    Parameters
    ----------
    network : Network
    environments : sequence of Environment
    grey : bool
        Use the grey images.
    **training
        As for :func:`train_method`.

    Returns
    -------
    trained : Network
    gradient_norm, update_norm : ndarray, shape (steps, n_models)

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> envs = sample_coloured_environments(
    ...     images, digits, (0.9, 0.8), fractions=(0.5, 0.5), label_noise=0.25, n_seeds=2,
    ...     rng=np.random.default_rng(0))
    >>> network = init_network(128, (), n_models=2, rng=np.random.default_rng(1))
    >>> _, gradient, update = trace_training(network, envs, method="irm", steps=20,
    ...     learning_rate=0.001, l2_weight=0.001, penalty_weight=1e4, anneal_steps=10)
    >>> gradient.shape, bool(np.all(gradient[10] < gradient[9] / 3))
    ((20, 2), True)
    """
    pairs = _environment_pairs(network, environments, grey)
    options = {"penalty_weight": 1.0, "anneal_steps": 0, "dro_step": 0.01} | training
    trace = []
    trained = _train(network, pairs, trace=trace, **options)
    return trained, np.array([t[0] for t in trace]), np.array([t[1] for t in trace])


def accuracy(network, inputs, labels) -> np.ndarray:
    """Return each model's accuracy on its own slice of examples, shape ``(n_models,)``.

    Examples
    --------
    >>> network = init_network(1, (), n_models=2, init="zeros", rng=np.random.default_rng(0))
    >>> network.biases[0][:, 0] = [1.0, -1.0]
    >>> accuracy(network, np.zeros((2, 4, 1)), np.ones((2, 4), dtype=int))
    array([1., 0.])
    """
    inputs = _check_network_inputs(network, inputs)
    logits = forward(network, inputs)
    labels = np.asarray(labels)
    if labels.shape != logits.shape:
        raise ValueError(f"labels must have shape {logits.shape}, got {labels.shape}")
    return ((logits > 0) == (labels == 1)).mean(axis=1)


def _check_positive(value, name) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = check_finite(value, name)
        if value > 0:
            return value
        raise ValueError(f"{name} must be positive, got {value}")
    return check_finite(value, name)  # raises the TypeError
