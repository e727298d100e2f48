"""Training health kept with a run: in its history, in the runs store (old runs without it
still load), and from `dlbuilder train --health` (the metrics file, the flagged-layer lines)."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest
from health_graphs import deep_net
from run_helpers import graph_dict, make_history

from dlbuilder.backend.records import HealthRecord, LayerHealth
from dlbuilder.backend.runs.history import RunHistory
from dlbuilder.backend.runs.store import DB_NAME, RunStore, RunStoreError, runs_beside
from dlbuilder.cli import main
from dlbuilder.core.fileformat import save_graph


def health_record(epoch: int, grad: float = 0.5) -> HealthRecord:
    return HealthRecord(epoch, (
        LayerHealth(("fc",), "fc", "Linear", grad, 1e-3, None, 0.1, 0.9, ()),
        LayerHealth(("b", 0, "relu"), "b.0/relu", "ReLU", None, None, 0.75, 0.2, 0.3,
                    ("dead",))))


def history_with_health(epochs: int = 3) -> RunHistory:
    history = make_history(epochs)
    for epoch in range(1, epochs + 1):
        history.add(health_record(epoch, grad=0.5 / epoch))
    return history


def test_the_history_keeps_one_health_record_per_epoch_and_round_trips() -> None:
    history = history_with_health()
    assert [h["epoch"] for h in history.health] == [1, 2, 3]
    assert history.health[1]["layers"][0]["grad_norm"] == 0.25
    again = RunHistory.from_dict(json.loads(json.dumps(history.to_dict())))
    assert again.health == history.health
    assert again.epochs == history.epochs


def test_a_history_saved_before_health_loads_without_it() -> None:
    data = make_history().to_dict()
    data.pop("health")
    assert RunHistory.from_dict(data).health == []
    with pytest.raises(ValueError, match="health"):
        RunHistory.from_dict({**data, "health": [3]})


def test_the_store_keeps_health_and_reads_runs_kept_without_it(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "tiny.runs")
    history = history_with_health(2)
    history.add(HealthRecord(3, (LayerHealth(("fc",), "fc", "Linear", math.nan, math.inf,
                                             None, 0.0, 0.0, ("exploding",)),)))
    kept = store.add(graph_dict(), {"epochs": 3}, history)
    old = store.add(graph_dict(), {"epochs": 3}, make_history())
    read = store.history(kept).health
    assert read[:2] == history.health[:2]
    assert math.isnan(read[2]["layers"][0]["grad_norm"])  # a diverging run's figures too
    assert read[2]["layers"][0]["update_ratio"] == math.inf
    # a run kept by a dlbuilder before health: its history has no "health" at all
    with sqlite3.connect(store.folder / DB_NAME) as db:
        text = db.execute("SELECT history FROM runs WHERE id = ?", (old,)).fetchone()[0]
        data = json.loads(text)
        data.pop("health")
        db.execute("UPDATE runs SET history = ? WHERE id = ?", (json.dumps(data), old))
    assert store.history(old).health == []
    assert store.history(old).epochs == make_history().epochs
    with sqlite3.connect(store.folder / DB_NAME) as db:
        data["health"] = "many"
        db.execute("UPDATE runs SET history = ? WHERE id = ?", (json.dumps(data), old))
    with pytest.raises(RunStoreError, match="damaged"):
        store.history(old)


def test_the_store_gives_the_newest_run_s_last_health_and_its_graph(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "tiny.runs")
    assert store.last_health() is None  # no store yet
    store.add(graph_dict(), {"epochs": 1}, make_history())
    assert store.last_health() is None  # runs, none with health
    older, newer = history_with_health(2), history_with_health(3)
    store.add(graph_dict(), {"epochs": 2}, older)
    changed = {**graph_dict(), "nodes": graph_dict()["nodes"][:-1]}
    store.add(changed, {"epochs": 3}, newer)
    store.add(graph_dict(), {"epochs": 1}, make_history())  # the newest kept none
    record, graph = store.last_health()
    assert record == newer.health[-1] and record["epoch"] == 3
    assert graph == changed
    assert store.last_health(newest=1) is None  # only so many are read


def train(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["train", *args])
    return code, capsys.readouterr().out


@pytest.mark.slow
def test_train_health_goes_into_the_metrics_file_and_the_runs_store(tmp_path, capsys) -> None:
    metrics = tmp_path / "m.json"
    graph = tmp_path / "plain.json"
    save_graph(deep_net(10, residual=False), graph)
    code, out = train(capsys, str(graph), "--dataset", "digits", "--epochs", "2",
                      "--health", "--metrics-json", str(metrics))
    assert code == 0
    data = json.loads(metrics.read_text())
    assert [h["epoch"] for h in data["health"]] == [1, 2]
    layers = data["health"][0]["layers"]
    assert [layer["node"] for layer in layers][:3] == ["stem", "stem_relu", "conv0"]
    assert set(layers[0]) == {"path", "node", "type", "grad_norm", "update_ratio",
                              "dead_share", "act_mean", "act_std", "flags"}
    assert layers[1]["grad_norm"] is None and layers[1]["dead_share"] is not None
    assert "vanishing" in layers[0]["flags"]
    # a short line after each epoch names the flagged layers, the first one leading
    lines = out.splitlines()
    said = [lines[i + 1] for i, line in enumerate(lines) if line.startswith("epoch ")]
    assert all(line.startswith("  health: vanishing: stem, conv0, conv1 and ")
               for line in said)
    assert RunStore(runs_beside(graph)).history(1).health == data["health"]


@pytest.mark.slow
def test_without_health_nothing_is_measured_said_or_written(tmp_path, capsys) -> None:
    metrics = tmp_path / "m.json"
    graph = tmp_path / "plain.json"
    save_graph(deep_net(10, residual=False), graph)
    code, out = train(capsys, str(graph), "--dataset", "digits", "--epochs", "2",
                      "--metrics-json", str(metrics))
    assert code == 0
    assert "health" not in json.loads(metrics.read_text())
    assert "health" not in out
    assert RunStore(runs_beside(graph)).history(1).health == []


@pytest.mark.slow
def test_a_healthy_run_prints_no_health_lines(tmp_path, capsys) -> None:
    graph = tmp_path / "residual.json"
    save_graph(deep_net(4, residual=True), graph)
    code, out = train(capsys, str(graph), "--dataset", "digits", "--epochs", "2", "--health",
                      "--no-runs")
    assert code == 0 and out.count("\nepoch ") == 2
    assert "health" not in out
