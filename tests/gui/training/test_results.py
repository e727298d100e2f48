"""The after-training results view: the summary line, the confusion matrix and the predictions
grid it filters, for images, features, regression runs, many classes and both themes."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip, QWidget

from dlbuilder.backend.datasets import load_dataset
from dlbuilder.backend.evaluation import Evaluation
from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.training.confusion import (
    ConfusionMatrixWidget,
    cell_color,
    cell_shades,
    ink_for,
)
from dlbuilder.gui.training.predictions import (
    CACHE_SIZE,
    SAMPLE_ROLE,
    WRONG_ROLE,
    short_percent,
    to_qimage,
)
from dlbuilder.gui.training.results import (
    HINT,
    NOT_A_CLASSIFIER,
    ResultsPanel,
    duration,
    percent,
    summary_text,
)

FINAL = {"reason": "completed", "message": "", "epochs_run": 10, "best_epoch": 7,
         "monitor": "val_accuracy", "val_accuracy": 0.983, "val_loss": 0.05, "test_loss": 0.06,
         "confusion_split": "test", "seconds": 42.3}


def synthetic(n: int, k: int, accuracy: float = 0.9, seed: int = 0,
              images: np.ndarray | None = None, labels: np.ndarray | None = None,
              classes: tuple[str, ...] | None = None) -> Evaluation:
    """N samples of K classes, about `accuracy` of them right, with varied confidences."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n) if labels is None else labels
    logits = rng.normal(0, 1, (n, k))
    right = rng.random(n) < accuracy
    logits[np.arange(n), labels] += np.where(right, 5.0, -3.0)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    return Evaluation("test", classes or tuple(str(i) for i in range(k)),
                      labels.astype(np.int64), probs.astype(np.float32), images)


@pytest.fixture(scope="module")
def digits() -> Evaluation:
    data = load_dataset("digits")
    pictures = (data.train.x[:, 0].astype(np.float32) * 255 / data.scale).round()
    return synthetic(len(pictures), 10, 0.93, images=pictures.astype(np.uint8),
                     labels=data.train.y)


@pytest.fixture
def panel(qtbot) -> ResultsPanel:
    widget = ResultsPanel()
    qtbot.addWidget(widget)
    widget.resize(900, 350)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def restore_theme():
    before = theme_manager().choice
    yield
    theme_manager().apply(before)


def shown(panel: ResultsPanel) -> np.ndarray:
    model = panel.grid.model
    return np.array([model.index(i).data(SAMPLE_ROLE) for i in range(model.rowCount())])


def off_diagonal_cell(evaluation: Evaluation) -> tuple[int, int]:
    """The mistake cell with the most samples."""
    counts = evaluation.confusion().copy()
    np.fill_diagonal(counts, -1)
    row, col = np.unravel_index(int(counts.argmax()), counts.shape)
    assert counts[row, col] >= 2
    return int(row), int(col)


def test_before_any_run_the_panel_shows_the_hint(panel: ResultsPanel) -> None:
    assert panel.note() == HINT
    assert not panel.summary_label.isVisible()


def test_summary_line_has_accuracy_best_epoch_and_duration(panel: ResultsPanel,
                                                           digits: Evaluation) -> None:
    panel.show_results(digits, dict(FINAL, test_accuracy=digits.accuracy))
    text = panel.summary()
    assert text.startswith(f"Test accuracy {100 * digits.accuracy:.1f}% (1,797 images)")
    assert "validation 98.3%" in text and "best epoch 7" in text
    assert "completed in 42 s" in text
    assert panel.note() == ""


def test_summary_takes_the_accuracy_from_the_evaluation_when_the_record_lacks_it() -> None:
    evaluation = synthetic(200, 3)
    text = summary_text(evaluation, {"reason": "stopped", "epochs_run": 1, "seconds": 3.25})
    assert text == (f"Test accuracy {100 * evaluation.accuracy:.1f}% (200 samples) · "
                    "stopped after 1 epoch (3.2 s)")


