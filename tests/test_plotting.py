"""Tests of lib.evidence.plotting: the style is scoped, the palette is colour-blind safe, decorate validates."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import lib  # noqa: E402
from lib.evidence.plotting import PALETTE, decorate, house_style  # noqa: E402

OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}


def test_palette_is_exactly_okabe_ito():
    assert set(PALETTE.values()) == OKABE_ITO


def test_importing_lib_changes_no_global_settings():
    import importlib

    before = dict(matplotlib.rcParams)
    importlib.reload(lib)
    assert dict(matplotlib.rcParams) == before


def test_house_style_applies_inside_and_restores_after():
    before = matplotlib.rcParams["axes.prop_cycle"]
    with house_style():
        colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        assert colours == list(PALETTE.values())
    assert matplotlib.rcParams["axes.prop_cycle"] == before


def test_house_style_restores_even_after_an_error():
    before = matplotlib.rcParams["font.size"]
    with pytest.raises(RuntimeError), house_style():
        raise RuntimeError("boom")
    assert matplotlib.rcParams["font.size"] == before


def test_decorate_sets_labels_scales_limits_and_legend():
    fig, ax = plt.subplots()
    ax.plot([1, 10], [1, 100], label="curve")
    assert decorate(ax, title="t", xlabel="x", ylabel="y", xscale="log", ylim=(1, 100)) is ax
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("t", "x", "y")
    assert ax.get_xscale() == "log" and ax.get_ylim() == (1, 100)
    assert ax.get_legend() is not None
    plt.close(fig)


def test_decorate_draws_no_legend_without_labels():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    decorate(ax, xlabel="x")
    assert ax.get_legend() is None
    plt.close(fig)


def test_decorate_rejects_bad_input():
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        decorate("not an axis")
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="yscale must be one of"):
        decorate(ax, yscale="logarithmic")
    plt.close(fig)
