"""Tests of lib.figures: the chapter figures refuse data they would silently drop."""

import pytest

from lib.figures.erm_under_confounding import (
    plot_log_loss_by_town,
    plot_promised_gains,
    plot_regret,
)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda ax: plot_log_loss_by_town(
                ax, [0.1, 0.9], {str(k): [1.0, 1.0] for k in range(5)}, {}, [0.5], [1e-6], 0.4
            ),
            "curves must hold at most 4 models, got 5",
        ),
        (
            lambda ax: plot_log_loss_by_town(
                ax, [0.1, 0.9], {"ERM": [1.0]}, {}, [0.5], [1e-6], 0.4
            ),
            r"curves\['ERM'\] must have the shape of sun_grid \(2,\), got \(1,\)",
        ),
        (
            lambda ax: plot_log_loss_by_town(
                ax, [0.1, 0.9], {"ERM": [1.0, 1.0]}, {}, [0.5, 0.6], [1e-6], 0.4
            ),
            "town_sun and town_points must have the same shape",
        ),
        (
            lambda ax: plot_promised_gains(ax, ["a", "b"], [0.5], [0.01, 0.01], 0.1),
            "gains must have one entry per name, got 1 for 2 names",
        ),
        (
            lambda ax: plot_promised_gains(ax, ["a", "b"], [0.5, 0.1], [0.01], 0.1),
            "errors must have one entry per name, got 1 for 2 names",
        ),
        (
            lambda ax: plot_regret(ax, -0.05, ["a", "b"], [0.5], [0.0, 1.0]),
            "gains must have one entry per name, got 1 for 2 names",
        ),
        (
            lambda ax: plot_regret(ax, -0.05, list("abcdef"), [0.5] * 6, [0.0, 1.0]),
            "names must hold at most 5 models, got 6",
        ),
    ],
)
def test_plot_helpers_reject_data_they_would_drop(call, match):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        with pytest.raises(ValueError, match=match):
            call(ax)
    finally:
        plt.close(fig)
