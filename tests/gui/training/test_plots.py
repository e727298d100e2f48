"""The live training curves: points arrive on the redraw timer (and only when a run changed),
the debiased smoothing, log scale, hover read-out, CSV/PNG export, compare mode, themes."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from dlbuilder.backend.records import BatchEnd, EpochEnd, RunFinished, RunStarted
from dlbuilder.backend.runs.history import SERIES, RunHistory
from dlbuilder.gui.look.theme import DARK, LIGHT, theme_manager
from dlbuilder.gui.training.plot_parts import (
    IncrementalSmoother,
    smoothed,
    value_span,
)
from dlbuilder.gui.training.plots import MAX_LR_HEIGHT, CurvesWidget

BPE = 20  # batches per epoch


def reference_ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing, point by point: non-finite values pass through."""
    out, last, count = np.empty(len(values)), 0.0, 0
    for i, value in enumerate(values):
        if not math.isfinite(value):
            out[i] = value
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        out[i] = last / (1 - weight ** count)
    return out


def started(epochs: int = 5, task: str = "classify") -> RunStarted:
    classes = tuple(str(i) for i in range(10)) if task == "classify" else ()
    return RunStarted(epochs=epochs, batches_per_epoch=BPE, train_samples=BPE * 32,
                      val_samples=100, test_samples=0, device="cpu", params=1000, task=task,
                      classes=classes, monitor="val_loss")


def add_epoch(history: RunHistory, epoch: int, accuracy: bool = True, scale: float = 1.0,
              epochs: int = 5) -> None:
    """One epoch of BPE batches and its EpochEnd, with a loss that falls noisily."""
    rng = np.random.default_rng(epoch)
    for batch in range(1, BPE + 1):
        step = (epoch - 1) * BPE + batch
        loss = scale * (2.0 / (1 + step / BPE) + 0.3 * rng.random())
        history.add(BatchEnd(epoch=epoch, batch=batch, batches=BPE, step=step, loss=loss,
                             accuracy=0.5 + 0.4 * step / (BPE * epochs) if accuracy else None,
                             samples_per_s=500.0))
    train = scale * 2.0 / (1 + epoch)
    history.add(EpochEnd(
        epoch=epoch, epochs=epochs, train_loss=train, val_loss=train * 1.2,
        train_accuracy=0.6 + 0.05 * epoch if accuracy else None,
        val_accuracy=0.55 + 0.05 * epoch if accuracy else None, train_mae=None, val_mae=None,
        train_mse=None, val_mse=None, lr=0.01 * 0.5 ** epoch, seconds=1.0, samples_per_s=500.0,
        best_epoch=epoch, improved=True, patience_left=None))


def run(epochs_done: int, task: str = "classify", scale: float = 1.0) -> RunHistory:
    history = RunHistory()
    history.add(started(task=task))
    for epoch in range(1, epochs_done + 1):
        add_epoch(history, epoch, accuracy=task == "classify", scale=scale)
    return history


@pytest.fixture
def widget(qtbot) -> CurvesWidget:
    theme_manager().apply("light")
    w = CurvesWidget()
    qtbot.addWidget(w)
    w.resize(900, 520)
    w.show()
    qtbot.waitExposed(w)
    return w


def curve_y(widget: CurvesWidget, name: str) -> np.ndarray:
    return widget._items[name].getOriginalDataset()[1]


def legend_labels(widget: CurvesWidget, plot: str) -> list[str]:
    return [label.text for _, label in widget._legends[plot].items]


class LeftClick:
    """The part of a pyqtgraph mouse-click event a legend sample reads."""

    def button(self) -> Qt.MouseButton:
        return Qt.MouseButton.LeftButton

    def accept(self) -> None:
        pass


# -- live mode ------------------------------------------------------------------------------
def test_empty_widget_shows_the_hint_until_a_run_starts(widget: CurvesWidget) -> None:
    assert widget.is_empty()
    assert not widget.csv_button.isEnabled()
    history = RunHistory()
    widget.set_history(history)
    assert widget.is_empty()
    history.add(started())
    widget.redraw_now()
    assert not widget.is_empty() and widget.csv_button.isEnabled()
    widget.clear()
    assert widget.is_empty() and all(n == 0 for n in widget.point_counts().values())


