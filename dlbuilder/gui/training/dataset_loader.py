"""Datasets loaded off the GUI thread, a small process-wide cache of the loaded arrays,
and the sentences that describe a dataset.

Parsing MNIST takes about a second and a download takes minutes, so every load runs in a daemon
Python thread. The thread never touches a widget or a loader: it emits on one relay QObject
that lives in the GUI thread for the whole process (so it cannot be deleted under a running
thread), and Qt queues those signals to the loaders, which pass on the ones they asked for.

The cache is keyed by `dataset_key` and keeps the last few datasets, so the data panel's preview
and the training run share one copy of the arrays. A user's file or folder is reloaded when it
changed on disk since it was cached.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal, Slot

from dlbuilder.backend.datasets import Dataset, DatasetError, builtin_name, cache_dir, load_dataset
from dlbuilder.backend.datasets.builtin import missing_idx_files
from dlbuilder.backend.datasets.cifar import has_cifar10
from dlbuilder.backend.datasets.download import remote_for

CACHE_SIZE = 3  # datasets kept; CIFAR-10 alone is ~180 MB of bytes
PROGRESS_EVERY_S = 0.1  # download reports reach the GUI at most this often (and at each end)
TITLES = {"digits": "Digits", "mnist": "MNIST", "fashion-mnist": "Fashion-MNIST",
          "cifar10": "CIFAR-10"}

_lock = threading.Lock()
_cache: OrderedDict[str, tuple[Any, Dataset]] = OrderedDict()  # key -> (disk stamp, dataset)


class DownloadCancelled(Exception):
    """Raised inside the download's progress callback to stop it; the part file is kept."""


# -- keys and the cache (any thread) ------------------------------------------------------------
def dataset_key(dataset: str, data_dir: str | None) -> str:
    """One name per distinct data: `digits`, `mnist` (the cache), `mnist@/data/mnist` (a data
    folder), or the absolute path of the user's file or folder (data_dir does not apply)."""
    builtin = builtin_name(dataset)
    if builtin == "digits":
        return "digits"
    if builtin is not None:
        if not data_dir:
            return builtin
        return f"{builtin}@{Path(data_dir).expanduser().absolute()}"
    return str(Path(dataset).expanduser().absolute())


def dataset_title(dataset: str) -> str:
    """How a dataset is named in sentences: "MNIST", or a path's file name."""
    builtin = builtin_name(dataset)
    if builtin is not None:
        return TITLES[builtin]
    return Path(dataset).expanduser().name or dataset


def _stamp(dataset: str) -> Any:
    """What changes when the user's data changes on disk (built-ins never change): the file's
    size and time, or the times of a folder and its sub-folders two levels down."""
    if builtin_name(dataset) is not None:
        return None
    path = Path(dataset).expanduser()
    try:
        if not path.is_dir():
            info = path.stat()
            return (info.st_size, info.st_mtime_ns)
        stamps = [path.stat().st_mtime_ns]
        for child in sorted(path.iterdir()):
            if child.is_dir():
                stamps.append(child.stat().st_mtime_ns)
                stamps += sorted(g.stat().st_mtime_ns for g in child.iterdir() if g.is_dir())
        return tuple(stamps)
    except OSError:
        return "unreadable"


def cached_dataset(dataset: str, data_dir: str | None) -> Dataset | None:
    """The cached dataset for these settings, if it is there and still matches the disk."""
    key = dataset_key(dataset, data_dir)
    with _lock:
        entry = _cache.get(key)
    if entry is None or entry[0] != _stamp(dataset):
        return None
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
    return entry[1]


def _remember(dataset: str, data_dir: str | None, data: Dataset, stamp: Any) -> None:
    key = dataset_key(dataset, data_dir)
    with _lock:
        _cache[key] = (stamp, data)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def forget_cached() -> None:
    """Empty the cache (tests, or to free the memory)."""
    with _lock:
        _cache.clear()


