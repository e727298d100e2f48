"""Choosing and previewing the training data: the background loader and its cache (digits,
MNIST from a folder, a missing MNIST, a download from a local server with progress and a stop,
a bad CSV), and the data panel (choices emit `changed`, set_source does not, the preview, the
fit, the download and retry flows, locking)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QWidget

from dlbuilder.backend.datasets import Dataset, Split
from dlbuilder.backend.datasets.builtin import IDX_FILES
from dlbuilder.backend.datasets.idx import write_idx
from dlbuilder.backend.fit import Fit
from dlbuilder.gui.look.theme import DARK, LIGHT, current, theme_manager
from dlbuilder.gui.training.data_panel import DataPanel
from dlbuilder.gui.training.dataset_loader import (
    CACHE_SIZE,
    DatasetLoader,
    cached_dataset,
    dataset_key,
    describe,
    forget_cached,
    load_cached,
    progress_text,
)
from dlbuilder.gui.training.samples_view import THUMB, thumbnail, to_qimage

WAIT_MS = 10_000


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    forget_cached()  # each test gets its own download cache folder, so its own arrays too
    yield
    forget_cached()


@pytest.fixture
def loader(qtbot) -> DatasetLoader:
    return DatasetLoader()


@pytest.fixture
def panel(qtbot) -> DataPanel:
    widget = DataPanel()
    qtbot.addWidget(widget)
    widget.resize(360, 400)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def write_csv(path: Path, rows: str) -> Path:
    path.write_text("a,b,label\n" + rows, encoding="utf-8")
    return path


# -- a local download server --------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    """Serves files from server.root; the file named server.slow is sent in two halves with a
    wait for server.gate between them, so a test can act while a download is under way."""

    server: Any

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        path = self.server.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404, "Not Found")
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        half = len(data) // 2 if path.name == self.server.slow else len(data)
        try:
            self.wfile.write(data[:half])
            self.wfile.flush()
            if half < len(data):
                self.server.gate.wait(WAIT_MS / 1000)
                self.wfile.write(data[half:])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped
        self.close_connection = True


@pytest.fixture
def served_mnist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A local server holding small MNIST-like files, named in $DLBUILDER_DOWNLOADS."""
    root = tmp_path / "served"
    root.mkdir()
    rng = np.random.default_rng(0)
    arrays = (rng.integers(0, 256, (300, 28, 28), dtype=np.uint8), np.arange(300) % 10,
              rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), np.arange(20) % 10)
    for stem, array in zip(IDX_FILES, arrays, strict=True):
        write_idx(root / f"{stem}.gz", np.asarray(array, dtype=np.uint8))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.root, httpd.slow, httpd.gate = root, None, threading.Event()  # type: ignore
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    files = {p.name: {"size": p.stat().st_size, "md5": hashlib.md5(p.read_bytes()).hexdigest()}
             for p in sorted(root.iterdir())}
    table = tmp_path / "downloads.json"
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    table.write_text(json.dumps({"mnist": {"mirrors": [url], "files": files}}))
    monkeypatch.setenv("DLBUILDER_DOWNLOADS", str(table))
    try:
        yield httpd
    finally:
        httpd.gate.set()  # type: ignore[attr-defined]
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# -- the loader ---------------------------------------------------------------------------------
def test_keys_name_distinct_data(tmp_path: Path) -> None:
    assert dataset_key("digits", "/anywhere") == "digits"
    assert dataset_key("MNIST", None) == "mnist"
    assert dataset_key("mnist", str(tmp_path)) == f"mnist@{tmp_path}"
    assert dataset_key(str(tmp_path / "x.csv"), str(tmp_path)) == str(tmp_path / "x.csv")


