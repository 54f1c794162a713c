"""The book's house style for figures.

Figures use the Okabe–Ito palette, which stays distinguishable under the common forms of colour
blindness (Okabe and Ito, 2008), and sizes readable at 100% zoom. The style is applied inside a
context manager, :func:`house_style`, and never on import: importing :mod:`lib` changes no global
matplotlib settings. :func:`decorate` labels an axis in one call.
"""

from __future__ import annotations

import contextlib

import matplotlib as mpl
from cycler import cycler

__all__ = ["PALETTE", "decorate", "house_style"]

#: Okabe–Ito colours by name; the order is the colour cycle used by :func:`house_style`.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}

_STYLE = {
    "axes.prop_cycle": cycler(color=list(PALETTE.values())),
    "figure.figsize": (7.0, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 2.0,
    "figure.constrained_layout.use": True,
}


@contextlib.contextmanager
def house_style():
    """Apply the book's figure style inside a ``with`` block, restoring the old one after.

    Examples
    --------
    >>> import matplotlib as mpl
    >>> before = mpl.rcParams["font.size"]
    >>> with house_style():
    ...     mpl.rcParams["axes.prop_cycle"].by_key()["color"][0]
    '#0072B2'
    >>> mpl.rcParams["font.size"] == before
    True
    """
    with mpl.rc_context(_STYLE):
        yield


_SCALES = ("linear", "log", "symlog", "logit")


def decorate(
    ax,
    *,
    title=None,
    xlabel=None,
    ylabel=None,
    xscale=None,
    yscale=None,
    xlim=None,
    ylim=None,
    legend=None,
):
    """Label and scale a matplotlib axis in one call, and return it.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    title, xlabel, ylabel : str, optional
    xscale, yscale : {"linear", "log", "symlog", "logit"}, optional
    xlim, ylim : tuple of two floats, optional
    legend : bool, optional
        Draw a legend. By default, one is drawn when any artist has a label.

    Returns
    -------
    matplotlib.axes.Axes
        The same axis, for chaining.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([1, 10], [1, 100], label="line")
    >>> decorate(ax, xlabel="n", yscale="log") is ax
    True
    >>> ax.get_yscale()
    'log'
    >>> plt.close(fig)
    """
    if not isinstance(ax, mpl.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {ax!r} of type {type(ax).__name__}")
    for name, scale in (("xscale", xscale), ("yscale", yscale)):
        if scale is not None and scale not in _SCALES:
            raise ValueError(f"{name} must be one of {_SCALES}, got {scale!r}")
    if title is not None:
        ax.set_title(title)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if xscale is not None:
        ax.set_xscale(xscale)
    if yscale is not None:
        ax.set_yscale(yscale)
    if xlim is not None:
        ax.set_xlim(*xlim)
    if ylim is not None:
        ax.set_ylim(*ylim)
    has_labels = any(not label.startswith("_") for label in ax.get_legend_handles_labels()[1])
    if legend or (legend is None and has_labels):
        ax.legend()
    return ax
