"""File ▸ Import PyTorch Model… and Import ONNX…: which model, which NAME, which input shape;
then, while the worker imports, a busy state (Cancel closes the dialog); then either the
report (the dialog stays open to fix the NAME or the shape) or `imported` with the outcome.

The NAMEs of a model file are listed by reading it with `ast`; nothing runs until Import.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.core.shape_text import SAMPLE_WORDS, ShapeTextError, read_sample_shape
from dlbuilder.gui.importing.import_worker import (
    ONNX,
    PYTORCH,
    ImportJob,
    ImportOutcome,
    ImportRunner,
    new_weights_path,
)
from dlbuilder.gui.importing.sources import is_module_spec, model_names, split_spec
from dlbuilder.gui.look.theme import Theme, current, theme_manager

RUNS_CODE = ("Importing runs this Python file's code (your own model code) to build and trace "
             "the model, as running it with python would: import only code you trust.")
ONNX_READ = "The ONNX file is only read, never run."
BUSY_TEXT = "Importing… loading PyTorch and tracing the model take a few seconds."
NOT_IMPORTED = {PYTORCH: "Not imported; your open graph is unchanged. Fix what is listed (the "
                        "NAME, the input shape or the model), then Import again.",
                ONNX: "Not imported; your open graph is unchanged. Fix what is listed (the "
                      "input shape or the model file), then Import again."}
SHAPE_NEEDED = "Needed: a PyTorch model does not say the shape of its input"
FOLDER_KEY = "import/last_folder"


class ImportDialog(QDialog):
    imported = Signal(object)  # the ImportOutcome of a successful import

    def __init__(self, kind: str, runner: ImportRunner, settings: QSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind, self.runner, self.settings = kind, runner, settings
        self.setObjectName(f"import_{kind}_dialog")
        self.setWindowTitle("Import PyTorch model" if kind == PYTORCH else "Import ONNX model")
        self.setMinimumWidth(560)
        self._build()
        self._restore()
        runner.finished.connect(self._on_runner_finished)
        theme_manager().changed.connect(self._on_theme_changed)
        self._on_theme_changed(current())
        self._update_import_button()

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        torch = self.kind == PYTORCH
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.source = QLineEdit()
        self.source.setPlaceholderText("path/to/model.py  or  package.module" if torch
                                       else "path/to/model.onnx")
        self.source.setToolTip("The model file (Browse… to choose it)" + (
            ", or a module to import, such as torchvision.models" if torch else ""))
        self.browse = QPushButton("Browse…")
        self.browse.setAutoDefault(False)  # Return in a field imports; it never browses
        row = QHBoxLayout()
        row.addWidget(self.source, 1)
        row.addWidget(self.browse)
        form.addRow("Model file" if not torch else "Python file or module", row)
        self.name = QComboBox()
        self.name.setEditable(True)
        self.name.setToolTip("The nn.Module subclass (taking no required arguments) or the "
                             "function returning the model; the list is read from the file "
                             "without running it")
        self.name_hint = _hint_label()
        if torch:
            form.addRow("Model (NAME)", self.name)
            form.addRow("", self.name_hint)
        self.shape = QLineEdit()
        self.shape.setPlaceholderText(f"e.g. {SAMPLE_WORDS.example}")
        self.shape.setToolTip("One sample's shape, without the batch: channels x height x "
                              "width for images, features for vectors")
        self.shape_hint = _hint_label()
        form.addRow("Input shape" if torch else "Input shape (optional)", self.shape)
        form.addRow("", self.shape_hint)
        layout.addLayout(form)
        self.note = QLabel(RUNS_CODE if torch else ONNX_READ)
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self._build_report(layout)
        self._build_buttons(layout)
        self.source.setFocus()
        self.browse.clicked.connect(self._on_browse_clicked)
        self.source.editingFinished.connect(self._on_source_editing_finished)
        self.source.textChanged.connect(self._update_import_button)
        self.name.currentTextChanged.connect(self._update_import_button)
        self.shape.textChanged.connect(self._on_shape_text_changed)

    def _build_report(self, layout: QVBoxLayout) -> None:
        self.report_heading = QLabel(NOT_IMPORTED[self.kind])
        self.report_heading.setWordWrap(True)
        self.report = QPlainTextEdit()
        self.report.setObjectName("import_report")
        self.report.setReadOnly(True)  # selectable and copyable, every place listed
        self.report.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.report.setMinimumHeight(140)
        for widget in (self.report_heading, self.report):
            widget.hide()
            layout.addWidget(widget)
        self.busy_label = QLabel(BUSY_TEXT)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # busy: how long tracing takes is not known
        self.busy_bar.setTextVisible(False)
        for widget in (self.busy_label, self.busy_bar):
            widget.hide()
            layout.addWidget(widget)

    def _build_buttons(self, layout: QVBoxLayout) -> None:
        layout.addStretch(1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton(
            "Import", QDialogButtonBox.ButtonRole.AcceptRole)
        # Return imports when it can and never cancels (a disabled default is dropped by Qt)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAutoDefault(False)
        self.buttons.accepted.connect(self._on_import_clicked)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _restore(self) -> None:
        self.source.setText(str(self.settings.value(f"import/{self.kind}/source", "") or ""))
        self.shape.setText(str(self.settings.value(f"import/{self.kind}/shape", "") or ""))
        self._list_names(str(self.settings.value(f"import/{self.kind}/name", "") or ""))

    # -- the fields ----------------------------------------------------------------------------
    def _on_browse_clicked(self) -> None:
        start = Path(self.source.text().strip()).parent if self.source.text().strip() \
            else Path(str(self.settings.value(FOLDER_KEY, "") or Path.home()))
        wanted = ("Python files (*.py)" if self.kind == PYTORCH else "ONNX models (*.onnx)")
        path, _ = QFileDialog.getOpenFileName(self, self.windowTitle(), str(start),
                                              f"{wanted};;All files (*)")
        if path:
            self.source.setText(path)
            self.settings.setValue(FOLDER_KEY, str(Path(path).parent))
            self._on_source_editing_finished()

    def _on_source_editing_finished(self) -> None:
        source, name = split_spec(self.source.text())
        if name and self.kind == PYTORCH:
            self.source.setText(source)
        self._list_names(name or self.name.currentText())

    def _list_names(self, wanted: str) -> None:
        """Fill the NAME list from the file (read, not run), keeping `wanted` if typed."""
        if self.kind != PYTORCH:
            return
        text = self.source.text().strip()
        names: tuple[str, ...] = ()
        if not text:
            hint = ""
        elif is_module_spec(text):
            hint = "Type the NAME: a class or function of that module (it is not listed)"
        elif not Path(text).is_file():
            hint = f"There is no file {text}"
        else:
            found = model_names(Path(text))
            names = found.all
            hint = found.problem or _found_text(found.classes, found.functions)
            if wanted not in names:
                wanted = found.suggested or wanted
        self.name.blockSignals(True)
        self.name.clear()
        self.name.addItems(list(names))
        self.name.blockSignals(False)
        self.name.setCurrentText(wanted)
        self.name_hint.setText(hint)
        self._grow_to_fit()
        self._update_import_button()

    def _on_shape_text_changed(self, _text: str) -> None:
        self._shape_value()
        self._update_import_button()

    def _shape_value(self) -> tuple[int, ...] | None | bool:
        """The typed shape, None when left empty, False when it is not a shape (said under
        the field)."""
        text = self.shape.text().strip()
        if not text:
            self._say_shape("" if self.kind == ONNX else SHAPE_NEEDED)
            return None
        try:
            shape = read_sample_shape(text)
        except ShapeTextError as err:
            self._say_shape(str(err), error=True)
            return False
        self._say_shape("")
        return shape

    def _say_shape(self, text: str, error: bool = False) -> None:
        self.shape_hint.setText(text)
        self.shape_hint.setProperty("error", error)
        self._on_theme_changed(current())
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        """Each hint as tall as its wrapped lines at the fields' width (the form layout would
        guess), and the dialog taller when they need more room (never narrower). A hint keeps
        two lines' room, said or empty, so that the Import button stays where it was as hints
        come and go under the user's typing (a moving button takes the click elsewhere)."""
        width = self.shape.width()
        room = 2 * self.shape_hint.fontMetrics().lineSpacing()
        for label in (self.name_hint, self.shape_hint):
            label.setFixedHeight(max(room, label.heightForWidth(width) if label.text() else 0))
        needed = self.layout().totalSizeHint().height()
        if needed > self.height():
            self.resize(self.width(), needed)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._grow_to_fit()

    def _update_import_button(self) -> None:
        shape = self._shape_value()
        ready = bool(self.source.text().strip()) and (
            shape is not False if self.kind == ONNX
            else shape not in (None, False) and bool(self.name.currentText().strip()))
        self.import_button.setEnabled(ready and not self.runner.busy)
        self.import_button.setDefault(self.import_button.isEnabled())

    def _on_theme_changed(self, theme: Theme) -> None:
        self.name_hint.setStyleSheet(f"color: {theme.muted};")
        color = theme.error if self.shape_hint.property("error") else theme.muted
        self.shape_hint.setStyleSheet(f"color: {color};")
        self.report_heading.setStyleSheet(f"color: {theme.error};")

    # -- importing -----------------------------------------------------------------------------
    def job(self) -> ImportJob | None:
        """What the fields ask for, or None when they are not ready."""
        shape = self._shape_value()
        text = self.source.text().strip()
        if not text or shape is False:
            return None
        if self.kind == ONNX:
            return ImportJob(ONNX, text, shape, new_weights_path(Path(text).stem))
        name = self.name.currentText().strip()
        if not name or shape is None:  # PyTorch models never say their input's shape
            return None
        return ImportJob(PYTORCH, f"{text}:{name}", shape, new_weights_path(name))

    def _on_import_clicked(self) -> None:
        job = self.job()
        if job is None or self.runner.busy:
            return
        for key, value in (("source", self.source.text().strip()),
                           ("name", self.name.currentText().strip()),
                           ("shape", self.shape.text().strip())):
            self.settings.setValue(f"import/{self.kind}/{key}", value)
        self.runner.start(job)
        self._set_busy(True)

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.source, self.browse, self.name, self.shape):
            widget.setEnabled(not busy)
        self.busy_label.setVisible(busy)
        self.busy_bar.setVisible(busy)
        if busy:
            self.report_heading.hide()
            self.report.hide()
        self._update_import_button()

    def _on_runner_finished(self, outcome: ImportOutcome) -> None:
        if not self.isVisible():
            return
        self._set_busy(False)
        if outcome.ok:
            self.imported.emit(outcome)
        else:
            self.show_report(outcome.report)

    def show_report(self, text: str, heading: str | None = None) -> None:
        """Say why nothing was imported, in full; the fields stay as they were, to fix."""
        self.report_heading.setText(heading or NOT_IMPORTED[self.kind])
        self.report.setPlainText(text)
        self.report_heading.show()
        self.report.show()
        self._grow_to_fit()

    def reject(self) -> None:
        """Cancel (or Esc) closes at once, even mid-import: that import is dropped."""
        if self.runner.busy:
            self.runner.cancel()
        super().reject()


def _hint_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return label


def _found_text(classes: tuple[str, ...], functions: tuple[str, ...]) -> str:
    if not classes and not functions:
        return "No nn.Module subclass or function found in the file; type the NAME"
    parts = []
    if classes:
        parts.append(f"{len(classes)} nn.Module subclass{'es' * (len(classes) != 1)}")
    if functions:
        parts.append(f"{len(functions)} function{'s' * (len(functions) != 1)}")
    return f"Found {' and '.join(parts)} in the file (read, not run)"
