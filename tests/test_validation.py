"""Unit, property and bad-input tests for lib.evidence.validation."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.evidence.validation import (
    check_finite,
    check_generator,
    check_in_range,
    check_positive_int,
    check_probability,
    check_probability_vector,
)


@given(st.floats(min_value=0, max_value=1))
def test_every_probability_is_accepted_and_returned_as_float(p):
    out = check_probability(p, "p")
    assert out == p and type(out) is float


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x < 0 or x > 1))
def test_every_value_outside_unit_interval_is_rejected_with_its_name(value):
    with pytest.raises(ValueError, match=r"p_sun must be in \[0, 1\]"):
        check_probability(value, "p_sun")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_rejected(value):
    with pytest.raises(ValueError, match="scale must be finite"):
        check_finite(value, "scale")


@pytest.mark.parametrize("value", ["0.5", None, True, np.bool_(False), [0.5], 1 + 2j])
def test_non_numbers_raise_type_error_naming_argument(value):
    with pytest.raises(TypeError, match="share must be a real number"):
        check_probability(value, "share")


def test_numpy_scalars_are_accepted():
    assert check_probability(np.float32(0.25), "p") == 0.25
    assert check_positive_int(np.int64(3), "n") == 3


def test_open_interval_excludes_endpoints_and_closed_includes_them():
    assert check_in_range(0.0, "x", 0, 1) == 0.0
    with pytest.raises(ValueError, match=r"x must be in \(0, 1\), got 0.0"):
        check_in_range(0.0, "x", 0, 1, closed=False)


@given(st.integers(min_value=1, max_value=10**12))
def test_positive_integers_pass_through(n):
    assert check_positive_int(n, "n_samples") == n


@pytest.mark.parametrize("value", [0, -3])
def test_non_positive_integers_rejected(value):
    with pytest.raises(ValueError, match=f"n_samples must be an integer >= 1, got {value}"):
        check_positive_int(value, "n_samples")


def test_minimum_is_respected():
    assert check_positive_int(0, "k", minimum=0) == 0
    with pytest.raises(ValueError, match="k must be an integer >= 2"):
        check_positive_int(1, "k", minimum=2)


@pytest.mark.parametrize("value", [2.0, 2.5, "3", True, None])
def test_non_integers_rejected_with_type_error(value):
    with pytest.raises(TypeError, match="n_samples must be an integer"):
        check_positive_int(value, "n_samples")


@given(st.lists(st.floats(min_value=0.01, max_value=10), min_size=1, max_size=20))
def test_normalised_vectors_are_probability_vectors(weights):
    weights = np.array(weights) / np.sum(weights)
    np.testing.assert_allclose(check_probability_vector(weights, "w"), weights)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([0.5, 0.6], "w must sum to 1"),
        ([1.5, -0.5], "w must be non-negative"),
        ([], "w must be a non-empty 1-d sequence"),
        ([[0.5, 0.5]], "w must be a non-empty 1-d sequence"),
        ([np.nan, 1.0], "w must be finite"),
    ],
)
def test_bad_probability_vectors(values, message):
    with pytest.raises(ValueError, match=message):
        check_probability_vector(values, "w")


def test_generator_is_returned_unchanged():
    rng = np.random.default_rng(1)
    assert check_generator(rng) is rng


@pytest.mark.parametrize("value", [0, None, np.random.RandomState(0), "rng"])
def test_seeds_and_legacy_states_are_not_generators(value):
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        check_generator(value)