def test_digits_load_and_are_cached(qtbot, loader: DatasetLoader) -> None:
    with qtbot.waitSignal(loader.loaded, timeout=WAIT_MS) as blocker:
        assert loader.request("digits", None) == "digits"
    key, data = blocker.args
    assert key == "digits" and data.name == "digits" and len(data.train) == 1797
    assert loader.cached("digits", None) is data
    answers: list[Dataset] = []
    loader.loaded.connect(lambda _key, found: answers.append(found))
    loader.request("digits", None)
    assert answers == []  # never inside request, even from the cache
    qtbot.waitUntil(lambda: answers == [data], timeout=WAIT_MS)


def test_missing_mnist_is_reported_not_downloaded(qtbot, loader: DatasetLoader,
                                                  offline_cache: Path) -> None:
    with qtbot.waitSignal(loader.missing, timeout=WAIT_MS) as blocker:
        loader.request("mnist", None)
    assert blocker.args[0] == "mnist"
    assert blocker.args[1].startswith("MNIST is not on this computer yet")
    assert not offline_cache.exists()  # nothing was fetched


def test_mnist_from_a_data_folder(qtbot, loader: DatasetLoader, mnist_dir: Path) -> None:
    with qtbot.waitSignal(loader.loaded, timeout=30_000) as blocker:
        key = loader.request("mnist", str(mnist_dir))
    assert blocker.args[0] == key == f"mnist@{mnist_dir}"
    data = blocker.args[1]
    assert data.sample_shape == (1, 28, 28) and len(data.train) == 60000
    assert loader.cached("mnist", str(mnist_dir)) is data and loader.cached("mnist", None) is None


def test_download_from_a_local_server_reports_progress(qtbot, loader: DatasetLoader,
                                                       served_mnist: Any,
                                                       offline_cache: Path) -> None:
    with qtbot.waitSignal(loader.missing, timeout=WAIT_MS) as blocker:
        loader.request("mnist", None)
    assert "kB to download" in blocker.args[1]  # the size comes from the download table
    reports: list[tuple] = []
    loader.progressed.connect(lambda *args: reports.append(args))
    with qtbot.waitSignal(loader.loaded, timeout=WAIT_MS) as blocker:
        loader.request("mnist", None, download=True)
    assert len(blocker.args[1].train) == 300
    for path in served_mnist.root.iterdir():
        size = path.stat().st_size
        assert ("mnist", path.name, size, size) in reports
        assert (offline_cache / "mnist" / path.name).read_bytes() == path.read_bytes()


def test_a_download_can_be_stopped_and_keeps_its_part(qtbot, loader: DatasetLoader,
                                                      served_mnist: Any,
                                                      offline_cache: Path) -> None:
    served_mnist.slow = "train-images-idx3-ubyte.gz"
    with qtbot.waitSignal(loader.progressed, timeout=WAIT_MS,
                          check_params_cb=lambda *a: a[1] == served_mnist.slow):
        key = loader.request("mnist", None, download=True)
    assert loader.is_loading(key)
    with qtbot.waitSignal(loader.failed, timeout=WAIT_MS) as blocker:
        loader.cancel(key)
        served_mnist.gate.set()
    assert blocker.args[0] == "mnist" and "was stopped" in blocker.args[1]
    assert (offline_cache / "mnist" / f"{served_mnist.slow}.part").is_file()
    assert not loader.is_loading(key)


