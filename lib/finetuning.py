"""Pretraining on a spurious cue, and repairing the model by fine-tuning.

A small synthetic world in which a label ``y`` has a *core* cause (a noisy feature whose
relation to ``y`` never changes) and a *spurious* correlate (a cleaner feature whose agreement
with ``y`` depends on the environment). Both are mixed, with nuisance dimensions, into rich
inputs by a fixed rotation, so that no single input coordinate is "the" core or spurious one.
A one-hidden-layer ReLU network trained by empirical risk minimisation where the spurious
feature agrees with the label most of the time learns to rely on it; the question of crux 4 of
Kirk and Krueger (2022) is whether, and with how much data, fine-tuning
repairs that reliance.

The networks are plain numpy, with a leading axis for independent models (one per seed), so
that several networks train at once in one vectorised full-batch loop, and so that freezing a
layer exactly is a matter of not updating it. The repair methods are last-layer retraining
(deep feature reweighting, Kirichenko et al. 2023), full fine-tuning, a linear probe followed
by full fine-tuning (LP-FT, Kumar et al. 2022) and training from scratch.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> world = make_world(n_features=6, rng=rng)
>>> x, y, cue = sample_world(world, (2, 5), agreement=0.9, rng=rng)
>>> x.shape, y.shape, cue.shape
((2, 5, 6), (2, 5), (2, 5))
>>> round(core_only_accuracy(world), 4)
0.8413
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

from .validation import (
    check_finite,
    check_generator,
    check_positive_int,
    check_probability,
)

__all__ = [
    "METHODS",
    "RepairScenario",
    "SpuriousWorld",
    "fit_logistic_probe",
    "largest_doubling_gain",
    "mean_gap",
    "minority_accuracy",
    "probe_grid",
    "sample_group_balanced",
    "accuracy",
    "bayes_worst_group_accuracy",
    "core_only_accuracy",
    "group_accuracies",
    "hidden_layer",
    "init_mlp",
    "make_world",
    "predict_logits",
    "probe_accuracy",
    "repair",
    "repair_curve",
    "sample_world",
    "train_mlp",
    "worst_group_accuracy",
]

#: Repair methods understood by :func:`repair`.
METHODS = ("last_layer", "full", "lp_ft", "scratch")

_PARAMETERS = ("weights_in", "bias_in", "weights_out", "bias_out")


@dataclass(frozen=True)
class RepairScenario:
    """The sizes, environments and training budgets of one pretrain-then-repair experiment.

    Attributes
    ----------
    n_models : int
        Independent networks (seeds) trained side by side.
    n_features, n_hidden, n_narrow : int
        Input dimensions; hidden units of the wide and of the bottleneck networks.
    n_pretrain, n_test, n_probe : int
        Examples per network for pretraining, for the interventional test set and for fitting
        linear probes.
    pretrain_agreement, deploy_agreement : float
        Probability that the cue agrees with the label in pretraining and in deployment.
    pretrain_steps, repair_steps : int
        Full-batch Adam steps for pretraining and for each repair.
    pretrain_rate, repair_rate : float
        Adam's learning rates for the same.
    sizes : tuple of int
        Numbers ``k`` of fine-tuning examples, log-spaced; multiples of 4 so that a
        group-balanced set has ``k / 4`` examples in each (label, cue) group.

    Examples
    --------
    >>> scenario = RepairScenario()
    >>> scenario.n_models, scenario.sizes[0], scenario.sizes[-1]
    (8, 8, 2048)
    >>> RepairScenario(sizes=(6, 8))
    Traceback (most recent call last):
    ...
    ValueError: sizes must be multiples of 4, got (6, 8)
    """

    n_models: int = 8
    n_features: int = 10
    n_hidden: int = 16
    n_narrow: int = 2
    n_pretrain: int = 4000
    n_test: int = 4000
    n_probe: int = 2000
    pretrain_agreement: float = 0.95
    deploy_agreement: float = 0.8
    pretrain_steps: int = 300
    pretrain_rate: float = 0.02
    repair_steps: int = 150
    repair_rate: float = 0.01
    sizes: tuple = tuple(2 ** np.arange(3, 12))

    def __post_init__(self):
        for name in (
            "n_models",
            "n_features",
            "n_hidden",
            "n_narrow",
            "n_pretrain",
            "n_test",
            "n_probe",
            "pretrain_steps",
            "repair_steps",
        ):
            check_positive_int(getattr(self, name), name)
        if self.n_models < 2:
            raise ValueError(
                f"n_models must be at least 2 for a standard error, got {self.n_models}"
            )
        for name in ("pretrain_agreement", "deploy_agreement"):
            check_probability(getattr(self, name), name)
        for name in ("pretrain_rate", "repair_rate"):
            if check_finite(getattr(self, name), name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        sizes = tuple(int(check_positive_int(k, "sizes")) for k in self.sizes)
        if not sizes or any(k % 4 for k in sizes):
            raise ValueError(f"sizes must be multiples of 4, got {self.sizes}")
        object.__setattr__(self, "sizes", sizes)


_HEAD = ("weights_out", "bias_out")


@dataclass(frozen=True)
class SpuriousWorld:
    """A world with a core and a spurious feature hidden in rich inputs.

    Attributes
    ----------
    core_shift : float
        The core feature is ``core_shift * t + core_noise * N(0, 1)`` with ``t = 2y - 1``.
    core_noise : float
        Standard deviation of the core feature's noise.
    spurious_noise : float
        The spurious feature is ``a + spurious_noise * N(0, 1)`` with ``a = ±1`` the cue's sign.
    mixing : ndarray, shape (n_features, n_features)
        Orthogonal matrix that mixes (core, spurious, nuisance...) into the inputs.
    """

    core_shift: float
    core_noise: float
    spurious_noise: float
    mixing: np.ndarray = field(repr=False, compare=False)

    @property
    def n_features(self) -> int:
        """Number of input dimensions."""
        return self.mixing.shape[0]


def make_world(
    *,
    n_features: int = 10,
    core_shift: float = 1.0,
    core_noise: float = 1.0,
    spurious_noise: float = 0.25,
    rng: np.random.Generator,
) -> SpuriousWorld:
    """Return a :class:`SpuriousWorld` with a random orthogonal mixing of its features.

    Examples
    --------
    >>> world = make_world(n_features=4, rng=np.random.default_rng(1))
    >>> np.allclose(world.mixing @ world.mixing.T, np.eye(4))
    True
    >>> make_world(n_features=1, rng=np.random.default_rng(1))
    Traceback (most recent call last):
    ...
    ValueError: n_features must be an integer >= 2, got 1
    """
    n_features = check_positive_int(n_features, "n_features", minimum=2)
    core_shift = check_finite(core_shift, "core_shift")
    for name, value in (("core_noise", core_noise), ("spurious_noise", spurious_noise)):
        if check_finite(value, name) <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
    rng = check_generator(rng)
    # QR of a Gaussian matrix, with signs fixed, is a uniformly random rotation.
    q, r = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    mixing = q * np.sign(np.diag(r))
    return SpuriousWorld(core_shift, float(core_noise), float(spurious_noise), mixing)


def _check_world(world) -> SpuriousWorld:
    if not isinstance(world, SpuriousWorld):
        raise TypeError(
            f"world must be a SpuriousWorld, got {world!r} of type {type(world).__name__}"
        )
    return world


def sample_world(world: SpuriousWorld, shape, *, agreement: float, rng: np.random.Generator):
    """Draw inputs, labels and the spurious cue's sign.

    Parameters
    ----------
    world : SpuriousWorld
    shape : int or tuple of int
        Shape of the batch of examples, e.g. ``(n_models, n_examples)``.
    agreement : float in [0, 1]
        Probability that the spurious cue's sign equals the label's sign. 0.5 is the
        interventional distribution: the cue set by do() to a fair coin, independent of ``y``.
        0 reverses the correlation.
    rng : numpy.random.Generator

    Returns
    -------
    inputs : ndarray, shape ``shape + (n_features,)``
    labels : ndarray of int in {0, 1}, shape ``shape``
    cue : ndarray of int in {0, 1}, shape ``shape``
        1 where the cue points to label 1.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> world = make_world(rng=rng)
    >>> _, y, cue = sample_world(world, 20_000, agreement=1.0, rng=rng)
    >>> bool(np.all(y == cue))
    True
    >>> sample_world(world, 5, agreement=1.5, rng=rng)
    Traceback (most recent call last):
    ...
    ValueError: agreement must be in [0, 1], got 1.5
    """
    world = _check_world(world)
    agreement = check_probability(agreement, "agreement")
    rng = check_generator(rng)
    shape = _check_shape(shape)
    labels = (rng.random(shape) < 0.5).astype(int)
    sign = 2 * labels - 1
    cue_sign = np.where(rng.random(shape) < agreement, sign, -sign)
    core = world.core_shift * sign + world.core_noise * rng.standard_normal(shape)
    spurious = cue_sign + world.spurious_noise * rng.standard_normal(shape)
    nuisance = rng.standard_normal(shape + (world.n_features - 2,))
    latent = np.concatenate([core[..., None], spurious[..., None], nuisance], axis=-1)
    return latent @ world.mixing.T, labels, (cue_sign > 0).astype(int)


def _check_shape(shape) -> tuple:
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, tuple) or not shape:
        raise TypeError(f"shape must be an int or a non-empty tuple of ints, got {shape!r}")
    return tuple(check_positive_int(n, "shape") for n in shape)


def sample_group_balanced(world: SpuriousWorld, shape, *, rng: np.random.Generator):
    """Draw a group-balanced set: exactly a quarter of the examples in each (label, cue) group.

    This is the held-out set that deep feature reweighting (DFR; Kirichenko et al. 2023) fits
    its last layer on: observational data subsampled, using group annotations, to equal group
    sizes. In this world the inputs depend on the environment only through the cue's sign, so
    subsampling draws from *any* environment with ``0 < agreement < 1`` gives this same
    distribution, which is also the interventional one (cue set by do() to a fair coin) with
    the group sizes fixed instead of random. Collecting it from an environment with
    agreement ``rho`` costs about ``n / (2 * min(rho, 1 - rho))`` raw draws, the minority
    groups being the scarce ones.

    Parameters
    ----------
    world : SpuriousWorld
    shape : tuple of int
        ``(..., n_examples)`` with ``n_examples`` a multiple of 4.
    rng : numpy.random.Generator

    Returns
    -------
    inputs, labels, cue
        As :func:`sample_world`; within each leading index the groups come in random order.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> world = make_world(rng=rng)
    >>> _, y, cue = sample_world(world, (2, 8), agreement=0.5, rng=rng)
    >>> _, y, cue = sample_group_balanced(world, (2, 8), rng=rng)
    >>> np.bincount((2 * y + cue)[0], minlength=4).tolist()
    [2, 2, 2, 2]
    >>> sample_group_balanced(world, (2, 6), rng=rng)
    Traceback (most recent call last):
    ...
    ValueError: the last entry of shape must be a multiple of 4, got 6
    """
    world = _check_world(world)
    rng = check_generator(rng)
    shape = _check_shape(shape)
    if shape[-1] % 4:
        raise ValueError(f"the last entry of shape must be a multiple of 4, got {shape[-1]}")
    groups = np.broadcast_to(np.arange(shape[-1]) % 4, shape)
    groups = rng.permuted(groups, axis=-1)
    labels, cue = groups // 2, groups % 2
    sign, cue_sign = 2 * labels - 1, 2 * cue - 1
    core = world.core_shift * sign + world.core_noise * rng.standard_normal(shape)
    spurious = cue_sign + world.spurious_noise * rng.standard_normal(shape)
    nuisance = rng.standard_normal(shape + (world.n_features - 2,))
    latent = np.concatenate([core[..., None], spurious[..., None], nuisance], axis=-1)
    return latent @ world.mixing.T, labels, cue


def core_only_accuracy(world: SpuriousWorld) -> float:
    """Return the accuracy of the best predictor that uses the core feature alone.

    It predicts ``y = 1`` when the core feature is positive, and is right with probability
    ``Phi(core_shift / core_noise)`` in every group: it is also the Bayes-optimal worst-group
    accuracy when the cue is independent of the label.

    Examples
    --------
    >>> world = make_world(core_shift=2.0, core_noise=1.0, rng=np.random.default_rng(0))
    >>> round(core_only_accuracy(world), 4)
    0.9772
    """
    world = _check_world(world)
    return float(stats.norm.cdf(abs(world.core_shift) / world.core_noise))


def init_mlp(n_models: int, n_inputs: int, n_hidden: int, *, rng: np.random.Generator) -> dict:
    """Return ``n_models`` independently initialised one-hidden-layer ReLU networks.

    He initialisation for the hidden layer; the output layer starts at zero, so a fresh
    network predicts probability 1/2 everywhere.

    Examples
    --------
    >>> params = init_mlp(3, 5, 4, rng=np.random.default_rng(0))
    >>> {name: value.shape for name, value in params.items()}
    {'weights_in': (3, 5, 4), 'bias_in': (3, 4), 'weights_out': (3, 4), 'bias_out': (3,)}
    """
    n_models = check_positive_int(n_models, "n_models")
    n_inputs = check_positive_int(n_inputs, "n_inputs")
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    rng = check_generator(rng)
    scale = math.sqrt(2.0 / n_inputs)
    return {
        "weights_in": (scale * rng.standard_normal((n_models, n_inputs, n_hidden))).astype(
            np.float64
        ),
        "bias_in": np.zeros((n_models, n_hidden), dtype=np.float64),
        "weights_out": np.zeros((n_models, n_hidden), dtype=np.float64),
        "bias_out": np.zeros(n_models, dtype=np.float64),
    }


def _check_params(params) -> dict:
    if not isinstance(params, dict) or set(params) != set(_PARAMETERS):
        raise TypeError(f"params must be a dict with keys {_PARAMETERS}, got {params!r:.80}")
    return params


def _check_inputs(params, inputs) -> np.ndarray:
    # Double precision. In single precision, rounding differences between BLAS kernels (OpenBLAS
    # picks one per CPU) grew through the Adam steps into the third significant figure of the
    # reported accuracies; in double they stay far below the printed precision.
    inputs = np.asarray(inputs, dtype=np.float64)
    n_models, n_inputs, _ = params["weights_in"].shape
    if inputs.ndim != 3 or inputs.shape[0] != n_models or inputs.shape[2] != n_inputs:
        raise ValueError(
            f"inputs must have shape ({n_models}, n_examples, {n_inputs}), got {inputs.shape}"
        )
    return inputs


def hidden_layer(params: dict, inputs) -> np.ndarray:
    """Return the hidden-layer activations, shape ``(n_models, n_examples, n_hidden)``.

    Examples
    --------
    >>> params = init_mlp(1, 2, 3, rng=np.random.default_rng(0))
    >>> hidden_layer(params, np.zeros((1, 4, 2))).shape
    (1, 4, 3)
    """
    params = _check_params(params)
    inputs = _check_inputs(params, inputs)
    return np.maximum(inputs @ params["weights_in"] + params["bias_in"][:, None, :], 0.0)


def predict_logits(params: dict, inputs) -> np.ndarray:
    """Return the networks' log-odds of label 1, shape ``(n_models, n_examples)``.

    Examples
    --------
    >>> params = init_mlp(2, 3, 4, rng=np.random.default_rng(0))
    >>> predict_logits(params, np.ones((2, 5, 3))).tolist()
    [[0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]
    """
    hidden = hidden_layer(params, inputs)
    return np.einsum("snh,sh->sn", hidden, params["weights_out"]) + params["bias_out"][:, None]


def _check_labels(labels, shape, name="labels") -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {labels.shape}")
    if not np.all((labels == 0) | (labels == 1)):
        raise ValueError(f"{name} must hold only 0 and 1, got values {np.unique(labels)}")
    return labels.astype(int)


def train_mlp(
    params: dict,
    inputs,
    labels,
    *,
    steps: int,
    learning_rate: float,
    weight_decay: float = 1e-3,
    trainable=_PARAMETERS,
) -> dict:
    """Return a copy of ``params`` trained by full-batch Adam on the logistic loss.

    Parameters
    ----------
    params : dict
        From :func:`init_mlp` or an earlier training run; not modified.
    inputs : ndarray, shape (n_models, n_examples, n_inputs)
        Each model trains on its own slice.
    labels : ndarray of {0, 1}, shape (n_models, n_examples)
    steps : int
        Number of full-batch steps.
    learning_rate : float
        Adam's step size.
    weight_decay : float
        L2 penalty ``weight_decay / 2 * ||w||^2`` on the weights (not the biases).
    trainable : sequence of str
        Parameters to update; the others stay frozen exactly. ``("weights_out", "bias_out")``
        retrains the last layer only.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((1, 200, 2))
    >>> y = (x[..., 0] > 0).astype(int)
    >>> params = init_mlp(1, 2, 8, rng=rng)
    >>> trained = train_mlp(params, x, y, steps=200, learning_rate=0.05)
    >>> float(accuracy(trained, x, y)[0]) > 0.95
    True
    >>> bool(np.all(trained["weights_in"] != params["weights_in"]))
    True
    """
    params = _check_params(params)
    inputs = _check_inputs(params, inputs)
    labels = _check_labels(labels, inputs.shape[:2])
    steps = check_positive_int(steps, "steps")
    learning_rate = check_finite(learning_rate, "learning_rate")
    weight_decay = check_finite(weight_decay, "weight_decay")
    if learning_rate <= 0 or weight_decay < 0:
        raise ValueError(
            f"learning_rate must be positive and weight_decay non-negative, "
            f"got {learning_rate} and {weight_decay}"
        )
    trainable = tuple(trainable)
    if not trainable or not set(trainable) <= set(_PARAMETERS):
        raise ValueError(f"trainable must be a non-empty subset of {_PARAMETERS}, got {trainable}")
    params = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    signs = (2 * labels - 1).astype(np.float64)
    head_only = set(trainable) <= set(_HEAD)
    # With the hidden layer frozen its activations never change: compute them once.
    fixed_hidden = hidden_layer(params, inputs) if head_only else None
    augmented = None if head_only else _augment(inputs)
    moments = {
        name: (np.zeros_like(params[name]), np.zeros_like(params[name])) for name in trainable
    }
    # The matrices are small: BLAS threads cost more in start-up (and, on a shared machine, in
    # contention) than they save, so the loop runs single-threaded; the limit is lifted on exit.
    with threadpool_limits(limits=1, user_api="blas"):
        _adam(params, moments, augmented, signs, fixed_hidden, steps, learning_rate, weight_decay)
    return params


def _augment(inputs):
    # Inputs with a column of ones, so that one batched matmul gives the hidden layer's
    # pre-activations with their bias, and one more gives the gradients of weights and bias
    # together; the transposed copy is made once, not at every step.
    ones = np.ones(inputs.shape[:2] + (1,), dtype=inputs.dtype)
    augmented = np.concatenate([inputs, ones], axis=-1)
    return augmented, np.ascontiguousarray(augmented.transpose(0, 2, 1))


def _adam(params, moments, augmented, signs, fixed_hidden, steps, learning_rate, weight_decay):
    # Full-batch Adam (beta1 = 0.9, beta2 = 0.999), updating params in place.
    n_examples = signs.shape[1]
    for step in range(1, steps + 1):
        grads = _gradients(params, augmented, signs, fixed_hidden)
        for name in moments:
            grad = grads[name] / n_examples
            if name.startswith("weights"):
                grad = grad + weight_decay * params[name]
            first, second = moments[name]
            first = 0.9 * first + 0.1 * grad
            second = 0.999 * second + 0.001 * grad**2
            moments[name] = (first, second)
            corrected = first / (1 - 0.9**step)
            params[name] -= learning_rate * corrected / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)


def _gradients(params, augmented, signs, fixed_hidden):
    # Logistic loss log(1 + exp(-t z)); its derivative in z is -t * sigmoid(-t z).
    # ``augmented`` is ``_augment(inputs)``; it is unused (may be None) when the hidden layer
    # is fixed.
    if fixed_hidden is None:
        inputs_ones, inputs_ones_t = augmented
        weights = np.concatenate([params["weights_in"], params["bias_in"][:, None, :]], axis=1)
        hidden = inputs_ones @ weights
        active = hidden > 0
        hidden *= active
    else:
        hidden = fixed_hidden
    logits = (hidden @ params["weights_out"][..., None])[..., 0] + params["bias_out"][:, None]
    d_logits = -signs * (0.5 * (1.0 - np.tanh(0.5 * signs * logits)))
    grads = {
        "weights_out": (d_logits[:, None, :] @ hidden)[:, 0],
        "bias_out": d_logits.sum(axis=1),
    }
    if fixed_hidden is None:
        d_pre = d_logits[..., None] * params["weights_out"][:, None, :]
        d_pre *= active
        both = inputs_ones_t @ d_pre
        grads["weights_in"] = both[:, :-1]
        grads["bias_in"] = both[:, -1]
    return grads


def accuracy(params: dict, inputs, labels) -> np.ndarray:
    """Return each model's accuracy on its own slice of examples, shape ``(n_models,)``.

    Examples
    --------
    >>> params = init_mlp(2, 3, 4, rng=np.random.default_rng(0))
    >>> params["bias_out"] = np.array([1.0, -1.0])
    >>> accuracy(params, np.zeros((2, 4, 3)), np.ones((2, 4), dtype=int))
    array([1., 0.])
    """
    logits = predict_logits(params, inputs)
    labels = _check_labels(labels, logits.shape)
    return ((logits > 0) == (labels == 1)).mean(axis=1)


def group_accuracies(params: dict, inputs, labels, cue) -> np.ndarray:
    """Return accuracy in the four (label, cue) groups, shape ``(n_models, 4)``.

    Columns are the groups (y=0, cue=0), (y=0, cue=1), (y=1, cue=0), (y=1, cue=1); the
    "minority" groups, where the cue disagrees with the label, are columns 1 and 2. A group
    with no examples in a model's slice gives NaN.

    Examples
    --------
    >>> params = init_mlp(1, 3, 4, rng=np.random.default_rng(0))
    >>> params["bias_out"] = np.array([1.0])
    >>> group_accuracies(params, np.zeros((1, 4, 3)), np.array([[0, 0, 1, 1]]),
    ...                  np.array([[0, 1, 0, 1]]))
    array([[0., 0., 1., 1.]])
    """
    logits = predict_logits(params, inputs)
    labels = _check_labels(labels, logits.shape)
    cue = _check_labels(cue, logits.shape, "cue")
    correct = (logits > 0) == (labels == 1)
    group = 2 * labels + cue
    masks = group[..., None] == np.arange(4)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (correct[..., None] * masks).sum(axis=1) / masks.sum(axis=1)


def worst_group_accuracy(params: dict, inputs, labels, cue) -> np.ndarray:
    """Return each model's lowest accuracy over the four (label, cue) groups.

    Examples
    --------
    >>> params = init_mlp(1, 3, 4, rng=np.random.default_rng(0))
    >>> worst_group_accuracy(params, np.zeros((1, 4, 3)), np.array([[0, 0, 1, 1]]),
    ...                      np.array([[0, 1, 0, 1]]))
    array([0.])
    >>> worst_group_accuracy(params, np.zeros((1, 2, 3)), np.array([[0, 1]]),
    ...                      np.array([[0, 1]]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: labels and cue must give every (label, cue) group an example ... for model 0
    """
    groups = group_accuracies(params, inputs, labels, cue)
    empty = np.argwhere(np.isnan(groups))
    if empty.size:
        model, group = empty[0]
        # nanmin would silently report the worst of the groups present, not of all four.
        raise ValueError(
            f"labels and cue must give every (label, cue) group an example in each model's "
            f"slice, got none with (label, cue) = ({group // 2}, {group % 2}) for model {model}"
        )
    return groups.min(axis=1)


def minority_accuracy(params: dict, inputs, labels, cue) -> np.ndarray:
    """Return each model's accuracy pooled over the examples where the cue disagrees with the label.

    Unlike :func:`worst_group_accuracy`, which takes the minimum of two noisy group
    estimates and so is biased downwards (by about ``se / sqrt(pi)`` when the two groups'
    true accuracies are equal), this is an unbiased estimate of the accuracy on the minority
    groups, the quantity :func:`bayes_worst_group_accuracy` gives in closed form.

    Examples
    --------
    >>> params = init_mlp(1, 3, 4, rng=np.random.default_rng(0))
    >>> params["bias_out"] = np.array([1.0])
    >>> minority_accuracy(params, np.zeros((1, 4, 3)), np.array([[0, 0, 1, 1]]),
    ...                   np.array([[0, 1, 0, 1]]))
    array([0.5])
    """
    logits = predict_logits(params, inputs)
    labels = _check_labels(labels, logits.shape)
    cue = _check_labels(cue, logits.shape, "cue")
    correct = (logits > 0) == (labels == 1)
    minority = labels != cue
    return (correct & minority).sum(axis=1) / minority.sum(axis=1)


def fit_logistic_probe(features, targets, *, penalty: float = 1.0, iterations: int = 30):
    """Fit one L2-penalised logistic regression per model by Newton's method, all at once.

    Minimises ``sum_i log(1 + exp(-t_i (w . x_i + b))) + penalty / 2 * ||w||**2`` (the
    intercept ``b`` unpenalised), the objective of scikit-learn's ``LogisticRegression`` with
    ``C = 1 / penalty``. The objective is strictly convex, so Newton's method from zero
    converges in a handful of steps; the models are a leading batch axis, not a loop.

    Parameters
    ----------
    features : ndarray, shape (n_models, n_examples, n_features)
    targets : ndarray of {0, 1}, shape (n_models, n_examples)

    Returns
    -------
    weights : ndarray, shape (n_models, n_features)
    intercept : ndarray, shape (n_models,)

    Examples
    --------
    >>> x = np.array([[[-2.0], [-1.0], [1.0], [2.0]]])
    >>> weights, intercept = fit_logistic_probe(x, np.array([[0, 0, 1, 1]]))
    >>> bool(weights[0, 0] > 0), abs(float(intercept[0])) < 1e-9
    (True, True)
    """
    features = np.asarray(features, dtype=float)
    if features.ndim != 3:
        raise ValueError(
            f"features must have shape (n_models, n_examples, n_features), got {features.shape}"
        )
    targets = _check_labels(targets, features.shape[:2], "targets")
    penalty = check_finite(penalty, "penalty")
    if penalty < 0:
        raise ValueError(f"penalty must be non-negative, got {penalty}")
    iterations = check_positive_int(iterations, "iterations")
    n_models, _, n_features = features.shape
    design = np.concatenate([features, np.ones(features.shape[:2] + (1,))], axis=-1)
    ridge = penalty * np.diag(np.r_[np.ones(n_features), 0.0])
    coefficients = np.zeros((n_models, n_features + 1))
    # Small matrices: single-threaded BLAS, as in train_mlp.
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(iterations):  # Newton steps, each for all models at once
            logits = np.einsum("mnd,md->mn", design, coefficients)
            prob = 0.5 * (1.0 + np.tanh(0.5 * logits))
            gradient = np.einsum("mnd,mn->md", design, prob - targets) + coefficients @ ridge
            curvature = prob * (1.0 - prob) + 1e-12
            hessian = (design * curvature[..., None]).transpose(0, 2, 1) @ design
            step = np.linalg.solve(hessian + ridge, gradient[..., None])[..., 0]
            coefficients -= step
            if np.max(np.abs(step)) < 1e-10:
                break
    return coefficients[:, :-1], coefficients[:, -1]


def probe_accuracy(train_features, train_targets, test_features, test_targets) -> np.ndarray:
    """Return the test accuracy of a linear probe fitted separately for each model.

    The probe is an L2-regularised logistic regression (:func:`fit_logistic_probe`, the
    objective of scikit-learn's defaults) from the features, e.g. :func:`hidden_layer`
    activations or the raw inputs, to a binary target. It is fitted on the training arrays
    and scored on the test arrays, which should be held out.

    Parameters
    ----------
    train_features, test_features : ndarray, shape (n_models, n_examples, n_features)
    train_targets, test_targets : ndarray of {0, 1}, shape (n_models, n_examples)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((2, 400, 3))
    >>> target = (x[..., 1] > 0).astype(int)
    >>> probe_accuracy(x[:, :200], target[:, :200], x[:, 200:], target[:, 200:]) > 0.95
    array([ True,  True])
    """
    arrays = []
    for name, features in (("train_features", train_features), ("test_features", test_features)):
        features = np.asarray(features, dtype=float)
        if features.ndim != 3:
            raise ValueError(
                f"{name} must have shape (n_models, n_examples, n_features), got {features.shape}"
            )
        arrays.append(features)
    train_features, test_features = arrays
    train_targets = _check_labels(train_targets, train_features.shape[:2], "train_targets")
    test_targets = _check_labels(test_targets, test_features.shape[:2], "test_targets")
    weights, intercept = fit_logistic_probe(train_features, train_targets)
    logits = np.einsum("mnd,md->mn", test_features, weights) + intercept[:, None]
    return ((logits > 0) == (test_targets == 1)).mean(axis=1)


def probe_grid(params: dict, probe_set, test_set) -> np.ndarray:
    """Return mean probe accuracies for (label, cue sign) x (hidden layer, raw inputs).

    Probes are fitted on ``probe_set`` and scored on the held-out ``test_set``; each is a
    tuple ``(inputs, labels, cue)`` shaped for the models. On interventional data the label
    probe can reach at most the core feature's accuracy, since the cue tells nothing there.

    Returns
    -------
    ndarray, shape (2, 2)
        Rows: label, cue sign. Columns: hidden layer, raw inputs. Averaged over models.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> world = make_world(n_features=4, rng=rng)
    >>> params = init_mlp(2, 4, 8, rng=rng)
    >>> probe = sample_world(world, (2, 400), agreement=0.5, rng=rng)
    >>> test = sample_world(world, (2, 400), agreement=0.5, rng=rng)
    >>> probe_grid(params, probe, test).shape
    (2, 2)
    """
    (probe_x, probe_y, probe_cue), (test_x, test_y, test_cue) = probe_set, test_set
    train_h, test_h = hidden_layer(params, probe_x), hidden_layer(params, test_x)
    grid = np.empty((2, 2))
    for row, (train_t, test_t) in enumerate(((probe_y, test_y), (probe_cue, test_cue))):
        grid[row, 0] = probe_accuracy(train_h, train_t, test_h, test_t).mean()
        grid[row, 1] = probe_accuracy(probe_x, train_t, test_x, test_t).mean()
    return grid


def mean_gap(first, second) -> tuple[float, float]:
    """Return the difference of two seed means at the last size, and its standard error.

    ``first`` and ``second`` are curves shaped ``(n_sizes, n_models)`` from independent
    seeds; the standard errors of the two means are combined in quadrature.

    Examples
    --------
    >>> a = np.array([[0.0, 0.0], [1.0, 3.0]])
    >>> b = np.array([[0.0, 0.0], [0.0, 0.0]])
    >>> mean_gap(a, b)
    (2.0, 1.0)
    """
    first, second = (np.asarray(v, dtype=float) for v in (first, second))
    if first.ndim != 2 or second.ndim != 2 or min(first.shape[1], second.shape[1]) < 2:
        raise ValueError(
            f"curves must have shape (n_sizes, n_models >= 2), got {first.shape} and {second.shape}"
        )
    diff = first[-1].mean() - second[-1].mean()
    variance = first[-1].var(ddof=1) / first.shape[1] + second[-1].var(ddof=1) / second.shape[1]
    return float(diff), float(np.sqrt(variance))


def largest_doubling_gain(sizes, values) -> tuple:
    """Return the doubling of ``k`` with the largest mean gain in a repair curve.

    Parameters
    ----------
    sizes : sequence of int, length n_sizes
    values : ndarray, shape (n_sizes, n_models)

    Returns
    -------
    tuple
        ``(k_from, k_to, gain, standard_error, share)``: the step's mean gain over models,
        the standard error of that mean, and its share of the whole gain from the first to the
        last size.

    Examples
    --------
    >>> curve = np.array([[0.1, 0.1], [0.2, 0.2], [0.7, 0.5], [0.7, 0.5]])
    >>> k_from, k_to, gain, se, share = largest_doubling_gain([8, 16, 32, 64], curve)
    >>> int(k_from), int(k_to), round(gain, 3), round(se, 3), round(share, 3)
    (16, 32, 0.4, 0.1, 0.8)
    """
    sizes = np.asarray(sizes)
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[0] != sizes.size or values.shape[0] < 2:
        raise ValueError(
            f"values must have shape ({sizes.size}, n_models) with at least 2 "
            f"sizes, got {values.shape}"
        )
    steps = np.diff(values, axis=0)
    best = int(np.argmax(steps.mean(axis=1)))
    gain = steps[best].mean()
    se = steps[best].std(ddof=1) / np.sqrt(values.shape[1])
    total = values[-1].mean() - values[0].mean()
    return sizes[best], sizes[best + 1], float(gain), float(se), float(gain / total)


def bayes_worst_group_accuracy(world: SpuriousWorld, agreement: float) -> float:
    """Return the worst-group accuracy of the Bayes-optimal predictor for one environment.

    In an environment where the cue agrees with the label with probability ``agreement``
    (``rho``), the best predictor adds the cue's log-likelihood ratio
    ``l = log(rho / (1 - rho))`` to the core's, ``2 mu c / sigma**2``. In the group where the
    cue disagrees with the label it is right when the core outweighs the cue, with probability
    ``Phi(mu / sigma - l sigma / (2 mu))``. The cue's sign is treated as observed exactly (its
    noise, ``spurious_noise``, flips it with probability ``Phi(-1 / spurious_noise)``, 3e-5 at
    the default 0.25).

    Examples
    --------
    >>> world = make_world(rng=np.random.default_rng(0))
    >>> round(bayes_worst_group_accuracy(world, 0.5), 4) == round(core_only_accuracy(world), 4)
    True
    >>> round(bayes_worst_group_accuracy(world, 0.8), 4)
    0.6205
    >>> bayes_worst_group_accuracy(world, 1.0)
    0.0
    """
    world = _check_world(world)
    agreement = check_probability(agreement, "agreement")
    strength = abs(agreement - 0.5) + 0.5
    if strength == 1.0:
        return 0.0
    log_ratio = math.log(strength / (1 - strength))
    ratio = world.core_shift / world.core_noise
    return float(stats.norm.cdf(abs(ratio) - log_ratio / (2 * abs(ratio))))


def repair_curve(
    pretrained: dict,
    world: SpuriousWorld,
    sizes,
    *,
    method: str,
    agreement: float,
    test,
    steps: int,
    learning_rate: float,
    rng: np.random.Generator,
    balanced: bool = False,
) -> np.ndarray:
    """Return worst-group test accuracy after :func:`repair` on ``k`` examples, for each ``k``.

    For every size ``k`` each model gets its own ``k`` fresh fine-tuning examples drawn with
    ``agreement`` (0.5: interventional data, the cue randomised). With ``balanced=True`` the
    examples are instead subsampled, using group labels, to ``k / 4`` per (label, cue) group
    (:func:`sample_group_balanced`), the data that DFR fits its last layer on.

    Parameters
    ----------
    test : tuple (inputs, labels, cue)
        The evaluation set, shaped for the models (see :func:`worst_group_accuracy`).

    Returns
    -------
    ndarray, shape (len(sizes), n_models)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> world = make_world(n_features=4, rng=rng)
    >>> params = init_mlp(2, 4, 3, rng=rng)
    >>> test = sample_world(world, (2, 50), agreement=0.5, rng=rng)
    >>> repair_curve(params, world, [4, 8], method="full", agreement=0.5, test=test,
    ...              steps=3, learning_rate=0.01, rng=rng).shape
    (2, 2)
    """
    params = _check_params(pretrained)
    n_models = params["weights_in"].shape[0]
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(test, tuple) or len(test) != 3:
        raise TypeError(f"test must be a tuple (inputs, labels, cue), got {test!r:.80}")
    sizes = [check_positive_int(size, "sizes") for size in sizes]
    if not sizes:
        raise ValueError(f"sizes must hold at least one size, got {sizes}")
    curve = np.empty((len(sizes), n_models))
    for row, size in enumerate(sizes):
        if balanced:
            inputs, labels, _ = sample_group_balanced(world, (n_models, size), rng=rng)
        else:
            inputs, labels, _ = sample_world(world, (n_models, size), agreement=agreement, rng=rng)
        repaired = repair(
            params, inputs, labels, method=method, steps=steps, learning_rate=learning_rate, rng=rng
        )
        curve[row] = worst_group_accuracy(repaired, *test)
    return curve


def repair(
    pretrained: dict,
    inputs,
    labels,
    *,
    method: str,
    steps: int,
    learning_rate: float,
    rng: np.random.Generator,
) -> dict:
    """Return networks repaired from ``pretrained`` on fine-tuning data by one ``method``.

    Methods
    -------
    ``"last_layer"``
        Last-layer retraining: a fresh output layer fitted on the frozen hidden layer. Given
        group-balanced data this is deep feature reweighting (DFR; Kirichenko et al., 2023);
        given data in which the cue still predicts the label it is just ERM on a head.
    ``"full"``
        All weights fine-tuned from the pretrained ones.
    ``"lp_ft"``
        LP-FT (Kumar et al., 2022): the last-layer fit (the linear probe) first, then all
        weights fine-tuned starting from the probe's head, for the same number of steps at a
        tenth of the learning rate (so twice the steps of the other methods in all).
    ``"scratch"``
        A fresh network (same width) trained on the fine-tuning data alone.

    ``rng`` is used only by ``"scratch"``, but is required for every method so that callers
    need not know which method draws random numbers.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> params = init_mlp(2, 3, 4, rng=rng)
    >>> x, y = rng.standard_normal((2, 10, 3)), rng.integers(0, 2, (2, 10))
    >>> fixed = repair(params, x, y, method="last_layer", steps=5, learning_rate=0.1, rng=rng)
    >>> bool(np.all(fixed["weights_in"] == params["weights_in"]))
    True
    >>> repair(params, x, y, method="prune", steps=5, learning_rate=0.1, rng=rng)
    Traceback (most recent call last):
    ...
    ValueError: method must be one of ('last_layer', 'full', 'lp_ft', 'scratch'), got 'prune'
    """
    params = _check_params(pretrained)
    rng = check_generator(rng)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    fresh_head = dict(
        params,
        weights_out=np.zeros_like(params["weights_out"]),
        bias_out=np.zeros_like(params["bias_out"]),
    )
    train = dict(steps=steps, learning_rate=learning_rate)
    if method == "last_layer":
        return train_mlp(fresh_head, inputs, labels, trainable=_HEAD, **train)
    if method == "full":
        return train_mlp(params, inputs, labels, **train)
    if method == "lp_ft":
        probed = train_mlp(fresh_head, inputs, labels, trainable=_HEAD, **train)
        return train_mlp(probed, inputs, labels, steps=steps, learning_rate=learning_rate / 10)
    n_models, n_inputs, n_hidden = params["weights_in"].shape
    return train_mlp(init_mlp(n_models, n_inputs, n_hidden, rng=rng), inputs, labels, **train)
