"""The graph as PyTorch code, live: what `dlbuilder export` would write, shown as it is built.

The text comes from backend/codegen.py (torch-free), regenerated a moment after the edits stop
so a burst of changes costs one generation. A graph with errors has no code; the panel says
which problems stand in the way, each a link to its node, instead of raising.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QTextOption
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.backend.codegen import export_code
from dlbuilder.backend.names import identifier_from
from dlbuilder.backend.plan import CompileError
from dlbuilder.core.changes import Change
from dlbuilder.core.diagnostics import Diagnostic
from dlbuilder.core.fileformat import write_atomic
from dlbuilder.gui.document import Document
from dlbuilder.gui.export.export_folder import export_folder, remember_export_folder
from dlbuilder.gui.look.icons import icon
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.widgets.highlighter import PythonHighlighter

CLASS_NAME = "Net"          # the same default as `dlbuilder export --class-name`
DEBOUNCE_MS = 150
MAX_LISTED = 8              # problems listed in the banner; the Problems tab has them all
BANNER_TITLE = "The code cannot be generated until these problems are fixed:"
BANNER_HINT = "Click a layer to show it; the Problems tab offers one-click fixes."


def default_file_name(graph_name: str) -> str:
    """`resnet_cifar.py` for the graph "resnet_cifar": a file name that is also a module name."""
    return identifier_from(graph_name, "model") + ".py"


class CodePanel(QWidget):
    """Read-only, highlighted PyTorch code of the open graph, with Copy and Export…"""

    exported = Signal(object)   # the Path written by Export…
    code_changed = Signal()     # after the shown text (or the problems banner) changed

    def __init__(self, doc: Document, parent: QWidget | None = None,
                 settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.settings = settings if settings is not None else QSettings()  # the export folder
        self._code: str | None = None
        self._problems: list[Diagnostic] = []
        self._failure = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh)
        self._build()
        doc.changed.connect(self._on_doc_changed)
        doc.path_changed.connect(self._on_doc_path_changed)  # Save As may name the graph
        theme_manager().changed.connect(self._on_theme_changed)
        self._on_theme_changed(current())
        self.refresh()

    # -- construction --------------------------------------------------------------------------
    def _build(self) -> None:
        self.copy_button = QPushButton("Copy")
        self.copy_button.setIcon(icon("copy"))
        self.copy_button.setToolTip("Copy the whole file to the clipboard")
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.export_button = QPushButton("Export…")
        self.export_button.setIcon(icon("export"))
        self.export_button.setToolTip("Save this code as a Python file (the same as "
                                      "`dlbuilder export GRAPH -o FILE.py`)")
        self.export_button.clicked.connect(self.export_dialog)
        self.status_label = QLabel()
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.export_button)
        bar.addSpacing(8)
        bar.addWidget(self.status_label, 1)

        self.banner = QFrame()
        self.banner.setObjectName("codeBanner")
        self.banner_label = QLabel()
        self.banner_label.setWordWrap(True)
        self.banner_label.setTextFormat(Qt.TextFormat.RichText)
        self.banner_label.linkActivated.connect(self._on_banner_link_activated)
        self.banner_label.setToolTip("Click a layer to show it on the canvas")
        inner = QVBoxLayout(self.banner)
        inner.setContentsMargins(10, 8, 10, 8)
        inner.addWidget(self.banner_label)
        self.banner.hide()

        self.editor = QPlainTextEdit()
        self.editor.setReadOnly(True)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setWordWrapMode(QTextOption.WrapMode.NoWrap)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                            | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.editor.setToolTip("The generated PyTorch code; it follows every edit")
        self.highlighter = PythonHighlighter(self.editor.document(), self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.banner)
        layout.addWidget(self.editor, 1)
        layout.addStretch(0)  # takes the space while the editor is hidden

    # -- public --------------------------------------------------------------------------------
    def code(self) -> str | None:
        """The code shown, or None while the graph has errors."""
        return self._code

    def text(self) -> str:
        return self.editor.toPlainText()

    def refresh(self) -> None:
        """Regenerate now (edits call this after a short pause)."""
        self._timer.stop()
        problems: list[Diagnostic] = []
        failure = ""
        try:
            code: str | None = export_code(self.doc.engine, CLASS_NAME)
        except CompileError as err:
            code, problems = None, err.diagnostics
        except Exception as err:  # noqa: BLE001 - a codegen bug: say so, keep editing
            code, failure = None, f"{type(err).__name__}: {err}"
        self._show(code, problems, failure)

    def copy_to_clipboard(self) -> bool:
        """Put the whole file on the clipboard; False when there is no code to copy."""
        if self._timer.isActive():  # an edit is waiting: copy what the graph is now
            self.refresh()
        if self._code is None:
            self._set_status("There is no code to copy until the problems are fixed.", True)
            return False
        QGuiApplication.clipboard().setText(self._code)
        lines = self._code.count("\n")
        self._set_status(f"Copied {lines} lines to the clipboard.")
        return True

    def suggested_path(self) -> Path:
        """Where Export… proposes to write: named after the graph, in the last export folder,
        else beside the graph file, else in the documents folder (export_folder.py)."""
        folder = export_folder(self.doc.path, self.settings)
        return folder / default_file_name(self.doc.graph.name)

    def export_to(self, path: Path | str) -> bool:
        """Write the current graph's code to `path` atomically; report in the status line.

        The Export… button calls this after its dialog; it never raises.
        """
        target = Path(path)
        self.refresh()  # the graph as it is now, not as it was before a pending edit
        code = self._code
        if code is None:
            self._set_status(f"Not exported: fix the problems first ({target.name}).", True)
            return False
        try:
            write_atomic(target, code)
        except OSError as err:
            self._set_status(f"Cannot write {target}: {err.strerror or err}", True)
            return False
        self._set_status(f"Wrote {target} (class {CLASS_NAME}).")
        self.exported.emit(target)
        return True

    # -- handlers ------------------------------------------------------------------------------
    def _on_doc_changed(self, change: Change) -> None:
        if change.inferred:  # the code does not show where cards are, nor the training
            self._timer.start()

    def _on_doc_path_changed(self, _path: object) -> None:
        self._timer.start()

    def export_dialog(self) -> None:
        """Ask where to write the code (Export… and File ▸ Export PyTorch code)."""
        path, _filter = QFileDialog.getSaveFileName(
            self, "Export PyTorch code", str(self.suggested_path()),
            "Python files (*.py);;All files (*)")
        if not path:
            return
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(".py")
        if self.export_to(target):
            remember_export_folder(target, self.settings)

    def _on_banner_link_activated(self, link: str) -> None:
        index = int(link.removeprefix("node:")) if link.startswith("node:") else -1
        if 0 <= index < len(self._problems) and self._problems[index].node is not None:
            self.doc.focus(self._problems[index].node)

    def _on_theme_changed(self, theme: Theme) -> None:
        self.banner.setStyleSheet(
            f"#codeBanner {{ background: {_tint(theme.error, theme.base)}; "
            f"border: 1px solid {theme.error}; border-radius: 4px; }}")
        self._restyle_status()
        if not self.banner.isHidden():  # the hint is in the muted colour
            self.banner_label.setText(_banner_html(self._problems, self._failure, theme.muted))

    # -- drawing -------------------------------------------------------------------------------
    def _show(self, code: str | None, problems: list[Diagnostic], failure: str) -> None:
        self._code = code
        self._problems = problems
        self._failure = failure
        has_code = code is not None
        self.copy_button.setEnabled(has_code)
        self.export_button.setEnabled(has_code)
        self.editor.setVisible(has_code)
        self.banner.setVisible(not has_code)
        if has_code:
            self._set_text(code)
        else:
            self.banner_label.setText(_banner_html(problems, failure, current().muted))
        self.code_changed.emit()

    def _set_text(self, code: str) -> None:
        """Replace the text, keeping the reader where they were."""
        if code == self.editor.toPlainText():
            return
        vertical = self.editor.verticalScrollBar().value()
        horizontal = self.editor.horizontalScrollBar().value()
        self.editor.setPlainText(code)
        self.editor.verticalScrollBar().setValue(vertical)
        self.editor.horizontalScrollBar().setValue(horizontal)

    def _set_status(self, text: str, failed: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setProperty("failed", failed)
        self.status_label.setToolTip(text)
        self._restyle_status()

    def _restyle_status(self) -> None:
        theme = current()
        failed = bool(self.status_label.property("failed"))
        self.status_label.setStyleSheet(f"color: {theme.error if failed else theme.muted};")


def _tint(color: str, base: str, amount: float = 0.12) -> str:
    """`color` mixed lightly into `base`: a background that reads in both themes."""
    from PySide6.QtGui import QColor

    a, b = QColor(color), QColor(base)
    mix = [round(b.redF() * 255 * (1 - amount) + a.redF() * 255 * amount),
           round(b.greenF() * 255 * (1 - amount) + a.greenF() * 255 * amount),
           round(b.blueF() * 255 * (1 - amount) + a.blueF() * 255 * amount)]
    return "#" + "".join(f"{v:02x}" for v in mix)


def _banner_html(problems: list[Diagnostic], failure: str, muted: str) -> str:
    """The banner's text: the title, then each error with a link to its node."""
    if failure:
        return (f"<b>The code could not be generated (a bug in dlbuilder):</b><br>"
                f"{html.escape(failure)}")
    items = []
    for index, diag in enumerate(problems[:MAX_LISTED]):
        where = "graph"
        if diag.node is not None:  # links carry an index: node ids may hold any character
            where = f'<a href="node:{index}">{html.escape(diag.node)}</a>'
        field = f".{html.escape(diag.field)}" if diag.field else ""
        items.append(f"<li><b>{where}{field}</b>: {html.escape(diag.message)}</li>")
    more = len(problems) - MAX_LISTED
    if more > 0:
        items.append(f"<li>… and {more} more (see the Problems tab)</li>")
    return (f"<b>{html.escape(BANNER_TITLE)}</b><ul style='margin:4px 0 0 -20px'>"
            f"{''.join(items)}</ul><span style='color:{muted}'>{BANNER_HINT}</span>")
