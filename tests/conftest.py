"""Shared test set-up: Qt offscreen, hypothesis's profiles, no network and no real cache, the
shared datasets folder, small helpers."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import shiboken6
from hypothesis import settings as hypothesis_settings
from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QApplication

QStandardPaths.setTestModeEnabled(True)  # GUI tests never touch real settings, logs, recovery

# Hypothesis: $HYPOTHESIS_PROFILE=full (CI, .ci/run) runs each property test's full count;
# the everyday default, fast, runs a twentieth of it. A test asks for `examples(full_count)`.
FULL_PROFILE = hypothesis_settings(max_examples=100, print_blob=True)
hypothesis_settings.register_profile("full", FULL_PROFILE)
hypothesis_settings.register_profile("fast", max_examples=FULL_PROFILE.max_examples // 20)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


def examples(full: int) -> int:
    """How many examples a property test runs: `full` under the full profile, the loaded
    profile's share of it otherwise (at least one)."""
    share = hypothesis_settings.default.max_examples / FULL_PROFILE.max_examples
    return max(1, round(full * share))

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--refresh-golden", action="store_true",
                     help="rewrite the golden files (generated code) instead of comparing")


@pytest.fixture
def refresh_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--refresh-golden"))


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def offline_cache(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test may reach the internet or the real cache: each gets its own cache folder and a
    download table whose only mirror is a closed local port (tests that download pass their
    own table, or point $DLBUILDER_DOWNLOADS at one). Both live outside the test's tmp_path,
    which stays the test's own."""
    home = tmp_path_factory.mktemp("offline")
    cache = home / "cache"
    monkeypatch.setenv("DLBUILDER_CACHE_DIR", str(cache))
    nowhere = f"http://127.0.0.1:{closed_port()}/"
    entry = {"mirrors": [nowhere], "files": {"none.gz": {"md5": "0" * 32, "size": 1}}}
    table = home / "offline-downloads.json"
    table.write_text(json.dumps(dict.fromkeys(("mnist", "fashion-mnist", "cifar10"), entry)))
    monkeypatch.setenv("DLBUILDER_DOWNLOADS", str(table))
    return cache


@pytest.fixture(autouse=True)
def no_unanswered_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A modal question nobody answers would hang the run offscreen (CI's whole budget): it
    fails the test instead. A test that expects a question patches it with its answer."""
    from PySide6.QtWidgets import QMessageBox

    def unanswered(_parent: object, title: str, text: str, *_args: object) -> None:
        raise AssertionError(f"a dialog nobody answers: {title!r}: {text!r}")

    for name in ("question", "warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(unanswered))


@pytest.fixture
def mnist_dir() -> Path:
    folder = SHARED / "datasets" / "mnist"
    if not (folder / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST is not in {folder} (../shared is missing on this machine)")
    return folder


# -- the editor ---------------------------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def empty_clipboard_at_exit():
    """Qt's offscreen platform (6.11) crashes at exit if the clipboard still holds data that a
    test copied; the xcb platform does not. Empty it once the tests are done."""
    yield
    app = QApplication.instance()
    if app is not None:
        QApplication.clipboard().clear()


@pytest.fixture(scope="session")
def gui_collector(qapp):
    """As in the app, cyclic garbage is collected in the GUI thread only (gui/collector.py)."""
    from dlbuilder.gui.collector import install_collector

    return install_collector(qapp)


@pytest.fixture(autouse=True)
def collect_in_the_gui_thread(gui_collector):
    """Between tests too, so the garbage of one test's windows is freed here, not in a thread
    of the next."""
    yield
    gui_collector.check()


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, settings: QSettings, tmp_path: Path):
    """A MainWindow factory: `make_window(graph=None, example="digits_cnn")`."""
    from dlbuilder.gui.document import Document
    from dlbuilder.gui.window.main_window import MainWindow
    from dlbuilder.gui.window.recovery import RecoveryStore
    from dlbuilder.resources import examples_dir

    made = []

    def make(graph=None, example: str | None = "digits_cnn", recovery_dir: Path | None = None):
        store = RecoveryStore(recovery_dir or tmp_path / "recovery")
        window = MainWindow(Document(graph), settings, store)
        if graph is None and example is not None:
            assert window.files.open(examples_dir() / f"{example}.json", ask=False)
        window.resize(1600, 1000)
        window.show()
        qtbot.waitExposed(window)
        QApplication.processEvents()  # the panels' coalesced refreshes
        made.append(window)
        return window

    yield make
    from dlbuilder.gui.app import delete_window

    for window in made:  # closed here, not by qtbot, so that no unsaved-changes prompt waits
        if not shiboken6.isValid(window):  # the test deleted it
            continue
        window.doc.undo_stack.setClean()
        window.close()
        # deleted now, while every Python object of theirs lives (as the app does at its
        # exit), not later by whichever collection or event loop comes first
        delete_window(QApplication.instance(), window)


@pytest.fixture
def make_inspector(qtbot):
    """`make_inspector("lenet5")`: a Document on the example and an InspectorPanel over it,
    shown at the width of the window's dock and settled."""
    from gui_helpers import settle
    from helpers import example_graph

    from dlbuilder.gui.document import Document
    from dlbuilder.gui.panels.inspector import InspectorPanel

    def make(example: str):
        doc = Document(example_graph(example))
        panel = InspectorPanel(doc)
        qtbot.addWidget(panel)
        panel.resize(340, 900)
        panel.show()
        settle()
        return doc, panel
    return make


@pytest.fixture
def make_view(qtbot):
    """A CanvasView factory over a Document of `graph`, 1000x700 and fitted."""
    from dlbuilder.gui.canvas import CanvasView, GraphScene
    from dlbuilder.gui.document import Document

    def make(graph):
        doc = Document(graph)
        view = CanvasView(GraphScene(doc))
        qtbot.addWidget(view)
        view.resize(1000, 700)
        view.show()
        QApplication.processEvents()
        view.fit()
        return view
    yield make
