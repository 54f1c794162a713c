"""What training selects among the functions that fit: the inductive biases of small networks.

The counting argument for overfitting (Belrose and Pope, 2024) treats a trained network as if it
were drawn uniformly from the functions that fit its training data. This module provides the
small experiments that test that premise against what parameters and training actually do:

- *guess and check* (Chiang et al., 2023; Mingard et al., 2021): draw a network's parameters from
  its initialisation distribution, keep the draws that fit the training set;
- *random features* and the minimum-norm least-squares fit, whose test error against width shows
  double descent (Belkin et al., 2019);
- a one-hidden-layer network with hand-written gradients, for two objectives that scikit-learn's
  ``MLPClassifier`` cannot express: a *poisoned* objective that rewards errors on a second data set
  (Huang et al., 2020), and squared error trained by Adam with the whole trajectory recorded, for
  spectral bias (Rahaman et al., 2019);
- Boolean tasks on the cube ``{-1, 1}**n``: majority (simple structure) and parity (none).

The gradients are written by hand because the book has no automatic differentiation library;
the network's products use :func:`numpy.einsum` rather than BLAS (``@``), so that a long training
run gives the same numbers under every OpenBLAS kernel (a chaotic optimisation would otherwise
amplify the kernels' different summation orders into different minima);
``tests/test_inductive_bias.py`` checks each against finite differences
(:func:`scipy.optimize.check_grad`). Adam is written by hand because SciPy has no first-order
optimiser whose iterates can be recorded, and spectral bias is a statement about that trajectory.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_expit
from threadpoolctl import threadpool_limits

from ..evidence.validation import (
    check_binary,
    check_finite,
    check_finite_array,
    check_generator,
    check_positive_int,
)

__all__ = [
    "GuessAndCheck",
    "boolean_cube",
    "fit_linear",
    "fourier_amplitudes",
    "guess_and_check",
    "init_mlp",
    "linear_squared_error",
    "majority_labels",
    "mlp_logits",
    "network_predictions",
    "parity_labels",
    "poison_objective",
    "random_features_risk",
    "random_relu_features",
    "sample_network_parameters",
    "squared_error_objective",
    "train_adam",
]


# --- Boolean tasks ----------------------------------------------------------------------------


def boolean_cube(n_bits: int) -> np.ndarray:
    """Return all ``2**n_bits`` points of ``{-1, 1}**n_bits``, one per row.

    Examples
    --------
    >>> boolean_cube(2)
    array([[-1., -1.],
           [-1.,  1.],
           [ 1., -1.],
           [ 1.,  1.]])
    """
    n_bits = check_positive_int(n_bits, "n_bits")
    if n_bits > 16:
        raise ValueError(f"n_bits must be at most 16 (2**n_bits rows), got {n_bits}")
    return np.array(list(itertools.product([-1.0, 1.0], repeat=n_bits)))


def _check_cube_points(inputs) -> np.ndarray:
    inputs = check_finite_array(inputs, "inputs")
    if inputs.ndim != 2 or not np.all(np.abs(inputs) == 1):
        raise ValueError(f"inputs must be a 2-d array of -1 and 1, got shape {inputs.shape}")
    return inputs


def majority_labels(inputs) -> np.ndarray:
    """Return 1 where more than half the bits are +1, else 0 (use an odd number of bits).

    Examples
    --------
    >>> majority_labels(boolean_cube(3)).tolist()
    [0, 0, 0, 1, 0, 1, 1, 1]
    """
    inputs = _check_cube_points(inputs)
    if inputs.shape[1] % 2 == 0:
        raise ValueError(f"majority needs an odd number of bits, got {inputs.shape[1]}")
    return (inputs.sum(axis=1) > 0).astype(int)


def parity_labels(inputs) -> np.ndarray:
    """Return 1 where the number of -1 bits is odd, else 0: flipping any one bit flips the label.

    Examples
    --------
    >>> parity_labels(boolean_cube(2)).tolist()
    [0, 1, 1, 0]
    """
    inputs = _check_cube_points(inputs)
    return ((inputs < 0).sum(axis=1) % 2).astype(int)


# --- Guess and check --------------------------------------------------------------------------


def sample_network_parameters(
    n_inputs: int, n_hidden: int, n_draws: int, *, rng: np.random.Generator, bias_scale=1.0
) -> dict[str, np.ndarray]:
    """Draw ``n_draws`` one-hidden-layer ReLU networks from their initialisation distribution.

    Weights are Gaussian with variance ``2 / fan_in`` (He et al., 2015); biases are Gaussian with
    standard deviation ``bias_scale``. Without biases a ReLU network's sign is unchanged by
    scaling its input, which would tie the labels of points along a ray.

    Returns
    -------
    dict
        ``hidden_weights`` (n_draws, n_inputs, n_hidden), ``hidden_biases`` (n_draws, n_hidden),
        ``output_weights`` (n_draws, n_hidden), ``output_biases`` (n_draws,).

    Examples
    --------
    >>> params = sample_network_parameters(3, 4, 2, rng=np.random.default_rng(0))
    >>> {name: value.shape for name, value in params.items()}["hidden_weights"]
    (2, 3, 4)
    """
    n_inputs = check_positive_int(n_inputs, "n_inputs")
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    n_draws = check_positive_int(n_draws, "n_draws")
    rng = check_generator(rng)
    bias_scale = check_finite(bias_scale, "bias_scale")
    if bias_scale < 0:
        raise ValueError(f"bias_scale must be non-negative, got {bias_scale}")
    return {
        "hidden_weights": rng.standard_normal((n_draws, n_inputs, n_hidden))
        * np.sqrt(2 / n_inputs),
        "hidden_biases": bias_scale * rng.standard_normal((n_draws, n_hidden)),
        "output_weights": rng.standard_normal((n_draws, n_hidden)) * np.sqrt(2 / n_hidden),
        "output_biases": bias_scale * rng.standard_normal(n_draws),
    }


def network_predictions(params: dict[str, np.ndarray], inputs) -> np.ndarray:
    """Return each sampled network's class (output > 0) on each input, shape (n_draws, n_points).

    Examples
    --------
    >>> params = sample_network_parameters(2, 8, 5, rng=np.random.default_rng(0))
    >>> network_predictions(params, boolean_cube(2)).shape
    (5, 4)
    """
    inputs = check_finite_array(inputs, "inputs")
    weights = params["hidden_weights"]
    n_inputs = weights.shape[1]
    if inputs.ndim != 2 or inputs.shape[1] != n_inputs:
        raise ValueError(f"inputs must have shape (n, {n_inputs}), got {inputs.shape}")
    # Stacked products, one small matrix per draw: (n_points, n_inputs) @ (n_inputs, n_hidden)
    # broadcast over draws. This avoids copying the weights into one wide matrix, which cost
    # more than the products themselves.
    hidden = np.maximum(inputs @ weights + params["hidden_biases"][:, None, :], 0)
    logits = (hidden @ params["output_weights"][:, :, None])[:, :, 0]
    return (logits + params["output_biases"][:, None]) > 0


@dataclass(frozen=True)
class GuessAndCheck:
    """The outcome of :func:`guess_and_check`.

    Attributes
    ----------
    n_draws : int
        Parameter vectors drawn.
    test_accuracies : numpy.ndarray
        Test accuracy of each draw that fits the training set exactly, one entry per accepted draw.
    """

    n_draws: int
    test_accuracies: np.ndarray

    @property
    def n_accepted(self) -> int:
        """Number of draws that fit the training set."""
        return int(self.test_accuracies.size)


def guess_and_check(
    train_inputs,
    train_labels,
    test_inputs,
    test_labels,
    *,
    n_hidden: int,
    n_draws: int,
    rng: np.random.Generator,
    chunk: int = 10_000,
) -> GuessAndCheck:
    """Draw networks from the initialisation distribution; keep those that fit the training set.

    This is training by rejection sampling: the accepted draws are distributed as the
    initialisation distribution conditioned on zero training error, which is the
    "indifference over parameters" that Mingard et al. (2021) compare with trained networks and
    that Chiang et al. (2023) call a guess-and-check optimiser.

    Parameters
    ----------
    train_inputs, test_inputs : array of shape (n, n_inputs)
    train_labels, test_labels : array of 0/1
    n_hidden, n_draws : int
        Hidden width of each network, and how many to draw.
    rng : numpy.random.Generator
    chunk : int
        Draws evaluated at once (memory only; the result does not depend on it for a given rng
        only if ``chunk`` is kept the same).

    Examples
    --------
    >>> cube = boolean_cube(3)
    >>> labels = majority_labels(cube)
    >>> result = guess_and_check(cube[:3], labels[:3], cube[3:], labels[3:], n_hidden=8,
    ...                          n_draws=2_000, rng=np.random.default_rng(0))
    >>> result.n_draws, 0 < result.n_accepted < 2_000
    (2000, True)
    """
    train_inputs = check_finite_array(train_inputs, "train_inputs")
    test_inputs = check_finite_array(test_inputs, "test_inputs")
    train_labels = check_binary(train_labels, "train_labels").astype(bool)
    test_labels = check_binary(test_labels, "test_labels").astype(bool)
    if len(train_labels) != len(train_inputs) or len(test_labels) != len(test_inputs):
        raise ValueError("each label array must have one label per input row")
    n_draws = check_positive_int(n_draws, "n_draws")
    chunk = check_positive_int(chunk, "chunk")
    rng = check_generator(rng)
    accuracies = []
    # The products are small (a few points times thousands of narrow networks): BLAS threads
    # cost more CPU time in start-up and spinning than they save, so this runs on one thread.
    with threadpool_limits(limits=1):
        for start in range(0, n_draws, chunk):
            size = min(chunk, n_draws - start)
            params = sample_network_parameters(train_inputs.shape[1], n_hidden, size, rng=rng)
            fits = (network_predictions(params, train_inputs) == train_labels).all(axis=1)
            kept = {name: value[fits] for name, value in params.items()}
            if fits.any():
                hits = network_predictions(kept, test_inputs) == test_labels
                accuracies.append(hits.mean(axis=1))
    test_accuracies = np.concatenate(accuracies) if accuracies else np.empty(0)
    return GuessAndCheck(n_draws=n_draws, test_accuracies=test_accuracies)


# --- Random features and the minimum-norm fit -------------------------------------------------


def random_relu_features(x_train, x_test, n_features: int, *, rng: np.random.Generator):
    """Return ReLU random features ``max(0, x w + b)`` of ``x_train`` and ``x_test`` (one map).

    The weights ``w`` are standard normal and the biases uniform on [-1, 1]; columns are scaled
    by ``1 / sqrt(n_features)`` so that the kernel the features approximate does not depend on
    their number.

    Examples
    --------
    >>> train, test = random_relu_features(np.zeros((3, 1)), np.ones((2, 1)), 5,
    ...                                    rng=np.random.default_rng(0))
    >>> train.shape, test.shape
    ((3, 5), (2, 5))
    """
    x_train = check_finite_array(x_train, "x_train")
    x_test = check_finite_array(x_test, "x_test")
    if x_train.ndim != 2 or x_test.ndim != 2 or x_train.shape[1] != x_test.shape[1]:
        raise ValueError(
            f"x_train and x_test must be 2-d with equal columns, got {x_train.shape}, "
            f"{x_test.shape}"
        )
    n_features = check_positive_int(n_features, "n_features")
    rng = check_generator(rng)
    weights = rng.standard_normal((x_train.shape[1], n_features))
    biases = rng.uniform(-1, 1, size=n_features)
    scale = 1 / np.sqrt(n_features)
    return (
        scale * np.maximum(x_train @ weights + biases, 0),
        scale * np.maximum(x_test @ weights + biases, 0),
    )


def fit_linear(features, targets, *, ridge) -> np.ndarray:
    """Return least-squares coefficients: of least norm if ``ridge == 0``, else ridge-penalised.

    With more features than rows and ``ridge = 0`` the system has infinitely many exact fits;
    :func:`numpy.linalg.lstsq` returns the one of least Euclidean norm, the one gradient descent
    from zero converges to. With ``ridge > 0`` it minimises ``|F c - y|**2 + ridge |c|**2``,
    solved in whichever of the primal form ``(F^T F + ridge I)^{-1} F^T y`` or the dual form
    ``F^T (F F^T + ridge I)^{-1} y`` has the smaller matrix (they are equal).

    Examples
    --------
    >>> fit_linear(np.array([[1.0, 1.0]]), np.array([2.0]), ridge=0.0)
    array([1., 1.])
    >>> fit_linear(np.array([[1.0, 1.0]]), np.array([2.0]), ridge=2.0)
    array([0.5, 0.5])
    """
    features = check_finite_array(features, "features")
    targets = check_finite_array(targets, "targets")
    if features.ndim != 2 or targets.shape != (features.shape[0],):
        raise ValueError(
            f"features must be 2-d and targets 1-d of matching rows, got {features.shape}, "
            f"{targets.shape}"
        )
    ridge = check_finite(ridge, "ridge")
    if ridge < 0:
        raise ValueError(f"ridge must be non-negative, got {ridge}")
    if ridge == 0:
        return np.linalg.lstsq(features, targets, rcond=None)[0]
    n_rows, n_columns = features.shape
    if n_columns <= n_rows:
        gram = features.T @ features + ridge * np.eye(n_columns)
        return np.linalg.solve(gram, features.T @ targets)
    return features.T @ np.linalg.solve(features @ features.T + ridge * np.eye(n_rows), targets)


def random_features_risk(
    x_train, y_train, x_test, y_test, widths, *, ridge, n_repeats: int, rng: np.random.Generator
) -> np.ndarray:
    """Return test mean squared errors of random-features fits, shape (n_repeats, len(widths)).

    Each repeat draws one random feature map per width (:func:`random_relu_features`) and fits
    it with :func:`fit_linear`.

    Examples
    --------
    >>> x = np.linspace(-1, 1, 10)[:, None]
    >>> risk = random_features_risk(x, x[:, 0], x, x[:, 0], [2, 50], ridge=0.0, n_repeats=3,
    ...                             rng=np.random.default_rng(0))
    >>> risk.shape, bool(risk[:, 1].max() < 1e-6)
    ((3, 2), True)
    """
    y_train = check_finite_array(y_train, "y_train")
    y_test = check_finite_array(y_test, "y_test")
    widths = [check_positive_int(w, "widths") for w in np.atleast_1d(widths)]
    n_repeats = check_positive_int(n_repeats, "n_repeats")
    rng = check_generator(rng)
    risk = np.empty((n_repeats, len(widths)))
    # Hundreds of fits of at most a few hundred columns: single-threaded BLAS is several times
    # cheaper in CPU time here than a thread pool (see lib.worlds.planner for the same choice).
    with threadpool_limits(limits=1):
        for repeat, (column, width) in itertools.product(range(n_repeats), enumerate(widths)):
            train, test = random_relu_features(x_train, x_test, width, rng=rng)
            coefficients = fit_linear(train, y_train, ridge=ridge)
            risk[repeat, column] = np.mean((test @ coefficients - y_test) ** 2)
    return risk


# --- A one-hidden-layer tanh network with hand-written gradients --------------------------------


def _shapes(n_inputs: int, n_hidden: int):
    return [(n_inputs, n_hidden), (n_hidden,), (n_hidden,), ()]


def _unpack(theta, n_inputs: int, n_hidden: int):
    theta = check_finite_array(theta, "theta")
    sizes = [int(np.prod(s)) for s in _shapes(n_inputs, n_hidden)]
    if theta.shape != (sum(sizes),):
        raise ValueError(
            f"theta must have shape ({sum(sizes)},) for {n_inputs} inputs and {n_hidden} hidden "
            f"units, got {theta.shape}"
        )
    parts = np.split(theta, np.cumsum(sizes)[:-1])
    return [p.reshape(s) for p, s in zip(parts, _shapes(n_inputs, n_hidden))]


def init_mlp(n_inputs: int, n_hidden: int, *, rng: np.random.Generator) -> np.ndarray:
    """Return a flat parameter vector for a one-hidden-layer tanh network, LeCun-normal weights.

    Layout: hidden weights (n_inputs x n_hidden), hidden biases, output weights, output bias;
    biases start at 0.

    Examples
    --------
    >>> init_mlp(2, 3, rng=np.random.default_rng(0)).shape
    (13,)
    """
    n_inputs = check_positive_int(n_inputs, "n_inputs")
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    rng = check_generator(rng)
    return np.concatenate(
        [
            rng.standard_normal(n_inputs * n_hidden) / np.sqrt(n_inputs),
            np.zeros(n_hidden),
            rng.standard_normal(n_hidden) / np.sqrt(n_hidden),
            np.zeros(1),
        ]
    )


def _forward(theta, x, n_hidden):
    x = check_finite_array(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must be 2-d (n, n_inputs), got shape {x.shape}")
    w1, b1, w2, b2 = _unpack(theta, x.shape[1], n_hidden)
    hidden = np.tanh(np.einsum("ni,ih->nh", x, w1) + b1)
    return np.einsum("nh,h->n", hidden, w2) + b2, hidden, w2


def _backward(x, hidden, w2, d_logits) -> np.ndarray:
    """Gradient of sum(d_logits * logits) with respect to theta, by the chain rule."""
    d_hidden = np.outer(d_logits, w2) * (1 - hidden**2)
    return np.concatenate(
        [
            np.einsum("ni,nh->ih", x, d_hidden).ravel(),
            d_hidden.sum(axis=0),
            np.einsum("nh,n->h", hidden, d_logits),
            [d_logits.sum()],
        ]
    )


def mlp_logits(theta, x, *, n_hidden: int) -> np.ndarray:
    """Return the network's output (a logit, or a regression value) for each row of ``x``.

    Examples
    --------
    >>> theta = init_mlp(2, 3, rng=np.random.default_rng(0))
    >>> mlp_logits(theta, np.zeros((4, 2)), n_hidden=3)
    array([0., 0., 0., 0.])
    """
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    return _forward(theta, x, n_hidden)[0]


def _cross_entropy(theta, x, labels, n_hidden):
    """Mean log loss of 0/1 ``labels`` and its gradient: d/dlogit = sigmoid(logit) - label."""
    logits, hidden, w2 = _forward(theta, x, n_hidden)
    loss = -np.mean(labels * log_expit(logits) + (1 - labels) * log_expit(-logits))
    return loss, _backward(x, hidden, w2, (expit(logits) - labels) / len(labels))


def poison_objective(
    theta, x_train, y_train, x_poison, y_poison, *, n_hidden: int, poison_weight, weight_decay=0.0
) -> tuple[float, np.ndarray]:
    """Return the poisoned loss and its gradient (for :func:`scipy.optimize.minimize`).

    The loss is the mean log loss on the training set plus ``poison_weight`` times the mean log
    loss on the poison set *towards the wrong labels* ``1 - y_poison``: it rewards errors on
    the poison set and stays bounded below, a version of the term Huang et al. (2020) add.
    ``poison_weight = 0`` is ordinary training. ``weight_decay`` adds
    ``weight_decay / 2 * |theta|**2``, which keeps the weights finite when the data are separable.

    Examples
    --------
    With every parameter 0 each logit is 0, so each log loss is ln 2:

    >>> x, y = np.random.default_rng(0).standard_normal((6, 2)), np.array([0, 1, 0, 1, 1, 0])
    >>> loss, grad = poison_objective(np.zeros(17), x, y, x, y, n_hidden=4, poison_weight=0.0)
    >>> bool(abs(loss - np.log(2)) < 1e-12), grad.shape
    (True, (17,))
    """
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    y_train = check_binary(y_train, "y_train")
    y_poison = check_binary(y_poison, "y_poison")
    poison_weight = check_finite(poison_weight, "poison_weight")
    if poison_weight < 0:
        raise ValueError(f"poison_weight must be non-negative, got {poison_weight}")
    weight_decay = check_finite(weight_decay, "weight_decay")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be non-negative, got {weight_decay}")
    loss, grad = _cross_entropy(theta, x_train, y_train, n_hidden)
    loss, grad = loss + weight_decay / 2 * theta @ theta, grad + weight_decay * theta
    if poison_weight > 0:
        poison_loss, poison_grad = _cross_entropy(theta, x_poison, 1 - y_poison, n_hidden)
        loss, grad = loss + poison_weight * poison_loss, grad + poison_weight * poison_grad
    return float(loss), grad


def squared_error_objective(theta, x, y, *, n_hidden: int) -> tuple[float, np.ndarray]:
    """Return the network's mean squared error on ``(x, y)`` and its gradient.

    Examples
    --------
    >>> theta = init_mlp(1, 3, rng=np.random.default_rng(0))
    >>> loss, grad = squared_error_objective(theta, np.zeros((2, 1)), np.ones(2), n_hidden=3)
    >>> float(loss), grad.shape
    (1.0, (10,))
    """
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    y = check_finite_array(y, "y")
    logits, hidden, w2 = _forward(theta, x, n_hidden)
    if y.shape != logits.shape:
        raise ValueError(f"y must have shape {logits.shape}, got {y.shape}")
    residual = logits - y
    return float(np.mean(residual**2)), _backward(x, hidden, w2, 2 * residual / len(y))


def linear_squared_error(coefficients, features, y) -> tuple[float, np.ndarray]:
    """Return the mean squared error of the linear model ``features @ coefficients``, and its
    gradient ``2 F^T (F c - y) / n``.

    Examples
    --------
    >>> linear_squared_error(np.zeros(2), np.eye(2), np.array([1.0, 1.0]))
    (1.0, array([-1., -1.]))
    """
    coefficients = check_finite_array(coefficients, "coefficients")
    features = check_finite_array(features, "features")
    y = check_finite_array(y, "y")
    if features.ndim != 2 or features.shape != (y.size, coefficients.size):
        raise ValueError(
            f"features must have shape ({y.size}, {coefficients.size}), got {features.shape}"
        )
    residual = np.einsum("nk,k->n", features, coefficients) - y
    return float(np.mean(residual**2)), 2 * np.einsum("nk,n->k", features, residual) / y.size


def train_adam(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta,
    *,
    n_steps: int,
    learning_rate,
    record_every: int,
) -> np.ndarray:
    """Run Adam (Kingma and Ba, 2015; default betas) and return the recorded iterates.

    Parameters
    ----------
    objective : callable
        ``objective(theta) -> (loss, gradient)``.
    theta : array
        The starting point (it is not changed).
    n_steps, record_every : int
        Steps to take, and the spacing of the recorded iterates.
    learning_rate : float

    Returns
    -------
    numpy.ndarray
        Shape (n_steps // record_every + 1, len(theta)): the start, then every
        ``record_every``-th iterate.

    Examples
    --------
    >>> path = train_adam(lambda t: (float(t @ t), 2 * t), np.array([1.0]), n_steps=200,
    ...                   learning_rate=0.05, record_every=100)
    >>> path.shape, bool(abs(path[-1, 0]) < 0.05)
    ((3, 1), True)
    """
    theta = check_finite_array(theta, "theta").copy()
    n_steps = check_positive_int(n_steps, "n_steps")
    record_every = check_positive_int(record_every, "record_every")
    learning_rate = check_finite(learning_rate, "learning_rate")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    first, second = np.zeros_like(theta), np.zeros_like(theta)
    path = [theta.copy()]
    for step in range(1, n_steps + 1):
        gradient = objective(theta)[1]
        first = beta1 * first + (1 - beta1) * gradient
        second = beta2 * second + (1 - beta2) * gradient**2
        corrected = first / (1 - beta1**step)
        theta -= learning_rate * corrected / (np.sqrt(second / (1 - beta2**step)) + eps)
        if step % record_every == 0:
            path.append(theta.copy())
    return np.array(path)


def fourier_amplitudes(values, frequencies) -> np.ndarray:
    """Return the amplitude of each integer frequency in samples on a uniform grid of [0, 1).

    For ``values[..., j] = sum_k a_k sin(2 pi k j / n + phi_k)`` this returns ``a_k`` exactly,
    for ``0 < k < n / 2``. Works along the last axis.

    Examples
    --------
    >>> grid = np.arange(64) / 64
    >>> fourier_amplitudes(0.5 * np.sin(2 * np.pi * 3 * grid), [1, 3]).round(12)
    array([0. , 0.5])
    """
    values = check_finite_array(values, "values")
    n = values.shape[-1]
    frequencies = np.asarray(frequencies)
    if (
        not np.issubdtype(frequencies.dtype, np.integer)
        or np.any(frequencies <= 0)
        or np.any(frequencies >= n / 2)
    ):
        raise ValueError(f"frequencies must be integers in (0, {n / 2}), got {frequencies}")
    return 2 * np.abs(np.fft.rfft(values, axis=-1)[..., frequencies]) / n
