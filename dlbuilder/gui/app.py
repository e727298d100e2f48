"""Starting the editor: the QApplication, the theme, the first graph, the window; and the
screenshot mode, which sizes the window, waits until it has painted, saves it and exits without
ever stopping at a dialog."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QMessageLogContext,
    QObject,
    QSettings,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication

from dlbuilder.core.fileformat import GraphFileError
from dlbuilder.gui.collector import install_collector
from dlbuilder.gui.document import Document
from dlbuilder.gui.errors import ErrorReporter
from dlbuilder.gui.look.theme import THEME_NAMES, theme_manager
from dlbuilder.gui.window.main_window import MainWindow
from dlbuilder.gui.window.recovery import RecoveryStore
from dlbuilder.resources import examples_dir, find_graph_file

START_EXAMPLE = "digits_cnn"
SETTLE_SECONDS = 0.3  # screenshot: events to let the layout and the first paints settle


@dataclass
class GuiOptions:
    file: str | None = None
    screenshot: Path | None = None
    size: tuple[int, int] = (1600, 1000)
    theme: str | None = None


OFFSCREEN_NOTICES = ("This plugin does not support",)  # the offscreen platform's own chatter


def _on_qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    if not message.startswith(OFFSCREEN_NOTICES):
        print(message, file=sys.stderr)


def application() -> QApplication:
    """The one QApplication, named so QSettings and QStandardPaths find our folders."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
            qInstallMessageHandler(_on_qt_message)
        app = QApplication(sys.argv[:1])
    app.setOrganizationName("dlbuilder")
    app.setApplicationName("dlbuilder")
    app.setApplicationDisplayName("dlbuilder")
    install_collector(app)  # cyclic garbage is freed in this thread, never in the training one
    return app


def open_start_graph(window: MainWindow, requested: str | None, settings: QSettings) -> bool:
    """Open the file asked for, else the last one, else the digits example. False when the
    requested file could not be opened (the example is shown instead)."""
    files = window.files
    if requested is not None:
        if files.open(find_graph_file(requested), ask=False):
            return True
        files.open(examples_dir() / f"{START_EXAMPLE}.json", ask=False)
        return False
    last = settings.value("last_file")
    if last and Path(str(last)).is_file() and _opens_quietly(window, Path(str(last))):
        return True
    return files.open(examples_dir() / f"{START_EXAMPLE}.json", ask=False)


def _opens_quietly(window: MainWindow, path: Path) -> bool:
    """The last file, if it still opens; a broken one is skipped without a dialog."""
    try:
        window.doc.open(path)
    except GraphFileError:
        return False
    return True


class _FirstPaintProbe(QObject):
    """Writes when the canvas first painted, and whether torch or pyqtgraph were loaded by then,
    to the file named by $DLBUILDER_FIRST_PAINT_FILE (benchmarks/editor.py and a test)."""

    def __init__(self, target: Path) -> None:
        super().__init__()
        self.target = target
        self.done = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.done:
            self.done = True
            QTimer.singleShot(0, self._stamp)  # runs once this paint has finished
        return False

    def _stamp(self) -> None:
        record = {"time": time.time(),
                  "loaded": {m: m in sys.modules for m in ("torch", "pyqtgraph")}}
        self.target.write_text(json.dumps(record), encoding="utf-8")


def _watch_first_paint(window: MainWindow) -> None:
    target = os.environ.get("DLBUILDER_FIRST_PAINT_FILE")
    if target:
        probe = _FirstPaintProbe(Path(target))
        probe.setParent(window)
        window.view.viewport().installEventFilter(probe)


def run_gui(options: GuiOptions) -> int:
    app = application()
    shooting = options.screenshot is not None
    if shooting:
        # A screenshot must not depend on, or change, the user's saved layout and files.
        scratch = tempfile.TemporaryDirectory(prefix="dlbuilder-shot-")
        settings = QSettings(str(Path(scratch.name) / "settings.ini"), QSettings.Format.IniFormat)
    else:
        settings = QSettings()
    saved = str(settings.value("theme", "system"))
    theme_manager().apply(options.theme or (saved if saved in THEME_NAMES else "system"))
    reporter = ErrorReporter(interactive=not shooting)
    reporter.install()
    recovery = None if shooting else RecoveryStore()
    window = MainWindow(Document(), settings, recovery, interactive=not shooting)
    if shooting:
        window.resize(*options.size)
    opened = open_start_graph(window, options.file, settings)
    if shooting and not opened:
        err = window.files.last_error
        print(f"dlbuilder: {err}" if err else f"dlbuilder: cannot open {options.file}",
              file=sys.stderr)
        return 2
    window.statusBar().clearMessage()  # the canvas hint, not "Opened ...", greets the user
    _watch_first_paint(window)
    window.show()
    window.view.fit()
    if shooting:
        code = _save_screenshot(app, window, options.screenshot)
    else:
        window.offer_recovery()
        code = app.exec()
    delete_window(app, window)
    return code


def _save_screenshot(app: QApplication, window: MainWindow, out: Path) -> int:
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    window.view.fit()
    app.processEvents()
    image = window.grab()
    out = Path(out)
    if out.parent and not out.parent.exists():
        print(f"dlbuilder: the folder {out.parent} does not exist", file=sys.stderr)
        return 2
    if not image.save(str(out)):
        print(f"dlbuilder: cannot write the screenshot to {out} (use .png or .jpg)",
              file=sys.stderr)
        return 2
    print(f"saved {out} ({image.width()}x{image.height()})")
    window.files.shutdown()
    return 0


def delete_window(app: QApplication, window: MainWindow) -> None:
    """Close and delete the window while the application and every Python object of the
    window live. Left to the interpreter's exit (or a cyclic collection), its widgets could
    outlive the application or be destroyed after their Python side: a segmentation fault
    (seen with buttons in the problems list's rows, and with the undo stack). A window the
    user closed is not asked again."""
    if window.isVisible():
        window.close()
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def needs_display_message() -> str | None:
    """Why the window cannot open here, or None. Qt would abort with a plugin error instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("dlbuilder: there is no display to open a window on (DISPLAY and WAYLAND_DISPLAY "
            "are not set).\n"
            "  - on a desktop, start it from a graphical session;\n"
            "  - on a server, run it under a virtual display:  xvfb-run -a dlbuilder\n"
            "  - to save a picture without a display:  dlbuilder FILE --screenshot out.png\n"
            "    or  dlbuilder render FILE -o graph.png")


def use_offscreen_if_headless() -> None:
    """For screenshots and rendering, which need no screen: draw offscreen when there is none."""
    if needs_display_message() is not None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
