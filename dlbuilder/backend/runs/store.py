"""Every training run kept: its graph, settings and curves, in one SQLite file per graph.

Where: `<graph stem>.runs/runs.sqlite` beside a saved graph file (lenet.json -> lenet.runs/),
or `<data dir>/runs/<graph name>/` for a graph never saved. A run's trained weights lie beside
the database as `run-<id>.pt`; the caller writes them, this module only names the path.

Why an embedded SQLite database rather than a folder of JSON files:
- one file per graph, easy to copy or delete along with the graph;
- each run goes in with one transaction, so a crash or a full disk leaves the runs as they
  were before, never a half-written run;
- the runs table is one query over small columns (sortable, fast with hundreds of runs) that
  never reads a curve; curves are read only for the runs a user opens;
- it ships with Python (sqlite3), nothing to install;
- it holds only data (JSON text, numbers and raw float64 arrays): opening a runs file can
  never run code from it, unlike a pickle.

No Qt and no torch. Every failure (a corrupt file, one from a newer dlbuilder, a full disk, a
locked file) comes out as `RunStoreError` naming the file, never as a sqlite3 exception, so the
GUI can show it and go on.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from dlbuilder.backend.runs.history import BATCH_SERIES, RunHistory
from dlbuilder.backend.settings import TrainSettings

DB_NAME = "runs.sqlite"
SCHEMA_VERSION = 1
LABEL_LIMIT = 100  # characters a run's name may have
_TIMEOUT_S = 5.0  # wait this long for another process that holds the file locked
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)}
                      | {f"LPT{i}" for i in range(1, 10)})  # names Windows will not create

_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so run-<id>.pt is never another's
    label TEXT,                            -- the user's name for it; NULL: "run <id>"
    started TEXT NOT NULL,
    graph_name TEXT NOT NULL,
    dataset TEXT NOT NULL,
    params INTEGER,
    epochs_run INTEGER,
    reason TEXT,
    val_accuracy REAL,
    test_accuracy REAL,
    best_val_loss REAL,
    seconds REAL,
    settings TEXT NOT NULL,                -- JSON
    graph TEXT NOT NULL,                   -- JSON: the graph file's dict
    history TEXT NOT NULL                  -- JSON: RunHistory.to_dict() without batch series
);
CREATE TABLE series (                      -- per-batch curves as raw little-endian float64
    run_id INTEGER NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    x BLOB NOT NULL,
    y BLOB NOT NULL,
    PRIMARY KEY (run_id, name)
);
"""
_SUMMARY_COLUMNS = ("id, label, started, graph_name, dataset, params, epochs_run, reason, "
                    "val_accuracy, test_accuracy, best_val_loss, seconds, settings")


def runs_folder(graph_path: Path | None, graph_name: str, data_dir: Path) -> Path:
    """Where a graph's runs are kept: beside its file, or under `data_dir` for an unsaved one
    (the name made into one harmless folder name, so it cannot point outside `data_dir`)."""
    if graph_path is not None:
        return runs_beside(graph_path)
    return Path(data_dir) / "runs" / safe_name(graph_name)


def runs_beside(graph_path: Path) -> Path:
    """The runs of a saved graph: lenet.json -> lenet.runs/ in the same folder, for the app
    and `dlbuilder train` alike."""
    path = Path(graph_path)
    return path.parent / f"{path.stem}.runs"


def unused_graph_name(base: str, data_dir: Path) -> str:
    """`base`, else `base_2`, `base_3`...: the first name whose unsaved-runs folder holds no
    runs. Unsaved graphs keep their runs by name, so a new graph under a used name would show
    an earlier graph's runs, and carry them off to its own file at its first save."""
    name, number = base, 1
    while has_runs(runs_folder(None, name, data_dir)):
        number += 1
        name = f"{base}_{number}"
    return name

def safe_name(name: str) -> str:
    """`name` as a single portable folder name: letters, digits, '.', '_' and '-' only."""
    safe = _SAFE.sub("_", name).strip("._-")[:64].rstrip("._-")
    if not safe:
        return "untitled"
    return f"_{safe}" if safe.split(".")[0].upper() in _RESERVED else safe


class RunStoreError(Exception):
    """The runs file cannot be read or written; the message names the file and says why."""


@dataclass(frozen=True)
class RunSummary:
    """One row of the runs table. Accuracies are fractions; None where a run has no value."""

    id: int
    label: str  # "run 3" (numbered per store), or the user's name for it
    started: str  # ISO 8601 local time, to the second
    graph_name: str
    dataset: str
    params: int | None
    epochs_run: int | None
    reason: str | None  # "completed", "early_stopped", "stopped", "diverged"
    val_accuracy: float | None
    test_accuracy: float | None
    best_val_loss: float | None
    seconds: float | None
    settings: dict