@pytest.mark.slow
def test_points_arrive_on_the_timer(widget: CurvesWidget, qtbot) -> None:
    history = RunHistory()
    history.add(started())
    widget.set_history(history)
    assert widget.point_counts()["batch_loss"] == 0
    add_epoch(history, 1)
    add_epoch(history, 2)
    # one plot a tick: loss, then accuracy, then the learning rate
    qtbot.waitUntil(lambda: all(widget.point_counts()[name] == 2
                                for name in ("val_loss", "val_accuracy", "lr")), timeout=2000)
    counts = widget.point_counts()
    assert counts["batch_loss"] == counts["batch_loss_smooth"] == 2 * BPE
    assert counts["batch_accuracy"] == counts["batch_accuracy_smooth"] == 2 * BPE
    assert counts["train_loss"] == counts["train_accuracy"] == counts["lr"] == 2
    np.testing.assert_allclose(curve_y(widget, "val_accuracy"), [60.0, 65.0])  # shown as %
    # the x axis spans the planned epochs
    low, high = widget.plots["loss"].getViewBox().viewRange()[0]
    assert low <= 0 and 5 <= high < 5.5


@pytest.mark.slow
def test_redraws_only_what_changed_one_plot_a_tick(widget: CurvesWidget, qtbot) -> None:
    history = run(1)
    widget.set_history(history)
    drawn = widget.draw_count
    qtbot.wait(300)  # about six timer ticks, nothing new
    assert widget.draw_count == drawn
    history.add(RunFinished(
        reason="completed", message="", epochs_run=1, best_epoch=1, monitor="val_loss",
        best_value=1.0, train_loss=1.0, val_loss=1.0, val_accuracy=0.6, val_mae=None,
        test_loss=None, test_accuracy=None, test_mae=None, confusion=None,
        confusion_split=None, per_class_accuracy=None, classes=(), seconds=1.0))
    qtbot.wait(300)  # a record without points repaints nothing
    assert widget.draw_count == drawn
    history.add(BatchEnd(2, 1, BPE, BPE + 1, 0.5, 0.7, 900.0))  # the loss and accuracy plots
    qtbot.waitUntil(lambda: widget.draw_count == drawn + 2, timeout=1000)
    qtbot.wait(200)
    assert widget.draw_count == drawn + 2  # one tick each, the learning rate untouched
    assert widget.point_counts()["batch_loss"] == BPE + 1


@pytest.mark.slow
def test_the_timer_stops_while_hidden(widget: CurvesWidget, qtbot) -> None:
    history = run(1)
    widget.set_history(history)
    widget.hide()
    add_epoch(history, 2)
    qtbot.wait(200)
    assert widget.point_counts()["batch_loss"] == BPE
    widget.show()
    qtbot.waitUntil(lambda: widget.point_counts()["batch_loss"] == 2 * BPE, timeout=1000)


@pytest.mark.slow
def test_a_regression_run_has_no_accuracy_plot(widget: CurvesWidget) -> None:
    widget.set_history(run(2, task="regress"))
    assert widget.point_counts()["batch_loss"] == 2 * BPE
    assert not widget.plots["accuracy"].isVisible()
    assert widget.plots["loss"].isVisible()
    widget.set_history(run(1))
    assert widget.plots["accuracy"].isVisible()


# -- layout in the dock, legends, the learning-rate axis --------------------------------------
@pytest.mark.slow
def test_the_lr_strip_is_short_and_loss_and_accuracy_share_the_width(widget: CurvesWidget,
                                                                     qtbot) -> None:
    widget.resize(790, 330)  # the Curves tab in a 1600x1000 window
    widget.set_history(run(3))
    qtbot.waitUntil(lambda: widget.width() == 790 and widget.height() == 330, timeout=1000)
    QApplication.processEvents()
    loss, accuracy, lr = (widget.plots[key] for key in ("loss", "accuracy", "lr"))
    assert lr.height() <= MAX_LR_HEIGHT and lr.height() < 0.6 * loss.height()
    assert loss.height() >= 150  # most of the height goes to loss and accuracy
    assert abs(loss.width() - accuracy.width()) <= 2
    assert lr.getAxis("bottom").label.isVisible() is False  # no "epoch" under the strip
    widget.resize(1000, 700)  # a tall dock: the strip stays a strip
    qtbot.waitUntil(lambda: widget.height() == 700, timeout=1000)
    QApplication.processEvents()
    assert lr.height() <= MAX_LR_HEIGHT < loss.height()


