"""Figures of the chapter "ERM under confounding" (chapters/01_erm_under_confounding.ipynb).

Each function draws one of that chapter's figures, with its labels, on an ``ax`` and returns it.
The quantities they show come from :mod:`lib.worlds.confounding`.
"""

from __future__ import annotations

import numpy as np

from ..evidence.estimation import standard_error
from ..evidence.plotting import PALETTE, decorate
from ..worlds.confounding import decision_regret, predict_from_shorts

__all__ = [
    "plot_concept_shift",
    "plot_learning_curves",
    "plot_log_loss_by_town",
    "plot_promised_gains",
    "plot_regret",
    "plot_share_curve",
    "plot_share_predictions",
]


def plot_concept_shift(ax, world, town_sun, fitted, pool_sun):
    """Draw ``P(Y=1 | S=s)`` against sunniness, per-town fits (dots) and the pooled limit.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> from lib.worlds.confounding import IceCreamWorld
    >>> world = IceCreamWorld()
    >>> plot_concept_shift(ax, world, [0.1, 0.9], predict_from_shorts(world, [0.1, 0.9]),
    ...                    0.5) is ax
    True
    >>> plt.close(fig)
    """
    grid = np.linspace(0.01, 0.99, 99)
    curves, pooled = predict_from_shorts(world, grid), predict_from_shorts(world, pool_sun)
    fitted = np.asarray(fitted)
    for s, colour in ((1, "vermillion"), (0, "blue")):
        label = "with shorts" if s else "without shorts"
        ax.plot(grid, curves[:, s], color=PALETTE[colour], label=f"Bayes-optimal, {label}")
        ax.plot(
            town_sun,
            fitted[:, s],
            "o",
            color=PALETTE[colour],
            label="logistic regression" if s else None,
        )
        ax.axhline(
            pooled[s], color=PALETTE[colour], linestyle="--", label="pooled ERM" if s else None
        )
    ax.axvline(pool_sun, color=PALETTE["black"], linewidth=1, linestyle=":")
    return decorate(
        ax, xlabel="town's share of sunny days q", ylabel="P(ice cream | shorts)", ylim=(0, 1)
    )


def plot_learning_curves(ax, n_grid, in_distribution, target, *, in_constant, target_limit):
    """Draw mean excess loss (with two-standard-error bands) against training size, log-log.

    ``in_distribution`` and ``target`` have shape ``(len(n_grid), repeats)``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> values = np.array([[0.02, 0.01], [0.002, 0.001]])
    >>> plot_learning_curves(ax, [10, 100], values, values + 0.04, in_constant=1.0,
    ...                      target_limit=0.04) is ax
    True
    >>> plt.close(fig)
    """
    n_grid = np.asarray(n_grid)
    for values, colour, label in (
        (in_distribution, "blue", "in distribution (the pool)"),
        (target, "vermillion", "target town"),
    ):
        values = np.asarray(values)
        mean = values.mean(axis=1)
        band = 2 * standard_error(values, axis=1)
        ax.fill_between(n_grid, mean - band, mean + band, alpha=0.3, color=PALETTE[colour])
        ax.plot(n_grid, mean, "o-", color=PALETTE[colour], label=label)
    ax.plot(
        n_grid, in_constant / n_grid, "--", color=PALETTE["black"], label="theory for the pool: 1/n"
    )
    ax.axhline(
        target_limit,
        color=PALETTE["orange"],
        linestyle=":",
        label="closed-form limit in the target town",
    )
    return decorate(
        ax, xlabel="training days n", ylabel="excess log loss (nats)", xscale="log", yscale="log"
    )


def plot_share_curve(ax, shares, limit, dot_shares, dot_excess, *, rest_sun):
    """Draw the target's limiting excess loss against its share, with simulated means ± 2 SE.

    ``rest_sun`` is the sunniness of the rest of the pool, for the legend.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> plot_share_curve(ax, [0, 1], [0.06, 0], [0.5], [[0.02, 0.021]], rest_sun=0.6) is ax
    True
    >>> plt.close(fig)
    """
    dot_excess = np.asarray(dot_excess)
    mean = dot_excess.mean(axis=1)
    se = standard_error(dot_excess, axis=1)
    ax.plot(
        shares, limit, color=PALETTE["vermillion"], label=f"rest of pool sunnier ({rest_sun:.2g})"
    )
    ax.axhline(0, color=PALETTE["green"], label="pool as sunny as target")
    ax.errorbar(
        dot_shares,
        mean,
        yerr=2 * se,
        fmt="o",
        color=PALETTE["black"],
        label="simulated pools, $10^7$ days",
    )
    return decorate(ax, xlabel="target's share of the pool π", ylabel="target's excess loss (nats)")