def test_a_bad_csv_fails_with_the_datasets_message(qtbot, loader: DatasetLoader,
                                                   tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", "1,2,cat\n3,abc,dog\n")
    with qtbot.waitSignal(loader.failed, timeout=WAIT_MS) as blocker:
        loader.request(str(bad), None)
    assert blocker.args[0] == str(bad)
    assert "bad.csv" in blocker.args[1] and "'abc' is not a number" in blocker.args[1]


def test_the_cache_keeps_a_few_and_notices_changed_files(tmp_path: Path) -> None:
    files = [write_csv(tmp_path / f"t{i}.csv", f"{i},1,a\n2,2,b\n") for i in range(CACHE_SIZE + 1)]
    first = load_cached(str(files[0]), None)
    assert cached_dataset(str(files[0]), None) is first
    for path in files[1:]:
        load_cached(str(path), None)
    assert cached_dataset(str(files[0]), None) is None  # the oldest went
    assert cached_dataset(str(files[-1]), None) is not None
    write_csv(files[-1], "5,5,a\n6,6,b\n7,7,c\n")
    assert cached_dataset(str(files[-1]), None) is None  # edited on disk: read again


# -- the panel's pieces -------------------------------------------------------------------------
def test_images_are_scaled_to_bytes_and_channel_first_is_rgb() -> None:
    digits = to_qimage(np.array([[[0, 8], [16, 16]]], dtype=np.uint8), 16.0)
    assert (digits.width(), digits.height()) == (2, 2)
    assert [digits.pixelColor(x, 0).red() for x in (0, 1)] == [0, 128]
    assert digits.pixelColor(0, 1).red() == 255
    rgb = np.zeros((3, 1, 1), dtype=np.uint8)
    rgb[0], rgb[2] = 200, 50
    color = to_qimage(rgb, 255.0).pixelColor(0, 0)
    assert (color.red(), color.green(), color.blue()) == (200, 0, 50)


def test_thumbnails_enlarge_by_whole_factors_and_shrink_to_fit() -> None:
    eight = to_qimage(np.arange(64, dtype=np.uint8).reshape(1, 8, 8), 255.0)
    big = thumbnail(eight)
    assert (big.width(), big.height()) == (THUMB, THUMB)
    factor = THUMB // 8
    assert all(big.pixelColor(x, y) == eight.pixelColor(x // factor, y // factor)
               for x in range(THUMB) for y in range(THUMB))  # nearest: pixels stay squares
    mnist = to_qimage(np.zeros((28, 28), dtype=np.uint8), 255.0)
    assert (thumbnail(mnist).width(), thumbnail(mnist).height()) == (28, 28)
    photo = to_qimage(np.zeros((3, 60, 90), dtype=np.uint8), 255.0)
    assert (thumbnail(photo).width(), thumbnail(photo).height()) == (THUMB, 21)


def test_descriptions_and_progress_read_as_sentences() -> None:
    x = np.zeros((3, 4), dtype=np.float32)
    table = Dataset(name="t.csv", sample_shape=(4,), classes=("a", "b"),
                    train=Split(x=x, y=np.array([0, 1, 0])), test=Split(x=x[:1], y=np.zeros(1,
                    dtype=np.int64)), scale=1.0, kind="features", source="t.csv")
    assert describe(table) == "4 features · 2 classes · 3 train / 1 test"
    assert (progress_text("mnist", "train-images-idx3-ubyte.gz", 3_200_000, 9_912_422)
            == "mnist: train-images-idx3-ubyte.gz 3.2 / 9.9 MB")
    assert progress_text("mnist", "t10k-labels-idx1-ubyte.gz", 0, 4542).endswith("0 / 5 kB")


# -- the panel ----------------------------------------------------------------------------------
def load_into(qtbot, panel: DataPanel, dataset: str, data_dir: str | None = None) -> None:
    with qtbot.waitSignal(panel.loaded_changed, timeout=30_000,
                          check_params_cb=lambda data: data is not None):
        panel.set_source(dataset, data_dir)


def test_set_source_shows_digits_quietly_with_a_preview(qtbot, panel: DataPanel) -> None:
    with qtbot.assertNotEmitted(panel.changed):
        load_into(qtbot, panel, "digits")
    assert panel.combo.currentData() == "digits"
    assert panel.dataset() is not None and panel.dataset().name == "digits"
    samples = panel.samples.samples
    assert [name for _, name in samples] == [str(i) for i in range(10)]
    assert all((image.width(), image.height()) == (8, 8) for image, _ in samples)
    preview = panel.samples
    assert preview.isVisibleTo(panel)
    one_row = preview.heightForWidth(360)  # ten side by side in the dock's column
    assert THUMB < one_row < 2 * THUMB
    assert preview.cell_rect(9, 360).top() == 0 and preview.cell_rect(9, 360).right() < 360
    assert preview.heightForWidth(200) > 2 * THUMB  # narrower: two rows of five
    assert preview.cell_rect(5, 200).left() == 0 and preview.cell_rect(4, 200).top() == 0
    assert preview.index_at(preview.cell_rect(3, preview.width()).center()) == 3
    assert panel.description_label.text() == (
        "1×8×8 images · 10 classes · 1,797 train / no test split")
    assert not panel.folder_row.isVisibleTo(panel)  # digits needs no folder


def test_choosing_mnist_emits_changed_and_offers_the_download(qtbot, panel: DataPanel) -> None:
    load_into(qtbot, panel, "digits")
    panel.combo.setFocus()
    with qtbot.waitSignal(panel.changed) as changed, \
            qtbot.waitSignal(panel.loaded_changed) as unloaded:
        qtbot.keyClick(panel.combo, Qt.Key.Key_Down)  # Digits -> MNIST
    assert changed.args == [{"dataset": "mnist", "data_dir": None}]
    assert unloaded.args == [None] and panel.dataset() is None
    qtbot.waitUntil(lambda: panel.action_button.isVisibleTo(panel), timeout=WAIT_MS)
    assert panel.status_label.text().startswith("MNIST is not on this computer yet")
    assert panel.action_button.text() == "Download"
    assert panel.folder_row.isVisibleTo(panel)


def test_the_download_button_downloads_with_progress(qtbot, panel: DataPanel,
                                                     served_mnist: Any) -> None:
    panel.set_source("mnist", None)
    qtbot.waitUntil(lambda: panel.action_button.isVisibleTo(panel), timeout=WAIT_MS)
    served_mnist.slow = "train-images-idx3-ubyte.gz"
    qtbot.mouseClick(panel.action_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "train-images" in panel.status_label.text(), timeout=WAIT_MS)
    assert panel.progress.isVisibleTo(panel) and panel.stop_button.isVisibleTo(panel)
    assert panel.status_label.text().startswith("mnist: train-images-idx3-ubyte.gz ")
    with qtbot.waitSignal(panel.loaded_changed, timeout=WAIT_MS) as arrived:
        served_mnist.gate.set()
    assert len(arrived.args[0].train) == 300
    assert not panel.status_label.isVisibleTo(panel) and len(panel.samples.samples) == 10


def test_a_failure_shows_the_message_and_retry_reads_again(qtbot, panel: DataPanel,
                                                            tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", "1,2,cat\n3,abc,dog\n")
    panel.set_source(str(bad), None)
    qtbot.waitUntil(lambda: panel.action_button.isVisibleTo(panel), timeout=WAIT_MS)
    assert "'abc' is not a number" in panel.status_label.text()
    assert current().error in panel.status_label.styleSheet()
    assert panel.action_button.text() == "Retry" and panel.combo.currentText() == "bad.csv"
    write_csv(bad, "1,2,cat\n3,4,dog\n")
    with qtbot.waitSignal(panel.loaded_changed, timeout=WAIT_MS):
        qtbot.mouseClick(panel.action_button, Qt.MouseButton.LeftButton)
    assert panel.features_label.isVisibleTo(panel) and "→ cat" in panel.features_label.text()
    assert panel.description_label.text() == "2 features · 2 classes · 2 train / no test split"


def grid_row(panel: DataPanel, label: QWidget) -> int:
    return panel.facts.getItemPosition(panel.facts.indexOf(label))[0]


def test_show_fit_says_fits_or_lists_the_problems(qtbot, panel: DataPanel) -> None:
    load_into(qtbot, panel, "digits")
    panel.set_input_shape((1, 28, 28))
    assert panel.input_label.text() == "Graph input: 1×28×28"
    panel.show_fit(Fit(("Input is 1x28x28 but digits images are 1x8x8",)))
    assert panel.fit_label.isVisibleTo(panel)
    assert panel.fit_label.text() == "• Input is 1x28x28 but digits images are 1x8x8"
    assert current().error in panel.fit_label.styleSheet()
    # problems: below the input, full width
    assert grid_row(panel, panel.fit_label) > grid_row(panel, panel.input_label)
    panel.show_fit(Fit())
    assert panel.fit_label.text() == "Fits the graph ✓"
    # fits: beside the input
    assert grid_row(panel, panel.fit_label) == grid_row(panel, panel.input_label)
    assert current().success in panel.fit_label.styleSheet()
    before = theme_manager().choice
    try:
        theme_manager().apply("dark")
        assert DARK.success in panel.fit_label.styleSheet()
        theme_manager().apply("light")
        assert LIGHT.success in panel.fit_label.styleSheet()
    finally:
        theme_manager().apply(before)
    panel.set_input_shape(None)
    assert panel.input_label.text() == "The graph has no Input node"


def test_own_files_and_data_folders_come_from_dialogs(qtbot, panel: DataPanel, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    table = write_csv(tmp_path / "table.csv", "1,2,a\n3,4,b\n")
    answers = iter([(str(table), ""), ("", "")])
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: next(answers))
    emitted: list[dict] = []
    panel.changed.connect(emitted.append)
    ask_file = panel.combo.count() - 1
    panel.combo.setCurrentIndex(ask_file)
    panel.combo.activated.emit(ask_file)  # what picking "CSV or NPZ file…" sends
    assert emitted == [{"dataset": str(table), "data_dir": None}]
    assert panel.combo.currentText() == "table.csv"
    panel.combo.setCurrentIndex(panel.combo.count() - 1)
    panel.combo.activated.emit(panel.combo.count() - 1)  # this time the dialog is cancelled
    assert len(emitted) == 1 and panel.combo.currentText() == "table.csv"
    panel.set_source("mnist", None)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    qtbot.mouseClick(panel.folder_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    assert emitted[1:] == [{"dataset": "mnist", "data_dir": str(tmp_path)},
                           {"dataset": "mnist", "data_dir": None}]
    assert panel.combo.findText("table.csv") == -1  # the own item went with the choice


def test_locked_panel_offers_no_choice(qtbot, panel: DataPanel) -> None:
    panel.set_source("mnist", None)
    qtbot.waitUntil(lambda: panel.action_button.isVisibleTo(panel), timeout=WAIT_MS)
    panel.set_locked(True)
    assert not panel.combo.isEnabled() and not panel.folder_row.isEnabled()
    assert not panel.action_button.isEnabled()
    panel.set_locked(False)
    assert panel.combo.isEnabled() and panel.action_button.isEnabled()
    for widget in (panel.combo, panel.folder_edit, panel.folder_button, panel.clear_button,
                   panel.action_button, panel.stop_button, panel.progress):
        assert widget.toolTip()


def test_a_dataset_that_is_not_text_is_shown_not_loaded(qtbot, panel: DataPanel) -> None:
    with qtbot.assertNotEmitted(panel.changed):
        panel.set_source(5, None)  # type: ignore[arg-type]  # a bad file section
    assert "neither a dataset name nor a path" in panel.status_label.text()
    assert panel.combo.currentText() == "5" and panel.dataset() is None


def test_a_fit_the_graph_errors_hide_is_said_unknown(qtbot, panel: DataPanel) -> None:
    load_into(qtbot, panel, "digits")
    panel.show_fit(Fit((), "Whether the data fits the output shows once the graph's errors "
                           "are fixed"))
    assert "Fits the graph" not in panel.fit_label.text()
    assert "once the graph's errors are fixed" in panel.fit_label.text()
    assert current().muted in panel.fit_label.styleSheet()