def flat_lr_run(epochs: int, lr: float) -> RunHistory:
    history = run(epochs)
    history.arrays("lr")[1][:] = lr  # a constant learning rate (the arrays are views)
    history.version += 1
    return history


@pytest.mark.slow
def test_a_constant_learning_rate_shows_its_value(widget: CurvesWidget) -> None:
    widget.set_history(flat_lr_run(4, 0.001))
    widget.grab()  # pyqtgraph fits the views before painting
    low, high = widget.plots["lr"].getViewBox().viewRange()[1]
    assert low <= 0.0 and 0.0011 < high < 0.0015  # from 0 to 1.2 x the rate, plus padding
    axis = widget.plots["lr"].getAxis("left")
    assert axis.tickStrings([0.0, 0.0005, 0.001], 1.0, 0.0005) == ["0", "0.0005", "0.001"]
    assert axis.tickStrings([-1e-19, 2e-5], 1.0, 1e-5) == ["0", "2e-05"]
    drawn = [text for spacing, values in axis.tickValues(low, high, 60)
             for text in axis.tickStrings(values, 1.0, spacing)]
    assert "0.001" in drawn and "1" not in drawn
    widget.set_runs([("A", flat_lr_run(2, 0.003)), ("B", flat_lr_run(2, 0.001))])
    widget.grab()
    low, high = widget.plots["lr"].getViewBox().viewRange()[1]
    assert low <= 0.0 and 0.003 * 1.1 < high < 0.003 * 1.4  # every run's rate


@pytest.mark.parametrize(("values", "span"), [
    ([0.001, 0.001, 0.001], (0.0, 0.0012)),
    ([0.01, 0.005, 0.0], (0.0, 0.012)),
    ([np.nan, 2.0], (0.0, 2.4)),
    ([-1.0, 1.0], (-1.4, 1.4)),
    ([0.0, 0.0], (0.0, 1.0)),
])
def test_value_span_starts_at_zero_with_headroom(values: list[float],
                                                 span: tuple[float, float]) -> None:
    assert value_span(np.array(values)) == pytest.approx(span)


def test_value_span_of_nothing_is_none() -> None:
    assert value_span(np.array([])) is None and value_span(np.array([np.inf])) is None


def test_legends_are_one_short_row_out_of_the_curves_way(widget: CurvesWidget) -> None:
    widget.resize(790, 330)
    widget.set_history(run(5))
    QApplication.processEvents()
    widget.grab()
    for key, corner in (("loss", "top"), ("accuracy", "bottom")):
        legend = widget._legends[key]
        assert legend_labels(widget, key) == ["train", "validation"]
        box = widget.plots[key].getViewBox().sceneBoundingRect()
        rect = legend.sceneBoundingRect()
        assert box.contains(rect), key  # wholly inside its plot
        assert rect.height() < 0.25 * box.height() and rect.width() < 0.6 * box.width()
        assert rect.right() > box.right() - 12  # at the right edge ...
        edge = rect.top() - box.top() if corner == "top" else box.bottom() - rect.bottom()
        assert 0 <= edge < 12  # ... at the top (loss falls) or the bottom (accuracy rises)
        assert legend.opts["brush"].color().alpha() < 255  # the curves show through


@pytest.mark.slow
def test_a_legend_key_hides_its_whole_group(widget: CurvesWidget) -> None:
    widget.set_history(run(2))
    sample, _ = widget._legends["loss"].items[0]  # "train"
    sample.mouseClickEvent(LeftClick())
    hidden = {name for name, item in widget._items.items() if not item.isVisible()}
    assert hidden == {"batch_loss", "batch_loss_smooth", "train_loss"}
    sample.mouseClickEvent(LeftClick())
    assert all(item.isVisible() for item in widget._items.values())
    widget.set_runs([("A", run(2)), ("B", run(1))])
    sample, _ = widget._legends["accuracy"].items[1]  # "training": every run's dashed curves
    sample.mouseClickEvent(LeftClick())
    hidden = {key for key, (item, _, _) in widget._compare.items() if not item.isVisible()}
    assert hidden == {"A/train_loss", "A/train_accuracy", "B/train_loss", "B/train_accuracy"}


