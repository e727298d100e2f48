"""The Health tab: per-layer lines over epochs of the chosen figure, the runs selected compared
by depth, log scale, the read-out naming the layer under the pointer, both themes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from dlbuilder.backend.records import HealthRecord, LayerHealth
from dlbuilder.backend.runs.history import RunHistory
from dlbuilder.gui.look.theme import theme_manager
from dlbuilder.gui.training.health_view import HealthWidget

LAYERS = (("c1", "Conv2d"), ("r1", "ReLU"), ("c2", "Conv2d"), ("fc", "Linear"))


def layer(node: str, kind: str, epoch: int, scale: float) -> LayerHealth:
    weighted = kind != "ReLU"
    depth = [n for n, _ in LAYERS].index(node) + 1
    grad = scale * 10.0 ** (depth - 4) / epoch if weighted else None
    return LayerHealth((node,), node, kind, grad, 1e-3 * depth if weighted else None,
                       0.1 * epoch if not weighted else None, 0.5 - 0.4 * depth, 1.0 + depth,
                       ("vanishing",) if weighted and grad < 1e-2 * scale else ())


def history(epochs: int = 3, scale: float = 1.0) -> RunHistory:
    h = RunHistory()
    for epoch in range(1, epochs + 1):
        h.add(HealthRecord(epoch, tuple(layer(n, k, epoch, scale) for n, k in LAYERS)))
    return h


@pytest.fixture
def widget(qtbot) -> HealthWidget:
    theme_manager().apply("light")
    w = HealthWidget()
    qtbot.addWidget(w)
    w.resize(900, 400)
    w.show()
    qtbot.waitExposed(w)
    return w


def choose(widget: HealthWidget, figure: str) -> None:
    widget.figure.setCurrentIndex(widget.figure.findData(figure))


def test_one_line_per_layer_over_epochs_of_the_gradient_norm_by_default(widget) -> None:
    assert widget.is_empty()
    h = history()
    widget.set_history(h)
    assert not widget.is_empty()
    assert widget.figure.currentData() == "grad_norm" and widget.log_scale.isChecked()
    lines = widget.layer_lines()
    assert list(lines) == ["c1", "c2", "fc"]  # the ReLU has no gradient of its own
    for node, (xs, ys) in lines.items():
        expected = [next(x.grad_norm for x in r_layers if x.node == node)
                    for r_layers in (rec.layers for rec in map(_record, h.health))]
        assert list(xs) == [1.0, 2.0, 3.0] and list(ys) == pytest.approx(expected)
    assert widget.plots["epochs"].getPlotItem().ctrl.logYCheck.isChecked()


def _record(data: dict) -> HealthRecord:
    return HealthRecord(data["epoch"], tuple(
        LayerHealth(tuple(x["path"]), x["node"], x["type"], x["grad_norm"], x["update_ratio"],
                    x["dead_share"], x["act_mean"], x["act_std"], tuple(x["flags"]))
        for x in data["layers"]))


def test_other_figures_percent_and_the_log_scale(widget) -> None:
    widget.set_history(history())
    choose(widget, "dead_share")
    assert list(widget.layer_lines()) == ["r1"]
    assert list(widget.layer_lines()["r1"][1]) == pytest.approx([10.0, 20.0, 30.0])
    assert not widget.log_scale.isEnabled()  # shares reach 0: no log scale
    assert not widget.plots["epochs"].getPlotItem().ctrl.logYCheck.isChecked()
    choose(widget, "act_mean")  # negative means: linear
    assert widget.layer_lines()["fc"][1][0] == pytest.approx(0.5 - 1.6)
    choose(widget, "update_ratio")
    assert widget.log_scale.isChecked() and widget.log_scale.isEnabled()
    widget.log_scale.setChecked(False)
    assert not widget.plots["depth"].getPlotItem().ctrl.logYCheck.isChecked()
    assert list(widget.depth_lines()["this run"][1]) == pytest.approx([1e-3, 3e-3, 4e-3])


def test_new_epochs_are_drawn_when_refreshed_and_only_then(widget) -> None:
    h = history(1)
    widget.set_history(h)
    count = widget.draw_count
    widget.refresh()
    assert widget.draw_count == count  # nothing new: nothing drawn
    h.add(HealthRecord(2, tuple(layer(n, k, 2, 1.0) for n, k in LAYERS)))
    widget.refresh()
    assert widget.draw_count == count + 1
    assert len(widget.layer_lines()["c1"][0]) == 2
    widget.hide()
    h.add(HealthRecord(3, tuple(layer(n, k, 3, 1.0) for n, k in LAYERS)))
    widget.refresh()
    assert widget.draw_count == count + 1  # hidden: drawn when shown again
    widget.show()
    assert len(widget.layer_lines()["c1"][0]) == 3


def test_runs_selected_are_compared_by_depth_first_layer_left(widget) -> None:
    widget.set_history(history())
    plain, residual = history(2, scale=1.0), history(2, scale=100.0)
    widget.set_runs([("plain", plain), ("residual", residual), ("plain", plain)])
    lines = widget.depth_lines()
    assert list(lines) == ["plain", "residual", "plain (2)"]
    xs, ys = lines["plain"]
    assert list(xs) == [1.0, 2.0, 3.0]  # c1, c2, fc: the layers with a gradient, in order
    last = [layer(n, k, 2, 1.0).grad_norm for n, k in LAYERS if k != "ReLU"]
    assert list(ys) == pytest.approx(last)
    assert lines["residual"][1][0] == pytest.approx(100 * last[0])
    widget.set_runs([])
    assert list(widget.depth_lines()) == ["this run"]


def test_runs_without_health_say_so(widget) -> None:
    widget.set_runs([("old", RunHistory())])
    assert widget.is_empty() and "without --health" in widget._hint.text()


def test_the_readout_names_the_layer_under_the_pointer(widget, qtbot) -> None:
    widget.set_history(history())
    QApplication.processEvents()  # the views take their ranges
    box = widget.plots["epochs"].getPlotItem().getViewBox()
    target = QPointF(2.0, math.log10(layer("c2", "Conv2d", 2, 1.0).grad_norm))
    widget._on_scene_mouse_moved("epochs", box.mapViewToScene(target))
    qtbot.waitUntil(lambda: "c2" in widget.readout.text())
    assert widget.readout.text().startswith("c2 (Conv2d), layer 2 of 3, epoch 2: gradient norm")
    box = widget.plots["depth"].getPlotItem().getViewBox()
    target = QPointF(1.0, math.log10(layer("c1", "Conv2d", 3, 1.0).grad_norm))
    widget._on_scene_mouse_moved("depth", box.mapViewToScene(target))
    qtbot.waitUntil(lambda: "this run, layer 1" in widget.readout.text())
    assert "vanishing" in widget.readout.text()


def test_both_themes_draw_every_line(widget) -> None:
    widget.set_history(history())
    widget.set_runs([("a", history()), ("b", history(scale=10.0))])
    pens = {}
    for name in ("light", "dark"):
        theme_manager().apply(name)
        pens[name] = [item.opts["pen"].color().name() for item, *_ in widget._layers]
        assert len(set(pens[name])) == 3  # colours by depth: one per layer
        image = widget.grab().toImage()
        assert not image.isNull()
    assert pens["light"] != pens["dark"]
    theme_manager().apply("light")
    assert np.isfinite(widget.layer_lines()["c1"][1]).all()


def test_a_log_axis_labels_one_two_and_five_of_each_decade(widget) -> None:
    axis = widget.plots["epochs"].getAxis("left")
    assert axis.logMode
    values = [math.log10(k / 10) for k in range(1, 10)]
    labels = axis.tickStrings(values, 1.0, 0.1)
    assert [text != "" for text in labels] == [k in (1, 2, 5) for k in range(1, 10)]
    inside = [math.log10(0.3), math.log10(0.4)]  # no 1, 2 or 5 in sight: all of them
    assert all(axis.tickStrings(inside, 1.0, 0.1))


def test_normalization_layers_are_left_out_of_weight_figures_unless_asked(widget) -> None:
    h = RunHistory()
    kinds = (("c1", "Conv2d", 1e-3), ("bn1", "BatchNorm2d", 1e-7), ("fc", "Linear", 1e-1))
    for epoch in (1, 2):
        h.add(HealthRecord(epoch, tuple(
            LayerHealth((n,), n, k, g, g, None, 0.0, 1.0, ()) for n, k, g in kinds)))
    widget.set_history(h)
    assert list(widget.layer_lines()) == ["c1", "fc"]
    xs, ys = widget.depth_lines()["this run"]
    assert list(ys) == pytest.approx([1e-3, 1e-1])  # no dip at the BatchNorm
    assert widget.depth_ticks() == ["c1", "fc"]  # few layers: named
    widget.norm_layers.setChecked(True)
    assert list(widget.layer_lines()) == ["c1", "bn1", "fc"]
    assert list(widget.depth_lines()["this run"][1]) == pytest.approx([1e-3, 1e-7, 1e-1])
    choose(widget, "act_std")  # not a weight figure: every layer, the box off
    assert not widget.norm_layers.isEnabled()
    assert list(widget.layer_lines()) == ["c1", "bn1", "fc"]


def test_the_first_and_last_layers_are_named_at_their_lines_ends(widget) -> None:
    widget.set_history(history())
    ends = widget.end_labels()
    lines = widget.layer_lines()
    assert [name for name, _ in ends] == ["c1", "fc"]
    for name, (x, y) in ends:
        xs, ys = lines[name]
        assert x == xs[-1] and y == pytest.approx(math.log10(ys[-1]))  # the view's log units
    assert widget.titles["epochs"].text().startswith("Gradient norm over epochs")
    assert not widget.plots["epochs"].getAxis("left").label.isVisible()


def test_many_layers_are_numbered_not_named(widget) -> None:
    h = RunHistory()
    h.add(HealthRecord(1, tuple(LayerHealth((f"c{i}",), f"c{i}", "Conv2d", 0.1, 0.1, None,
                                            0.0, 1.0, ()) for i in range(12))))
    widget.set_history(h)
    assert widget.depth_ticks() is None