def test_number_formats() -> None:
    assert percent(0.9996) == ">99.9%" and percent(1.0) == "100.0%" and percent(0.5) == "50.0%"
    assert short_percent(0.996) == ">99%" and short_percent(0.874) == "87%"
    assert duration(42.3) == "42 s" and duration(185) == "3 min 5 s"
    assert duration(3720) == "1 h 2 min"


def test_matrix_counts_equal_the_evaluation_confusion(panel: ResultsPanel,
                                                      digits: Evaluation) -> None:
    panel.show_results(digits, FINAL)
    assert np.array_equal(panel.matrix.counts(), digits.confusion())
    assert panel.matrix.classes() == digits.classes


def test_clicking_a_cell_filters_the_grid_and_clicking_again_shows_all(
        qtbot, panel: ResultsPanel, digits: Evaluation) -> None:
    panel.show_results(digits, FINAL)
    row, col = off_diagonal_cell(digits)
    centre = panel.matrix.cell_rect(row, col).center().toPoint()
    with qtbot.waitSignal(panel.matrix.cell_clicked) as clicked:
        qtbot.mouseClick(panel.matrix, Qt.MouseButton.LeftButton, pos=centre)
    assert clicked.args == [row, col]
    assert panel.matrix.selected_cell() == (row, col)
    expected = digits.wrong_first(row, col)
    assert np.array_equal(shown(panel), expected)
    count = int(digits.confusion()[row, col])
    assert panel.grid.header_text() == f"True {row}, predicted {col}: {count} images"
    assert panel.show_all_button.isEnabled()

    qtbot.mouseClick(panel.matrix, Qt.MouseButton.LeftButton, pos=centre)
    assert panel.matrix.selected_cell() is None
    assert np.array_equal(shown(panel), digits.wrong_first())
    assert not panel.show_all_button.isEnabled()


def test_show_all_button_and_escape_reset_the_filter(qtbot, panel: ResultsPanel,
                                                     digits: Evaluation) -> None:
    panel.show_results(digits, FINAL)
    row, col = off_diagonal_cell(digits)
    centre = panel.matrix.cell_rect(row, col).center().toPoint()
    qtbot.mouseClick(panel.matrix, Qt.MouseButton.LeftButton, pos=centre)
    assert panel.grid.model.rowCount() == digits.confusion()[row, col]
    qtbot.mouseClick(panel.show_all_button, Qt.MouseButton.LeftButton)
    assert panel.matrix.selected_cell() is None
    assert panel.grid.model.rowCount() == len(digits.labels)

    qtbot.mouseClick(panel.matrix, Qt.MouseButton.LeftButton, pos=centre)
    with qtbot.waitSignal(panel.matrix.selection_changed) as changed:
        qtbot.keyClick(panel.matrix, Qt.Key.Key_Escape)
    assert changed.args == [None]
    assert panel.grid.model.rowCount() == len(digits.labels)


def test_wrong_samples_come_first_most_confident_leading(panel: ResultsPanel,
                                                         digits: Evaluation) -> None:
    panel.show_results(digits, FINAL)
    model = panel.grid.model
    wrong = [bool(model.index(i).data(WRONG_ROLE)) for i in range(model.rowCount())]
    n_wrong = int((digits.predicted != digits.labels).sum())
    assert n_wrong and wrong == [True] * n_wrong + [False] * (len(wrong) - n_wrong)
    order = shown(panel)
    confidence = digits.probabilities[order[:n_wrong], digits.predicted[order[:n_wrong]]]
    assert np.all(np.diff(confidence) <= 0)
    assert panel.grid.header_text() == f"All 1,797 test images, wrong first ({n_wrong} wrong)"