# -- smoothing ------------------------------------------------------------------------------
@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.9, 0.99])
def test_smoothing_matches_the_debiased_reference(weight: float) -> None:
    values = np.random.default_rng(1).random(5000) * 3 + np.linspace(5, 0, 5000)
    np.testing.assert_allclose(smoothed(values, weight), reference_ema(values, weight),
                               rtol=1e-10, atol=1e-12)


def test_smoothing_debiases_the_start_and_passes_nan_through() -> None:
    values = np.array([2.0, 4.0, np.nan, np.inf, 6.0])
    out = smoothed(values, 0.6)
    assert out[0] == pytest.approx(2.0)  # not pulled towards zero
    assert out[1] == pytest.approx((0.24 * 2 + 0.4 * 4) / (1 - 0.36))
    assert math.isnan(out[2]) and out[3] == math.inf
    np.testing.assert_allclose(out, reference_ema(values, 0.6))


def test_incremental_smoothing_equals_from_scratch() -> None:
    values = np.random.default_rng(2).random(3000)
    smoother = IncrementalSmoother(0.8)
    for end in (1, 2, 700, 701, 2999, 3000):
        partial = smoother.update(values[:end])
    np.testing.assert_allclose(partial, reference_ema(values, 0.8), rtol=1e-10)
    smoother.set_weight(0.5)  # a new weight starts over
    np.testing.assert_allclose(smoother.update(values), reference_ema(values, 0.5), rtol=1e-10)


@pytest.mark.slow
def test_widget_smooths_new_batches_and_follows_the_weight(widget: CurvesWidget) -> None:
    history = run(1)
    widget.set_history(history)
    add_epoch(history, 2)
    widget.redraw_now()
    losses = history.arrays("batch_loss")[1]
    np.testing.assert_allclose(curve_y(widget, "batch_loss_smooth"), reference_ema(losses, 0.6))
    widget.smoothing.setValue(0.9)
    np.testing.assert_allclose(curve_y(widget, "batch_loss_smooth"), reference_ema(losses, 0.9))
    accuracy = history.arrays("batch_accuracy")[1]
    np.testing.assert_allclose(curve_y(widget, "batch_accuracy_smooth"),
                               100 * reference_ema(accuracy, 0.9))
    widget.smoothing.setValue(0.0)
    np.testing.assert_allclose(curve_y(widget, "batch_loss_smooth"), losses)


@pytest.mark.slow
def test_fifty_thousand_batches_draw(widget: CurvesWidget, qtbot) -> None:
    history = run(0)
    n = 50_000
    xs = np.arange(1, n + 1) / BPE
    losses = 1 / (1 + xs) + 0.1 * np.random.default_rng(3).random(n)
    history.series["batch_loss"].extend(xs, losses)
    history.series["batch_accuracy"].extend(xs, np.linspace(0.1, 0.99, n))
    history.version += 1
    widget.set_history(history)
    assert widget.point_counts()["batch_loss_smooth"] == n
    np.testing.assert_allclose(curve_y(widget, "batch_loss_smooth"),
                               reference_ema(losses, 0.6), rtol=1e-9)
    widget.grab()  # paints the curves, downsampled to about the plot's width
    assert len(widget._items["batch_loss"].getData()[1]) < n / 5
    history.series["batch_loss"].extend(xs[-1:] + 1 / BPE, np.array([0.5]))
    history.version += 1
    qtbot.waitUntil(lambda: widget.point_counts()["batch_loss_smooth"] == n + 1, timeout=1000)