def load_cached(dataset: str, data_dir: str | None, *, download: bool = False,
                progress: Any = None) -> Dataset:
    """The dataset from the cache, else loaded (blocking; any thread) and cached. Raises
    DatasetError like load_dataset."""
    found = cached_dataset(dataset, data_dir)
    if found is not None:
        return found
    stamp = _stamp(dataset)
    data = load_dataset(dataset, data_dir or None, download=download, progress=progress)
    _remember(dataset, data_dir, data, stamp)
    return data


def missing_sentence(dataset: str, data_dir: str | None) -> str | None:
    """For a built-in that would come from the download cache and is not there yet: a
    sentence saying so with the download's size; else None (nothing to download)."""
    name = builtin_name(dataset)
    if name is None or name == "digits" or data_dir:
        return None
    folder = cache_dir() / name
    present = folder.is_dir() and (has_cifar10(folder) if name == "cifar10"
                                   else not missing_idx_files(folder))
    if present:
        return None
    size = _download_size(name, folder)
    about = f" (about {format_bytes(size)} to download)" if size else ""
    return f"{TITLES[name]} is not on this computer yet{about}."


def _download_size(name: str, folder: Path) -> int | None:
    """Bytes still to fetch: the table's sizes of the files not yet there, less their parts."""
    try:
        remote = remote_for(name)
    except DatasetError:
        return None
    total = 0
    for file in remote.files:
        if file.size is None:
            return None
        if (folder / file.name).is_file():
            continue
        part = folder / f"{file.name}.part"
        total += file.size - (part.stat().st_size if part.is_file() else 0)
    return max(total, 0)