def test_cells_say_prediction_probability_and_top_three(panel: ResultsPanel,
                                                        digits: Evaluation) -> None:
    panel.show_results(digits, FINAL)
    first = panel.grid.model.index(0)
    sample = first.data(SAMPLE_ROLE)
    predicted = int(digits.predicted[sample])
    p = float(digits.probabilities[sample, predicted])
    assert first.data() == f"{predicted} · {short_percent(p)}"
    tip = first.data(Qt.ItemDataRole.ToolTipRole).splitlines()
    assert tip[0] == f"Sample {sample:,}: true {digits.labels[sample]} (wrong)"
    assert tip[1] == f"{predicted}: {100 * p:.1f}%" and len(tip) == 4


def test_thumbnails_are_crisp_whole_multiples(digits: Evaluation) -> None:
    image = to_qimage(digits.images[0])
    assert (image.width(), image.height()) == (64, 64)
    block = {image.pixelColor(x, y).rgb() for x in range(8) for y in range(8)}
    assert len(block) == 1  # one source pixel became an unsmoothed 8x8 block
    colour = to_qimage(np.zeros((28, 28, 3), np.uint8))
    assert (colour.width(), colour.height()) == (56, 56)


def test_ten_thousand_samples_load_quickly_without_a_widget_each(panel: ResultsPanel) -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (10_000, 28, 28), dtype=np.uint8)
    evaluation = synthetic(10_000, 10, 0.98, images=images)
    started = time.perf_counter()
    panel.show_results(evaluation, FINAL)
    panel.grab()
    QApplication.processEvents()
    assert time.perf_counter() - started < 2.0
    assert panel.grid.model.rowCount() == 10_000
    assert len(panel.findChildren(QWidget)) < 60
    assert 0 < panel.grid.model.cached_thumbnails() <= CACHE_SIZE
    assert panel.summary().startswith(
        f"Test accuracy {100 * evaluation.accuracy:.1f}% (10,000 images)")


def test_regression_run_shows_its_losses_and_says_the_matrix_is_for_classifiers(
        panel: ResultsPanel) -> None:
    final = {"reason": "early_stopped", "epochs_run": 7, "best_epoch": 4,
             "message": "val_loss did not improve for 3 epochs; the best was epoch 4",
             "val_loss": 0.0123, "test_loss": 0.0131, "test_mae": 0.0871, "seconds": 125.0}
    panel.show_results(None, final)
    assert panel.summary() == ("Test loss 0.0131 · test MAE 0.0871 · validation loss 0.0123 · "
                               "best epoch 4 · stopped early after 7 epochs (2 min 5 s)")
    assert panel.note() == NOT_A_CLASSIFIER
    assert panel.detail_label.text() == final["message"]
    assert panel.matrix.counts().size == 0 and panel.grid.model.rowCount() == 0


def test_feature_data_gets_text_cells(panel: ResultsPanel) -> None:
    evaluation = synthetic(300, 3, 0.8, classes=("setosa", "versicolor", "virginica"))
    panel.show_results(evaluation, FINAL)
    model = panel.grid.model
    assert not model.has_images
    first = model.index(0)
    sample = first.data(SAMPLE_ROLE)
    predicted = evaluation.classes[int(evaluation.predicted[sample])]
    assert first.data().startswith(f"sample {sample}: predicted {predicted} · ")
    assert first.data(Qt.ItemDataRole.DecorationRole) is None
    assert panel.grid.header_text().startswith("All 300 test samples, wrong first")
    tip = panel.matrix.cell_text(0, 1)
    assert tip.startswith("true setosa, predicted versicolor: ") and "sample" in tip
    assert tip.endswith("of the setosa samples)")
    assert not panel.grab().isNull()


def test_cell_tooltip_text(panel: ResultsPanel, digits: Evaluation) -> None:
    panel.show_results(digits, FINAL)
    counts = digits.confusion()
    share = 100 * counts[3, 5] / counts[3].sum()
    assert panel.matrix.cell_text(3, 5) == (
        f"true 3, predicted 5: {counts[3, 5]} image{'s' if counts[3, 5] != 1 else ''} "
        f"({share:.1f}% of the 3s)")