def plot_share_predictions(ax, shares, learned, naive, joint):
    """Draw the learned ``P(Y=1 | S=1)``, a naive linear mix, and the linear joint probability.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> plot_share_predictions(ax, [0, 1], [0.7, 0.4], [0.7, 0.4], [0.4, 0.07]) is ax
    True
    >>> plt.close(fig)
    """
    for y, style, colour, label in (
        (learned, "-", "vermillion", "P(Y=1 | S=1), learned"),
        (naive, "--", "sky", "linear mix of the two predictors"),
        (joint, "-", "blue", "P(S=1, Y=1), linear"),
    ):
        ax.plot(shares, y, style, color=PALETTE[colour], label=label)
    decorate(
        ax,
        xlabel="target's share of the pool π",
        ylabel="probability",
        ylim=(0, 1.05),
        legend=False,
    )
    # Above the curves, which all stay below 0.75: the legend hides none of them.
    ax.legend(loc="upper right")
    return ax


def plot_log_loss_by_town(ax, sun_grid, curves, floors, town_sun, town_points, unseen_sun):
    """Draw expected log loss against sunniness for several models, with the lowest reachable.

    ``curves`` maps a model's label to its expected log loss on ``sun_grid``; ``floors`` maps a
    label to a lowest reachable loss (such as ``H(Y | S)`` and ``H(Y | Z, S)``) on the same grid,
    drawn in black. ``town_points`` are a model's losses in the towns ``town_sun`` (squares).
    All losses are absolute, so models with different inputs share one scale.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> plot_log_loss_by_town(ax, [0.1, 0.9], {"ERM": [0.4, 0.5]}, {"H(Y|S)": [0.3, 0.4]},
    ...                       [0.5], [0.45], 0.4) is ax
    True
    >>> plt.close(fig)
    """
    colours = ("vermillion", "purple", "orange", "green")
    if len(curves) > len(colours):
        raise ValueError(f"curves must hold at most {len(colours)} models, got {len(curves)}")
    styles = ("--", ":")
    if len(floors) > len(styles):
        raise ValueError(f"floors must hold at most {len(styles)} curves, got {len(floors)}")
    for label, values in {**curves, **floors}.items():
        if np.shape(values) != np.shape(sun_grid):
            raise ValueError(
                f"curves[{label!r}] must have the shape of sun_grid "
                f"{np.shape(sun_grid)}, got {np.shape(values)}"
            )
    if np.shape(town_sun) != np.shape(town_points):
        raise ValueError(
            f"town_sun and town_points must have the same shape, "
            f"got {np.shape(town_sun)} and {np.shape(town_points)}"
        )
    for (label, values), colour in zip(curves.items(), colours):
        ax.plot(sun_grid, values, color=PALETTE[colour], label=label)
    for (label, values), style in zip(floors.items(), styles):
        ax.plot(sun_grid, values, style, color=PALETTE["black"], label=label)
    ax.plot(
        town_sun,
        town_points,
        "s",
        color=PALETTE["blue"],
        markersize=7,
        label="shorts + town label (training towns)",
    )
    ax.axvline(unseen_sun, color=PALETTE["black"], linewidth=0.8, linestyle=":")
    decorate(
        ax,
        xlabel="town's share of sunny days q",
        ylabel="expected log loss (nats per day)",
        legend=False,
    )
    # Below the axes: the curves fill the whole plotting area.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8)
    return ax


_MODEL_COLOURS = ("vermillion", "blue", "purple", "green", "black")


def _check_models(names, gains):
    # One colour per model: zip would silently drop models beyond the palette or unpaired gains.
    if len(names) > len(_MODEL_COLOURS):
        raise ValueError(f"names must hold at most {len(_MODEL_COLOURS)} models, got {len(names)}")
    if len(gains) != len(names):
        raise ValueError(
            f"gains must have one entry per name, got {len(gains)} for {len(names)} names"
        )


def plot_promised_gains(ax, names, gains, errors, cost):
    """Draw each model's promised gain from shorts as a bar (± ``errors``) against the cost.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> plot_promised_gains(ax, ["a", "b"], [0.5, -0.05], [0.01, 0.01], 0.1) is ax
    True
    >>> plt.close(fig)
    """
    _check_models(names, gains)
    if len(errors) != len(names):
        raise ValueError(
            f"errors must have one entry per name, got {len(errors)} for {len(names)} names"
        )
    ax.bar(names, gains, yerr=errors, color=[PALETTE[c] for c in _MODEL_COLOURS[: len(names)]])
    ax.axhline(cost, color=PALETTE["orange"], linestyle="--", label="cost of shorts")
    ax.tick_params(axis="x", labelrotation=30)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    return decorate(ax, ylabel="promised gain in P(ice cream)")


def plot_regret(ax, true_gain, names, gains, costs):
    """Draw the regret of acting on each model's promised gain, against the cost of shorts.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> plot_regret(ax, -0.05, ["a"], [0.5], np.linspace(0, 1, 11)) is ax
    True
    >>> plt.close(fig)
    """
    styles = ("-", "--", "-.", "-", ":")
    _check_models(names, gains)
    for name, gain, colour, style in zip(
        names, gains, _MODEL_COLOURS[: len(names)], styles[: len(names)], strict=True
    ):
        ax.plot(
            costs, decision_regret(true_gain, gain, costs), style, color=PALETTE[colour], label=name
        )
    return decorate(
        ax, xlabel="cost of wearing shorts (ice creams per day)", ylabel="regret per day"
    )
