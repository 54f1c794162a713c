"""Small multilayer perceptrons, trained as a stack of independent models at once.

Every chapter that trains a network uses this module: one forward pass, one backward pass and
one Adam, each acting on a stack of models along a leading axis (seeds, worlds, restarts), so
that the replicates a power calculation asks for cost one vectorised run instead of a Python
loop.

The model
---------
A :class:`Network` holds ``n_models`` independent perceptrons of the same shape: 0, 1 or 2 hidden
layers of ReLU (or tanh) units and an output layer of one of three kinds:

* ``"logistic"``: one logit per example, log loss against 0/1 (or soft) targets;
* ``"softmax"``: ``n_classes`` logits per example, cross-entropy against integer classes;
* ``"squared"``: one output per example, squared error ``(f - y)**2`` against real targets.

The training objective of each model is a weighted sum of per-example losses plus an L2
penalty,

.. math:: J(\\theta) = \\sum_i w_i \\, \\ell(f_i(\\theta), y_i)
          + \\tfrac{\\lambda}{2} \\lVert \\theta \\rVert^2,

with ``w_i = 1 / n`` (the mean loss) unless ``example_weights`` are given. Its gradient is
``sum_i c_i df_i/dtheta + lambda theta`` with per-example coefficients ``c_i = w_i dl_i/df_i``:
:func:`loss_coefficients` returns ``dl_i/df_i`` and :func:`backward` turns any coefficients into
parameter gradients. Objectives built from per-example logits therefore need no new
back-propagation: group DRO weights examples by their group's weight; V-REx weights them by
``(1 + 2 beta (R_e - mean R)) / (n_envs n_e)``; IRMv1 adds ``2 g_e dg_e/df_i`` with ``g_e`` the
derivative of environment ``e``'s risk with respect to a dummy scale on the logits
(:func:`dummy_scale_gradient`). Inputs are either shared by all models, shape
``(n, n_features)``, or one batch per model, shape ``(n_models, n, n_features)``.

:func:`train` runs full-batch Adam (Kingma and Ba, 2015) until each model's gradient norm falls
below ``gradient_tol`` or its relative loss change stays below ``loss_tol`` for ``patience``
steps, or the step budget runs out. A model that stops is frozen while the others continue, so a
stack trains exactly as its models would one at a time. The result says, per model, whether it
converged and after how many steps: this module never warns and never silences a warning.

Reproducibility across BLAS kernels
-----------------------------------
All arithmetic is float64, and every product is a :func:`numpy.einsum` (no ``optimize``), which
sums in numpy's own loops rather than in BLAS, each reduction running over a contiguous axis.
The numbers are then the same under every OpenBLAS kernel (Sandybridge, Haswell and SkylakeX
sum in different orders), which matters because a long non-convex training run can amplify
last-bit differences into different minima, and the book's stored outputs must equal a fresh
run under each kernel. The price, measured on the book's 2-core machine while other jobs ran
(user CPU time; 20 models, 64 inputs, 32 hidden ReLU units, 500 examples each, 200 full-batch
Adam steps): this module 3.7-4.5 s; the same arithmetic with ``@`` (OpenBLAS, one thread) 0.8-1.0 s.
For a linear model the two cost the same (20 models, 128 inputs, 2,000 examples: 0.8 s each).

Why it is hand-written
----------------------
The book installs no automatic-differentiation library, and the issue that asked for this module
allowed one (JAX) only if it installs from the package index in seconds, keeps the stored outputs
equal under all three OpenBLAS kernels, and clearly beats numpy. Measured on the same machine and
problem, in a scratch environment (jax and jaxlib 0.10.2, float64, the training loop under
``jax.jit`` and ``jax.lax.fori_loop``, gradients by ``jax.vmap(jax.grad(...))``): installing took
30 s wall (11 s CPU) from a warm cache; ``import jax`` costs 1.1 s CPU in every fresh kernel; the
first call, which compiles, 1.3-1.5 s CPU; later calls of the same shape 0.8 s. A chapter pays the
import once and a compilation for every new shape, so for the few seconds of training a chapter
does, JAX saves at most a second or two against the module's 4 s, and less where models are
linear, while adding a large compiled dependency. It does not clearly win, so the gradients are
written by hand: they are short for a perceptron, and ``tests/test_networks.py`` checks every one
against finite differences.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x = rng.standard_normal((200, 2))
>>> y = (x[:, 0] + x[:, 1] > 0).astype(int)
>>> network = init_network(2, (8,), n_models=3, rng=rng)
>>> result = train(network, x, y, learning_rate=0.05, max_steps=300)
>>> result.converged, result.n_steps
(array([False, False, False]), array([300, 300, 300]))
>>> bool(np.all(np.mean((forward(result.network, x) > 0) == y, axis=1) > 0.95))
True
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_softmax, softmax

from ..evidence.validation import (
    check_finite,
    check_finite_array,
    check_generator,
    check_positive_int,
)

__all__ = [
    "ACTIVATIONS",
    "INITIALISATIONS",
    "OUTPUTS",
    "AdamState",
    "Network",
    "TrainResult",
    "adam_step",
    "backward",
    "dummy_scale_gradient",
    "forward",
    "init_adam",
    "init_network",
    "loss_coefficients",
    "objective",
    "parameter_vector",
    "per_example_loss",
    "stack_networks",
    "train",
]

#: Output layers: log loss on one logit, cross-entropy on ``n_classes`` logits, squared error.
OUTPUTS = ("logistic", "softmax", "squared")
#: Hidden units.
ACTIVATIONS = ("relu", "tanh")
#: Weight initialisations (biases start at 0): Glorot's uniform, LeCun's and He's normal, zeros
#: (only for a model without hidden layers, where it is the convex problem's natural start).
INITIALISATIONS = ("xavier_uniform", "lecun_normal", "he_normal", "zeros")


# --- The model --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    """A stack of ``n_models`` perceptrons of one shape.

    Attributes
    ----------
    weights : tuple of ndarray
        One per layer, shape ``(n_models, fan_in, fan_out)``; the last is the output layer
        (``fan_out`` is 1, or ``n_classes`` for a softmax output).
    biases : tuple of ndarray
        One per layer, shape ``(n_models, fan_out)``.
    output : {"logistic", "softmax", "squared"}
    activation : {"relu", "tanh"}
        The hidden units' non-linearity (unused without hidden layers).

    Examples
    --------
    >>> network = init_network(3, (4,), n_models=2, rng=np.random.default_rng(0))
    >>> network.n_models, network.n_features, network.hidden, network.n_outputs
    (2, 3, (4,), 1)
    >>> network.take([1]).n_models
    1
    """

    weights: tuple
    biases: tuple
    output: str = "logistic"
    activation: str = "relu"

    def __post_init__(self):
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        weights = tuple(np.asarray(w, dtype=np.float64) for w in self.weights)
        biases = tuple(np.asarray(b, dtype=np.float64) for b in self.biases)
        if not weights or len(weights) != len(biases):
            raise ValueError(
                f"weights and biases must be equally long and non-empty, got {len(weights)} "
                f"and {len(biases)}"
            )
        n_models, fan_in = weights[0].shape[:2] if weights[0].ndim == 3 else (None, None)
        for layer, (w, b) in enumerate(zip(weights, biases)):
            if (
                w.ndim != 3
                or w.shape[:2] != (n_models, fan_in)
                or b.shape != (n_models, w.shape[2])
            ):
                raise ValueError(
                    f"layer {layer}: weights must have shape ({n_models}, {fan_in}, fan_out) and "
                    f"biases ({n_models}, fan_out), got {w.shape} and {b.shape}"
                )
            fan_in = w.shape[2]
        if self.output != "softmax" and fan_in != 1:
            raise ValueError(f"a {self.output} output layer has 1 unit, got {fan_in}")
        if self.output == "softmax" and fan_in < 2:
            raise ValueError(f"a softmax output layer needs at least 2 units, got {fan_in}")
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "biases", biases)

    @property
    def n_models(self) -> int:
        """Number of models in the stack."""
        return self.weights[0].shape[0]

    @property
    def n_features(self) -> int:
        """Number of inputs of each model."""
        return self.weights[0].shape[1]

    @property
    def hidden(self) -> tuple:
        """Widths of the hidden layers (empty for a linear model)."""
        return tuple(w.shape[2] for w in self.weights[:-1])

    @property
    def n_outputs(self) -> int:
        """Logits per example: 1, or the number of classes of a softmax output."""
        return self.weights[-1].shape[2]

    def take(self, models) -> Network:
        """Return the sub-stack of the given model indices (an int keeps the axis).

        Examples
        --------
        >>> network = init_network(2, (), n_models=4, rng=np.random.default_rng(0))
        >>> network.take(2).n_models, network.take([0, 3]).n_models
        (1, 2)
        """
        index = np.atleast_1d(np.asarray(models))
        if not np.issubdtype(index.dtype, np.integer) or index.ndim != 1:
            raise TypeError(f"models must be an int or a 1-d array of ints, got {models!r}")
        if np.any(index < -self.n_models) or np.any(index >= self.n_models):
            raise ValueError(f"models must index {self.n_models} models, got {models!r}")
        return self._replace(
            tuple(w[index] for w in self.weights), tuple(b[index] for b in self.biases)
        )

    def _replace(self, weights, biases) -> Network:
        # A network of the same kind with new float64 arrays of the same shapes, built without
        # validation: training builds several per step, and their shapes are right by
        # construction.
        network = object.__new__(Network)
        for name, value in (
            ("weights", tuple(weights)),
            ("biases", tuple(biases)),
            ("output", self.output),
            ("activation", self.activation),
        ):
            object.__setattr__(network, name, value)
        return network


def _check_network(network) -> Network:
    if not isinstance(network, Network):
        raise TypeError(
            f"network must be a Network (from init_network), got {type(network).__name__}"
        )
    return network


def stack_networks(networks) -> Network:
    """Return one stack holding the models of several stacks of the same shape, in order.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> parts = [init_network(2, (3,), n_models=1, rng=rng) for _ in range(3)]
    >>> stack_networks(parts).n_models
    3
    """
    networks = list(networks)
    if not networks:
        raise ValueError("networks must be a non-empty sequence of Network")
    first = _check_network(networks[0])
    for k, other in enumerate(networks):
        other = _check_network(other)
        same = [w.shape[1:] for w in other.weights] == [w.shape[1:] for w in first.weights]
        if not same or (other.output, other.activation) != (first.output, first.activation):
            raise ValueError(
                f"networks[{k}] differs in shape, output or activation from networks[0]"
            )
    return first._replace(
        tuple(np.concatenate(ws) for ws in zip(*(n.weights for n in networks))),
        tuple(np.concatenate(bs) for bs in zip(*(n.biases for n in networks))),
    )


def parameter_vector(network) -> np.ndarray:
    """Return each model's parameters as one flat vector, shape ``(n_models, n_parameters)``.

    Layer by layer, weights (row-major, ``fan_in x fan_out``) then biases: for one hidden layer
    and one output this is the layout hidden weights, hidden biases, output weights, output bias.

    Examples
    --------
    >>> network = init_network(2, (3,), n_models=4, rng=np.random.default_rng(0))
    >>> parameter_vector(network).shape
    (4, 13)
    """
    network = _check_network(network)
    parts = []
    for w, b in zip(network.weights, network.biases):
        parts += [w.reshape(network.n_models, -1), b]
    return np.concatenate(parts, axis=1)


def init_network(
    n_features,
    hidden=(),
    *,
    n_models,
    rng: np.random.Generator,
    output: str = "logistic",
    n_classes: int = 2,
    activation: str = "relu",
    init: str = "xavier_uniform",
) -> Network:
    """Return ``n_models`` freshly initialised perceptrons with zero biases.

    Parameters
    ----------
    n_features : int
        Inputs of each model.
    hidden : int or tuple of int
        Widths of the hidden layers: ``()`` or ``0`` for a linear (logistic, softmax or
        least-squares) model, ``(h,)`` or ``h`` for one hidden layer, ``(h1, h2)`` for two.
    n_models : int
        Models in the stack.
    rng : numpy.random.Generator
        Draws the weights, layer by layer, all models at once (a stack of one model per call,
        joined by :func:`stack_networks`, draws in a different order).
    output : {"logistic", "softmax", "squared"}
    n_classes : int
        Classes of a softmax output (ignored otherwise).
    activation : {"relu", "tanh"}
    init : {"xavier_uniform", "lecun_normal", "he_normal", "zeros"}
        Weights uniform on ``+-sqrt(6 / (fan_in + fan_out))`` (Glorot and Bengio, 2010, as
        PyTorch's and the IRM reference code's linear layers), normal with variance
        ``1 / fan_in`` (LeCun) or ``2 / fan_in`` (He et al., 2015), or zeros.

    Examples
    --------
    >>> network = init_network(4, 8, n_models=3, rng=np.random.default_rng(0))
    >>> [w.shape for w in network.weights], [b.shape for b in network.biases]
    ([(3, 4, 8), (3, 8, 1)], [(3, 8), (3, 1)])
    >>> init_network(4, (), n_models=1, output="softmax", n_classes=3, init="zeros",
    ...              rng=np.random.default_rng(0)).weights[0].shape
    (1, 4, 3)
    """
    n_features = check_positive_int(n_features, "n_features")
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
        hidden = () if hidden == 0 else (hidden,)
    if not isinstance(hidden, (tuple, list)) or len(hidden) > 2:
        raise ValueError(f"hidden must be an int or a tuple of at most 2 widths, got {hidden!r}")
    hidden = tuple(check_positive_int(h, "hidden") for h in hidden)
    n_models = check_positive_int(n_models, "n_models")
    rng = check_generator(rng)
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    n_outputs = check_positive_int(n_classes, "n_classes", minimum=2) if output == "softmax" else 1
    if init not in INITIALISATIONS:
        raise ValueError(f"init must be one of {INITIALISATIONS}, got {init!r}")
    if init == "zeros" and hidden:
        raise ValueError(f"init='zeros' leaves hidden units identical; got hidden={hidden}")
    widths = (n_features, *hidden, n_outputs)
    weights = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        shape = (n_models, fan_in, fan_out)
        if init == "xavier_uniform":
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            weights.append(rng.uniform(-bound, bound, size=shape))
        elif init == "zeros":
            weights.append(np.zeros(shape))
        else:
            scale = 1.0 if init == "lecun_normal" else 2.0
            weights.append(rng.standard_normal(shape) * np.sqrt(scale / fan_in))
    biases = [np.zeros((n_models, fan_out)) for fan_out in widths[1:]]
    return Network(tuple(weights), tuple(biases), output=output, activation=activation)


# --- Forward and backward passes --------------------------------------------------------------


def _check_inputs(network: Network, inputs) -> np.ndarray:
    inputs = check_finite_array(inputs, "inputs")
    m, f = network.n_models, network.n_features
    if not (
        (inputs.ndim == 2 and inputs.shape[1] == f)
        or (inputs.ndim == 3 and inputs.shape[0] == m and inputs.shape[2] == f)
    ):
        raise ValueError(f"inputs must have shape (n, {f}) or ({m}, n, {f}), got {inputs.shape}")
    return inputs


def _forward(network: Network, inputs: np.ndarray):
    # Pre-activations of the output layer, (m, n, n_outputs), and each layer's input.
    # Products are einsums reducing over a contiguous axis: see the module's docstring.
    layer_inputs = [inputs]
    values = inputs
    last = len(network.weights) - 1
    for layer, (w, b) in enumerate(zip(network.weights, network.biases)):
        w_t = np.ascontiguousarray(w.transpose(0, 2, 1))  # (m, fan_out, fan_in)
        spec = "nf,mhf->mnh" if values.ndim == 2 else "mnf,mhf->mnh"
        values = np.einsum(spec, values, w_t) + b[:, None, :]
        if layer < last:
            values = np.maximum(values, 0.0) if network.activation == "relu" else np.tanh(values)
            layer_inputs.append(values)
    return values, layer_inputs


def _squeeze(network: Network, values: np.ndarray) -> np.ndarray:
    return values if network.output == "softmax" else values[..., 0]


def forward(network, inputs) -> np.ndarray:
    """Return each model's logits (or regression outputs) on the inputs.

    Parameters
    ----------
    network : Network
    inputs : array_like, shape (n, n_features) or (n_models, n, n_features)
        Shared by all models, or one batch per model.

    Returns
    -------
    ndarray
        Shape ``(n_models, n)``, or ``(n_models, n, n_classes)`` for a softmax output.

    Examples
    --------
    >>> network = init_network(2, (), n_models=1, init="zeros", rng=np.random.default_rng(0))
    >>> network.weights[0][0, :, 0] = [1.0, -1.0]
    >>> forward(network, [[2.0, 0.5]])
    array([[1.5]])
    """
    network = _check_network(network)
    return _squeeze(network, _forward(network, _check_inputs(network, inputs))[0])


def _transposed_inputs(inputs: np.ndarray) -> np.ndarray:
    # The inputs with examples last, contiguous: (n_features, n) or (m, n_features, n).
    return np.ascontiguousarray(np.swapaxes(inputs, -1, -2))


def _backward(network: Network, layer_inputs, coefficients: np.ndarray, inputs_t=None):
    # Gradients of sum_i <c_i, f_i> for coefficients c of shape (m, n, n_outputs). inputs_t:
    # the transposed inputs, if already computed (train computes them once).
    weights, biases = [None] * len(network.weights), [None] * len(network.weights)
    delta = coefficients
    for layer in range(len(network.weights) - 1, -1, -1):
        values = layer_inputs[layer]
        delta_t = np.ascontiguousarray(delta.transpose(0, 2, 1))  # (m, fan_out, n)
        if layer == 0 and inputs_t is not None:
            values_t = inputs_t
        else:
            values_t = _transposed_inputs(values)
        spec = "fn,mhn->mfh" if values_t.ndim == 2 else "mfn,mhn->mfh"
        weights[layer] = np.einsum(spec, values_t, delta_t)
        biases[layer] = delta.sum(axis=1)
        if layer > 0:
            delta = np.einsum("mnh,mfh->mnf", delta, network.weights[layer])
            if network.activation == "relu":
                delta = delta * (values > 0)
            else:
                delta = delta * (1.0 - values**2)
    return network._replace(tuple(weights), tuple(biases))


def _check_coefficients(network: Network, coefficients, n: int) -> np.ndarray:
    coefficients = check_finite_array(coefficients, "coefficients")
    shape = (network.n_models, n) + ((network.n_outputs,) if network.output == "softmax" else ())
    if coefficients.shape != shape:
        raise ValueError(f"coefficients must have shape {shape}, got {coefficients.shape}")
    return coefficients if network.output == "softmax" else coefficients[..., None]


def backward(network, inputs, coefficients) -> Network:
    """Return ``sum_i c_i df_i/dtheta`` for every parameter of every model, as a Network.

    ``coefficients`` hold one ``c_i`` per example and model (one per logit for a softmax
    output): the derivative of some objective with respect to the example's logits. With
    ``c_i = w_i dl_i/df_i`` (:func:`loss_coefficients`) this is the gradient of the weighted
    loss; other objectives of the logits (IRMv1, V-REx, group DRO) need only other coefficients.

    Parameters
    ----------
    network : Network
    inputs : array_like, shape (n, n_features) or (n_models, n, n_features)
    coefficients : array_like, shape of ``forward(network, inputs)``

    Returns
    -------
    Network
        The gradients, in the ``weights`` and ``biases`` of a Network of the same shape.

    Examples
    --------
    >>> network = init_network(2, (), n_models=1, init="zeros", rng=np.random.default_rng(0))
    >>> gradient = backward(network, [[1.0, 2.0], [3.0, 4.0]], [[1.0, -1.0]])
    >>> gradient.weights[0][0, :, 0], gradient.biases[0][0]
    (array([-2., -2.]), array([0.]))
    """
    network = _check_network(network)
    inputs = _check_inputs(network, inputs)
    coefficients = _check_coefficients(network, coefficients, inputs.shape[-2])
    return _backward(network, _forward(network, inputs)[1], coefficients)


# --- Losses and their per-example derivatives -------------------------------------------------


def _check_output(output) -> str:
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    return output


def _check_targets(output: str, targets, shape) -> np.ndarray:
    # shape: the logits' (m, n[, k]); targets (n,) or (m, n), returned broadcast to (m, n).
    m, n = shape[:2]
    array = np.asarray(targets)
    if array.shape not in ((n,), (m, n)):
        raise ValueError(f"targets must have shape ({n},) or ({m}, {n}), got {array.shape}")
    if output == "softmax":
        if (
            not np.issubdtype(array.dtype, np.integer)
            or np.any(array < 0)
            or np.any(array >= shape[2])
        ):
            raise ValueError(
                f"targets must be integer classes in [0, {shape[2]}), got {np.unique(array)}"
            )
    else:
        array = check_finite_array(array, "targets")
        if output == "logistic" and np.any((array < 0) | (array > 1)):
            raise ValueError(
                f"targets must lie in [0, 1] for a logistic output, got {np.unique(array)}"
            )
    return np.broadcast_to(array, (m, n))


def _check_logits(output: str, logits) -> np.ndarray:
    logits = check_finite_array(logits, "logits")
    if logits.ndim != (3 if output == "softmax" else 2):
        raise ValueError(
            f"logits of a {output} output must be {3 if output == 'softmax' else 2}-d, "
            f"got shape {logits.shape}"
        )
    return logits


def _one_hot(targets, n_classes):
    return (targets[..., None] == np.arange(n_classes)).astype(np.float64)


def _loss(output, logits, targets):
    if output == "logistic":
        return np.logaddexp(0.0, logits) - targets * logits
    if output == "squared":
        return (logits - targets) ** 2
    return -np.take_along_axis(log_softmax(logits, axis=-1), targets[..., None], axis=-1)[..., 0]


def _derivative(output, logits, targets):
    if output == "logistic":
        return expit(logits) - targets
    if output == "squared":
        return 2.0 * (logits - targets)
    return softmax(logits, axis=-1) - _one_hot(targets, logits.shape[-1])


def per_example_loss(logits, targets, *, output: str) -> np.ndarray:
    """Return each example's loss, shape ``(n_models, n)``.

    Log loss ``log(1 + e^f) - y f`` for a logistic output, ``-log softmax(f)_y`` for softmax,
    ``(f - y)**2`` for squared error.

    Parameters
    ----------
    logits : array_like
        From :func:`forward`: ``(n_models, n)``, or ``(n_models, n, n_classes)`` for softmax.
    targets : array_like, shape (n,) or (n_models, n)
        In [0, 1] (logistic), integer classes (softmax), or real (squared).
    output : {"logistic", "softmax", "squared"}

    Examples
    --------
    >>> per_example_loss([[0.0, 2.0]], [1, 1], output="logistic").round(4)
    array([[0.6931, 0.1269]])
    >>> per_example_loss([[[0.0, 0.0, 0.0]]], [2], output="softmax").round(4)
    array([[1.0986]])
    """
    output = _check_output(output)
    logits = _check_logits(output, logits)
    return _loss(output, logits, _check_targets(output, targets, logits.shape))


def loss_coefficients(logits, targets, *, output: str) -> np.ndarray:
    """Return ``dl_i/df_i``, each example's loss differentiated with respect to its logits.

    ``sigmoid(f) - y`` (logistic), ``softmax(f) - onehot(y)`` (softmax), ``2 (f - y)``
    (squared). Multiplied by example weights they are the coefficients :func:`backward` takes.

    Examples
    --------
    >>> loss_coefficients([[0.0, 2.0]], [1.0, 3.0], output="squared")
    array([[-2., -2.]])
    >>> loss_coefficients([[[0.0, 0.0]]], [1], output="softmax")
    array([[[ 0.5, -0.5]]])
    """
    output = _check_output(output)
    logits = _check_logits(output, logits)
    return _derivative(output, logits, _check_targets(output, targets, logits.shape))


def _check_example_weights(example_weights, m: int, n: int) -> np.ndarray:
    if example_weights is None:
        return np.full((m, n), 1.0 / n)
    weights = check_finite_array(example_weights, "example_weights")
    if weights.shape not in ((n,), (m, n)) or np.any(weights < 0):
        raise ValueError(
            f"example_weights must be non-negative of shape ({n},) or ({m}, {n}), got shape "
            f"{weights.shape}"
        )
    return np.broadcast_to(weights, (m, n))


def dummy_scale_gradient(logits, targets, *, output: str, example_weights=None):
    """Return IRMv1's scale gradient ``g`` and its derivative with respect to each logit.

    ``g = d/ds sum_i w_i l(s f_i, y_i)`` at ``s = 1`` (Arjovsky et al., 2019): zero when
    rescaling the logits cannot lower the weighted risk. The IRMv1 penalty of an environment is
    ``g**2``; its gradient is :func:`backward` with coefficients ``2 g dg/df_i``.

    Parameters
    ----------
    logits, targets, output
        As for :func:`per_example_loss`.
    example_weights : array_like, shape (n,) or (n_models, n), optional
        ``w_i``; ``1 / n`` if omitted (the environment's mean risk).

    Returns
    -------
    scale_gradient : ndarray, shape (n_models,)
    derivative : ndarray, the shape of ``logits``
        ``dg/df_i``.

    Examples
    --------
    At zero logits rescaling changes nothing, so ``g = 0``; ``dg/df_i = (sigmoid(0) - y_i) / n``:

    >>> g, dg = dummy_scale_gradient([[0.0, 0.0]], [1, 0], output="logistic")
    >>> g, dg
    (array([0.]), array([[-0.25,  0.25]]))
    """
    output = _check_output(output)
    logits = _check_logits(output, logits)
    targets = _check_targets(output, targets, logits.shape)
    weights = _check_example_weights(example_weights, *logits.shape[:2])
    derivative = _derivative(output, logits, targets)
    if output == "softmax":
        p = softmax(logits, axis=-1)
        along = np.sum(derivative * logits, axis=-1)  # sum_k (p_k - y_k) f_k
        mean_logit = np.sum(p * logits, axis=-1, keepdims=True)
        second = derivative + p * (logits - mean_logit)
        return np.sum(weights * along, axis=1), weights[..., None] * second
    if output == "logistic":
        p = expit(logits)
        second = p * (1.0 - p) * logits + derivative
    else:
        second = 2.0 * logits + derivative
    return np.sum(weights * derivative * logits, axis=1), weights * second


# --- The objective ----------------------------------------------------------------------------


def _check_nonnegative(value, name) -> float:
    value = check_finite(value, name)
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return value


def _objective(network, inputs, targets, weights, l2_weight, penalise_biases, inputs_t=None):
    values, layer_inputs = _forward(network, inputs)
    logits = _squeeze(network, values)
    losses = np.sum(weights * _loss(network.output, logits, targets), axis=1)
    coefficients = _derivative(network.output, logits, targets)
    coefficients = coefficients * (weights[..., None] if network.output == "softmax" else weights)
    if network.output != "softmax":
        coefficients = coefficients[..., None]
    gradient = _backward(network, layer_inputs, coefficients, inputs_t)
    if l2_weight > 0:
        penalised = list(network.weights) + (list(network.biases) if penalise_biases else [])
        losses = losses + 0.5 * l2_weight * sum(
            np.sum(p**2, axis=tuple(range(1, p.ndim))) for p in penalised
        )
        gradient = gradient._replace(
            tuple(g + l2_weight * w for g, w in zip(gradient.weights, network.weights)),
            tuple(
                g + l2_weight * b if penalise_biases else g
                for g, b in zip(gradient.biases, network.biases)
            ),
        )
    return losses, gradient


def objective(
    network, inputs, targets, *, example_weights=None, l2_weight=0.0, penalise_biases=True
):
    """Return each model's objective ``sum_i w_i l_i + l2_weight / 2 |theta|^2`` and gradient.

    Parameters
    ----------
    network : Network
    inputs : array_like, shape (n, n_features) or (n_models, n, n_features)
    targets : array_like, shape (n,) or (n_models, n)
    example_weights : array_like, shape (n,) or (n_models, n), optional
        ``w_i``, non-negative; ``1 / n`` if omitted (the mean loss).
    l2_weight : float
        ``lambda`` of the penalty ``lambda / 2 |theta|^2`` (so weight decay ``lambda``). The
        IRM reference code's ``l2_regularizer_weight * |theta|^2`` is ``l2_weight = 2 *`` that.
    penalise_biases : bool
        Include the biases in ``theta`` (scikit-learn's ``LogisticRegression`` does not).

    Returns
    -------
    value : ndarray, shape (n_models,)
    gradient : Network

    Examples
    --------
    With every parameter 0 each logit is 0, so the log loss is ln 2:

    >>> network = init_network(3, (), n_models=2, init="zeros", rng=np.random.default_rng(0))
    >>> value, gradient = objective(network, np.ones((4, 3)), [0, 1, 1, 1], l2_weight=0.1)
    >>> value.round(4), gradient.biases[0][:, 0]
    (array([0.6931, 0.6931]), array([-0.25, -0.25]))
    """
    network = _check_network(network)
    inputs = _check_inputs(network, inputs)
    shape = (network.n_models, inputs.shape[-2], network.n_outputs)
    targets = _check_targets(network.output, targets, shape)
    weights = _check_example_weights(example_weights, network.n_models, inputs.shape[-2])
    l2_weight = _check_nonnegative(l2_weight, "l2_weight")
    return _objective(network, inputs, targets, weights, l2_weight, bool(penalise_biases))


# --- Adam -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdamState:
    """Adam's state for a stack of models (Kingma and Ba, 2015).

    Attributes
    ----------
    steps : ndarray of int, shape (n_models,)
        Steps each model has taken (its bias correction uses its own count).
    first, second : Network
        Running means of the gradient and of its square, shaped like the parameters.
    beta1, beta2, eps : float
        Adam's decay rates and the constant added to the denominator.

    A fresh state from :func:`init_adam` is a reset: pass one to :func:`train` to start
    the optimiser afresh (for instance when the objective changes), or pass the state a
    previous :class:`TrainResult` returned to continue where it stopped.
    """

    steps: np.ndarray
    first: Network
    second: Network
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8


def init_adam(network, *, beta1=0.9, beta2=0.999, eps=1e-8) -> AdamState:
    """Return a fresh Adam state (zero moments, zero steps) for ``network``.

    Examples
    --------
    >>> network = init_network(2, (), n_models=3, rng=np.random.default_rng(0))
    >>> init_adam(network).steps
    array([0, 0, 0])
    """
    network = _check_network(network)
    for name, value in (("beta1", beta1), ("beta2", beta2)):
        if not 0 <= check_finite(value, name) < 1:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if check_finite(eps, "eps") <= 0:
        raise ValueError(f"eps must be positive, got {eps}")
    zeros = network._replace(
        tuple(np.zeros_like(w) for w in network.weights),
        tuple(np.zeros_like(b) for b in network.biases),
    )
    return AdamState(np.zeros(network.n_models, dtype=np.int64), zeros, zeros, beta1, beta2, eps)


def _adam_step(network, gradient, state, learning_rate, active):
    # learning_rate: one step size per layer (from _check_learning_rate), for its weights and bias
    steps = state.steps + active
    b1, b2 = state.beta1, state.beta2
    first_correction = (1.0 - b1 ** np.maximum(steps, 1))[:, None]
    second_correction = (1.0 - b2 ** np.maximum(steps, 1))[:, None]

    everyone = bool(active.all())

    def update(params, grads, firsts, seconds):
        new_params, new_firsts, new_seconds = [], [], []
        for p, g, m, v, rate in zip(params, grads, firsts, seconds, learning_rate):
            shape = (-1,) + (1,) * (p.ndim - 1)
            c1, c2 = first_correction.reshape(shape), second_correction.reshape(shape)
            new_m = b1 * m + (1.0 - b1) * g
            new_v = b2 * v + (1.0 - b2) * g**2
            new_p = p - rate * (new_m / c1) / (np.sqrt(new_v / c2) + state.eps)
            if not everyone:  # models that have stopped keep their parameters and state
                mask = active.reshape(shape)
                new_m, new_v = np.where(mask, new_m, m), np.where(mask, new_v, v)
                new_p = np.where(mask, new_p, p)
            new_params.append(new_p)
            new_firsts.append(new_m)
            new_seconds.append(new_v)
        return new_params, new_firsts, new_seconds

    w, mw, vw = update(network.weights, gradient.weights, state.first.weights, state.second.weights)
    b, mb, vb = update(network.biases, gradient.biases, state.first.biases, state.second.biases)
    new_state = AdamState(
        steps,
        network._replace(tuple(mw), tuple(mb)),
        network._replace(tuple(vw), tuple(vb)),
        state.beta1,
        state.beta2,
        state.eps,
    )
    return network._replace(tuple(w), tuple(b)), new_state


def _check_learning_rate(learning_rate, network) -> tuple:
    # A number is every layer's step size; a sequence gives one per layer (for per-layer scaling
    # of step sizes with width, as in the maximal update parametrisation of Yang et al., 2021).
    n_layers = len(network.weights)
    if isinstance(learning_rate, numbers.Real) and not isinstance(learning_rate, bool):
        rates = (learning_rate,) * n_layers
    elif isinstance(learning_rate, (tuple, list, np.ndarray)):
        rates = tuple(np.asarray(learning_rate, dtype=object).ravel())
        if np.ndim(learning_rate) != 1 or len(rates) != n_layers:
            raise ValueError(
                f"learning_rate must be a number or one number per layer ({n_layers}), "
                f"got {learning_rate!r}"
            )
    else:
        raise TypeError(
            f"learning_rate must be a number or a sequence of numbers, got {learning_rate!r}"
        )
    rates = tuple(check_finite(rate, "learning_rate") for rate in rates)
    if min(rates) <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    return rates


def _check_state(state, network) -> AdamState:
    if not isinstance(state, AdamState):
        raise TypeError(f"state must be an AdamState (from init_adam), got {type(state).__name__}")
    if [w.shape for w in state.first.weights] != [w.shape for w in network.weights]:
        raise ValueError("state must belong to a network of the same shape as network")
    return state


def adam_step(network, gradient, state, *, learning_rate, active=None):
    """Take one Adam step on every (active) model; return the new network and state.

    ``m <- beta1 m + (1 - beta1) g``, ``v <- beta2 v + (1 - beta2) g^2``, then
    ``theta <- theta - learning_rate * m_hat / (sqrt(v_hat) + eps)`` with the bias-corrected
    ``m_hat = m / (1 - beta1^t)``, ``v_hat = v / (1 - beta2^t)``, ``t`` the model's step count.

    Parameters
    ----------
    network, gradient : Network
    state : AdamState
    learning_rate : float or sequence of float
        Adam's step size; or one per layer (input layer first), each for that layer's weights
        and biases.
    active : array_like of bool, shape (n_models,), optional
        Models to update; the others (and their state) are left as they are.

    Examples
    --------
    The first step moves every parameter by ``learning_rate`` against its gradient's sign:

    >>> network = init_network(1, (), n_models=1, init="zeros", rng=np.random.default_rng(0))
    >>> _, gradient = objective(network, [[1.0]], [1])
    >>> stepped, state = adam_step(network, gradient, init_adam(network), learning_rate=0.1)
    >>> stepped.weights[0].ravel().round(6), state.steps
    (array([0.1]), array([1]))

    With one step size per layer, each layer moves by its own:

    >>> two = init_network(1, 2, n_models=1, rng=np.random.default_rng(0))
    >>> _, gradient = objective(two, [[1.0]], [1])
    >>> stepped, _ = adam_step(two, gradient, init_adam(two), learning_rate=[0.1, 0.001])
    >>> [float(np.abs(a - b).max().round(6)) for a, b in zip(stepped.weights, two.weights)]
    [0.1, 0.001]
    """
    network = _check_network(network)
    gradient = _check_network(gradient)
    if [w.shape for w in gradient.weights] != [w.shape for w in network.weights]:
        raise ValueError("gradient must have the shape of network")
    state = _check_state(state, network)
    learning_rate = _check_learning_rate(learning_rate, network)
    if active is None:
        active = np.ones(network.n_models, dtype=bool)
    active = np.asarray(active)
    if active.dtype != bool or active.shape != (network.n_models,):
        raise ValueError(f"active must be booleans of shape ({network.n_models},), got {active!r}")
    return _adam_step(network, gradient, state, learning_rate, active)


# --- Training ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    network : Network
        The trained models.
    converged : ndarray of bool, shape (n_models,)
        Whether each model met the stopping rule within the step budget.
    n_steps : ndarray of int, shape (n_models,)
        Adam steps each model took.
    loss : ndarray, shape (n_models,)
        The objective at the returned parameters.
    gradient_norm : ndarray, shape (n_models,)
        The Euclidean norm of the objective's gradient there.
    state : AdamState
        The optimiser's state, to continue training.
    path : tuple of Network or None
        With ``record_every = k``: the models at step 0, k, 2k, ... (a stopped model repeats).
    """

    network: Network
    converged: np.ndarray
    n_steps: np.ndarray
    loss: np.ndarray
    gradient_norm: np.ndarray
    state: AdamState
    path: tuple | None = None


def _gradient_norm(gradient: Network) -> np.ndarray:
    squares = [
        np.sum(p**2, axis=tuple(range(1, p.ndim))) for p in (*gradient.weights, *gradient.biases)
    ]
    return np.sqrt(np.sum(squares, axis=0))


def train(
    network,
    inputs,
    targets,
    *,
    learning_rate,
    max_steps,
    example_weights=None,
    l2_weight=0.0,
    penalise_biases=True,
    gradient_tol=1e-6,
    loss_tol=0.0,
    patience=10,
    state=None,
    record_every=None,
) -> TrainResult:
    """Minimise :func:`objective` by full-batch Adam, each model until it converges.

    Stopping rule, per model, checked before every step: the gradient's norm is below
    ``gradient_tol``, or the loss changed by less than ``loss_tol`` times its size in each of
    the last ``patience`` steps. A model that meets it is *converged* and frozen; the others go on
    until they meet it or have taken ``max_steps`` steps. Nothing is warned or silenced: read
    ``converged`` and ``n_steps`` in the result. Set both tolerances to 0 to take exactly
    ``max_steps`` steps. With a constant step size Adam can hover around a minimum whose
    gradient is not small, notably where ReLU units make the objective non-smooth; there the
    relative loss change (``loss_tol``) is the rule that can tell that training has stalled.

    Parameters
    ----------
    network : Network
        The starting models (not modified).
    inputs, targets, example_weights, l2_weight, penalise_biases
        As for :func:`objective`.
    learning_rate : float or sequence of float
        Adam's step size; or one step size per layer (input layer first), each applied to that
        layer's weights and biases, as the maximal update parametrisation scales them with width.
    max_steps : int
        The step budget of each model.
    gradient_tol, loss_tol : float
        Tolerances of the stopping rule (non-negative).
    patience : int
        Consecutive steps the relative loss change must stay within ``loss_tol``.
    state : AdamState, optional
        Adam's starting state; a fresh one (:func:`init_adam`) if omitted.
    record_every : int, optional
        Record the models every this many steps (see :attr:`TrainResult.path`).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((100, 2))
    >>> y = x @ [1.0, -2.0] + 0.5
    >>> network = init_network(2, (), n_models=1, output="squared", init="zeros", rng=rng)
    >>> result = train(network, x, y, learning_rate=0.1, max_steps=2_000)
    >>> result.converged, result.n_steps < 2_000
    (array([ True]), array([ True]))
    >>> result.network.weights[0].ravel().round(4), result.network.biases[0].ravel().round(4)
    (array([ 1., -2.]), array([0.5]))
    >>> train(network, x, y, learning_rate=0.1, max_steps=10).converged
    array([False])
    """
    network = _check_network(network)
    inputs = _check_inputs(network, inputs)
    m, n = network.n_models, inputs.shape[-2]
    targets = _check_targets(network.output, targets, (m, n, network.n_outputs))
    targets = np.ascontiguousarray(
        targets, dtype=None if network.output == "softmax" else np.float64
    )
    weights = np.ascontiguousarray(_check_example_weights(example_weights, m, n))
    l2_weight = _check_nonnegative(l2_weight, "l2_weight")
    learning_rate = _check_learning_rate(learning_rate, network)
    max_steps = check_positive_int(max_steps, "max_steps", minimum=0)
    gradient_tol = _check_nonnegative(gradient_tol, "gradient_tol")
    loss_tol = _check_nonnegative(loss_tol, "loss_tol")
    patience = check_positive_int(patience, "patience")
    state = init_adam(network) if state is None else _check_state(state, network)
    if record_every is not None:
        record_every = check_positive_int(record_every, "record_every")
    penalise_biases = bool(penalise_biases)

    inputs_t = _transposed_inputs(inputs)
    active = np.ones(m, dtype=bool)
    converged = np.zeros(m, dtype=bool)
    n_steps = np.zeros(m, dtype=np.int64)
    calm = np.zeros(m, dtype=np.int64)  # consecutive steps with a small relative loss change
    previous = None
    path = [network] if record_every else None
    for step in range(max_steps + 1):
        loss, gradient = _objective(
            network, inputs, targets, weights, l2_weight, penalise_biases, inputs_t
        )
        norm = _gradient_norm(gradient)
        if previous is not None:
            change = np.abs(previous - loss) < loss_tol * np.abs(loss)
            calm = np.where(change, calm + 1, 0)
        done = active & ((norm < gradient_tol) | (calm >= patience))
        converged |= done
        active &= ~done
        if step == max_steps or not active.any():
            break
        network, state = _adam_step(network, gradient, state, learning_rate, active)
        n_steps += active
        previous = loss
        if record_every and (step + 1) % record_every == 0:
            path.append(network)
    return TrainResult(
        network=network,
        converged=converged,
        n_steps=n_steps,
        loss=loss,
        gradient_norm=norm,
        state=state,
        path=None if path is None else tuple(path),
    )
