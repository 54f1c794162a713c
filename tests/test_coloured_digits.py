"""Tests of lib.worlds.coloured_digits: agreement rates, disjoint splits, features and bad inputs."""

import numpy as np
import pytest

from lib.worlds.coloured_digits import (
    N_PIXELS,
    ColouredDigits,
    colour_digits,
    grey_features,
    load_digit_pool,
    split_pool,
)


@pytest.fixture(scope="module")
def pool():
    return load_digit_pool()


@pytest.fixture(scope="module")
def big_pool(pool):
    # Ten copies of the pool, so that rates are estimated from ~18,000 independent draws.
    images, digits = pool
    return np.tile(images, (10, 1)), np.tile(digits, 10)


def binomial_se(p, n):
    return np.sqrt(p * (1 - p) / n)


def test_pool_is_the_bundled_digits_scaled_to_unit_interval(pool):
    images, digits = pool
    assert images.shape == (1797, N_PIXELS) and digits.shape == (1797,)
    assert images.min() == 0.0 and images.max() == 1.0
    assert np.array_equal(np.unique(digits), np.arange(10))
    assert digits.dtype == np.int64


@pytest.mark.parametrize("p_agree", [0.0, 0.1, 0.5, 0.8, 0.9, 1.0])
@pytest.mark.parametrize("label_noise", [0.0, 0.25])
def test_colour_and_label_rates_are_within_four_binomial_standard_errors(
    big_pool, p_agree, label_noise
):
    images, digits = big_pool
    data = colour_digits(
        images, digits, p_agree=p_agree, label_noise=label_noise, rng=np.random.default_rng(3)
    )
    n = data.n
    agree = np.mean(data.colour == data.label)
    flipped = np.mean(data.label != data.clean_label)
    assert abs(agree - p_agree) <= 4 * binomial_se(p_agree, n) + 1e-12
    assert abs(flipped - label_noise) <= 4 * binomial_se(label_noise, n) + 1e-12


def test_colour_agrees_with_the_noisy_label_not_the_clean_one(big_pool):
    # With a perfect cue and 25% label noise the colour matches the clean label only 75% of the time.
    images, digits = big_pool
    data = colour_digits(
        images, digits, p_agree=1.0, label_noise=0.25, rng=np.random.default_rng(4)
    )
    assert np.all(data.colour == data.label)
    clean_agree = np.mean(data.colour == data.clean_label)
    assert abs(clean_agree - 0.75) <= 4 * binomial_se(0.75, data.n)


def test_label_flips_are_independent_of_the_digit_class(big_pool):
    images, digits = big_pool
    data = colour_digits(
        images, digits, p_agree=0.9, label_noise=0.25, rng=np.random.default_rng(5)
    )
    for value in (0, 1):
        rows = data.clean_label == value
        rate = np.mean(data.label[rows] != value)
        assert abs(rate - 0.25) <= 4 * binomial_se(0.25, rows.sum())


def test_clean_label_is_digit_below_five(pool):
    images, digits = pool
    data = colour_digits(images, digits, p_agree=0.5, label_noise=0.0, rng=np.random.default_rng(6))
    assert np.array_equal(data.clean_label, (digits < 5).astype(int))
    assert np.array_equal(data.label, data.clean_label)
    assert np.array_equal(data.digit, digits)


def test_the_image_sits_in_the_block_of_its_colour_and_the_other_block_is_zero(pool):
    images, digits = pool
    data = colour_digits(
        images, digits, p_agree=0.5, label_noise=0.25, rng=np.random.default_rng(7)
    )
    red, green = data.features[:, :N_PIXELS], data.features[:, N_PIXELS:]
    is_green = data.colour == 1
    assert 0 < is_green.sum() < data.n
    assert np.array_equal(red[~is_green], images[~is_green]) and not green[~is_green].any()
    assert np.array_equal(green[is_green], images[is_green]) and not red[is_green].any()
    assert np.array_equal(grey_features(data), images)
    assert np.array_equal(grey_features(np.asarray(data.features)), images)


def test_reversed_cue_disagrees_everywhere(pool):
    images, digits = pool
    data = colour_digits(
        images, digits, p_agree=0.0, label_noise=0.25, rng=np.random.default_rng(8)
    )
    assert np.all(data.colour != data.label)


