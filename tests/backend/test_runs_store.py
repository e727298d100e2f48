"""The runs store: every run kept in one SQLite file per graph, read back exactly."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from run_helpers import graph_dict, make_history

from dlbuilder.backend.records import BatchEnd
from dlbuilder.backend.runs.history import SERIES
from dlbuilder.backend.runs.store import (
    DB_NAME,
    RunStore,
    RunStoreError,
    RunSummary,
    copy_runs,
    runs_folder,
    safe_name,
)
from dlbuilder.core.fileformat import graph_to_dict, loads_graph
from dlbuilder.layers import REGISTRY


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "tiny.runs")


def test_three_runs_listed_oldest_first_with_their_numbers(store: RunStore) -> None:
    ids = [store.add(graph_dict(), {"dataset": "mnist", "epochs": 3}, make_history(),
                     started="2024-05-01T10:00:00"),
           store.add(graph_dict(), {"epochs": 2}, make_history(2, test_accuracy=None,
                                                               reason="early_stopped")),
           store.add({"name": "other", "nodes": [], "edges": []}, {"dataset": "cifar10"},
                     make_history(1, params=38314, val_accuracy=0.987, seconds=72.0,
                                  reason="diverged"))]
    assert ids == [1, 2, 3]
    rows = store.summaries()
    assert [r.id for r in rows] == ids
    assert [r.label for r in rows] == ["run 1", "run 2", "run 3"]
    assert rows[0] == RunSummary(
        id=1, label="run 1", started="2024-05-01T10:00:00", graph_name="tiny",
        dataset="mnist", params=650, epochs_run=3, reason="completed", val_accuracy=0.8,
        test_accuracy=0.9, best_val_loss=pytest.approx(1.1 / 3), seconds=12.5,
        settings={"dataset": "mnist", "epochs": 3})
    # no dataset in the settings: the graph's training section names it
    assert (rows[1].dataset, rows[1].epochs_run, rows[1].reason) == ("fashion", 2, "early_stopped")
    assert rows[1].test_accuracy is None
    assert (rows[2].graph_name, rows[2].dataset, rows[2].params) == ("other", "cifar10", 38314)
    assert (rows[2].val_accuracy, rows[2].seconds, rows[2].reason) == (0.987, 72.0, "diverged")
    started = rows[1].started
    assert len(started) == 19 and started[10] == "T"  # ISO 8601 to the second, local time


def test_history_round_trips_curves_and_records_exactly(store: RunStore) -> None:
    history = make_history(epochs=4, batches=7)
    history.add(BatchEnd(5, 1, 7, 29, math.nan, None, 1.0))  # a diverged batch keeps its nan
    run_id = store.add(graph_dict(), {}, history)
    back = store.history(run_id)
    assert back.started == history.started
    assert back.epochs == history.epochs
    assert back.finished == history.finished
    for name in SERIES:
        for mine, theirs in zip(history.arrays(name), back.arrays(name), strict=True):
            np.testing.assert_array_equal(theirs, mine)
    assert len(back.arrays("batch_loss")[0]) == 29
    assert math.isnan(back.arrays("batch_loss")[1][-1])


def test_a_run_without_a_finished_record_is_summarised_from_its_epochs(store: RunStore) -> None:
    history = make_history(epochs=3)
    history.finished = None
    store.add(graph_dict(), {}, history)
    row = store.summaries()[0]
    assert (row.reason, row.epochs_run, row.test_accuracy) == (None, 3, None)
    assert row.best_val_loss == pytest.approx(1.1 / 3)
    assert row.seconds == pytest.approx(4.5)


def test_graph_snapshot_round_trips(store: RunStore) -> None:
    graph = graph_dict()
    run_id = store.add(graph, {"lr": 0.01}, make_history())
    assert store.graph(run_id) == graph
    reloaded = loads_graph(json.dumps(store.graph(run_id)), REGISTRY)
    assert graph_to_dict(reloaded) == graph


def test_rename_and_blank_name_restores_number(store: RunStore) -> None:
    first = store.add(graph_dict(), {}, make_history())
    second = store.add(graph_dict(), {}, make_history())
    store.rename(second, "  wide   conv  ")
    assert [r.label for r in store.summaries()] == ["run 1", "wide conv"]
    store.rename(second, "   ")
    assert [r.label for r in store.summaries()] == ["run 1", "run 2"]
    with pytest.raises(RunStoreError, match="no run 99"):
        store.rename(99, "x")
    assert first == 1


def test_delete_removes_rows_curves_and_weights(store: RunStore) -> None:
    ids = [store.add(graph_dict(), {}, make_history()) for _ in range(3)]
    for run_id in ids:
        store.weights_path(run_id).write_bytes(b"weights")
    assert store.weights_path(2) == store.folder / "run-2.pt"
    store.delete([1, 3, 42])
    assert [r.id for r in store.summaries()] == [2]
    assert sorted(p.name for p in store.folder.glob("*.pt")) == ["run-2.pt"]
    with pytest.raises(RunStoreError, match="no run 1"):
        store.history(1)
    with sqlite3.connect(store.folder / DB_NAME) as db:
        assert db.execute("SELECT DISTINCT run_id FROM series").fetchall() == [(2,)]
    db.close()
    # ids are never reused, so a new run cannot pick up a deleted run's weights
    assert store.add(graph_dict(), {}, make_history()) == 4


def test_a_stale_weights_file_never_passes_for_a_new_run(store: RunStore) -> None:
    store.folder.mkdir()
    store.weights_path(1).write_bytes(b"left from a database deleted by hand")
    assert store.add(graph_dict(), {}, make_history()) == 1
    assert not store.weights_path(1).exists()


def test_missing_folder_lists_nothing_and_creates_nothing(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "nowhere" / "g.runs")
    assert store.summaries() == []
    store.delete([1])
    with pytest.raises(RunStoreError, match="no runs have been kept"):
        store.history(1)
    with pytest.raises(RunStoreError):
        store.graph(1)
    assert not (tmp_path / "nowhere").exists()


def test_empty_database_file_lists_nothing_and_stays_as_it_is(store: RunStore) -> None:
    store.folder.mkdir()
    store.path.write_bytes(b"")
    assert store.summaries() == []
    assert store.path.read_bytes() == b""
    assert store.add(graph_dict(), {}, make_history()) == 1


def test_corrupt_file_raises_run_store_error_naming_it(store: RunStore) -> None:
    store.folder.mkdir()
    store.path.write_bytes(b"this is not a database at all" * 100)
    for call in (store.summaries, lambda: store.history(1), lambda: store.graph(1),
                 lambda: store.add(graph_dict(), {}, make_history())):
        with pytest.raises(RunStoreError) as caught:
            call()
        assert str(store.path) in str(caught.value)
        assert "damaged" in str(caught.value)


def test_other_sqlite_file_is_refused(store: RunStore) -> None:
    store.folder.mkdir()
    with sqlite3.connect(store.path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    db.close()
    with pytest.raises(RunStoreError, match="not a dlbuilder runs file"):
        store.summaries()


def test_newer_format_refused(store: RunStore) -> None:
    store.add(graph_dict(), {}, make_history())
    with sqlite3.connect(store.path) as db:
        db.execute("PRAGMA user_version = 7")
    db.close()
    with pytest.raises(RunStoreError, match="newer dlbuilder") as caught:
        store.summaries()
    assert str(store.path) in str(caught.value)
    with pytest.raises(RunStoreError, match="newer dlbuilder"):
        store.add(graph_dict(), {}, make_history())


def test_damaged_curves_raise_run_store_error(store: RunStore) -> None:
    run_id = store.add(graph_dict(), {}, make_history())
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET history = '{not json'")
    db.close()
    with pytest.raises(RunStoreError, match="curves of run 1 are damaged"):
        store.history(run_id)


def test_unsaveable_settings_leave_nothing_behind(store: RunStore) -> None:
    with pytest.raises(RunStoreError, match="cannot be saved"):
        store.add(graph_dict(), {"device": object()}, make_history())
    assert store.summaries() == []
    assert not store.folder.exists()


def test_closed_store_refuses_work(store: RunStore) -> None:
    store.add(graph_dict(), {}, make_history())
    store.close()
    with pytest.raises(RunStoreError, match="closed"):
        store.summaries()


def test_a_long_run_saves_and_loads_quickly(store: RunStore) -> None:
    history = make_history(epochs=1, batches=1)
    xs = np.arange(50_000) / 1000
    history.series["batch_loss"].extend(xs, np.random.default_rng(0).random(50_000))
    history.series["batch_accuracy"].extend(xs, np.linspace(0, 1, 50_000))
    begin = time.perf_counter()
    run_id = store.add(graph_dict(), {}, history)
    back = store.history(run_id)
    assert time.perf_counter() - begin < 0.5
    np.testing.assert_array_equal(back.arrays("batch_loss")[1], history.arrays("batch_loss")[1])


def test_runs_folder_for_saved_and_unsaved_graphs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert runs_folder(tmp_path / "nets" / "lenet.json", "ignored", data) == (
        tmp_path / "nets" / "lenet.runs")
    assert runs_folder(None, "my net", data) == data / "runs" / "my_net"
    for hostile in ("../../etc", "..", "/etc/passwd", "a/../../b", "C:\\Windows", "", "CON",
                    "\x00\n", "x" * 500):
        folder = runs_folder(None, hostile, data)
        assert folder.parent == data / "runs", hostile
        assert folder.resolve().is_relative_to((data / "runs").resolve()), hostile
        assert folder.name not in ("", ".", "..") and len(folder.name) <= 65, hostile
    assert safe_name("../../etc") == "etc"
    assert safe_name("") == safe_name("...") == "untitled"
    assert safe_name("con") == "_con"


def test_copied_runs_share_their_weights_and_keep_their_own_database(store: RunStore,
                                                                    tmp_path: Path) -> None:
    """Save As of a saved graph copies its runs: the weights (written once, then only
    replaced) as hard links, so no disk or time goes to copying them; the database, which
    each store then changes in place, as a real copy."""
    ids = [store.add(graph_dict(), {}, make_history()) for _ in range(2)]
    for run_id in ids:
        store.weights_path(run_id).write_bytes(b"weights")
    target = tmp_path / "copy.runs"
    assert copy_runs(store.folder, target) == 2
    for run_id in ids:
        assert (target / f"run-{run_id}.pt").samefile(store.weights_path(run_id))
    assert not (target / DB_NAME).samefile(store.folder / DB_NAME)
    copied = RunStore(target)
    copied.delete([1])
    assert [r.id for r in store.summaries()] == [1, 2]  # the original keeps both
    assert store.weights_path(1).read_bytes() == b"weights"


def test_weights_written_elsewhere_move_to_the_run_with_their_preprocessing(
        store: RunStore, tmp_path: Path) -> None:
    run_id = store.add(graph_dict(), {}, make_history())
    pending = tmp_path / "pending.pt"
    pending.write_bytes(b"weights")
    Path(f"{pending}.json").write_text("{}")
    target = store.take_weights(run_id, pending)
    assert target == store.weights_path(run_id) == store.folder / "run-1.pt"
    assert target.read_bytes() == b"weights" and Path(f"{target}.json").read_text() == "{}"
    assert not pending.exists() and not Path(f"{pending}.json").exists()
