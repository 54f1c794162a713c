"""Repairing a pretrained representation's reliance on a spurious cue, and what that costs.

Crux 4 of Kirk and Krueger (2022) asks whether fine-tuning can correct spurious correlations
in pretrained representations, and with how little data. This module holds the pieces of a
small experiment on coloured digits (:mod:`lib.worlds.coloured_digits`): a network is pretrained by
ERM on images whose colour agrees with the label with probability ``p_agree``; it is then
*repaired* with ``k`` labelled examples of one of three kinds (:data:`REPAIR_DATA_KINDS`) by one of six
methods (:data:`METHODS`), and scored on a counterfactual test set in which every test image
appears once in each colour.

Every model is a scikit-learn estimator. Pretraining is ERM with
:class:`sklearn.neural_network.MLPClassifier`, its L2-penalised log loss minimised by L-BFGS to
convergence (:func:`pretrain`; a fit that fails to converge is refitted from a new random start,
and one that never converges raises scikit-learn's warning: no warning is silenced, and
:func:`converged` says whether a network stopped by its optimiser's own rule). Last-layer
retraining is a :class:`sklearn.linear_model.LogisticRegression` on the frozen hidden layer,
solved to convergence (deep feature reweighting, DFR; Kirichenko et al. 2023); full fine-tuning
is the pretrained network trained by full-batch gradient descent (no momentum, constant step:
scikit-learn's ``solver="sgd"`` arithmetic, stacked over many networks at once) for a fixed
number of steps, which has no optimiser state, so that stopping and resuming it gives exactly
the uninterrupted path (:func:`fine_tune_path` reads competence off that path step by step,
:func:`fine_tune_paths` off many paths at once). No gradient is
written by hand except a line-by-line copy of scikit-learn's own (:func:`_lean_backprop`).
:func:`jtt_last_layer` repairs without group labels: the last layer refitted
with the examples the deployed network gets wrong up-weighted (Just Train Twice's idea, Liu et
al. 2021). Where the time goes (user CPU of chapter 03, one BLAS thread, measured 2026-12-07):
L-BFGS pretraining about a third (the 2-unit networks at ``p_agree = 0.5`` run for hundreds of
iterations from several starts), last-layer and probe fits about a fifth, fine-tuning about a
sixth. Removing scikit-learn's per-call overhead (:func:`_lean_backprop`; leaner logistic losses
and predictions were also tried and measured) saves under a tenth of any of these: the fits are
bound by their arithmetic and by SciPy's L-BFGS loop, so making the chapter faster means
fewer or smaller fits. The exception is fine-tuning, whose small steps were bound by
scikit-learn's per-epoch overhead: since 2026-12-08 it runs as stacked numpy arithmetic
(:func:`_descend`), which roughly halved its share and paid for paths ten times longer.

Examples
--------
>>> from lib.worlds.coloured_digits import load_digit_pool, colour_digits
>>> rng = np.random.default_rng(0)
>>> images, digits = load_digit_pool()
>>> data = colour_digits(images[:300], digits[:300], p_agree=1.0, label_noise=0.0, rng=rng)
>>> model = pretrain(data, n_hidden=8, rng=rng)
>>> test = counterfactual_test(images[300:600], digits[300:600], rng=rng)
>>> scores = reliance(model, test, p_agree=1.0)
>>> bool(scores["holds"] > scores["reversed"])
True
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import types
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, xlogy
from sklearn import config_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import ThreadpoolController

from ..evidence.validation import (
    check_finite,
    check_finite_array,
    check_generator,
    check_in_range,
    check_positive_int,
    check_probability,
)
from ..worlds.coloured_digits import ColouredDigits, colour_digits

__all__ = [
    "REPAIR_DATA_KINDS",
    "METHODS",
    "CounterfactualTest",
    "counterfactual_test",
    "curve_noise",
    "converged",
    "embed",
    "fine_tune_path",
    "fine_tune_paths",
    "fine_tuning_start",
    "group_accuracies",
    "hidden_layer",
    "hidden_layers",
    "jtt_last_layer",
    "leap_detection_rates",
    "leap_share",
    "pretrain",
    "probe_accuracy",
    "random_hidden_layer",
    "reliance",
    "repair",
    "repair_scores",
    "sample_repair_set",
    "worst_group_accuracy",
]

#: Kinds of repair data understood by :func:`sample_repair_set`.
REPAIR_DATA_KINDS = ("observational", "group_balanced", "interventional")

#: Repair methods understood by :func:`repair`.
METHODS = (
    "last_layer",
    "fine_tune",
    "fine_tune_new_head",
    "lp_ft",
    "scratch_network",
    "scratch_linear",
)

# L2 penalty of every logistic regression (scikit-learn's default C = 1) and its tolerance:
# tight enough that the fits are converged, not stopped early.
_PENALTY_C = 1.0
_TOLERANCE = 1e-8
_MAX_ITER = 10_000


_CONTROLLER = []


@contextlib.contextmanager
def _one_thread():
    """A context in which BLAS uses one thread and scikit-learn skips its input checks.

    These products are small, and extra threads only wait on each other. scikit-learn's
    checks of parameters and finiteness run on every call (thousands of small fits and
    predictions here) and cost more than the arithmetic; this module has already validated
    its inputs, and skipping them changes no number. The controller is made once (making
    one scans the loaded libraries, which costs milliseconds); nothing is changed outside
    the context.
    """
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    with (
        _CONTROLLER[0].limit(limits=1, user_api="blas"),
        config_context(assume_finite=True, skip_parameter_validation=True),
    ):
        yield


def _lean_backprop(self, X, y, sample_weight, activations, deltas, coef_grads, intercept_grads):
    """scikit-learn's ``MLPClassifier._backprop`` for one ReLU hidden layer and a logistic output.

    The same arithmetic, operation by operation and in the same order, as scikit-learn 1.9's
    ``_backprop`` (forward pass, binary log loss, L2 term, backward pass), so the loss and
    gradient are bit-for-bit the ones scikit-learn computes; only its per-call overhead (the
    array-API dispatch of every product) is left out. L-BFGS and Adam call it once per step,
    tens of thousands of times in chapter 03 (fine-tuning by gradient descent does its own
    stacked arithmetic, :func:`_descend`). The saving is modest, because these small fits are
    bound by their arithmetic and by SciPy's L-BFGS loop: measured (user CPU, one BLAS thread),
    about 5% of Adam epochs and 8% of the long 2-unit L-BFGS fits. ``tests/test_representation_repair.py`` checks that fits with it equal fits
    without it exactly.
    """
    if sample_weight is not None or self.out_activation_ != "logistic":
        return type(self)._backprop(
            self, X, y, sample_weight, activations, deltas, coef_grads, intercept_grads
        )
    (w_hidden, w_out), (b_hidden, b_out) = self.coefs_, self.intercepts_
    n_samples = X.shape[0]
    hidden = X @ w_hidden
    hidden += b_hidden
    np.maximum(hidden, 0, out=hidden)
    output = hidden @ w_out
    output += b_out
    expit(output, out=output)
    eps = np.finfo(output.dtype).eps
    prob = np.clip(output, eps, 1 - eps)
    loss = -np.mean(xlogy(y, prob) + xlogy(1 - y, 1 - prob), axis=0).sum()
    values = 0
    for s in self.coefs_:
        s = s.ravel()
        values += np.dot(s, s)
    loss += (0.5 * self.alpha) * values / n_samples
    delta_out = output - y
    grad_out = hidden.T @ delta_out
    grad_out += self.alpha * w_out
    grad_out /= n_samples
    delta_hidden = delta_out @ w_out.T
    # scikit-learn's delta[hidden == 0] = 0, as a product (several times cheaper): the same
    # numbers, up to the sign of a zero, which no later step can tell.
    np.multiply(delta_hidden, hidden > 0, out=delta_hidden)
    grad_hidden = X.T @ delta_hidden
    grad_hidden += self.alpha * w_hidden
    grad_hidden /= n_samples
    activations[1:] = hidden, output
    return (
        loss,
        [grad_hidden, grad_out],
        [np.sum(delta_hidden, axis=0) / n_samples, np.sum(delta_out, axis=0) / n_samples],
    )


@contextlib.contextmanager
def _lean(model: MLPClassifier):
    """Within the context, ``model`` computes its loss and gradient by :func:`_lean_backprop`.

    Only for what that function reproduces (one ReLU hidden layer, two classes, no sample
    weights in the fits of this module); anything else keeps scikit-learn's own code.
    """
    lean = (
        model.activation == "relu"
        and len(np.atleast_1d(model.hidden_layer_sizes)) == 1
        and "_backprop" not in vars(model)
    )
    if lean:
        model._backprop = types.MethodType(_lean_backprop, model)
    try:
        yield model
    finally:
        if lean:
            del model._backprop


@dataclass(frozen=True)
class CounterfactualTest:
    """A test set in which every image appears twice: once in each colour.

    Attributes
    ----------
    holds : ColouredDigits
        Each image in the colour that agrees with its label (the cue holds).
    reversed : ColouredDigits
        The same images, in the other colour (the cue is reversed).
    """

    holds: ColouredDigits
    reversed: ColouredDigits


def _seed(rng: np.random.Generator) -> int:
    """An integer seed for a scikit-learn ``random_state``, drawn from ``rng``."""
    return int(rng.integers(2**31 - 1))


def _check_data(data, name: str = "data") -> ColouredDigits:
    if not isinstance(data, ColouredDigits):
        raise TypeError(f"{name} must be a ColouredDigits, got {type(data).__name__}")
    return data


def _check_test(test) -> CounterfactualTest:
    if not isinstance(test, CounterfactualTest):
        raise TypeError(
            f"test must be a CounterfactualTest (from counterfactual_test), got {type(test).__name__}"
        )
    return test


def _subset(data: ColouredDigits, index) -> ColouredDigits:
    """The examples ``index`` of ``data``: every per-example array subset alike."""
    arrays = {
        f.name: getattr(data, f.name)
        for f in dataclasses.fields(data)
        if np.ndim(getattr(data, f.name)) >= 1 and np.shape(getattr(data, f.name))[0] == data.n
    }
    return dataclasses.replace(data, **{name: value[index] for name, value in arrays.items()})


def counterfactual_test(images, digits, *, rng: np.random.Generator) -> CounterfactualTest:
    """Return a test set showing every image in the colour that agrees and in the one that does not.

    Scoring a model on both renderings of the same images removes the sampling noise of the
    colours: accuracy "where the cue holds" and "where it is reversed" are measured on the same
    digits, and each (label, colour) group holds every test image of that label.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> test = counterfactual_test(images[:50], digits[:50], rng=np.random.default_rng(0))
    >>> bool(np.all(test.holds.colour == test.holds.label))
    True
    >>> bool(np.all(test.reversed.colour != test.reversed.label))
    True
    """
    rng = check_generator(rng)
    holds, flipped = (
        colour_digits(images, digits, p_agree=p, label_noise=0.0, rng=rng) for p in (1.0, 0.0)
    )
    return CounterfactualTest(holds, flipped)


def group_accuracies(model, test: CounterfactualTest) -> np.ndarray:
    """Return accuracy in each group: rows label 0, 1; columns cue agrees, cue disagrees.

    ``model`` is anything with ``predict(features)``.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> test = counterfactual_test(images[:60], digits[:60], rng=np.random.default_rng(0))
    >>> class ReadsColour:
    ...     def predict(self, features):
    ...         return (features[:, 64:].sum(axis=1) > 0).astype(int)
    >>> group_accuracies(ReadsColour(), test)
    array([[1., 0.],
           [1., 0.]])
    """
    test = _check_test(test)
    return _group_table(_correct(model, test), test)


def _correct(model, test: CounterfactualTest) -> tuple[np.ndarray, np.ndarray]:
    """Whether ``model`` is right on each image of ``test``, in each rendering."""
    views = (test.holds, test.reversed)
    with _one_thread():  # small products: one thread; one call, to pay the call's checks once
        right = model.predict(np.concatenate([v.features for v in views])) == np.concatenate(
            [v.label for v in views]
        )
    return right[: len(test.holds.label)], right[len(test.holds.label) :]


def _group_table(correct, test: CounterfactualTest) -> np.ndarray:
    table = np.empty((2, 2))
    for column, (right, view) in enumerate(zip(correct, (test.holds, test.reversed))):
        for label in (0, 1):
            table[label, column] = right[view.label == label].mean()
    return table


def worst_group_accuracy(model, test: CounterfactualTest) -> float:
    """Return the lowest accuracy over the four (label, colour) groups of ``test``."""
    return float(group_accuracies(model, test).min())


def reliance(model, test: CounterfactualTest, *, p_agree: float) -> dict:
    """Return a model's accuracy where the cue holds, is absent and is reversed, and more.

    Returns
    -------
    dict
        ``holds`` and ``reversed``: accuracy on each rendering of the test images; ``absent``:
        their mean, the accuracy when colour is independent of the label; ``worst_group``: the
        lowest of the four group accuracies; ``in_distribution``: the expected accuracy where
        the colour agrees with probability ``p_agree`` (``p * holds + (1 - p) * reversed``).

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> images, digits = load_digit_pool()
    >>> test = counterfactual_test(images[:60], digits[:60], rng=np.random.default_rng(0))
    >>> class ReadsColour:
    ...     def predict(self, features):
    ...         return (features[:, 64:].sum(axis=1) > 0).astype(int)
    >>> {k: float(v) for k, v in reliance(ReadsColour(), test, p_agree=0.9).items()}
    {'holds': 1.0, 'absent': 0.5, 'reversed': 0.0, 'worst_group': 0.0, 'in_distribution': 0.9}
    """
    test = _check_test(test)
    p_agree = check_probability(p_agree, "p_agree")
    correct = _correct(model, test)  # predicted once, scored every way
    holds, flipped = (float(np.mean(right)) for right in correct)
    return {
        "holds": holds,
        "absent": (holds + flipped) / 2,
        "reversed": flipped,
        "worst_group": float(_group_table(correct, test).min()),
        "in_distribution": p_agree * holds + (1 - p_agree) * flipped,
    }


def pretrain(
    data: ColouredDigits,
    *,
    n_hidden: int,
    rng: np.random.Generator,
    epochs: int | None = None,
    start: MLPClassifier | None = None,
    depth: int = 1,
) -> MLPClassifier:
    """Return a ReLU network (one hidden layer, or ``depth``) fitted to ``data`` by ERM.

    By default the L2-penalised log loss (scikit-learn's ``alpha = 1e-4``) is minimised by
    full-batch L-BFGS to convergence: scikit-learn stops when the gradient or the change in
    loss falls below its tolerance, and a fit that runs out of iterations raises scikit-learn's
    ``ConvergenceWarning`` (warnings are errors in this book), so every returned network is
    converged; :func:`converged` says so for a fitted network. ``n_hidden`` hidden units; the
    hidden layer is the representation.

    ``epochs`` instead runs scikit-learn's default optimiser (Adam, learning rate 1e-3,
    minibatches of 200) for exactly that many epochs, with no stopping rule: the recipe of an
    earlier version of this experiment (``MLPClassifier()`` stopped at its ``max_iter = 200``),
    kept to measure what stopping early does. Such a network is not converged, by design, and
    :func:`converged` says so.

    ``start`` continues training from a fitted network's weights (on the new ``data``) instead
    of a fresh random initialisation: pretraining in two stages.

    ``depth`` hidden layers of ``n_hidden`` units each (L-BFGS from a fresh start only); the
    last is the representation (:func:`hidden_layers`).

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool, colour_digits
    >>> rng = np.random.default_rng(1)
    >>> images, digits = load_digit_pool()
    >>> data = colour_digits(images[:200], digits[:200], p_agree=0.5, label_noise=0.0, rng=rng)
    >>> model = pretrain(data, n_hidden=4, rng=rng)
    >>> model.coefs_[0].shape, converged(model)
    ((128, 4), True)
    >>> converged(pretrain(data, n_hidden=4, rng=rng, epochs=3))
    False
    """
    data = _check_data(data)
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    rng = check_generator(rng)
    if epochs is not None:
        epochs = check_positive_int(epochs, "epochs")
    depth = check_positive_int(depth, "depth")
    if depth > 1 and (epochs is not None or start is not None):
        raise ValueError(f"depth > 1 is for L-BFGS from a fresh start, got depth = {depth}")
    if start is not None:
        hidden_layer(start)  # validates
        if start.coefs_[0].shape[1] != n_hidden:
            raise ValueError(
                f"start has {start.coefs_[0].shape[1]} hidden units, not n_hidden = {n_hidden}"
            )
    with _one_thread():
        if epochs is None:
            if start is None:
                return _fit_to_convergence(
                    lambda seed: MLPClassifier(
                        hidden_layer_sizes=(n_hidden,) * depth,
                        solver="lbfgs",
                        max_iter=_MAX_ITER,
                        random_state=seed,
                    ),
                    data,
                    rng=rng,
                )
            return _fit_to_convergence(
                lambda seed: copy.deepcopy(start).set_params(
                    solver="lbfgs", max_iter=_MAX_ITER, warm_start=True
                ),
                data,
                rng=rng,
                restarts=0,  # a warm start has one starting point
            )
        # A RandomState object (not an int) so that each epoch draws a new minibatch order.
        state = np.random.RandomState(_seed(rng))
        if start is None:
            # All `epochs` epochs in one call of fit, as the earlier recipe ran them, stopped by
            # scikit-learn's own rule: with tol = inf every epoch after the first (which is
            # compared with an infinite best loss) counts as "no improvement", so the fit stops
            # after n_iter_no_change + 2 = epochs epochs, before max_iter: nothing to warn
            # about, nothing silenced. One call costs much less than `epochs` partial_fit calls.
            model = MLPClassifier(
                hidden_layer_sizes=(n_hidden,),
                random_state=state,
                tol=np.inf,
                n_iter_no_change=epochs - 2,
                max_iter=epochs + 1,
            )
            with _lean(model):
                model.fit(data.features, data.label)
            if model.n_iter_ != epochs:  # the rule above is scikit-learn's: fail loudly
                raise RuntimeError(f"Adam ran {model.n_iter_} epochs, not {epochs}")
        else:
            model = copy.deepcopy(start).set_params(solver="adam")
            # One call of partial_fit is one epoch of Adam, its state kept between calls.
            for _ in range(epochs):
                model.partial_fit(data.features, data.label, classes=_CLASSES)
        model.max_iter = model.n_iter_ = epochs
        return model


_CLASSES = np.array([0, 1])

#: Fresh random starts a network fit may take before its failure to converge is an error.
_RESTARTS = 10


def _fit_to_convergence(make, data: ColouredDigits, *, rng, restarts: int = _RESTARTS):
    """Fit ``make(seed)`` by L-BFGS; if it does not converge, refit from a new random start.

    L-BFGS sometimes stops with its line search failing (SciPy's "ABNORMAL" status) on a
    ReLU network, typically one whose units have died at a kink of the loss; scikit-learn then
    warns that the fit did not converge. That warning is caught here and acted on, never
    dropped: the fit is repeated from a new random start, up to ``restarts`` times, and the
    number of restarts is kept on the model as ``restarts_``. If every start fails, the last
    warning is raised again (an error where warnings are errors, as in this book).
    """
    for attempt in range(restarts + 1):
        model = make(_seed(rng))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with _lean(model):
                model.fit(data.features, data.label)
        failures = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
        for other in caught:
            if not issubclass(other.category, ConvergenceWarning):
                warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
        if not failures:
            model.restarts_ = attempt
            return model
    warnings.warn_explicit(
        failures[-1].message, failures[-1].category, failures[-1].filename, failures[-1].lineno
    )
    model.restarts_ = restarts
    return model


def converged(model: MLPClassifier) -> bool:
    """Return whether a network from :func:`pretrain` stopped by its optimiser's own rule.

    True for a network fitted by L-BFGS within its iteration budget; False for one trained for
    a fixed number of Adam epochs (``pretrain(..., epochs=...)``), which stopped because the
    budget ran out.

    Examples
    --------
    >>> converged(MLPClassifier(max_iter=5).set_params())
    Traceback (most recent call last):
    ...
    TypeError: model must be a fitted MLPClassifier, got MLPClassifier(max_iter=5)
    """
    hidden_layer(model)  # validates
    return bool(model.solver == "lbfgs" and model.n_iter_ < model.max_iter)


def hidden_layer(model: MLPClassifier) -> tuple[np.ndarray, np.ndarray]:
    """Return the (weights, bias) of a fitted network's hidden layer: its representation."""
    if not isinstance(model, MLPClassifier) or not hasattr(model, "coefs_"):
        raise TypeError(f"model must be a fitted MLPClassifier, got {model!r:.80}")
    return model.coefs_[0], model.intercepts_[0]


def hidden_layers(model: MLPClassifier) -> list:
    """Return every hidden layer of a fitted network as (weights, bias) pairs, input side first.

    The representation of a deeper network is the last of them; :func:`embed` and
    ``repair(..., layer=hidden_layers(model))`` take the whole list.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool, colour_digits
    >>> rng = np.random.default_rng(0)
    >>> images, digits = load_digit_pool()
    >>> data = colour_digits(images[:200], digits[:200], p_agree=0.9, label_noise=0.0, rng=rng)
    >>> [w.shape for w, _ in hidden_layers(pretrain(data, n_hidden=4, depth=2, rng=rng))]
    [(128, 4), (4, 4)]
    """
    hidden_layer(model)  # validates
    return list(zip(model.coefs_[:-1], model.intercepts_[:-1]))


def random_hidden_layer(
    n_inputs: int, n_hidden: int, *, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return an untrained hidden layer, initialised as scikit-learn initialises its networks.

    Weights and biases uniform on ``±sqrt(6 / (n_inputs + n_hidden))`` (Glorot and Bengio's
    rule, as in ``MLPClassifier`` with ReLU units): the representation of a network before
    any training, the baseline a pretrained representation has to beat.

    Examples
    --------
    >>> weights, bias = random_hidden_layer(128, 32, rng=np.random.default_rng(0))
    >>> weights.shape, bias.shape, bool(np.abs(weights).max() <= math.sqrt(6 / 160))
    ((128, 32), (32,), True)
    """
    n_inputs = check_positive_int(n_inputs, "n_inputs")
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    rng = check_generator(rng)
    bound = math.sqrt(6.0 / (n_inputs + n_hidden))
    return (
        rng.uniform(-bound, bound, (n_inputs, n_hidden)),
        rng.uniform(-bound, bound, n_hidden),
    )


def embed(layer, features) -> np.ndarray:
    """Return the ReLU activations of a hidden ``layer`` (weights, bias) on ``features``.

    ``layer`` may also be a list of such pairs (:func:`hidden_layers` of a deeper network),
    applied in turn: the activations of the last.

    Examples
    --------
    >>> embed((np.array([[1.0, -1.0]]), np.array([0.0, 0.5])), np.array([[2.0]]))
    array([[2., 0.]])
    >>> embed([(np.array([[1.0, -1.0]]), np.array([0.0, 0.5])), (np.ones((2, 1)), np.zeros(1))],
    ...       np.array([[2.0]]))
    array([[2.]])
    """
    features = check_finite_array(features, "features")
    for weights, bias in layer if isinstance(layer, list) else [layer]:
        if features.ndim != 2 or features.shape[1] != np.shape(weights)[0]:
            raise ValueError(
                f"features must have shape (n, {np.shape(weights)[0]}), got {features.shape}"
            )
        features = np.maximum(features @ weights + bias, 0.0)
    return features


def _embed_rows(features, *, layer):
    """:func:`embed` with the features first, as ``FunctionTransformer`` calls it."""
    return embed(layer, features)


def _logistic() -> LogisticRegression:
    return LogisticRegression(C=_PENALTY_C, tol=_TOLERANCE, max_iter=_MAX_ITER)


def probe_accuracy(layer, train: ColouredDigits, test, *, target: str):
    """Return the held-out accuracy of a linear probe for ``target`` on a frozen ``layer``.

    The probe is a standardised L2-penalised logistic regression (multinomial for ``"digit"``)
    fitted on ``train`` and scored on ``test``; ``layer`` is ``(weights, bias)``, or ``None``
    for the raw features. ``target`` is ``"label"``, ``"digit"`` or ``"colour"``. If ``test``
    is a :class:`CounterfactualTest`, the one probe is scored on both renderings and a dict
    ``{"holds": ..., "reversed": ...}`` is returned.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool, colour_digits
    >>> rng = np.random.default_rng(0)
    >>> images, digits = load_digit_pool()
    >>> train, test = (colour_digits(images[s], digits[s], p_agree=0.5, label_noise=0.0,
    ...                              rng=rng) for s in (slice(0, 300), slice(300, 600)))
    >>> probe_accuracy(None, train, test, target="colour")
    1.0
    """
    if target not in ("label", "digit", "colour"):
        raise ValueError(f"target must be 'label', 'digit' or 'colour', got {target!r}")
    train = _check_data(train, "train")
    both = isinstance(test, CounterfactualTest)
    views = {"holds": test.holds, "reversed": test.reversed} if both else {"": test}
    views = {name: _check_data(view, "test") for name, view in views.items()}
    probe = make_pipeline(StandardScaler(), _logistic())
    with _one_thread():  # the embedding too: its products are as small as the fit's
        train_x = train.features if layer is None else embed(layer, train.features)
        probe.fit(train_x, getattr(train, target))
        scores = {
            name: float(
                probe.score(
                    view.features if layer is None else embed(layer, view.features),
                    getattr(view, target),
                )
            )
            for name, view in views.items()
        }
    return scores if both else scores[""]


def sample_repair_set(
    images,
    digits,
    *,
    n_examples: int,
    kind: str,
    p_observed: float,
    rng: np.random.Generator,
) -> ColouredDigits:
    """Draw ``n_examples`` labelled repair examples of one ``kind`` from a pool of images.

    The whole pool is coloured as the kind says, then subsampled without replacement; every
    kind has half its examples of each label, so that every method sees both classes.

    ``"observational"``
        Colours as passively observed where the cue still agrees with the label with
        probability ``p_observed``.
    ``"group_balanced"``
        DFR's held-out set: the whole pool coloured observationally, then subsampled, using
        the group labels, to ``n_examples / 4`` in each (label, colour) group. The scarce
        minority groups set the cost: about ``n_examples / (2 * (1 - p_observed))``
        observational draws for ``n_examples`` balanced ones. Raises if the pool has too few.
    ``"interventional"``
        The colour set at random (``do(colour)`` by a fair coin), independently of the label.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool
    >>> rng = np.random.default_rng(0)
    >>> images, digits = load_digit_pool()
    >>> data = sample_repair_set(images[:400], digits[:400], n_examples=16,
    ...                          kind="group_balanced", p_observed=0.8, rng=rng)
    >>> np.bincount(2 * data.label + data.colour).tolist()
    [4, 4, 4, 4]
    >>> sample_repair_set(images, digits, n_examples=6, kind="interventional",
    ...                   p_observed=0.8, rng=rng)
    Traceback (most recent call last):
    ...
    ValueError: n_examples must be a multiple of 4, got 6
    """
    n_examples = check_positive_int(n_examples, "n_examples")
    if n_examples % 4:
        raise ValueError(f"n_examples must be a multiple of 4, got {n_examples}")
    if kind not in REPAIR_DATA_KINDS:
        raise ValueError(f"kind must be one of {REPAIR_DATA_KINDS}, got {kind!r}")
    p_observed = check_probability(p_observed, "p_observed")
    rng = check_generator(rng)
    p_agree = 0.5 if kind == "interventional" else p_observed
    pool = colour_digits(images, digits, p_agree=p_agree, label_noise=0.0, rng=rng)
    if kind == "group_balanced":
        groups, n_groups, what = 2 * pool.label + pool.colour, 4, "(label, colour) group"
    else:
        groups, n_groups, what = pool.label, 2, "label"
    index = _stratified(groups, n_groups, n_examples // n_groups, rng=rng, what=what)
    return _subset(pool, index)


def _stratified(groups, n_groups, per_group, *, rng, what) -> np.ndarray:
    """``per_group`` indices drawn without replacement from each group, in random order."""
    chosen = []
    for group in range(n_groups):
        members = np.flatnonzero(groups == group)
        if members.size < per_group:
            raise ValueError(
                f"the pool has {members.size} examples in {what} {group}, "
                f"fewer than the {per_group} needed"
            )
        chosen.append(rng.choice(members, per_group, replace=False))
    return rng.permutation(np.concatenate(chosen))


def _last_layer(layer) -> object:
    """A pipeline: frozen ``layer``, standardisation, logistic regression (DFR's recipe)."""
    return make_pipeline(
        FunctionTransformer(_embed_rows, kw_args={"layer": layer}),
        StandardScaler(),
        _logistic(),
    )


# The few most recent last-layer fits of a model's own hidden layer, as (model, data, fit):
# LP-FT starts from exactly the fit that "last_layer" makes on the same model and data, so
# :func:`repair_scores` need not solve it twice. Matched by identity; the fit is deterministic.
_RECENT_FITS: list = []


def _fit_own_last_layer(model: MLPClassifier, data: ColouredDigits):
    """The last-layer fit of ``model``'s own hidden layer on ``data`` (reused if just made)."""
    for seen_model, seen_data, fitted in _RECENT_FITS:
        if seen_model is model and seen_data is data:
            return fitted
    fitted = _last_layer(hidden_layer(model)).fit(data.features, data.label)
    _RECENT_FITS.insert(0, (model, data, fitted))
    del _RECENT_FITS[4:]
    return fitted


def _probe_head(model: MLPClassifier, data: ColouredDigits):
    """The last-layer fit, folded back into an output layer for ``model``'s raw hidden units."""
    pipeline = _fit_own_last_layer(model, data)
    scaler, probe = pipeline[1], pipeline[2]
    weights = probe.coef_[0] / scaler.scale_
    bias = probe.intercept_[0] - weights @ scaler.mean_
    return weights[:, None], np.array([bias])


def _descend(stack, features, labels, steps: int, learning_rate: float, alpha: float) -> None:
    """Take ``steps`` full-batch gradient-descent steps on a stack of networks, in place.

    ``stack`` is ``[hidden weights (m, f, h), hidden biases (m, h), output weights (m, h, 1),
    output biases (m, 1)]`` for ``m`` one-hidden-layer ReLU networks with a logistic output;
    ``features`` is ``(m, n, f)`` and ``labels`` ``(m, n, 1)``, one repair set per network.
    The arithmetic is scikit-learn's for ``MLPClassifier(solver="sgd", momentum=0,
    batch_size=n)``, operation by operation (its loss gradient with the L2 term ``alpha``
    over the weights, divided by ``n``; then ``param += -learning_rate * grad``), so that one
    network's path is scikit-learn's path (``tests/test_representation_repair.py`` checks it
    to the bit against scikit-learn's own solver). Gradient descent without momentum keeps no
    state, so a path stopped and resumed is the uninterrupted path; stacking lets many paths
    share each step's Python overhead, which dominates at this size.
    """
    w_hidden, b_hidden, w_out, b_out = stack
    n = features.shape[1]
    features_t = np.ascontiguousarray(np.swapaxes(features, 1, 2))
    for _ in range(steps):
        hidden = features @ w_hidden
        hidden += b_hidden[:, None, :]
        np.maximum(hidden, 0, out=hidden)
        output = hidden @ w_out
        output += b_out[:, None, :]
        expit(output, out=output)
        delta_out = output - labels
        grad_out = np.swapaxes(hidden, 1, 2) @ delta_out
        grad_out += alpha * w_out
        grad_out /= n
        delta_hidden = delta_out @ np.swapaxes(w_out, 1, 2)
        # scikit-learn's delta[hidden == 0] = 0, as a product (five times cheaper here): the
        # same numbers, up to the sign of a zero, which no later step can tell.
        np.multiply(delta_hidden, hidden > 0, out=delta_hidden)
        grad_hidden = features_t @ delta_hidden
        grad_hidden += alpha * w_hidden
        grad_hidden /= n
        grads = (grad_hidden, np.sum(delta_hidden, axis=1) / n, grad_out)
        grads += (np.sum(delta_out, axis=1) / n,)
        for param, grad in zip(stack, grads):
            param += -learning_rate * grad


def _stack(models) -> list:
    """The weights of one-hidden-layer networks as the stack :func:`_descend` steps."""
    return [
        np.stack([m.coefs_[0] for m in models]),
        np.stack([m.intercepts_[0] for m in models]),
        np.stack([m.coefs_[1] for m in models]),
        np.stack([m.intercepts_[1] for m in models]),
    ]


def _start_fine_tuning(model, data, *, head: str, rng) -> MLPClassifier:
    """A copy of ``model`` with its output layer as ``head`` says, ready to fine-tune."""
    tuned = copy.deepcopy(model)
    tuned.n_iter_ = 0
    n_hidden = tuned.coefs_[1].shape[0]
    if head == "new":
        bound = math.sqrt(6.0 / (n_hidden + 1))  # scikit-learn's own initialisation
        tuned.coefs_[1] = rng.uniform(-bound, bound, (n_hidden, 1))
        tuned.intercepts_[1] = rng.uniform(-bound, bound, 1)
    elif head == "probe":
        tuned.coefs_[1], tuned.intercepts_[1] = _probe_head(model, data)
    return tuned


def fine_tuning_start(
    model: MLPClassifier, data: ColouredDigits, *, method: str, rng: np.random.Generator
) -> MLPClassifier:
    """Return the network that fine-tuning ``model`` on ``data`` by ``method`` starts from.

    A copy of ``model`` whose output layer is the pretrained one (``"fine_tune"``), a fresh
    random one drawn from ``rng`` (``"fine_tune_new_head"``, scikit-learn's initialisation) or
    the last-layer fit on ``data`` (``"lp_ft"``): the starts that :func:`fine_tune_paths` takes.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool, colour_digits
    >>> rng = np.random.default_rng(0)
    >>> images, digits = load_digit_pool()
    >>> data = colour_digits(images[:200], digits[:200], p_agree=0.5, label_noise=0.0, rng=rng)
    >>> model = pretrain(data, n_hidden=4, rng=rng)
    >>> start = fine_tuning_start(model, data, method="fine_tune_new_head", rng=rng)
    >>> bool(np.array_equal(start.coefs_[0], model.coefs_[0])), start is model
    (True, False)
    """
    if method not in _HEADS:
        raise ValueError(f"method must be one of {tuple(_HEADS)}, got {method!r}")
    data = _check_data(data)
    rng = check_generator(rng)
    hidden_layer(model)  # validates
    with _one_thread():
        return _start_fine_tuning(model, data, head=_HEADS[method], rng=rng)


def _check_fine_tuning(checkpoints, learning_rate) -> tuple[list, float]:
    learning_rate = check_finite(learning_rate, "learning_rate")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    checkpoints = [check_positive_int(c, "checkpoints", minimum=0) for c in checkpoints]
    if not checkpoints or np.any(np.diff(checkpoints) <= 0):
        raise ValueError(f"checkpoints must be increasing and non-empty, got {checkpoints}")
    return checkpoints, learning_rate


def fine_tune_paths(starts, datasets, tests, *, checkpoints, learning_rate: float) -> np.ndarray:
    """Fine-tune many networks at once by gradient descent; worst-group accuracy at checkpoints.

    Network ``i`` starts from ``starts[i]`` (from :func:`fine_tuning_start`), takes full-batch
    gradient steps on ``datasets[i]`` (all of one size and width) and is scored by
    :func:`worst_group_accuracy` on ``tests[i]`` after each number of steps in ``checkpoints``.
    Each path is exactly the one :func:`fine_tune_path` follows for that start (the same
    arithmetic, stacked); stacking only shares the per-step overhead.

    Returns
    -------
    ndarray, shape (len(starts), len(checkpoints))

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool, colour_digits
    >>> rng = np.random.default_rng(0)
    >>> images, digits = load_digit_pool()
    >>> data = colour_digits(images[:200], digits[:200], p_agree=0.5, label_noise=0.0, rng=rng)
    >>> model = pretrain(data, n_hidden=4, rng=rng)
    >>> test = counterfactual_test(images[200:400], digits[200:400], rng=rng)
    >>> starts = [fine_tuning_start(model, data, method=m, rng=rng) for m in ("fine_tune", "lp_ft")]
    >>> paths = fine_tune_paths(starts, [data, data], [test, test], checkpoints=[0, 8],
    ...                         learning_rate=0.1)
    >>> paths.shape, bool(paths[0, 0] == worst_group_accuracy(model, test))
    ((2, 2), True)
    """
    checkpoints, learning_rate = _check_fine_tuning(checkpoints, learning_rate)
    datasets = [_check_data(d, "datasets") for d in datasets]
    tests = [_check_test(t) for t in tests]
    if not (len(starts) == len(datasets) == len(tests) > 0):
        raise ValueError(
            f"starts, datasets and tests must be equally long and not empty, got "
            f"{len(starts)}, {len(datasets)} and {len(tests)}"
        )
    for start in starts:
        hidden_layer(start)  # validates
    shapes = {(d.n, d.features.shape[1]) for d in datasets}
    if len(shapes) != 1:
        raise ValueError(f"datasets must all have one shape (examples, features), got {shapes}")
    if len({s.coefs_[0].shape for s in starts}) != 1:
        raise ValueError("starts must all have the same hidden layer shape")
    views = [(t.holds, t.reversed) for t in tests]
    models = [copy.deepcopy(s) for s in starts]
    features = np.stack([d.features for d in datasets])
    labels = np.stack([d.label for d in datasets])[..., None].astype(float)
    stack, scores, done = _stack(models), [], 0
    with _one_thread():
        for checkpoint in checkpoints:
            _descend(stack, features, labels, checkpoint - done, learning_rate, starts[0].alpha)
            done = checkpoint
            scores.append(
                [_stacked_worst_group(stack, i, *pair) for i, pair in enumerate(zip(views, tests))]
            )
    return np.asarray(scores, dtype=float).T


def _stacked_worst_group(stack, i, views, test) -> float:
    """Worst-group accuracy of network ``i`` of a stack on a counterfactual test."""
    correct = []
    for view in views:
        hidden = np.maximum(view.features @ stack[0][i] + stack[1][i], 0)
        correct.append(((hidden @ stack[2][i] + stack[3][i])[:, 0] > 0) == view.label)
    return float(_group_table(correct, test).min())


def jtt_last_layer(model: MLPClassifier, data: ColouredDigits, *, up_weight: float | None = None):
    """Refit ``model``'s last layer with the examples it gets wrong up-weighted (JTT's idea).

    Just Train Twice (Liu et al. 2021) needs no group labels: it takes the examples that a
    first, ERM-trained model misclassifies as a stand-in for the minority groups, and trains a
    second model with those examples up-weighted by ``up_weight``. Here the first model is the
    deployed network itself and the second fit is its last layer only (the standardised,
    L2-penalised logistic regression of ``repair(method="last_layer")``, with example weights),
    so that it can be set beside DFR's group-balanced last-layer fit. The default ``up_weight``
    gives the error set the same total weight as the rest (correct / wrong examples), a rule
    that needs no held-out group labels; Liu et al. tune it on group-labelled validation data.
    Every example gets weight 1 if the model makes no error on ``data``.

    Returns the fitted pipeline, with ``errors_`` (how many examples were up-weighted) and
    ``up_weight_`` set on it.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool, colour_digits
    >>> rng = np.random.default_rng(0)
    >>> images, digits = load_digit_pool()
    >>> data = colour_digits(images[:300], digits[:300], p_agree=0.9, label_noise=0.0, rng=rng)
    >>> model = pretrain(data, n_hidden=4, rng=rng)
    >>> repair_set = colour_digits(images[300:500], digits[300:500], p_agree=0.8, label_noise=0.0, rng=rng)
    >>> fixed = jtt_last_layer(model, repair_set)
    >>> wrong = int(np.sum(model.predict(repair_set.features) != repair_set.label))
    >>> fixed.errors_ == wrong, fixed.up_weight_ == (200 - wrong) / wrong
    (True, True)
    >>> jtt_last_layer(model, repair_set, up_weight=0.5)
    Traceback (most recent call last):
    ...
    ValueError: up_weight must be at least 1, got 0.5
    """
    layer = hidden_layer(model)
    data = _check_data(data)
    if up_weight is not None:
        up_weight = check_finite(up_weight, "up_weight")
        if up_weight < 1:
            raise ValueError(f"up_weight must be at least 1, got {up_weight}")
    with _one_thread():
        wrong = model.predict(data.features) != data.label
        n_wrong = int(wrong.sum())
        if up_weight is None:
            up_weight = (data.n - n_wrong) / n_wrong if n_wrong else 1.0
        weights = np.where(wrong, up_weight, 1.0)
        fitted = _last_layer(layer).fit(
            data.features, data.label, logisticregression__sample_weight=weights
        )
    fitted.errors_, fitted.up_weight_ = n_wrong, float(up_weight)
    return fitted


_HEADS = {"fine_tune": "pretrained", "fine_tune_new_head": "new", "lp_ft": "probe"}


def fine_tune_path(
    model: MLPClassifier,
    data: ColouredDigits,
    *,
    method: str,
    checkpoints,
    learning_rate: float,
    score,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fine-tune every weight of ``model`` by gradient descent; return ``score`` at checkpoints.

    Parameters
    ----------
    method : {"fine_tune", "fine_tune_new_head", "lp_ft"}
        Where the output layer starts: the pretrained one; a fresh random one; or the
        last-layer fit on ``data`` (LP-FT, Kumar et al. 2022). The hidden layer always starts
        pretrained.
    checkpoints : increasing sequence of int >= 0
        Numbers of gradient steps after which to call ``score(model)``.
    score : callable
        Takes the fine-tuned model, returns a number (e.g. :func:`worst_group_accuracy`).

    Returns
    -------
    ndarray, shape (len(checkpoints),)

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool, colour_digits
    >>> rng = np.random.default_rng(0)
    >>> images, digits = load_digit_pool()
    >>> data = colour_digits(images[:200], digits[:200], p_agree=0.5, label_noise=0.0, rng=rng)
    >>> model = pretrain(data, n_hidden=4, rng=rng)
    >>> path = fine_tune_path(model, data, method="fine_tune", checkpoints=[0, 3],
    ...                       learning_rate=0.1, score=lambda m: m.n_iter_, rng=rng)
    >>> path.tolist()
    [0.0, 3.0]
    """
    if method not in _HEADS:
        raise ValueError(f"method must be one of {tuple(_HEADS)}, got {method!r}")
    data = _check_data(data)
    rng = check_generator(rng)
    checkpoints, learning_rate = _check_fine_tuning(checkpoints, learning_rate)
    with _one_thread():
        tuned = _start_fine_tuning(model, data, head=_HEADS[method], rng=rng)
        stack, features = _stack([tuned]), data.features[None]
        labels = data.label[None, :, None].astype(float)
        scores, done = [], 0
        for checkpoint in checkpoints:
            # A fixed budget of full-batch steps, by design: the path is read step by step.
            _descend(stack, features, labels, checkpoint - done, learning_rate, tuned.alpha)
            tuned.coefs_ = [stack[0][0].copy(), stack[2][0].copy()]
            tuned.intercepts_ = [stack[1][0].copy(), stack[3][0].copy()]
            done = tuned.n_iter_ = checkpoint
            scores.append(score(tuned))
    return np.asarray(scores, dtype=float)


def repair(
    model: MLPClassifier,
    data: ColouredDigits,
    *,
    method: str,
    steps: int,
    learning_rate: float,
    rng: np.random.Generator,
    layer=None,
):
    """Return a model repaired from ``model`` on ``data`` by one ``method``.

    Methods
    -------
    ``"last_layer"``
        The hidden layer frozen; a new output layer, a standardised L2-penalised logistic
        regression solved to convergence. On group-balanced data this is DFR.
    ``"fine_tune"``, ``"fine_tune_new_head"``, ``"lp_ft"``
        Every weight trained for ``steps`` steps of full-batch gradient descent, from the
        pretrained hidden layer and an output layer that is the pretrained one, a fresh random
        one, or the last-layer fit (LP-FT): see :func:`fine_tune_path`.
    ``"scratch_network"``
        A fresh network of the same shape fitted to ``data`` alone, by L-BFGS to convergence.
    ``"scratch_linear"``
        A logistic regression on the raw features, fitted to ``data`` alone.

    ``layer`` (``(weights, bias)``) replaces the model's hidden layer for ``"last_layer"``,
    e.g. an untrained one from :func:`random_hidden_layer`. ``steps`` and ``learning_rate``
    are used only by the fine-tuning methods, ``rng`` by those that draw random numbers; all
    are required so that callers need not know which method uses what.

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool, colour_digits
    >>> rng = np.random.default_rng(0)
    >>> images, digits = load_digit_pool()
    >>> data = colour_digits(images[:200], digits[:200], p_agree=0.9, label_noise=0.0, rng=rng)
    >>> model = pretrain(data, n_hidden=4, rng=rng)
    >>> fixed = repair(model, data, method="last_layer", steps=1, learning_rate=0.1, rng=rng)
    >>> fixed.predict(data.features[:3]).shape
    (3,)
    >>> repair(model, data, method="prune", steps=1, learning_rate=0.1, rng=rng)
    Traceback (most recent call last):
    ...
    ValueError: method must be one of ('last_layer', 'fine_tune', 'fine_tune_new_head', 'lp_ft', 'scratch_network', 'scratch_linear'), got 'prune'
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    data = _check_data(data)
    rng = check_generator(rng)
    steps = check_positive_int(steps, "steps")
    if method in _HEADS:
        return _fine_tuned(model, data, method=method, steps=steps, lr=learning_rate, rng=rng)
    with _one_thread():
        if method == "last_layer":
            if layer is None:
                return copy.deepcopy(_fit_own_last_layer(model, data))
            fitted = _last_layer(layer)
        elif method == "scratch_linear":
            fitted = _logistic()
        else:
            return _fit_to_convergence(
                lambda seed: MLPClassifier(
                    hidden_layer_sizes=model.hidden_layer_sizes,
                    solver="lbfgs",
                    max_iter=_MAX_ITER,
                    random_state=seed,
                ),
                data,
                rng=rng,
            )
        return fitted.fit(data.features, data.label)


def _fine_tuned(model, data, *, method, steps, lr, rng):
    models = []
    fine_tune_path(
        model,
        data,
        method=method,
        checkpoints=[steps],
        learning_rate=lr,
        score=lambda tuned: models.append(copy.deepcopy(tuned)) or 0.0,
        rng=rng,
    )
    return models[0]


def leap_share(curves, *, min_gain: float = 0.0) -> np.ndarray:
    """Return, for each curve, the share of its whole gain made in its single largest step.

    A curve that climbs evenly over ``m`` steps has share ``1 / m``; one that makes all of its
    gain at once, a leap, has share 1. A curve whose net gain is not above ``min_gain`` has no
    share (NaN): a share of a gain within noise means nothing.

    Parameters
    ----------
    curves : array_like, shape (n_curves, n_points)
        E.g. worst-group accuracy per seed (rows) at increasing ``k`` or training steps.

    Examples
    --------
    >>> leap_share([[0.1, 0.2, 0.3, 0.4], [0.1, 0.1, 0.7, 0.7], [0.5, 0.4, 0.5, 0.5]])
    array([0.33333333, 1.        ,        nan])
    >>> leap_share([[0.50, 0.52, 0.51], [0.1, 0.2, 0.4]], min_gain=0.05)
    array([       nan, 0.66666667])
    """
    curves = check_finite_array(curves, "curves")
    if curves.ndim != 2 or curves.shape[1] < 3:
        raise ValueError(f"curves must have shape (n_curves, n_points >= 3), got {curves.shape}")
    min_gain = check_finite(min_gain, "min_gain")
    if min_gain < 0:
        raise ValueError(f"min_gain must be non-negative, got {min_gain}")
    total = curves[:, -1] - curves[:, 0]
    largest = np.diff(curves, axis=1).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > min_gain, largest / total, np.nan)


def curve_noise(curves) -> float:
    """Return the standard deviation of the point-to-point noise in a set of curves.

    A difference-based estimate: for a smooth curve plus independent noise of standard
    deviation ``s`` at each point, second differences have variance ``6 s**2``, nearly
    untouched by the curve's trend or by offsets between curves (which a spread across curves
    would count as noise). Curvature of the trend inflates it, so it errs on the high side.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> trend = np.linspace(0, 1, 50) ** 2
    >>> curves = trend + rng.uniform(-1, 1, (400, 1)) + 0.05 * rng.standard_normal((400, 50))
    >>> round(curve_noise(curves), 3)
    0.05
    """
    curves = check_finite_array(curves, "curves")
    if curves.ndim != 2 or curves.shape[1] < 3:
        raise ValueError(f"curves must have shape (n_curves, n_points >= 3), got {curves.shape}")
    return float(np.sqrt(np.mean(np.diff(curves, n=2, axis=1) ** 2) / 6))


def leap_detection_rates(
    gain: float,
    noise: float,
    n_points: int,
    *,
    threshold: float,
    n_draws: int,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """Return how often :func:`leap_share` exceeds ``threshold`` for a leap, and for none.

    Simulates ``n_draws`` noisy curves of ``n_points`` that gain ``gain`` in total, each point
    with independent normal noise of standard deviation ``noise``: curves that make the whole
    gain in one step at a random place (a leap), and curves that climb evenly. The first rate
    is the test's power to see a leap of that size; the second its false-alarm rate.

    Examples
    --------
    >>> power, false_alarm = leap_detection_rates(0.3, 0.01, 6, threshold=0.5,
    ...                                           n_draws=2000, rng=np.random.default_rng(0))
    >>> power, false_alarm
    (1.0, 0.0)
    """
    gain = check_finite(gain, "gain")
    if gain <= 0:
        raise ValueError(f"gain must be positive, got {gain}")
    noise = check_finite(noise, "noise")
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise}")
    n_points = check_positive_int(n_points, "n_points", minimum=3)
    threshold = check_in_range(threshold, "threshold", 0.0, 1.0)
    n_draws = check_positive_int(n_draws, "n_draws")
    rng = check_generator(rng)
    where = rng.integers(1, n_points, n_draws)[:, None]
    leap = gain * (np.arange(n_points) >= where)
    even = np.broadcast_to(gain * np.arange(n_points) / (n_points - 1), leap.shape)
    rates = []
    for clean in (leap, even):
        share = leap_share(clean + noise * rng.standard_normal(clean.shape))
        rates.append(float(np.mean(np.nan_to_num(share) > threshold)))
    return rates[0], rates[1]


def repair_scores(
    fits: dict,
    images,
    digits,
    test: CounterfactualTest,
    *,
    kind: str,
    sizes,
    p_observed: float,
    steps: int,
    learning_rate: float,
    rng: np.random.Generator,
) -> list[dict]:
    """Repair several models on the same repair sets of each size; score each on ``test``.

    For every ``k`` in ``sizes`` one repair set of that ``kind`` is drawn from the pool
    (``images``, ``digits``; :func:`sample_repair_set`), and every model and method in
    ``fits`` is repaired on that same set, so that their differences are paired.

    Parameters
    ----------
    fits : dict
        ``name -> (model, methods, layer)``: a pretrained model, the methods to repair it by,
        and ``layer`` for ``"last_layer"`` (``None``: the model's own hidden layer). A fourth
        element, a collection of sizes, repairs that model only at those ``k`` (the repair
        sets drawn are the same either way).

    Returns
    -------
    list of dict
        One record per (name, method, k): ``model``, ``method``, ``kind``, ``k``, and the
        accuracies ``holds``, ``reversed`` and ``worst_group`` (:func:`reliance`).

    Examples
    --------
    >>> from lib.worlds.coloured_digits import load_digit_pool, colour_digits
    >>> rng = np.random.default_rng(0)
    >>> images, digits = load_digit_pool()
    >>> data = colour_digits(images[:200], digits[:200], p_agree=0.9, label_noise=0.0, rng=rng)
    >>> model = pretrain(data, n_hidden=4, rng=rng)
    >>> test = counterfactual_test(images[500:700], digits[500:700], rng=rng)
    >>> records = repair_scores({"net": (model, ("last_layer",), None)}, images[200:500],
    ...     digits[200:500], test, kind="interventional", sizes=[8, 16], p_observed=0.8,
    ...     steps=1, learning_rate=0.1, rng=rng)
    >>> [(r["method"], r["k"]) for r in records]
    [('last_layer', 8), ('last_layer', 16)]
    """
    records = []
    for k in sizes:
        data = sample_repair_set(
            images, digits, n_examples=k, kind=kind, p_observed=p_observed, rng=rng
        )
        for name, (model, methods, layer, *only) in fits.items():
            if only and k not in only[0]:
                continue
            for method in methods:
                fixed = repair(
                    model,
                    data,
                    method=method,
                    steps=steps,
                    learning_rate=learning_rate,
                    rng=rng,
                    layer=layer,
                )
                scores = reliance(fixed, test, p_agree=0.5)
                records.append(
                    {
                        "model": name,
                        "method": method,
                        "kind": kind,
                        "k": int(k),
                        **{key: scores[key] for key in ("holds", "reversed", "worst_group")},
                    }
                )
    return records