def test_a_hundred_classes_draw_with_thinned_labels(qtbot) -> None:
    evaluation = synthetic(5_000, 100, 0.8, classes=tuple(f"class {i}" for i in range(100)))
    matrix = ConfusionMatrixWidget()
    qtbot.addWidget(matrix)
    matrix.resize(500, 400)
    matrix.set_matrix(evaluation.confusion(), evaluation.classes)
    geometry = matrix._geometry()
    assert geometry.count_font is None and geometry.rotated and geometry.row_step > 1
    for row, col in ((0, 0), (57, 3), (99, 99)):
        rect = matrix.cell_rect(row, col)
        assert matrix.cell_at(rect.center()) == (row, col)
    assert not matrix.grab().isNull()


def test_error_cells_are_shaded_apart_from_right_ones() -> None:
    counts = np.array([[90, 10, 0], [1, 99, 0], [0, 0, 0]])
    shades = cell_shades(counts)
    assert shades[0, 1] == pytest.approx(1.0)  # the worst mistake is the strongest
    assert 0 < shades[1, 0] < shades[0, 1]
    assert shades[0, 2] == 0 and shades[2, 2] == 0  # nothing there: neutral
    theme = current()
    assert cell_color(theme, True, 0.9).name() != cell_color(theme, False, 0.9).name()
    assert ink_for(QColor("#1e3a8a")).name() == "#ffffff"
    assert ink_for(QColor("#fde0c8")).name() == "#111418"


@pytest.mark.slow
def test_theme_switch_repaints_the_matrix(qtbot, panel: ResultsPanel, digits: Evaluation,
                                          restore_theme) -> None:
    panel.show_results(digits, FINAL)
    centre = panel.matrix.cell_rect(0, 0).center().toPoint()
    colours = {}
    for name in ("light", "dark"):
        theme = theme_manager().apply(name)
        image = panel.matrix.grab().toImage()
        colours[name] = image.pixelColor(centre + QPoint(0, int(panel.matrix.cell_rect(0, 0)
                                                                 .height() * 0.4))).name()
        shade = float(cell_shades(digits.confusion())[0, 0])
        assert colours[name] == cell_color(theme, True, shade).name()
    assert colours["light"] != colours["dark"]


def test_clear_returns_to_the_hint(panel: ResultsPanel, digits: Evaluation) -> None:
    panel.show_results(digits, FINAL)
    panel.clear()
    assert panel.note() == HINT and panel.summary() == ""
    assert panel.grid.model.rowCount() == 0 and panel.matrix.counts().size == 0


def test_mismatched_arrays_give_a_message_not_a_traceback(panel: ResultsPanel) -> None:
    bad = Evaluation("test", ("a", "b"), np.array([0, 1, 1]), np.zeros((3, 3), np.float32), None)
    panel.show_results(bad, FINAL)
    assert panel.note().startswith("These results cannot be shown: the probabilities have shape")
    assert "best epoch 7" in panel.summary()


def test_hovering_a_cell_shows_its_tooltip(panel: ResultsPanel, digits: Evaluation) -> None:
    panel.show_results(digits, FINAL)
    centre = panel.matrix.cell_rect(3, 5).center().toPoint()
    event = QHelpEvent(QEvent.Type.ToolTip, centre, panel.matrix.mapToGlobal(centre))
    QApplication.sendEvent(panel.matrix, event)
    assert QToolTip.text() == panel.matrix.cell_text(3, 5)
    QToolTip.hideText()


def test_a_validation_split_is_named_so() -> None:
    evaluation = synthetic(360, 10)
    evaluation = Evaluation("val", evaluation.classes, evaluation.labels,
                            evaluation.probabilities, None)
    assert summary_text(evaluation, {"best_epoch": 2}) == (
        f"Validation accuracy {100 * evaluation.accuracy:.1f}% (360 samples) · best epoch 2")
