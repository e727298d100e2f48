"""The hand-drawn activation plot: tick steps, ranges that hold the curves, painting."""

from __future__ import annotations

import math

import pytest

from dlbuilder.gui.look.theme import theme_manager
from dlbuilder.gui.widgets.curve_plot import CurvePlotWidget, nice_step, ticks, y_range
from dlbuilder.layers import REGISTRY


@pytest.mark.parametrize(("span", "step"), [(4, 1), (5, 1), (1.25, 0.5), (8, 2), (20, 5),
                                            (0.4, 0.1)])
def test_nice_step(span: float, step: float) -> None:
    assert nice_step(span) == pytest.approx(step)


def test_y_range_holds_zero_and_every_value() -> None:
    low, high, step = y_range([0.1, 0.9, math.nan])
    assert -0.1 < low < 0 and 0.9 < high < 1.0 and step > 0
    low, high, _ = y_range([-0.98, 4.0])
    assert low <= -0.98 and high >= 4.0
    assert y_range([0.0, 0.0])[1] > 0  # a flat line still gets a range


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_paints_every_curve(qtbot, theme: str) -> None:
    theme_manager().apply(theme)
    plot = CurvePlotWidget()
    qtbot.addWidget(plot)
    assert plot.sizeHint().width() == 260 and plot.sizeHint().height() == 160
    for spec in REGISTRY:
        if spec.curve is not None:
            plot.set_curve(spec.curve, spec.defaults, spec.type)
            assert not plot.grab().isNull()
    plot.set_curve(None, {}, "")
    assert plot.curve_data() == ([], [], [])
    plot.grab()
    theme_manager().apply("light")


def test_a_failing_curve_is_drawn_as_gaps(qtbot) -> None:
    def broken(x: float, p: dict) -> tuple[float, float]:
        if x < 0:
            raise OverflowError("too big")
        return x, 1.0

    plot = CurvePlotWidget()
    qtbot.addWidget(plot)
    plot.set_curve(broken, {}, "broken")
    _, ys, _ = plot.curve_data()
    assert math.isnan(ys[0]) and ys[-1] == 4.0
    plot.grab()


def test_sigmoid_range_stays_on_its_values() -> None:
    spec = REGISTRY.get("Sigmoid")
    plot_values = [spec.curve(x / 10, {})[0] for x in range(-40, 41)]
    low, high, step = y_range(plot_values)
    assert ticks(low, high, step) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
