"""Look Inside from the Training tab: a sample of the data preview, of the predictions grid or
of a confusion-matrix cell, and a run of the Runs tab, each by its right-click menu ("Look
Inside") or a double-click. The tab's widgets are left as they are: this object adds the menus
and says what was asked for, as dataset splits and indices."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QMenu, QWidget

from dlbuilder.gui.training.predictions import SAMPLE_ROLE
from dlbuilder.gui.training.samples_view import first_of_each_class

MENU_TEXT = "Look Inside"


class TrainingLinks(QObject):
    """The menus and double-clicks on `panel`'s (a TrainingPanel's) samples and runs."""

    # the dataset's array ("train": the training data val is drawn from, or "test") and rows
    sample_requested = Signal(str, int)  # array, row
    samples_requested = Signal(str, str, object)  # title, array, rows (np.ndarray)
    run_requested = Signal(object, int)  # RunStore, run id

    def __init__(self, panel: Any) -> None:
        super().__init__(panel)
        self.panel = panel
        self.menu: QMenu | None = None  # the last menu shown (tests answer it)
        grid = panel.results.grid.view
        grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        grid.customContextMenuRequested.connect(self._on_grid_menu_requested)
        grid.doubleClicked.connect(self._on_grid_double_clicked)
        matrix = panel.results.matrix
        matrix.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        matrix.customContextMenuRequested.connect(self._on_matrix_menu_requested)
        samples = panel.data_panel.samples
        samples.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        samples.customContextMenuRequested.connect(self._on_samples_menu_requested)
        samples.installEventFilter(self)
        panel.runs.inside_requested.connect(self._on_runs_inside_requested)

    # -- what each place holds -------------------------------------------------------------
    def grid_sample(self, index: QModelIndex) -> tuple[str, int] | None:
        """The predictions grid's cell as (split, index in the dataset split)."""
        evaluation = self.panel.results.grid.evaluation
        sample = index.data(SAMPLE_ROLE) if index.isValid() else None
        if evaluation is None or sample is None:
            return None
        return evaluation.source, evaluation.dataset_index(int(sample))

    def cell_samples(self, cell: tuple[int, int]) -> tuple[str, str, np.ndarray] | None:
        """A confusion cell's samples (the grid's order: most confidently wrong first) as
        (title, split, indices in the dataset split)."""
        evaluation = self.panel.results.grid.evaluation
        if evaluation is None:
            return None
        order = evaluation.wrong_first(*cell)
        if not len(order):
            return None
        names = evaluation.classes
        indices = np.array([evaluation.dataset_index(int(i)) for i in order], dtype=np.int64)
        return f"True {names[cell[0]]}, predicted {names[cell[1]]}", evaluation.source, indices

    def preview_sample(self, pos: QPoint) -> int | None:
        """The data preview's sample under `pos`, as its training-split index."""
        samples = self.panel.data_panel.samples
        data = self.panel.data_panel.dataset()
        shown = samples.index_at(pos)
        if data is None or shown is None:
            return None
        firsts = first_of_each_class(data)
        return firsts[shown][1] if shown < len(firsts) else None

    # -- menus -----------------------------------------------------------------------------
    def _popup(self, widget: QWidget, pos: QPoint, text: str, enabled: bool,
               handler: Any) -> None:
        menu = QMenu(widget)
        action = menu.addAction(text)
        action.setEnabled(enabled)
        action.triggered.connect(handler)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.menu = menu
        menu.popup(widget.mapToGlobal(pos))

    def _on_grid_menu_requested(self, pos: QPoint) -> None:
        view = self.panel.results.grid.view
        found = self.grid_sample(view.indexAt(pos))
        self._popup(view.viewport(), pos, MENU_TEXT, found is not None,
                    lambda: found and self.sample_requested.emit(*found))

    def _on_grid_double_clicked(self, index: QModelIndex) -> None:
        found = self.grid_sample(index)
        if found is not None:
            self.sample_requested.emit(*found)

    def _on_matrix_menu_requested(self, pos: QPoint) -> None:
        matrix = self.panel.results.matrix
        cell = matrix.cell_at(QPointF(pos))
        found = self.cell_samples(cell) if cell is not None else None
        count = len(found[2]) if found is not None else 0
        text = f"{MENU_TEXT} ({count:,} sample{'s' * (count != 1)})" if count else MENU_TEXT
        self._popup(matrix, pos, text, found is not None,
                    lambda: found and self.samples_requested.emit(*found))

    def _on_samples_menu_requested(self, pos: QPoint) -> None:
        samples = self.panel.data_panel.samples
        index = self.preview_sample(pos)
        self._popup(samples, pos, MENU_TEXT, index is not None,
                    lambda: index is not None and self.sample_requested.emit("train", index))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if event.type() == QEvent.Type.MouseButtonDblClick and isinstance(event, QMouseEvent):
            index = self.preview_sample(event.position().toPoint())
            if index is not None:
                self.sample_requested.emit("train", index)
                return True
        return super().eventFilter(watched, event)

    def _on_runs_inside_requested(self, run_id: int) -> None:
        if self.panel.store is not None:
            self.run_requested.emit(self.panel.store, run_id)