class RunStore:
    """The runs of one graph, in `folder`. Used from one thread; each call opens and closes its
    own connection, so nothing is held between calls and another window may use the file too."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._closed = False

    @property
    def path(self) -> Path:
        return self.folder / DB_NAME

    # -- writing ----------------------------------------------------------------------------
    def add(self, graph: dict, settings: dict, history: RunHistory,
            started: str | None = None) -> int:
        """Keep a run (creating the folder and database on the first); returns its id.

        `graph` is the graph file's dict (fileformat.graph_to_dict), `settings` the training
        settings as plain values; `started` defaults to now. All or nothing: one transaction.
        """
        row = _summary_values(graph, settings, history)
        started = started or datetime.now().isoformat(timespec="seconds")
        data = history.to_dict()
        data.pop("batches", None)
        try:
            texts = [_dumps(settings), _dumps(graph), _dumps(data)]
        except (TypeError, ValueError) as err:
            raise RunStoreError(f"{self.path}: the run cannot be saved: {err}") from None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunStoreError(f"{self.folder}: cannot create the runs folder: "
                                f"{err.strerror or err}") from None
        with self._connect(create=True) as db:
            cursor = db.execute(
                "INSERT INTO runs (started, graph_name, dataset, params, epochs_run, reason, "
                "val_accuracy, test_accuracy, best_val_loss, seconds, settings, graph, history)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [started, *row, *texts])
            run_id = int(cursor.lastrowid or 0)
            db.executemany("INSERT INTO series (run_id, name, x, y) VALUES (?, ?, ?, ?)",
                           [(run_id, name, *(_blob(a) for a in history.arrays(name)))
                            for name in BATCH_SERIES if len(history.series[name])])
        # A fresh id has no weights yet; a file of that name is left from a database that was
        # deleted by hand, and must not pass for this run's (if it cannot be removed, the
        # caller's weights will replace it).
        with contextlib.suppress(OSError):
            self.weights_path(run_id).unlink(missing_ok=True)
        return run_id

    def rename(self, run_id: int, label: str) -> None:
        """Give a run a name; a blank one brings back "run <id>"."""
        label = " ".join(label.split())[:LABEL_LIMIT]
        with self._connect() as db:
            cursor = db.execute("UPDATE runs SET label = ? WHERE id = ?",
                                (label or None, run_id))
            if cursor.rowcount == 0:
                raise RunStoreError(f"{self.path}: there is no run {run_id}")

    def delete(self, run_ids: list[int]) -> None:
        """Forget these runs (ids not kept are ignored) and remove their weights files."""
        ids = [(int(i),) for i in run_ids]
        if not ids or not self._exists():
            return
        with self._connect() as db:
            db.executemany("DELETE FROM series WHERE run_id = ?", ids)
            db.executemany("DELETE FROM runs WHERE id = ?", ids)
        failed = []
        for (run_id,) in ids:
            try:
                self.weights_path(run_id).unlink(missing_ok=True)
            except OSError as err:
                failed.append(f"{self.weights_path(run_id).name} ({err.strerror or err})")
        if failed:
            raise RunStoreError(f"{self.folder}: the runs were deleted but not their weights "
                                f"files: {', '.join(failed)}")

    # -- reading ----------------------------------------------------------------------------
    def summaries(self) -> list[RunSummary]:
        """Every run, oldest first, without its curves; [] when none was ever kept."""
        if not self._exists():
            return []
        with self._connect() as db:
            rows = db.execute(f"SELECT {_SUMMARY_COLUMNS} FROM runs ORDER BY id").fetchall()
        try:
            return [_summary(row) for row in rows]
        except (TypeError, ValueError) as err:
            raise RunStoreError(f"{self.path}: a run's row is damaged: {err}") from None

    def history(self, run_id: int) -> RunHistory:
        """The run's records and curves, as they were when it was kept."""
        with self._connect() as db:
            text = self._field(db, run_id, "history")
            series = db.execute("SELECT name, x, y FROM series WHERE run_id = ?",
                                (run_id,)).fetchall()
        try:
            data = json.loads(text)
            data["batches"] = {name: [_array(x), _array(y)] for name, x, y in series}
            return RunHistory.from_dict(data)
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            raise RunStoreError(f"{self.path}: the curves of run {run_id} are damaged: "
                                f"{err}") from None

    def last_health(self, newest: int = 5) -> tuple[dict, dict] | None:
        """The last health record of the newest run (of the `newest` last kept) that collected
        health, and the graph it trained; None when none did. For the cards of a graph just
        opened (the curves are not read)."""
        if not self._exists():
            return None
        with self._connect() as db:
            rows = db.execute("SELECT id, history FROM runs ORDER BY id DESC LIMIT ?",
                              (newest,)).fetchall()
        for run_id, text in rows:
            try:
                health = json.loads(text).get("health")
            except (ValueError, AttributeError):
                continue  # a damaged run: the older ones may serve
            if isinstance(health, list) and health and isinstance(health[-1], dict):
                return health[-1], self.graph(run_id)
        return None

    def graph(self, run_id: int) -> dict:
        """The graph as it was when the run trained, as the graph file's dict."""
        with self._connect() as db:
            text = self._field(db, run_id, "graph")
        try:
            data = json.loads(text)
        except ValueError as err:
            raise RunStoreError(f"{self.path}: the graph of run {run_id} is damaged: "
                                f"{err}") from None
        if not isinstance(data, dict):
            raise RunStoreError(f"{self.path}: the graph of run {run_id} is damaged")
        return data

    def weights_path(self, run_id: int) -> Path:
        """Where the run's trained weights are kept (the caller writes and reads the file)."""
        return self.folder / f"run-{int(run_id)}.pt"

    def take_weights(self, run_id: int, source: Path) -> Path:
        """Move weights written elsewhere (and their preprocessing, `<file>.json`, where there
        is one) to the run's place, and return it; OSError when they cannot be moved."""
        target = self.weights_path(run_id)
        Path(source).replace(target)
        info = Path(f"{source}.json")
        if info.exists():
            shutil.move(str(info), f"{target}.json")
        return target

    def close(self) -> None:
        """Stop using the store: later calls raise RunStoreError. No connection outlives a
        call, so there is nothing left open to release."""
        self._closed = True

    # -- connections ------------------------------------------------------------------------
    def _exists(self) -> bool:
        try:
            return self.path.exists()
        except OSError as err:  # e.g. a folder we may not look into
            raise RunStoreError(f"{self.path}: cannot be read: {err.strerror or err}") from None

    def _field(self, db: sqlite3.Connection, run_id: int, column: str) -> str:
        row = db.execute(f"SELECT {column} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunStoreError(f"{self.path}: there is no run {run_id}")
        return row[0]

    @contextlib.contextmanager
    def _connect(self, create: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection for one call, in one transaction (committed when the block ends well,
        rolled back otherwise), always closed; sqlite3 errors become RunStoreError."""
        if self._closed:
            raise RunStoreError(f"{self.path}: the runs store was closed")
        if not create and not self._exists():
            raise RunStoreError(f"{self.path}: no runs have been kept here")
        mode = "rwc" if create else "rw"
        try:
            db = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode={mode}", uri=True,
                                 timeout=_TIMEOUT_S)
        except sqlite3.Error as err:
            raise RunStoreError(f"{self.path}: cannot open the runs file: {err}") from None
        try:
            with db:
                self._check_schema(db, create)
                yield db
        except sqlite3.Error as err:
            raise RunStoreError(f"{self.path}: {_explain(err)}") from None
        finally:
            db.close()

    def _check_schema(self, db: sqlite3.Connection, create: bool) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RunStoreError(
                f"{self.path}: these runs were kept by a newer dlbuilder (runs format "
                f"{version}; this one reads up to {SCHEMA_VERSION}); update dlbuilder to open "
                "them")
        if version == SCHEMA_VERSION:
            return
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables:
            raise RunStoreError(f"{self.path}: this is not a dlbuilder runs file")
        if create:
            db.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
        else:  # an empty file (nothing kept yet): empty tables for this connection only, so
            # reading finds no runs and the file stays as it is
            db.executescript(_SCHEMA.replace("CREATE TABLE", "CREATE TEMP TABLE"))


def _explain(err: sqlite3.Error) -> str:
    text = str(err)
    if "not a database" in text or "malformed" in text:
        return f"the runs file is damaged and cannot be read ({text})"
    if "full" in text:
        return f"the disk is full; the run was not kept ({text})"
    if "locked" in text or "busy" in text:
        return f"another program holds the runs file locked ({text})"
    if "readonly" in text or "read-only" in text:
        return f"the runs file cannot be written ({text})"
    return f"the runs file cannot be used ({text})"


def _summary_values(graph: dict, settings: dict, history: RunHistory) -> list[Any]:
    """graph_name, dataset, params, epochs_run, reason, val_accuracy, test_accuracy,
    best_val_loss, seconds: from the finished record, else from the epochs there are."""
    started = history.started or {}
    finished = history.finished or {}
    epochs = history.epochs
    training = graph.get("training") if isinstance(graph.get("training"), dict) else {}
    dataset = settings.get("dataset") or training.get("dataset") or TrainSettings.dataset
    val_losses = [e["val_loss"] for e in epochs if e.get("val_loss") is not None]
    if history.finished is not None:
        val_accuracy, best_val_loss = finished.get("val_accuracy"), finished.get("val_loss")
        seconds = finished.get("seconds")
    else:  # a run that never finished (its worker failed): what its epochs said
        val_accuracy = epochs[-1].get("val_accuracy") if epochs else None
        best_val_loss = min(val_losses) if val_losses else None
        seconds = sum(e.get("seconds", 0.0) for e in epochs) if epochs else None
    epochs_run = finished.get("epochs_run", len(epochs) if epochs else None)
    return [str(graph.get("name") or "untitled"), str(dataset), _number(started.get("params"), int),
            _number(epochs_run, int), finished.get("reason"), _number(val_accuracy),
            _number(finished.get("test_accuracy")), _number(best_val_loss), _number(seconds)]


def _number(value: Any, kind: type = float) -> Any:
    """A plain int or float for the database (numpy scalars are not), or None."""
    return None if value is None else kind(value)


def _summary(row: tuple[Any, ...]) -> RunSummary:
    (run_id, label, started, graph_name, dataset, params, epochs_run, reason, val_accuracy,
     test_accuracy, best_val_loss, seconds, settings) = row
    settings = json.loads(settings)
    if not isinstance(settings, dict):
        raise TypeError("its settings are not a table of values")
    return RunSummary(
        id=run_id, label=label or f"run {run_id}", started=started, graph_name=graph_name,
        dataset=dataset, params=params, epochs_run=epochs_run, reason=reason,
        val_accuracy=val_accuracy, test_accuracy=test_accuracy, best_val_loss=best_val_loss,
        seconds=seconds, settings=settings)


def _dumps(value: Any) -> str:
    """Compact JSON; nan and inf (a diverged run's loss) are kept as JSON's extensions."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _blob(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


def _array(blob: bytes) -> np.ndarray:
    if len(blob) % 8:
        raise ValueError("a curve's length is not whole numbers")
    return np.frombuffer(blob, dtype="<f8")


def has_runs(folder: Path) -> bool:
    """Whether `folder` holds a runs file (runs kept there, or an empty one)."""
    return (Path(folder) / DB_NAME).exists()


def move_runs(source: Path, target: Path) -> int:
    """Move the runs kept in `source` (the database and every run's weights) to `target`: an
    unsaved graph's runs follow it to where it is saved. Returns how many runs moved (0 when
    there was nothing to move); a `target` that holds runs already is never touched."""
    return _carry(source, target, shutil.move)


def copy_runs(source: Path, target: Path) -> int:
    """Copy the runs kept in `source` to `target`: a saved graph saved under a new name takes
    its history along, and the file it came from keeps its own. As `move_runs` otherwise."""
    return _carry(source, target, _share_or_copy)


def _share_or_copy(source: str, target: str) -> None:
    """A run's weights are written once and then only replaced, never changed in place, so
    the copy can be a hard link: instant and no more disk, where Save As used to copy every
    run's weights on the GUI thread. The database is changed in place: it is always copied."""
    if not source.endswith(DB_NAME):
        with contextlib.suppress(OSError):  # another file system, or no links there
            os.link(source, target)
            return
    shutil.copy2(source, target)


def _carry(source: Path, target: Path, transfer: Any) -> int:
    """The weights first and the database last, so that `target` counts as holding runs only
    once they are all there; raises RunStoreError when a file cannot be carried."""
    if not has_runs(source):
        return 0
    if has_runs(target):
        raise RunStoreError(f"{target / DB_NAME}: runs are kept there already")
    count = len(RunStore(source).summaries())
    try:
        target.mkdir(parents=True, exist_ok=True)
        for path in [*sorted(source.glob("run-*.pt*")), source / DB_NAME]:
            transfer(str(path), str(target / path.name))
    except OSError as err:
        raise RunStoreError(f"{target}: the runs could not be carried there from {source}: "
                            f"{err.strerror or err}") from None
    return count