def test_same_generator_state_gives_same_data_and_arrays_are_read_only(pool):
    images, digits = pool
    a = colour_digits(images, digits, p_agree=0.8, label_noise=0.25, rng=np.random.default_rng(9))
    b = colour_digits(images, digits, p_agree=0.8, label_noise=0.25, rng=np.random.default_rng(9))
    assert isinstance(a, ColouredDigits)
    assert np.array_equal(a.features, b.features) and np.array_equal(a.label, b.label)
    with pytest.raises(ValueError, match="read-only"):
        a.label[0] = 1
    with pytest.raises(AttributeError):
        a.p_agree = 0.5


def test_splits_are_disjoint_sorted_and_of_the_requested_sizes():
    parts = split_pool(1797, (0.4, 0.4, 0.2), rng=np.random.default_rng(10))
    assert [len(p) for p in parts] == [718, 718, 359]
    joined = np.concatenate(parts)
    assert len(np.unique(joined)) == len(joined)
    assert joined.min() >= 0 and joined.max() < 1797
    assert all(np.array_equal(p, np.sort(p)) for p in parts)


def test_splits_that_sum_to_one_cover_the_pool_and_differ_by_generator():
    a = split_pool(100, (0.5, 0.5), rng=np.random.default_rng(11))
    b = split_pool(100, (0.5, 0.5), rng=np.random.default_rng(12))
    assert np.array_equal(np.sort(np.concatenate(a)), np.arange(100))
    assert not np.array_equal(a[0], b[0])


@pytest.mark.parametrize(
    ("fractions", "match"),
    [
        ((0.7, 0.4), "sum to at most 1"),
        ((0.5, 0.0), r"each be in \(0, 1\]"),
        ((-0.1,), r"each be in \(0, 1\]"),
        ((), "non-empty 1-d"),
        ((0.001, 0.5), "non-empty, got sizes"),
        ((np.nan,), "fractions must be finite"),
    ],
)
def test_bad_fractions_are_rejected(fractions, match):
    with pytest.raises(ValueError, match=match):
        split_pool(100, fractions, rng=np.random.default_rng(0))


def test_split_rejects_bad_n_and_seed():
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        split_pool(0, (0.5,), rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="n must be an integer"):
        split_pool(10.0, (0.5,), rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        split_pool(10, (0.5,), rng=0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"p_agree": 1.5}, ValueError, r"p_agree must be in \[0, 1\]"),
        ({"label_noise": -0.1}, ValueError, r"label_noise must be in \[0, 1\]"),
        ({"p_agree": True}, TypeError, "p_agree must be a real number"),
        ({"rng": 3}, TypeError, "rng must be a numpy.random.Generator"),
    ],
)
def test_colour_digits_rejects_bad_parameters(pool, kwargs, error, match):
    images, digits = pool
    arguments = {"p_agree": 0.9, "label_noise": 0.25, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(error, match=match):
        colour_digits(images[:5], digits[:5], **arguments)


@pytest.mark.parametrize(
    ("images", "digits", "match"),
    [
        (np.zeros((3, 63)), np.zeros(3, int), r"images must have shape \(n, 64\)"),
        (np.full((3, 64), 2.0), np.zeros(3, int), r"intensities in \[0, 1\]"),
        (np.full((3, 64), np.nan), np.zeros(3, int), "images must be finite"),
        (np.zeros((3, 64)), np.zeros(4, int), r"digits must have shape \(3,\)"),
        (np.zeros((3, 64)), np.array([0, 1, 10]), "digits must be integers 0-9"),
        (np.zeros((3, 64)), np.array([0.0, 1.0, 2.0]), "digits must be integers 0-9"),
    ],
)
def test_colour_digits_rejects_bad_pools(images, digits, match):
    with pytest.raises(ValueError, match=match):
        colour_digits(images, digits, p_agree=0.9, label_noise=0.25, rng=np.random.default_rng(0))


def test_grey_features_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"data must have shape \(n, 128\)"):
        grey_features(np.zeros((2, 64)))
    with pytest.raises(TypeError, match="data must be ColouredDigits"):
        grey_features(3.0)
