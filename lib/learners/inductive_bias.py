"""What training selects among the functions that fit: the inductive biases of small networks.

The counting argument for overfitting (Belrose and Pope, 2024) treats a trained network as if it
were drawn uniformly from the functions that fit its training data. This module provides the
small experiments that test that premise against what parameters and training actually do:

- *guess and check* (Chiang et al., 2023; Mingard et al., 2021): draw a network's parameters from
  its initialisation distribution, keep the draws that fit the training set;
- *random features* and the minimum-norm least-squares fit, whose test error against width shows
  double descent (Belkin et al., 2019);
- the *poisoned* objective of Huang et al. (2020), which rewards errors on a second data set,
  written as example weights for :func:`lib.learners.networks.train` (:func:`poison_examples`);
- Boolean tasks on the cube ``{-1, 1}**n``: majority (simple structure) and parity (none).

The networks themselves (their forward pass, gradients and Adam, for the poisoning and the
spectral-bias runs as for the sampled networks of guess and check) are those of
:mod:`lib.learners.networks`, whose sums do not depend on the OpenBLAS kernel: a chaotic
optimisation would otherwise amplify the kernels' different summation orders into different
minima.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from threadpoolctl import threadpool_limits

from ..evidence.validation import (
    check_binary,
    check_finite,
    check_finite_array,
    check_generator,
    check_positive_int,
)
from .networks import Network

__all__ = [
    "GuessAndCheck",
    "align_hidden_units",
    "boolean_cube",
    "fit_linear",
    "fourier_amplitudes",
    "guess_and_check",
    "guess_and_check_tasks",
    "majority_labels",
    "parity_labels",
    "poison_examples",
    "random_features_curves",
    "random_features_errors",
    "random_features_risk",
    "random_relu_features",
    "sample_network_parameters",
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
) -> Network:
    """Draw ``n_draws`` one-hidden-layer ReLU networks from their initialisation distribution.

    Weights are Gaussian with variance ``2 / fan_in`` (He et al., 2015); biases are Gaussian with
    standard deviation ``bias_scale``. Without biases a ReLU network's sign is unchanged by
    scaling its input, which would tie the labels of points along a ray.

    Returns
    -------
    Network
        A stack of ``n_draws`` models (:class:`lib.learners.networks.Network`), logistic output:
        a network's class is ``forward(network, inputs) > 0``.

    Examples
    --------
    >>> network = sample_network_parameters(3, 4, 2, rng=np.random.default_rng(0))
    >>> network.n_models, network.weights[0].shape
    (2, (2, 3, 4))
    """
    n_inputs = check_positive_int(n_inputs, "n_inputs")
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    n_draws = check_positive_int(n_draws, "n_draws")
    rng = check_generator(rng)
    bias_scale = check_finite(bias_scale, "bias_scale")
    if bias_scale < 0:
        raise ValueError(f"bias_scale must be non-negative, got {bias_scale}")
    hidden_weights = rng.standard_normal((n_draws, n_inputs, n_hidden)) * np.sqrt(2 / n_inputs)
    hidden_biases = bias_scale * rng.standard_normal((n_draws, n_hidden))
    output_weights = rng.standard_normal((n_draws, n_hidden, 1)) * np.sqrt(2 / n_hidden)
    output_biases = bias_scale * rng.standard_normal((n_draws, 1))
    return Network((hidden_weights, output_weights), (hidden_biases, output_biases))


def _one_hidden_output(networks: Network, inputs) -> np.ndarray:
    # forward() for a stack of one-hidden-layer ReLU networks with a scalar output, shape
    # (n_models, n_points), as one matrix product over every model's hidden units at once
    # instead of a batched product per model: about twice as fast for thousands of narrow
    # networks on a few points. tests/test_inductive_bias.py checks it against forward().
    (hidden_weights, output_weights), (hidden_biases, output_biases) = (
        networks.weights,
        networks.biases,
    )
    n_models, n_inputs, n_hidden = hidden_weights.shape
    stacked = hidden_weights.transpose(1, 0, 2).reshape(n_inputs, n_models * n_hidden)
    hidden = (inputs @ stacked).reshape(len(inputs), n_models, n_hidden) + hidden_biases
    np.maximum(hidden, 0, out=hidden)
    hidden *= output_weights[:, :, 0]
    return hidden.sum(axis=2).T + output_biases


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
            networks = sample_network_parameters(train_inputs.shape[1], n_hidden, size, rng=rng)
            fits = ((_one_hidden_output(networks, train_inputs) > 0) == train_labels).all(axis=1)
            if fits.any():
                kept = networks.take(np.flatnonzero(fits))
                hits = (_one_hidden_output(kept, test_inputs) > 0) == test_labels
                accuracies.append(hits.mean(axis=1))
    test_accuracies = np.concatenate(accuracies) if accuracies else np.empty(0)
    return GuessAndCheck(n_draws=n_draws, test_accuracies=test_accuracies)


def guess_and_check_tasks(
    train_inputs,
    train_label_sets,
    test_inputs,
    test_label_sets,
    *,
    n_hidden: int,
    n_draws: int,
    rng: np.random.Generator,
    chunk: int = 10_000,
) -> list[GuessAndCheck]:
    """Guess and check for several labellings of the same inputs, on one set of draws.

    The same as :func:`guess_and_check` run once per labelling, except that every labelling is
    checked against the same ``n_draws`` networks: the forward pass on the training inputs, the
    expensive part, is shared. Results for different labellings are therefore correlated through
    the shared draws; for one labelling the result is distributed exactly as
    :func:`guess_and_check`'s.

    Parameters
    ----------
    train_inputs, test_inputs : array of shape (n, n_inputs)
    train_label_sets, test_label_sets : array of 0/1, shape (n_tasks, n)
        One row per labelling.
    n_hidden, n_draws, rng, chunk
        As for :func:`guess_and_check`.

    Returns
    -------
    list of GuessAndCheck
        One per labelling, in order.

    Examples
    --------
    >>> cube = boolean_cube(3)
    >>> labels = np.stack([majority_labels(cube), parity_labels(cube)])
    >>> results = guess_and_check_tasks(cube[:3], labels[:, :3], cube[3:], labels[:, 3:],
    ...                                 n_hidden=8, n_draws=2_000, rng=np.random.default_rng(0))
    >>> [r.n_draws for r in results], all(0 < r.n_accepted < 2_000 for r in results)
    ([2000, 2000], True)
    """
    train_inputs = check_finite_array(train_inputs, "train_inputs")
    test_inputs = check_finite_array(test_inputs, "test_inputs")
    train_sets = np.atleast_2d(check_finite_array(train_label_sets, "train_label_sets"))
    test_sets = np.atleast_2d(check_finite_array(test_label_sets, "test_label_sets"))
    for name, sets in [("train_label_sets", train_sets), ("test_label_sets", test_sets)]:
        if not np.all((sets == 0) | (sets == 1)):
            raise ValueError(f"{name} must hold only 0 and 1, got values {np.unique(sets)}")
    train_sets, test_sets = train_sets.astype(bool), test_sets.astype(bool)
    if train_sets.shape != (len(train_sets), len(train_inputs)) or test_sets.shape != (
        len(train_sets),
        len(test_inputs),
    ):
        raise ValueError(
            "train_label_sets and test_label_sets must have shape (n_tasks, n) with one column "
            f"per input row, got {train_sets.shape} and {test_sets.shape}"
        )
    n_draws = check_positive_int(n_draws, "n_draws")
    chunk = check_positive_int(chunk, "chunk")
    rng = check_generator(rng)
    accuracies = [[] for _ in train_sets]
    with threadpool_limits(limits=1):  # small products: see guess_and_check
        for start in range(0, n_draws, chunk):
            size = min(chunk, n_draws - start)
            networks = sample_network_parameters(train_inputs.shape[1], n_hidden, size, rng=rng)
            signs = _one_hidden_output(networks, train_inputs) > 0
            for task, labels in enumerate(train_sets):
                fits = (signs == labels).all(axis=1)
                if fits.any():
                    kept = networks.take(np.flatnonzero(fits))
                    hits = (_one_hidden_output(kept, test_inputs) > 0) == test_sets[task]
                    accuracies[task].append(hits.mean(axis=1))
    return [
        GuessAndCheck(n_draws=n_draws, test_accuracies=np.concatenate(a) if a else np.empty(0))
        for a in accuracies
    ]


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

    ``targets`` may be 2-d (one column per output, e.g. one-hot classes), fitted column by column.
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
    >>> fit_linear(np.array([[1.0, 1.0]]), np.array([[2.0, 4.0]]), ridge=0.0)  # two outputs
    array([[1., 2.],
           [1., 2.]])
    """
    features = check_finite_array(features, "features")
    targets = check_finite_array(targets, "targets")
    if features.ndim != 2 or targets.ndim not in (1, 2) or len(targets) != len(features):
        raise ValueError(
            f"features must be 2-d and targets 1-d or 2-d of matching rows, got "
            f"{features.shape}, {targets.shape}"
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
    # cheaper in CPU time here than a thread pool.
    with threadpool_limits(limits=1):
        for repeat, (column, width) in itertools.product(range(n_repeats), enumerate(widths)):
            train, test = random_relu_features(x_train, x_test, width, rng=rng)
            coefficients = fit_linear(train, y_train, ridge=ridge)
            risk[repeat, column] = np.mean((test @ coefficients - y_test) ** 2)
    return risk


def random_features_curves(
    x_train, y_train, x_test, y_test, widths, *, ridges, n_repeats: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return test squared error and zero-one error of random-features fits, for several ridges.

    Each repeat draws one random ReLU feature map per width (:func:`random_relu_features`) and
    fits every penalty in ``ridges`` to that same map (:func:`fit_linear`), so that penalties are
    compared on paired draws. ``y_train`` and ``y_test`` are 2-d targets, one column per output
    (one-hot classes for classification); the zero-one error compares the largest output's
    column with that of ``y_test``.

    Returns
    -------
    squared_error, zero_one_error : ndarray, shape (len(ridges), n_repeats, len(widths))
        The test mean squared error (summed over outputs, averaged over test rows) and the
        fraction of test rows whose largest output is in the wrong column.

    Examples
    --------
    >>> x = np.linspace(-1, 1, 10)[:, None]
    >>> y = np.hstack([x, -x])
    >>> mse, error = random_features_curves(x, y, x, y, [2, 50], ridges=[0.0, 1.0],
    ...                                     n_repeats=3, rng=np.random.default_rng(0))
    >>> mse.shape, bool(mse[0, :, 1].max() < 1e-6), bool(np.all(mse[1] > mse[0, :, 1:]))
    ((2, 3, 2), True, True)
    """
    # random_features_errors validates the data, widths and ridges.
    n_repeats = check_positive_int(n_repeats, "n_repeats")
    rng = check_generator(rng)
    repeats = [
        random_features_errors(x_train, y_train, x_test, y_test, widths, ridges=ridges, rng=rng)
        for _ in range(n_repeats)
    ]
    squared = np.stack([rows[0].mean(axis=2) for rows in repeats], axis=1)
    zero_one = np.stack([rows[1].mean(axis=2) for rows in repeats], axis=1)
    return squared, zero_one


def random_features_errors(
    x_train, y_train, x_test, y_test, widths, *, ridges, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return each test row's squared and zero-one error, for one random feature map per width.

    One repeat of :func:`random_features_curves`, with the errors kept row by row, so that a
    caller can split its test rows into a held-out set (to choose a penalty on) and a test set.
    For each width it draws one map (:func:`random_relu_features`) and fits every penalty in
    ``ridges`` to it (:func:`fit_linear`).

    Returns
    -------
    squared_error, zero_one_error : ndarray, shape (len(ridges), len(widths), len(x_test))
        Each test row's squared error summed over outputs, and whether its largest output is in
        the wrong column.

    Examples
    --------
    >>> x = np.linspace(-1, 1, 10)[:, None]
    >>> y = np.hstack([x, -x])
    >>> mse, error = random_features_errors(x, y, x[:4], y[:4], [2, 50], ridges=[0.0, 1.0],
    ...                                     rng=np.random.default_rng(0))
    >>> mse.shape, bool(mse[0, 1].max() < 1e-6)
    ((2, 2, 4), True)
    """
    x_train = check_finite_array(x_train, "x_train")
    y_train = check_finite_array(y_train, "y_train")
    y_test = check_finite_array(y_test, "y_test")
    if y_train.ndim != 2 or y_test.ndim != 2 or y_train.shape[1] != y_test.shape[1]:
        raise ValueError(
            f"y_train and y_test must be 2-d with equal columns, got {y_train.shape}, "
            f"{y_test.shape}"
        )
    widths = [check_positive_int(w, "widths") for w in np.atleast_1d(widths)]
    ridges = [check_finite(r, "ridges") for r in np.atleast_1d(ridges)]
    if any(r < 0 for r in ridges):
        raise ValueError(f"ridges must be non-negative, got {ridges}")
    rng = check_generator(rng)
    shape = (len(ridges), len(widths), len(y_test))
    squared, zero_one = np.empty(shape), np.empty(shape)
    truth = y_test.argmax(axis=1)
    with threadpool_limits(limits=1):  # as in random_features_risk
        for column, width in enumerate(widths):
            train, test = random_relu_features(x_train, x_test, width, rng=rng)
            coefficients = _ridge_path(train, y_train, ridges)  # (len(ridges), width, outputs)
            predicted = np.einsum("nf,rfk->rnk", test, coefficients, optimize=True)
            squared[:, column] = np.sum((predicted - y_test) ** 2, axis=2)
            zero_one[:, column] = predicted.argmax(axis=2) != truth
    return squared, zero_one


def _ridge_path(features, targets, ridges) -> np.ndarray:
    # fit_linear for every penalty from one singular value decomposition: the coefficients are
    # V diag(s / (s**2 + ridge)) U^T y, and for ridge = 0 the minimum-norm least-squares fit,
    # which drops singular values below lstsq's default cut-off (machine epsilon times the
    # larger dimension, relative to the largest).
    u, s, vt = np.linalg.svd(features, full_matrices=False)
    projected = u.T @ targets
    cutoff = np.finfo(float).eps * max(features.shape) * s[0]
    inverse = np.divide(1.0, s, out=np.zeros_like(s), where=s > cutoff)
    gains = np.stack(
        [inverse if ridge == 0 else s / (s**2 + ridge) for ridge in ridges]
    )  # (n_ridges, rank)
    return np.einsum("fr,qr,rk->qfk", vt.T, gains, projected, optimize=True)


# --- The poisoned objective ------------------------------------------------------------------


def poison_examples(x_train, y_train, x_poison, y_poison, *, poison_weight):
    """Return inputs, targets and example weights that turn training into poisoning.

    With these, :func:`lib.learners.networks.train` (logistic output) minimises the mean log
    loss on the training set plus ``poison_weight`` times the mean log loss on the poison set
    *towards the wrong labels* ``1 - y_poison``: it rewards errors on the poison set and stays
    bounded below, a version of the term Huang et al. (2020) add. ``poison_weight = 0`` is
    ordinary training (the poison examples then weigh nothing).

    Returns
    -------
    inputs : ndarray, shape (n_train + n_poison, n_features)
    targets : ndarray of float
        ``y_train``, then ``1 - y_poison``.
    example_weights : ndarray
        ``1 / n_train`` on the training examples, ``poison_weight / n_poison`` on the others.

    Examples
    --------
    >>> x = np.zeros((2, 3))
    >>> inputs, targets, weights = poison_examples(x, [0, 1], x[:1], [1], poison_weight=0.5)
    >>> inputs.shape, targets, weights
    ((3, 3), array([0., 1., 0.]), array([0.5, 0.5, 0.5]))
    """
    x_train = check_finite_array(x_train, "x_train")
    x_poison = check_finite_array(x_poison, "x_poison")
    y_train = check_binary(y_train, "y_train")
    y_poison = check_binary(y_poison, "y_poison")
    if x_train.ndim != 2 or x_poison.ndim != 2 or x_train.shape[1] != x_poison.shape[1]:
        raise ValueError(
            f"x_train and x_poison must be 2-d with equal columns, got {x_train.shape}, "
            f"{x_poison.shape}"
        )
    if len(y_train) != len(x_train) or len(y_poison) != len(x_poison):
        raise ValueError("y_train and y_poison must have one label per row of their inputs")
    poison_weight = check_finite(poison_weight, "poison_weight")
    if poison_weight < 0:
        raise ValueError(f"poison_weight must be non-negative, got {poison_weight}")
    n_train, n_poison = len(y_train), len(y_poison)
    return (
        np.vstack([x_train, x_poison]),
        np.concatenate([y_train, 1 - y_poison]).astype(np.float64),
        np.concatenate(
            [np.full(n_train, 1 / n_train), np.full(n_poison, poison_weight / n_poison)]
        ),
    )


def align_hidden_units(reference, network) -> Network:
    """Permute and sign-flip ``network``'s hidden units to match ``reference``'s, unit by unit.

    A one-hidden-layer tanh network computes the same function after any permutation of its
    hidden units, and after flipping the signs of one unit's incoming weights, bias and outgoing
    weight (tanh is odd). Distances between two networks' parameter vectors are dominated by
    these symmetries unless the units are matched first. Each unit of ``network`` is matched to
    one of ``reference`` (an optimal assignment, :func:`scipy.optimize.linear_sum_assignment`)
    minimising the summed squared distance between the units' parameters, each unit taking the
    sign that brings it closer.

    Parameters
    ----------
    reference, network : Network
        Stacks of one model each, with one tanh hidden layer of the same width.

    Returns
    -------
    Network
        ``network`` with its units reordered and flipped: the same function.

    Examples
    --------
    >>> from lib.learners.networks import init_network
    >>> a = init_network(3, 4, n_models=1, activation="tanh", rng=np.random.default_rng(0))
    >>> order, signs = [2, 0, 3, 1], np.array([1.0, -1.0, -1.0, 1.0])
    >>> b = Network((a.weights[0][:, :, order] * signs, a.weights[1][:, order] * signs[:, None]),
    ...             (a.biases[0][:, order] * signs, a.biases[1]), activation="tanh")
    >>> aligned = align_hidden_units(a, b)
    >>> all(np.allclose(x, y) for x, y in zip(aligned.weights, a.weights))
    True
    """
    for name, net in [("reference", reference), ("network", network)]:
        if not isinstance(net, Network):
            raise TypeError(f"{name} must be a Network, got {type(net).__name__}")
        if net.n_models != 1 or len(net.hidden) != 1 or net.activation != "tanh":
            raise ValueError(
                f"{name} must be one model with one tanh hidden layer, got {net.n_models} "
                f"models, hidden {net.hidden}, activation {net.activation!r}"
            )
    if reference.weights[0].shape != network.weights[0].shape or network.n_outputs != 1:
        raise ValueError(
            "reference and network must have the same shape and one output, got "
            f"{reference.weights[0].shape} and {network.weights[0].shape}"
        )

    def units(net):  # one row per hidden unit: incoming weights, bias, outgoing weight
        return np.hstack([net.weights[0][0].T, net.biases[0][0][:, None], net.weights[1][0]])

    ref, own = units(reference), units(network)
    same = ((ref[:, None, :] - own[None, :, :]) ** 2).sum(axis=2)
    flipped = ((ref[:, None, :] + own[None, :, :]) ** 2).sum(axis=2)
    rows, columns = linear_sum_assignment(np.minimum(same, flipped))
    signs = np.where(flipped[rows, columns] < same[rows, columns], -1.0, 1.0)
    matched = own[columns] * signs[:, None]
    n_inputs = network.n_features
    return Network(
        (matched[:, :n_inputs].T[None], matched[:, -1][None, :, None]),
        (matched[:, n_inputs][None], network.biases[1]),
        output=network.output,
        activation="tanh",
    )


# --- Spectra ----------------------------------------------------------------------------------


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
