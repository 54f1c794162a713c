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

Why the gradients are written by hand. The penalties are functions of per-example logits
``f_i``, so the gradient of every objective here is ``sum_i c_i df_i/dtheta`` with per-example
coefficients ``c_i = dJ/df_i`` (for IRMv1, ``c_i = 2 g_e [sigma'(f_i) f_i + sigma(f_i) - y_i] /
n_e``, with ``g_e`` the environment's scale gradient). One back-propagation routine,
:func:`backpropagate`, turns those coefficients into parameter gradients for a linear-logistic
model or a one-hidden-layer ReLU network. The book installs no automatic-differentiation
library, and for these two models the hand-written gradient is short; every objective's
gradient is tested against finite differences (``scipy.optimize.check_grad``) in
``tests/test_invariance.py``.

Speed. :func:`fit_and_score` trains a linear model on coloured images from their 64 grey pixels
and their colour rather than from the 128 features, half of them zero: the logit ``w . x`` is the
grey image times the red or the green half of ``w``, whichever the colour picks. This is the same
model, equal to the 128-feature computation to rounding (tested), at about half the memory
traffic per step; :func:`train` on given inputs computes with them as they are.

The module also holds the closed forms of the linear structural model that opens Arjovsky et
al.'s argument (:func:`sem_coefficients`), in which only the regression on the cause of ``Y`` is
the same in every environment.

Examples
--------
>>> sem_coefficients(1.0)["both"]
(0.5, 0.5)
>>> params = init_model(3, 0, n_models=2, rng=np.random.default_rng(0))
>>> predict_logits(params, np.zeros((2, 5, 3))).shape
(2, 5)
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

__all__ = [
    "METHODS",
    "Environment",
    "append_cue",
    "pool_and_resplit",
    "sample_coloured_environments",
    "accuracy",
    "backpropagate",
    "environment_risks",
    "fit_and_score",
    "fit_least_squares",
    "init_model",
    "objective",
    "predict_logits",
    "sample_sem",
    "sem_coefficients",
    "train",
]

#: Training methods understood by :func:`objective` and :func:`train`.
METHODS = ("erm", "irm", "vrex", "dro")


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
        """Return ``(inputs, labels)``, as :func:`train` and :func:`accuracy` take them."""
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


def pool_and_resplit(environments, *, rng: np.random.Generator) -> list:
    """Pool the given environments and deal the examples back at random, keeping the sizes.

    The examples are exactly the same; only the environment labels change, so any difference
    a method shows between the original and the re-dealt environments is what the labels gave.

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
    result = []
    for a, b in zip(edges[:-1], edges[1:]):
        rows = order[:, a:b]
        picked = {
            name: np.take_along_axis(value, rows if value.ndim == 2 else rows[..., None], axis=1)
            for name, value in pooled.items()
        }
        result.append(Environment(**picked))
    return result


# --- Models: linear-logistic or one hidden ReLU layer, with a leading axis of models ----------


def init_model(n_features, n_hidden, *, n_models, rng: np.random.Generator) -> dict:
    """Return Xavier-uniform weights and zero biases for ``n_models`` independent models.

    ``n_hidden = 0`` gives a linear-logistic model (``weights_out`` of shape
    ``(n_models, n_features)`` and ``bias_out``); otherwise one hidden ReLU layer of
    ``n_hidden`` units (``weights_in``, ``bias_in``, ``weights_out``, ``bias_out``), initialised
    as the reference code initialises its layers.

    Examples
    --------
    >>> params = init_model(4, 8, n_models=3, rng=np.random.default_rng(0))
    >>> {name: value.shape for name, value in params.items()}
    {'weights_in': (3, 4, 8), 'bias_in': (3, 8), 'weights_out': (3, 8), 'bias_out': (3,)}
    """
    n_features = check_positive_int(n_features, "n_features")
    n_hidden = check_positive_int(n_hidden, "n_hidden", minimum=0)
    n_models = check_positive_int(n_models, "n_models")
    rng = check_generator(rng)

    def xavier(n_in, n_out, shape):
        bound = np.sqrt(6.0 / (n_in + n_out))
        return rng.uniform(-bound, bound, size=shape)

    if n_hidden == 0:
        return {
            "weights_out": xavier(n_features, 1, (n_models, n_features)),
            "bias_out": np.zeros(n_models),
        }
    return {
        "weights_in": xavier(n_features, n_hidden, (n_models, n_features, n_hidden)),
        "bias_in": np.zeros((n_models, n_hidden)),
        "weights_out": xavier(n_hidden, 1, (n_models, n_hidden)),
        "bias_out": np.zeros(n_models),
    }


def _check_params(params) -> dict:
    if not isinstance(params, dict) or "weights_out" not in params or "bias_out" not in params:
        raise TypeError(f"params must be a dict from init_model, got {type(params).__name__}")
    return params


def _n_features(params) -> int:
    if "weights_in" in params:
        return params["weights_in"].shape[1]
    return params["weights_out"].shape[1]


def _check_inputs(params, inputs) -> np.ndarray:
    inputs = np.asarray(inputs, dtype=np.float64)
    n_models = params["bias_out"].shape[0]
    if inputs.ndim != 3 or inputs.shape[0] != n_models or inputs.shape[2] != _n_features(params):
        raise ValueError(
            f"inputs must have shape ({n_models}, n_examples, {_n_features(params)}), "
            f"got {inputs.shape}"
        )
    return inputs


def _forward(params, inputs):
    # Logits (n_models, n_examples) and, for the hidden-layer model, its activations.
    if "weights_in" not in params:
        return (inputs @ params["weights_out"][..., None])[..., 0] + params["bias_out"][
            :, None
        ], None
    hidden = np.maximum(inputs @ params["weights_in"] + params["bias_in"][:, None, :], 0.0)
    logits = (hidden @ params["weights_out"][..., None])[..., 0] + params["bias_out"][:, None]
    return logits, hidden


def predict_logits(params: dict, inputs) -> np.ndarray:
    """Return each model's logits on its own slice of inputs, shape ``(n_models, n_examples)``.

    Examples
    --------
    >>> params = init_model(2, 0, n_models=1, rng=np.random.default_rng(0))
    >>> params["weights_out"][:] = [1.0, -1.0]
    >>> predict_logits(params, [[[2.0, 0.5]]])
    array([[1.5]])
    """
    params = _check_params(params)
    return _forward(params, _check_inputs(params, inputs))[0]


def backpropagate(params: dict, inputs, coefficients) -> dict:
    """Return ``sum_i c_i * d f_i / d theta`` for every parameter ``theta`` of every model.

    ``coefficients`` holds one ``c_i`` per example and model, the derivative of some objective
    with respect to the example's logit ``f_i``; this one routine therefore gives the gradient of
    every objective in this module (see the module's docstring).

    Parameters
    ----------
    params : dict
        From :func:`init_model`.
    inputs : array_like, shape (n_models, n_examples, n_features)
    coefficients : array_like, shape (n_models, n_examples)

    Returns
    -------
    dict
        Arrays of the same shapes as ``params``.

    Examples
    --------
    >>> params = init_model(2, 0, n_models=1, rng=np.random.default_rng(0))
    >>> grads = backpropagate(params, [[[1.0, 2.0], [3.0, 4.0]]], [[1.0, -1.0]])
    >>> grads["weights_out"], grads["bias_out"]
    (array([[-2., -2.]]), array([0.]))
    """
    params = _check_params(params)
    inputs = _check_inputs(params, inputs)
    coefficients = np.asarray(coefficients, dtype=np.float64)
    if coefficients.shape != inputs.shape[:2]:
        raise ValueError(
            f"coefficients must have shape {inputs.shape[:2]}, got {coefficients.shape}"
        )
    return _backward(params, inputs, coefficients, _forward(params, inputs)[1])


def _backward(params, inputs, coefficients, hidden):
    if hidden is None:
        return {
            "weights_out": (coefficients[:, None, :] @ inputs)[:, 0],
            "bias_out": coefficients.sum(axis=1),
        }
    upstream = coefficients[..., None] * params["weights_out"][:, None, :] * (hidden > 0)
    return {
        "weights_in": inputs.transpose(0, 2, 1) @ upstream,
        "bias_in": upstream.sum(axis=1),
        "weights_out": (coefficients[:, None, :] @ hidden)[:, 0],
        "bias_out": coefficients.sum(axis=1),
    }


class _Dense:
    # Inputs as given: logits by _forward, gradients by _backward.
    def __init__(self, inputs):
        self.inputs = inputs

    def forward(self, params):
        return _forward(params, self.inputs)

    def backward(self, params, coefficients, hidden):
        return _backward(params, self.inputs, coefficients, hidden)


class _ColourBlocks:
    # Coloured images for a linear model, stored as the 64 grey pixels, the colour and any extra
    # columns (append_cue). The 128-feature logit w . x equals grey . w_c, with w_c the red or
    # green half of w picked by the image's colour, so each step reads 64 features per image
    # instead of 128 (of which half are zero). Equal to _Dense to rounding (tests).
    def __init__(self, grey, colour, extra):
        self.grey = np.ascontiguousarray(grey, dtype=np.float64)
        self.green = np.asarray(colour) == 1
        # (n_models, 2, n): 1 where the image is red (row 0) or green (row 1).
        self.onehot = np.stack([~self.green, self.green], axis=1).astype(np.float64)
        self.extra = np.ascontiguousarray(extra, dtype=np.float64)
        self.n_pixels = self.grey.shape[2]

    @classmethod
    def from_environment(cls, env):
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
        return cls(env.grey, env.colour, features[..., 2 * n_pixels :])

    def _halves(self, weights):
        # (n_models, n_pixels, 2): the red and the green half of the weights as two columns.
        k = self.n_pixels
        return np.stack([weights[:, :k], weights[:, k : 2 * k]], axis=2)

    def forward(self, params):
        weights = params["weights_out"]
        both = self.grey @ self._halves(weights)  # (n_models, n, 2)
        logits = np.where(self.green, both[..., 1], both[..., 0])
        if self.extra.shape[2]:
            logits = logits + (self.extra @ weights[:, 2 * self.n_pixels :, None])[..., 0]
        return logits + params["bias_out"][:, None], None

    def backward(self, params, coefficients, hidden):
        blocks = (coefficients[:, None, :] * self.onehot) @ self.grey  # (n_models, 2, k)
        parts = [blocks[:, 0], blocks[:, 1]]
        if self.extra.shape[2]:
            parts.append((coefficients[:, None, :] @ self.extra)[:, 0])
        return {
            "weights_out": np.concatenate(parts, axis=1),
            "bias_out": coefficients.sum(axis=1),
        }


def _design(params, env, *, grey):
    # The cheapest representation of an environment's inputs that gives the same model (to
    # rounding) for these parameters.
    if not grey and "weights_in" not in params:
        blocks = _ColourBlocks.from_environment(env)
        if blocks is not None:
            return blocks
    return _Dense(_check_inputs(params, env.pair(grey=grey)[0]))


# --- Objectives -------------------------------------------------------------------------------


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _check_environments(params, environments):
    if isinstance(environments, (str, bytes)) or len(environments) < 1:
        raise ValueError("environments must be a non-empty sequence of (inputs, labels) pairs")
    checked = []
    for k, pair in enumerate(environments):
        if len(pair) != 2:
            raise ValueError(f"environment {k} must be an (inputs, labels) pair")
        inputs = _check_inputs(params, pair[0])
        labels = np.asarray(pair[1])
        if labels.shape != inputs.shape[:2] or not np.all((labels == 0) | (labels == 1)):
            raise ValueError(
                f"labels of environment {k} must be 0/1 of shape {inputs.shape[:2]}, "
                f"got shape {labels.shape}"
            )
        checked.append((inputs, labels.astype(np.float64)))
    return checked


def _risk_terms(logits, labels, *, with_risk=True):
    # Mean logistic loss, its scale gradient g (IRMv1) and the per-example derivatives. Without
    # the risk (None), which ERM's and IRMv1's derivatives do not need.
    p = _sigmoid(logits)
    n = logits.shape[1]
    risk = np.mean(np.logaddexp(0.0, logits) - labels * logits, axis=1) if with_risk else None
    residual = p - labels
    scale_gradient = np.mean(residual * logits, axis=1)
    d_scale_gradient = (p * (1 - p) * logits + residual) / n
    return risk, residual / n, scale_gradient, d_scale_gradient


def environment_risks(params: dict, environments) -> np.ndarray:
    """Return each model's mean logistic loss in each environment, shape ``(n_models, n_envs)``.

    Examples
    --------
    >>> params = init_model(1, 0, n_models=1, rng=np.random.default_rng(0))
    >>> params["weights_out"][:] = 0.0
    >>> environment_risks(params, [(np.zeros((1, 3, 1)), np.ones((1, 3)))]).round(4)
    array([[0.6931]])
    """
    params = _check_params(params)
    environments = _check_environments(params, environments)
    return np.stack([_risk_terms(_forward(params, x)[0], y)[0] for x, y in environments], axis=1)


def objective(
    params: dict,
    environments,
    *,
    method: str,
    penalty_weight: float = 1.0,
    group_weights=None,
):
    """Return a method's training objective and its derivatives with respect to the logits.

    The objective, before the L2 penalty and before :func:`train`'s rescaling, is

    * ``erm``: ``mean_e R_e``;
    * ``irm``: ``mean_e R_e + penalty_weight * mean_e g_e^2``, with ``g_e`` the derivative of
      ``R_e`` with respect to a multiplier of the logits, at 1 (IRMv1);
    * ``vrex``: ``mean_e R_e + penalty_weight * var_e R_e`` (population variance);
    * ``dro``: ``sum_e q_e R_e`` with the given ``group_weights`` ``q`` (group DRO's step).

    Parameters
    ----------
    params : dict
        From :func:`init_model`.
    environments : sequence of (inputs, labels)
        ``inputs`` of shape ``(n_models, n_e, n_features)``, ``labels`` 0/1 of shape
        ``(n_models, n_e)``; each model sees its own slice.
    method : {"erm", "irm", "vrex", "dro"}
    penalty_weight : float
        Weight of the IRMv1 or V-REx penalty, non-negative; ignored by ERM and group DRO.
    group_weights : array_like, shape (n_models, n_envs), optional
        Group DRO's weights on the environments (rows on the simplex); uniform if omitted.

    Returns
    -------
    value : ndarray, shape (n_models,)
    coefficients : list of ndarray
        Per environment, ``d value / d f_i`` of shape ``(n_models, n_e)``, ready for
        :func:`backpropagate`.

    Examples
    --------
    >>> params = init_model(1, 0, n_models=1, rng=np.random.default_rng(0))
    >>> params["weights_out"][:] = 0.0
    >>> env = (np.zeros((1, 2, 1)), np.array([[0, 1]]))
    >>> value, coefficients = objective(params, [env, env], method="irm", penalty_weight=10.0)
    >>> value.round(4), coefficients[0]
    (array([0.6931]), array([[ 0.125, -0.125]]))
    """
    params = _check_params(params)
    environments = _check_environments(params, environments)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    weight = check_finite(penalty_weight, "penalty_weight")
    if weight < 0:
        raise ValueError(f"penalty_weight must be non-negative, got {penalty_weight}")
    forwards = [_forward(params, x) for x, _ in environments]
    terms = [_risk_terms(f[0], y) for f, (_, y) in zip(forwards, environments)]
    risks = np.stack([t[0] for t in terms], axis=1)
    q = _check_group_weights(group_weights, risks.shape) if method == "dro" else None
    return _combine(terms, method, weight, q)


def _combine(terms, method, weight, q):
    # The objective's value and its derivatives in the logits, from each environment's
    # (risk, d risk / d f, scale gradient g, d g / d f).
    # The value is None when the risks were not computed (train, for ERM and IRMv1, whose
    # derivatives do not depend on them).
    n_envs = len(terms)
    derivatives_only = terms[0][0] is None
    if derivatives_only:
        terms = [(np.zeros(t[1].shape[0]), *t[1:]) for t in terms]
    risks = np.stack([t[0] for t in terms], axis=1)  # (n_models, n_envs)
    if method == "dro":
        return np.sum(q * risks, axis=1), [q[:, [e]] * t[1] for e, t in enumerate(terms)]
    value = risks.mean(axis=1)
    coefficients = [t[1] / n_envs for t in terms]
    if method == "irm":
        scale_gradients = np.stack([t[2] for t in terms], axis=1)
        value = value + weight * np.mean(scale_gradients**2, axis=1)
        for e, t in enumerate(terms):
            coefficients[e] = coefficients[e] + weight * 2 * t[2][:, None] * t[3] / n_envs
    elif method == "vrex":
        deviation = risks - risks.mean(axis=1, keepdims=True)
        value = value + weight * np.mean(deviation**2, axis=1)
        for e, t in enumerate(terms):
            coefficients[e] = coefficients[e] + weight * 2 * deviation[:, [e]] * t[1] / n_envs
    return (None if derivatives_only else value), coefficients


def _check_group_weights(group_weights, shape):
    if group_weights is None:
        return np.full(shape, 1.0 / shape[1])
    q = check_finite_array(group_weights, "group_weights")
    if q.shape != shape or np.any(q < 0) or not np.allclose(q.sum(axis=1), 1.0):
        raise ValueError(f"group_weights must be non-negative rows of shape {shape} summing to 1")
    return q


# --- Training ---------------------------------------------------------------------------------


def train(
    params: dict,
    environments,
    *,
    method: str,
    steps: int,
    learning_rate: float,
    l2_weight: float,
    penalty_weight: float = 1.0,
    anneal_steps: int = 0,
    dro_step: float = 0.01,
) -> dict:
    """Return a copy of ``params`` trained by full-batch Adam on ``method``'s objective.

    At each step the loss is ``objective + l2_weight * ||theta||^2`` (all parameters, as in the
    reference code), with the IRMv1 or V-REx penalty weighted 1 for the first ``anneal_steps``
    steps and ``penalty_weight`` afterwards, when the whole loss is divided by
    ``penalty_weight`` (if it exceeds 1) to keep the gradients' scale. Group DRO multiplies each
    environment's weight by ``exp(dro_step * R_e)`` and renormalises before every step.

    Parameters
    ----------
    params : dict
        From :func:`init_model`; not modified.
    environments : sequence of (inputs, labels)
        As for :func:`objective`.
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

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((1, 200, 2))
    >>> y = (x[..., 0] > 0).astype(int)
    >>> params = init_model(2, 0, n_models=1, rng=rng)
    >>> trained = train(params, [(x, y)], method="erm", steps=200, learning_rate=0.05,
    ...                 l2_weight=0.0)
    >>> float(accuracy(trained, x, y)[0]) > 0.95
    True
    """
    params = _check_params(params)
    environments = _check_environments(params, environments)
    designs = [_Dense(x) for x, _ in environments]
    labels = [y for _, y in environments]
    return _train(
        params,
        designs,
        labels,
        method=method,
        steps=steps,
        learning_rate=learning_rate,
        l2_weight=l2_weight,
        penalty_weight=penalty_weight,
        anneal_steps=anneal_steps,
        dro_step=dro_step,
    )


def _train(
    params,
    designs,
    labels,
    *,
    method,
    steps,
    learning_rate,
    l2_weight,
    penalty_weight,
    anneal_steps,
    dro_step,
):
    # Full-batch Adam on validated parameters; ``designs`` compute each environment's logits
    # and back-propagate through them (_Dense, or _ColourBlocks, which gives the same numbers
    # to rounding at about half the memory traffic).
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    steps = check_positive_int(steps, "steps")
    anneal_steps = check_positive_int(anneal_steps, "anneal_steps", minimum=0)
    learning_rate = _check_positive(learning_rate, "learning_rate")
    for name, value in (
        ("l2_weight", l2_weight),
        ("penalty_weight", penalty_weight),
        ("dro_step", dro_step),
    ):
        if check_finite(value, name) < 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
    params = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    moments = {name: (np.zeros_like(v), np.zeros_like(v)) for name, v in params.items()}
    n_models = params["bias_out"].shape[0]
    log_q = np.zeros((n_models, len(designs)))
    need_risks = method in ("vrex", "dro")  # ERM's and IRMv1's gradients do not use them
    # Small matrices: BLAS threads cost more than they save (and contend on a shared machine).
    with threadpool_limits(limits=1, user_api="blas"):
        for step in range(1, steps + 1):
            weight = float(penalty_weight) if step > anneal_steps else 1.0
            forwards = [d.forward(params) for d in designs]
            terms = [_risk_terms(f[0], y, with_risk=need_risks) for f, y in zip(forwards, labels)]
            q = None
            if method == "dro":
                log_q = log_q + float(dro_step) * np.stack([t[0] for t in terms], axis=1)
                q = np.exp(log_q - log_q.max(axis=1, keepdims=True))
                q /= q.sum(axis=1, keepdims=True)
            _, coefficients = _combine(terms, method, weight, q)
            scale = 1.0 / weight if weight > 1.0 and method in ("irm", "vrex") else 1.0
            grads = {name: 2 * float(l2_weight) * value for name, value in params.items()}
            for design, (_, hidden), c in zip(designs, forwards, coefficients):
                for name, g in design.backward(params, c, hidden).items():
                    grads[name] += g
            for name in params:
                grad = grads[name] * scale
                first, second = moments[name]
                first = 0.9 * first + 0.1 * grad
                second = 0.999 * second + 0.001 * grad**2
                moments[name] = (first, second)
                corrected = first / (1 - 0.9**step)
                params[name] -= (
                    learning_rate * corrected / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
                )
    return params


def fit_and_score(params: dict, environments, test, *, grey: bool = False, **training):
    """Train on ``environments`` and return ``(training accuracy, test accuracy)`` per model.

    Training accuracy is the mean of the environments' accuracies, as the reference code of
    Arjovsky et al. reports it.

    Parameters
    ----------
    params : dict
        Initial parameters (:func:`init_model`), shared by the methods compared.
    environments : sequence of Environment
        The training environments.
    test : Environment
    grey : bool
        Use the grey images instead of the coloured features (the grey-scale oracle).
    **training
        Passed to :func:`train` (``method``, ``steps``, ``learning_rate``, ...).

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
    >>> params = init_model(128, 0, n_models=2, rng=np.random.default_rng(1))
    >>> train_accuracy, test_accuracy = fit_and_score(
    ...     params, envs, test, method="erm", steps=100, learning_rate=0.05, l2_weight=0.0)
    >>> bool(np.all(test_accuracy > 0.95))
    True
    """
    if not all(isinstance(e, Environment) for e in (*environments, test)):
        raise TypeError("environments and test must be Environment instances")
    pairs = [e.pair(grey=grey) for e in environments]
    # Validate as train does, then train on the colour-block representation when it applies
    # (the same model, computed from the grey pixels and the colour: see _ColourBlocks).
    params = _check_params(params)
    _check_environments(params, pairs)
    designs = [_design(params, e, grey=grey) for e in environments]
    options = {"penalty_weight": 1.0, "anneal_steps": 0, "dro_step": 0.01} | training
    trained = _train(params, designs, [y.astype(np.float64) for _, y in pairs], **options)
    train_accuracy = np.mean([accuracy(trained, *pair) for pair in pairs], axis=0)
    return train_accuracy, accuracy(trained, *test.pair(grey=grey))


def accuracy(params: dict, inputs, labels) -> np.ndarray:
    """Return each model's accuracy on its own slice of examples, shape ``(n_models,)``.

    Examples
    --------
    >>> params = init_model(1, 0, n_models=2, rng=np.random.default_rng(0))
    >>> params["weights_out"][:] = 0.0
    >>> params["bias_out"] = np.array([1.0, -1.0])
    >>> accuracy(params, np.zeros((2, 4, 1)), np.ones((2, 4), dtype=int))
    array([1., 0.])
    """
    logits = predict_logits(params, inputs)
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
