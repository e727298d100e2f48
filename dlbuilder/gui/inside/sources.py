"""Which weights Look Inside looks into, and what the dock calls them: the last run's (the
Training tab's trained weights and the graph they were trained on), a run from the Runs tab,
a weights file, or untrained (random) weights of the graph as it is now.

Weights are trained on one graph; when the graph has changed since, the weights no longer fit
it, so Look Inside looks into the graph they were trained on and says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlbuilder.backend.runs.store import RunStore, RunStoreError, RunSummary
from dlbuilder.core.fileformat import graph_to_dict
from dlbuilder.core.graph import Graph
from dlbuilder.gui.inside.worker import Source
from dlbuilder.gui.training.results import percent
from dlbuilder.gui.training.weights_files import same_network

UNTRAINED = "untrained (random) weights"


def accuracy_words(summary: RunSummary | None) -> str:
    """"98.3% val", "97.9% test", or "" where the run has no accuracy."""
    if summary is None:
        return ""
    if summary.val_accuracy is not None:
        return f"{percent(summary.val_accuracy)} val"
    if summary.test_accuracy is not None:
        return f"{percent(summary.test_accuracy)} test"
    return ""


def run_label(label: str, summary: RunSummary | None) -> str:
    """"run 12, 98.3% val"."""
    words = accuracy_words(summary)
    return f"{label}, {words}" if words else label


def _summary(store: RunStore | None, run_id: int | None = None,
             label: str | None = None) -> RunSummary | None:
    if store is None:
        return None
    try:
        summaries = store.summaries()
    except RunStoreError:
        return None
    return next((s for s in summaries if s.id == run_id or (label and s.label == label)), None)


def _changed_note(trained: dict[str, Any] | None, graph: Graph, what: str) -> str:
    if trained is None or same_network(trained, graph_to_dict(graph)):
        return ""
    return (f"The graph changed since {what} was trained, so this looks into the graph "
            "it was trained on")


def newest_run(store: RunStore | None) -> int | None:
    """The newest run of `store` that kept its weights, or None."""
    if store is None:
        return None
    try:
        runs = sorted(store.summaries(), key=lambda summary: summary.id, reverse=True)
        return next((r.id for r in runs if store.weights_path(r.id).is_file()), None)
    except (RunStoreError, OSError):
        return None


def from_run(store: RunStore, run_id: int, graph: Graph, dataset: Any) -> Source:
    """A run of the Runs tab (RunStoreError when its graph cannot be read; FileNotFoundError
    when it kept no weights)."""
    weights = store.weights_path(run_id)
    if not weights.is_file():
        raise FileNotFoundError(f"run {run_id} kept no weights (it may have been stopped "
                                "before its first epoch ended)")
    trained = store.graph(run_id)
    summary = _summary(store, run_id)
    label = summary.label if summary is not None else f"run {run_id}"
    return Source(trained if _changed_note(trained, graph, label) else graph_to_dict(graph),
                  weights, run_label(label, summary), dataset,
                  _changed_note(trained, graph, label))


def from_last_run(choice: Any, store: RunStore | None, graph: Graph,
                  dataset: Any) -> Source | None:
    """The Training tab's trained weights (a WeightsChoice's), or None when there are none."""
    if choice is None or choice.trained is None or not Path(choice.trained).is_file():
        return None
    what = choice.trained_from or "the last run"
    trained = choice.trained_graph
    note = _changed_note(trained, graph, what)
    label = run_label(what, _summary(store, label=what))
    return Source(trained if note else graph_to_dict(graph), Path(choice.trained), label,
                  dataset, note)


def from_file(path: Path, graph: Graph, dataset: Any) -> Source:
    """A weights file the user chose, for the graph as it is (its .pt.json prepares the
    samples, where there is one)."""
    return Source(graph_to_dict(graph), Path(path), path.name, dataset)


def untrained(graph: Graph, dataset: Any) -> Source:
    return Source(graph_to_dict(graph), None, UNTRAINED, dataset)