def test_the_controls_never_overlap_in_a_narrow_panel(widget: CurvesWidget) -> None:
    """At 1280x720 the Curves tab is about 340 pixels wide: "Log loss" lay under CSV…."""
    def boxes():
        QApplication.processEvents()
        shown = (widget.smoothing, widget.log_scale, widget.csv_button, widget.png_button)
        return [w.geometry().translated(w.parentWidget().mapTo(widget, QPoint(0, 0)))
                for w in shown]

    holder = QWidget()  # a dock squeezes the widget below its minimum; a window would not
    widget.setParent(holder)
    widget.setMinimumSize(0, 0)  # set while it was a window
    holder.resize(900, 400)
    holder.show()
    widget.show()
    for width in (340, 300, 900):
        widget.setGeometry(0, 0, width, 400)
        rects = boxes()
        assert all(not a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
        assert all(r.right() < widget.width() for r in rects), width
        for control in (widget.smoothing, widget.log_scale, widget.csv_button):
            assert control.width() >= control.sizeHint().width(), (width, control)  # unclipped
    smoothing, log, csv, _png = boxes()
    assert csv.top() < log.bottom() and smoothing.top() < csv.bottom()  # one row where it fits
    widget.setParent(None)  # qtbot closes it after the test


# -- log scale, hover -----------------------------------------------------------------------
@pytest.mark.slow
def test_log_scale_checkbox_sets_log_mode(widget: CurvesWidget) -> None:
    widget.set_history(run(2))
    item = widget.plots["loss"].getPlotItem()
    widget.log_scale.setChecked(True)
    assert item.ctrl.logYCheck.isChecked()
    widget.grab()  # pyqtgraph fits a view lazily, before painting
    assert widget.plots["loss"].getViewBox().viewRange()[0][1] >= 5  # still the planned epochs
    assert widget._items["batch_loss"].opts["logMode"] == [False, True]
    widget.grab()
    widget.log_scale.setChecked(False)
    assert widget._items["val_loss"].opts["logMode"] == [False, False]
    item.setLogMode(y=True)  # from the plot's own menu: the checkbox follows
    assert widget.log_scale.isChecked()


def test_hover_shows_the_nearest_points(widget: CurvesWidget, qtbot) -> None:
    widget.set_history(run(3))
    qtbot.waitUntil(lambda: widget._drawn == widget._versions(), timeout=1000)  # all plots
    widget.grab()  # lay out and fit the views before mapping a point into them
    plot = widget.plots["loss"]
    box = plot.getPlotItem().getViewBox()
    pos = box.mapViewToScene(QPointF(2.0, 1.0))
    plot.scene().sigMouseMoved.emit(pos)
    qtbot.waitUntil(lambda: "step" in widget.readout.text(), timeout=1000)
    text = widget.readout.text()
    assert f"step {2 * BPE}" in text and "smoothed" in text and "accuracy" in text
    assert "epoch 2: loss" in text and "lr 0.0025" in text
    assert widget.hover.lines["accuracy"].isVisible() and widget.hover.lines["lr"].value() == 2.0


# -- export ---------------------------------------------------------------------------------
def test_csv_export_round_trips_the_numbers(widget: CurvesWidget, tmp_path: Path) -> None:
    history = run(2)
    widget.set_history(history, label="mnist cnn")
    path = tmp_path / "curves.csv"
    widget.export.to_csv(path)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["run", "series", "x", "y"]
    assert {row["run"] for row in rows} == {"mnist cnn"}
    for name in SERIES:
        xs, ys = history.arrays(name)
        got = [(float(r["x"]), float(r["y"])) for r in rows if r["series"] == name]
        assert got == list(zip(xs.tolist(), ys.tolist(), strict=True))
    smooth = [float(r["y"]) for r in rows if r["series"] == "batch_loss_smoothed"]
    np.testing.assert_allclose(smooth, reference_ema(history.arrays("batch_loss")[1], 0.6))
    assert "Saved" in widget.export.text()


def test_png_export_writes_an_image(widget: CurvesWidget, tmp_path: Path) -> None:
    widget.set_history(run(2))
    path = tmp_path / "curves.png"
    widget.export.to_png(path)
    image = QImage(str(path))
    assert not image.isNull() and image.width() > 300 and image.height() > 200


def test_export_errors_show_as_a_message(widget: CurvesWidget, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    widget.set_history(run(1))
    missing = tmp_path / "no such folder" / "curves.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(missing), ""))
    widget.csv_button.click()
    assert "Could not write" in widget.export.text() and not missing.exists()
    widget.export.to_png(missing.with_suffix(".png"))
    assert "Could not write" in widget.export.text()
    good = tmp_path / "ok.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(good), ""))
    widget.png_button.click()
    assert good.exists() and "Saved" in widget.export.text()


# -- compare mode, themes -------------------------------------------------------------------
@pytest.mark.slow
def test_compare_mode_draws_every_run(widget: CurvesWidget, tmp_path: Path) -> None:
    widget.set_history(run(2))
    widget.set_runs([("A", run(3)), ("B", run(2, scale=1.5)), ("A", run(1))])
    counts = widget.point_counts()
    assert counts["A/val_loss"] == counts["A/train_accuracy"] == 3
    assert counts["B/val_loss"] == counts["B/lr"] == 2
    assert counts["A (2)/val_loss"] == 1  # a repeated label is told apart
    assert "batch_loss" not in counts
    assert widget._items["batch_loss"].getOriginalDataset()[1] is None
    assert not widget.smoothing.isEnabled()
    assert legend_labels(widget, "loss") == ["A", "B", "A (2)"]  # the runs: top right
    assert legend_labels(widget, "accuracy") == ["validation", "training"]  # line styles
    # distinct colours per run, dashed training
    pen_a = widget._compare["A/val_loss"][0].opts["pen"]
    pen_b = widget._compare["B/val_loss"][0].opts["pen"]
    assert pen_a.color() != pen_b.color()
    assert widget._compare["A/train_loss"][0].opts["pen"].style() != pen_a.style()
    widget.export.to_csv(tmp_path / "all.csv")
    text = (tmp_path / "all.csv").read_text()
    assert "\nB,val_loss," in text and "\nA (2),val_loss," in text
    widget.set_runs([("R", run(2, task="regress"))])  # no accuracy plot: one key for all
    assert legend_labels(widget, "loss") == ["R", "validation", "training"]
    assert not widget._legends["accuracy"].isVisible()
    widget.set_runs([])
    assert widget.is_empty() and not any(widget.point_counts().values())
    widget.set_history(run(1))
    assert widget.point_counts()["batch_loss"] == BPE


@pytest.mark.slow
def test_compare_mode_hover(widget: CurvesWidget, qtbot) -> None:
    widget.set_runs([("A", run(3)), ("B", run(2, task="regress"))])
    assert widget.plots["accuracy"].isVisible()
    QApplication.processEvents()  # the views fit the runs
    plot = widget.plots["loss"]
    pos = plot.getPlotItem().getViewBox().mapViewToScene(QPointF(2.9, 1.0))
    plot.scene().sigMouseMoved.emit(pos)
    qtbot.waitUntil(lambda: "A (epoch 3)" in widget.readout.text(), timeout=1000)
    assert "B (epoch 2)" in widget.readout.text()


@pytest.mark.slow
def test_theme_switch_recolours(widget: CurvesWidget) -> None:
    widget.set_history(run(2))
    try:
        theme_manager().apply("dark")
        assert widget.plots["loss"].backgroundBrush().color().name() == DARK.base
        widget.set_runs([("A", run(2)), ("B", run(1))])
        theme_manager().apply("light")
        assert widget.plots["lr"].backgroundBrush().color().name() == LIGHT.base
        widget.grab()
    finally:
        theme_manager().apply("light")
    QApplication.processEvents()


def legend_text_colours(widget: CurvesWidget) -> set[str]:
    """The colours the legend labels are drawn in (read from their rendered text)."""
    colours = set()
    for legend in widget._legends.values():
        for _, label in legend.items:
            block = label.item.document().begin()
            while block.isValid():
                it = block.begin()
                while not it.atEnd():
                    colours.add(it.fragment().charFormat().foreground().color().name())
                    it += 1
                block = block.next()
    return colours


@pytest.mark.slow
def test_a_theme_switch_recolours_the_legend_labels(widget: CurvesWidget) -> None:
    """The review: dark chosen at runtime left "validation", "training" and the runs' names
    dark on the dark plots until a restart."""
    widget.set_history(run(2))
    try:
        theme_manager().apply("dark")
        assert legend_text_colours(widget) == {DARK.text}
        widget.set_runs([("run 1", run(2)), ("run 2", run(1))])
        assert legend_text_colours(widget) == {DARK.text}
        theme_manager().apply("light")
        assert legend_text_colours(widget) == {LIGHT.text}
    finally:
        theme_manager().apply("light")


def test_a_short_widget_drops_the_learning_rate_strip(widget: CurvesWidget, qtbot) -> None:
    widget.set_history(run(1))
    widget.resize(700, 260)
    qtbot.waitUntil(lambda: not widget.plots["lr"].isVisible(), timeout=1000)
    assert widget.plots["loss"].isVisible()
    widget.resize(700, 400)
    qtbot.waitUntil(lambda: widget.plots["lr"].isVisible(), timeout=1000)
