"""After a run: a summary line (accuracy or losses, best epoch, how the run ended), the
confusion matrix on the left and the grid of predictions on the right.

Clicking a matrix cell shows only that cell's samples in the grid; clicking it again, or
"Show all", shows all of them again. Regression and autoencoder runs have no classes, so they
get their losses and a note instead of the matrix.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.training.confusion import ConfusionMatrixWidget
from dlbuilder.gui.training.predictions import SPLIT_NAMES, PredictionsGridWidget, usable_images
from dlbuilder.gui.widgets.text import plural

if TYPE_CHECKING:
    from dlbuilder.backend.evaluation import Evaluation

HINT = "Results appear here when a run ends"
NOT_A_CLASSIFIER = ("The confusion matrix and the predictions grid apply to classifiers; this "
                    "run predicts values, so its results are the losses above.")
NOT_EVALUATED = "The run ended before any samples were evaluated, so there is no confusion matrix."
PAGE_HINT, PAGE_RESULTS = 0, 1


def percent(fraction: float) -> str:
    """97.9%; a value just under 1 stays under 100%."""
    if not math.isfinite(fraction):
        return "not a number"
    value = 100 * fraction
    return ">99.9%" if fraction < 1 and round(value, 1) >= 100 else f"{value:.1f}%"


def number(value: float) -> str:
    """A loss or error with four significant digits."""
    return f"{value:.4g}" if math.isfinite(value) else "not a number"


def duration(seconds: float) -> str:
    """42 s, 3 min 5 s, 1 h 2 min."""
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return f"{seconds:.1f} s"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min {total % 60} s"
    return f"{total // 3600} h {total % 3600 // 60} min"


def _value(final: dict[str, Any], key: str) -> float | None:
    value = final.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _scores(final: dict[str, Any], evaluation: Evaluation | None) -> list[str]:
    """"Test accuracy 97.9% (10,000 images)", "validation 98.3%", or the losses."""
    test_acc, val_acc = _value(final, "test_accuracy"), _value(final, "val_accuracy")
    size = {}
    if evaluation is not None and len(evaluation.labels):
        noun = "images" if usable_images(evaluation.images, len(evaluation.labels)) is not None \
            else "samples"
        size[evaluation.split] = f" ({plural(len(evaluation.labels), noun)})"
        if evaluation.split == "test" and test_acc is None:
            test_acc = evaluation.accuracy
        if evaluation.split == "val" and val_acc is None:
            val_acc = evaluation.accuracy
    parts = []
    if test_acc is not None:
        parts.append(f"Test accuracy {percent(test_acc)}{size.get('test', '')}")
    if val_acc is not None:
        label = "validation" if parts else "Validation accuracy"
        parts.append(f"{label} {percent(val_acc)}{'' if parts else size.get('val', '')}")
    if parts:
        return parts
    for key, label in (("test_loss", "test loss"), ("test_mae", "test MAE"),
                       ("val_loss", "validation loss"), ("val_mae", "validation MAE"),
                       ("train_loss", "training loss")):
        value = _value(final, key)
        if value is not None:
            parts.append(f"{label} {number(value)}")
    if parts:
        parts[0] = parts[0][0].upper() + parts[0][1:]
    return parts


def _ending(final: dict[str, Any]) -> str:
    """How the run ended: "completed in 42 s", "stopped early after 9 epochs (42 s)"."""
    seconds = _value(final, "seconds")
    took = duration(seconds) if seconds is not None else ""
    epochs = final.get("epochs_run")
    after = f" after {plural(int(epochs), 'epochs')}" if isinstance(epochs, int) else ""
    reason = final.get("reason")
    if reason == "completed":
        return f"completed in {took}" if took else "completed"
    words = {"early_stopped": "stopped early", "stopped": "stopped",
             "diverged": "diverged"}.get(str(reason), "")
    if not words:
        return f"ran {took}" if took else ""
    return f"{words}{after}" + (f" ({took})" if took else "")


def summary_text(evaluation: Evaluation | None, final: dict[str, Any] | None) -> str:
    """The one-line summary of a run's results, from whatever values it has."""
    final = final or {}
    parts = _scores(final, evaluation)
    best = final.get("best_epoch")
    if isinstance(best, int):
        parts.append(f"best epoch {best}")
    ending = _ending(final)
    if ending:
        parts.append(ending)
    if not parts:
        return "The run ended without results to show"
    parts[0] = parts[0][0].upper() + parts[0][1:]
    return " · ".join(parts)


def check_evaluation(evaluation: Evaluation) -> str | None:
    """Why `evaluation` cannot be shown (arrays that do not fit together), or None."""
    labels, probs = np.asarray(evaluation.labels), np.asarray(evaluation.probabilities)
    k = len(evaluation.classes)
    if probs.ndim != 2 or probs.shape[1] != k:
        return f"the probabilities have shape {probs.shape}, expected (N, {k}) for {k} classes"
    if labels.ndim != 1 or len(labels) != len(probs):
        return f"{len(labels)} labels for {len(probs)} rows of probabilities"
    if len(labels) and (labels.min() < 0 or labels.max() >= k):
        return f"labels must be class numbers 0 to {k - 1}"
    return None


