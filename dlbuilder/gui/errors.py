"""What happens to an exception nobody caught: it is written to a log file and shown in a
dialog with the details, and the app goes on. In screenshot mode (no one to click) it is only
logged and printed."""

from __future__ import annotations

import datetime
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from dlbuilder.gui.paths import data_dir


def log_path() -> Path:
    return data_dir() / "dlbuilder.log"


def write_log(text: str) -> Path | None:
    """Append `text` to the log with a time stamp; None when the log cannot be written."""
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as log:
            log.write(f"--- {datetime.datetime.now().isoformat(timespec='seconds')}\n{text}\n")
    except OSError:
        return None
    return path


class ErrorReporter:
    """Installed as sys.excepthook while the GUI runs."""

    def __init__(self, interactive: bool = True) -> None:
        self.interactive = interactive
        self.reported: list[str] = []  # messages shown, for tests
        self._showing = False

    def install(self) -> None:
        sys.excepthook = self.report

    def report(self, kind: type[BaseException], error: BaseException,
               tb: TracebackType | None) -> None:
        details = "".join(traceback.format_exception(kind, error, tb))
        where = write_log(details)
        summary = f"{kind.__name__}: {error}"
        self.reported.append(summary)
        if not self.interactive or self._showing:
            print(f"dlbuilder: unexpected error: {summary}", file=sys.stderr)
            return
        self._show(summary, details, where)

    def _show(self, summary: str, details: str, where: Path | None) -> None:
        self._showing = True  # an error inside the dialog must not open another one
        try:
            box = QMessageBox(_parent())
            box.setIcon(QMessageBox.Icon.Critical)
            box.setWindowTitle("dlbuilder: unexpected error")
            logged = f"It was written to {where}." if where else "It could not be logged."
            box.setText("Something went wrong inside dlbuilder. Your graph is still open and "
                        f"unchanged by the error; saving now is safe.\n\n{summary}")
            box.setInformativeText(f"{logged} Please report it with the details.")
            box.setDetailedText(details)
            box.exec()
        finally:
            self._showing = False


def _parent() -> QWidget | None:
    app = QApplication.instance()
    return app.activeWindow() if isinstance(app, QApplication) else None