def format_bytes(count: float) -> str:
    """1,234,567 -> "1.2 MB" (decimal units, as download sizes are usually quoted)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            value = count / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{int(count):,} byte{'s' if count != 1 else ''}"


# -- sentences about datasets ------------------------------------------------------------------
def describe(data: Dataset) -> str:
    """"1×8×8 images · 10 classes · 1,797 train / no test split"."""
    if data.kind == "image":
        what = "×".join(str(n) for n in data.sample_shape) + " images"
    else:
        count = int(np.prod(data.sample_shape))
        what = f"{count:,} feature{'s' if count != 1 else ''}"
    test = f"{len(data.test):,} test" if data.test is not None else "no test split"
    return f"{what} · {data.num_classes:,} classes · {len(data.train):,} train / {test}"


def feature_rows(data: Dataset, rows: int = 3, columns: int = 6) -> str:
    """The first rows of a table: a few values each, then the class."""
    lines = []
    for x, y in zip(data.train.x[:rows], data.train.y[:rows], strict=True):
        values = [f"{float(v):>8.4g}" for v in np.ravel(x)[:columns]]
        more = " …" if np.size(x) > columns else ""
        lines.append("".join(values) + more + f"  → {data.classes[int(y)]}")
    return "\n".join(lines)


def progress_text(dataset: str, file_name: str, done: int, total: int | None) -> str:
    """"mnist: train-images-idx3-ubyte.gz 3.2 / 9.9 MB"."""
    name = builtin_name(dataset) or dataset_title(dataset)
    if total:
        return (f"{name}: {file_name} {done / 1e6:.1f} / {total / 1e6:.1f} MB"
                if total >= 1e6 else f"{name}: {file_name} {done / 1e3:.0f} / "
                                     f"{total / 1e3:.0f} kB")
    return f"{name}: {file_name} {format_bytes(done)}"


# -- the relay and the loader (GUI thread) ------------------------------------------------------
class _Relay(QObject):
    """Lives in the GUI thread for the whole process; threads emit on it, never on a loader."""

    delivered = Signal(int, str, object)  # loader id, signal name, arguments


_relay: _Relay | None = None
_ids = itertools.count(1)


def _the_relay() -> _Relay:
    global _relay
    if _relay is None:
        _relay = _Relay()
        app = QCoreApplication.instance()
        if app is not None:
            _relay.moveToThread(app.thread())
    return _relay


class DatasetLoader(QObject):
    """Loads datasets in background threads; answers arrive as signals in the GUI thread."""

    loaded = Signal(str, object)  # key, Dataset
    failed = Signal(str, str)  # key, the DatasetError's message
    missing = Signal(str, str)  # key, "MNIST is not on this computer yet (about 12 MB ...)."
    progressed = Signal(str, str, int, object)  # key, file name, bytes done, total or None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._id = next(_ids)
        self._running: dict[str, threading.Event] = {}  # key -> cancel request
        _the_relay().delivered.connect(self._on_relay_delivered)

    def request(self, dataset: str, data_dir: str | None, *, download: bool = False) -> str:
        """Load `dataset` (data_dir: the built-in's folder, None for the cache) and return its
        key. The answer (loaded, missing or failed) always comes later through the event
        loop, even from the cache; a second request for a key already loading is ignored."""
        key = dataset_key(dataset, data_dir)
        found = cached_dataset(dataset, data_dir)
        if found is not None:
            self._answer_later("loaded", key, found)
            return key
        if key in self._running:
            return key
        if not download:
            sentence = missing_sentence(dataset, data_dir)
            if sentence is not None:
                self._answer_later("missing", key, sentence)
                return key
        cancel = threading.Event()
        self._running[key] = cancel
        thread = threading.Thread(target=self._work, name=f"dataset {key}", daemon=True,
                                  args=(self._id, key, dataset, data_dir, download, cancel))
        thread.start()
        return key

    def cached(self, dataset: str, data_dir: str | None) -> Dataset | None:
        """The loaded dataset if the cache holds it, without loading anything."""
        return cached_dataset(dataset, data_dir)

    def is_loading(self, key: str) -> bool:
        return key in self._running

    def cancel(self, key: str) -> None:
        """Stop a download after its current chunk; the part is kept for the next try."""
        event = self._running.get(key)
        if event is not None:
            event.set()

    # -- the thread ----------------------------------------------------------------------------
    @staticmethod
    def _work(loader: int, key: str, dataset: str, data_dir: str | None, download: bool,
              cancel: threading.Event) -> None:
        relay = _the_relay()  # made by the loader, in the GUI thread
        last = [0.0]

        def progress(name: str, done: int, total: int | None) -> None:
            if cancel.is_set():
                raise DownloadCancelled()
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S or done == 0 or done == total:
                last[0] = now
                relay.delivered.emit(loader, "progressed", (key, name, done, total))

        try:
            data = load_cached(dataset, data_dir, download=download, progress=progress)
        except DownloadCancelled:
            relay.delivered.emit(loader, "failed", (key, _cancelled(dataset)))
        except DatasetError as error:
            relay.delivered.emit(loader, "failed", (key, str(error)))
        except Exception as error:  # noqa: BLE001 - a thread's failure becomes a message
            message = f"could not load {dataset}: {type(error).__name__}: {error}"
            relay.delivered.emit(loader, "failed", (key, message))
        else:
            relay.delivered.emit(loader, "loaded", (key, data))

    # -- GUI thread ----------------------------------------------------------------------------
    @Slot(int, str, object)  # a slot of the loader: the relay's signal comes from other threads
    def _on_relay_delivered(self, loader: int, name: str, args: Any) -> None:
        if loader != self._id:
            return
        if name != "progressed":
            self._running.pop(args[0], None)
        self._answer(name, args)

    def _answer_later(self, name: str, *args: Any) -> None:
        """Answer through the event loop, as an answer from a thread comes (a bound method of
        the loader, not a signal's emit: PySide can crash on a connection to the latter)."""
        QTimer.singleShot(0, self, partial(self._answer, name, args))

    def _answer(self, name: str, args: tuple[Any, ...]) -> None:
        getattr(self, name).emit(*args)


def _cancelled(dataset: str) -> str:
    return (f"The download of {dataset_title(dataset)} was stopped. What arrived is kept in "
            f"{cache_dir() / (builtin_name(dataset) or dataset)}; the next download resumes it.")