class ResultsPanel(QWidget):
    """The after-training view: `show_results(evaluation, final)`, `clear()`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setToolTip("The run's results on its held-out data; the best "
                                      "epoch's weights are the ones kept")
        self.detail_label = QLabel()
        self.detail_label.setWordWrap(True)
        self.detail_label.setToolTip("How the run ended")
        self.show_all_button = QPushButton("Show all")
        self.show_all_button.setToolTip("Show every sample again, not only the chosen cell's")
        self.show_all_button.clicked.connect(self._on_show_all_clicked)
        self.hint_label = QLabel(HINT)
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint_label.setWordWrap(True)
        self.matrix_title = QLabel()
        self.matrix_title.setToolTip("Rows: the true class; columns: the predicted class")
        self.matrix = ConfusionMatrixWidget()
        self.matrix.selection_changed.connect(self._on_matrix_selection_changed)
        self.grid = PredictionsGridWidget()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.hint_label)
        self.stack.addWidget(self._results_page())
        self._build_layout()
        self.clear()
        self._on_theme_changed(current())
        theme_manager().changed.connect(self._on_theme_changed)

    def _results_page(self) -> QSplitter:
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addWidget(self.matrix_title)
        column.addWidget(self.matrix, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.grid)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([450, 450])  # the matrix's counts need cells of ~30 px
        return self.splitter

    def _build_layout(self) -> None:
        top = QHBoxLayout()
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.summary_label)
        text.addWidget(self.detail_label)
        top.addLayout(text, 1)
        top.addWidget(self.show_all_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)

    # -- public ----------------------------------------------------------------------------
    def show_results(self, evaluation: Evaluation | None, final: dict[str, Any] | None) -> None:
        """Show a finished run: `final` is its RunFinished.as_dict(); `evaluation` its
        samples (None for runs without classes, or when none were evaluated)."""
        if evaluation is None and not final:
            self.clear()
            return
        problem = check_evaluation(evaluation) if evaluation is not None else None
        if problem is not None:
            self.clear()
            self.summary_label.setText(summary_text(None, final))
            self._set_note(f"These results cannot be shown: {problem}.")
            return
        self.summary_label.setText(summary_text(evaluation, final))
        message = str((final or {}).get("message") or "")
        self._error_detail = (final or {}).get("reason") == "diverged"
        self.detail_label.setText(message)
        self.detail_label.setVisible(bool(message))
        self._restyle()
        if evaluation is None:
            has_accuracy = any(_value(final or {}, k) is not None
                               for k in ("test_accuracy", "val_accuracy"))
            self._set_note(NOT_EVALUATED if has_accuracy else NOT_A_CLASSIFIER)
            return
        noun = "images" if usable_images(evaluation.images, len(evaluation.labels)) is not None \
            else "samples"
        self.matrix.set_matrix(evaluation.confusion(), evaluation.classes, noun)
        split = SPLIT_NAMES.get(evaluation.split, evaluation.split)
        self.matrix_title.setText(f"Confusion matrix, {split} split")
        self.grid.set_evaluation(evaluation)
        self.show_all_button.setEnabled(False)
        self.show_all_button.setVisible(True)
        self.stack.setCurrentIndex(PAGE_RESULTS)

    def clear(self) -> None:
        """Back to the state before any run: the hint only."""
        self.summary_label.clear()
        self.summary_label.setVisible(False)
        self.detail_label.clear()
        self.detail_label.setVisible(False)
        self._error_detail = False
        self.show_all_button.setVisible(False)
        self.matrix.set_matrix(None, ())
        self.matrix_title.clear()
        self.grid.set_evaluation(None)
        self.hint_label.setText(HINT)
        self.stack.setCurrentIndex(PAGE_HINT)

    def summary(self) -> str:
        return self.summary_label.text()

    def note(self) -> str:
        """The text shown instead of the matrix and grid (the hint before a run)."""
        return self.hint_label.text() if self.stack.currentIndex() == PAGE_HINT else ""

    def show_all(self) -> None:
        """Clear the matrix's cell filter: the grid shows every sample."""
        self.matrix.set_selected(None)
        self.grid.show_all()
        self.show_all_button.setEnabled(False)

    # -- internals -------------------------------------------------------------------------
    def _set_note(self, text: str) -> None:
        self.summary_label.setVisible(bool(self.summary_label.text()))
        self.show_all_button.setVisible(False)
        self.matrix.set_matrix(None, ())
        self.grid.set_evaluation(None)
        self.hint_label.setText(text)
        self.stack.setCurrentIndex(PAGE_HINT)

    def _restyle(self, theme: Theme | None = None) -> None:
        theme = theme or current()
        self.summary_label.setVisible(bool(self.summary_label.text()))
        self.summary_label.setStyleSheet(f"color: {theme.text}; font-weight: 600;")
        detail = theme.error if self._error_detail else theme.muted
        self.detail_label.setStyleSheet(f"color: {detail};")
        self.hint_label.setStyleSheet(f"color: {theme.muted};")
        self.matrix_title.setStyleSheet(f"color: {theme.muted};")
        self.grid.header.setStyleSheet(f"color: {theme.muted};")

    def _on_matrix_selection_changed(self, cell: object) -> None:
        if isinstance(cell, tuple) and len(cell) == 2:
            self.grid.show_cell(int(cell[0]), int(cell[1]))
            self.show_all_button.setEnabled(True)
        else:
            self.show_all()

    def _on_show_all_clicked(self) -> None:
        self.show_all()

    def _on_theme_changed(self, theme: object) -> None:
        self._restyle(theme if isinstance(theme, Theme) else None)
