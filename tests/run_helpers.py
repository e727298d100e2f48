"""Runs as the trainer reports them, for the tests of the runs store and the Runs tab."""

from __future__ import annotations

from dlbuilder.backend.records import BatchEnd, EpochEnd, RunFinished, RunStarted
from dlbuilder.backend.runs.history import RunHistory
from dlbuilder.core.fileformat import graph_to_dict, loads_graph
from dlbuilder.layers import REGISTRY

CLASSES = tuple(str(i) for i in range(10))
GRAPH_TEXT = """{"format": "dlbuilder.graph", "version": 1, "name": "tiny",
 "nodes": [{"id": "in", "type": "Input", "params": {"shape": [1, 8, 8]}},
           {"id": "flat", "type": "Flatten", "params": {}, "ui": {"x": 10, "y": 20}},
           {"id": "fc", "type": "Linear", "params": {"out_features": 10}}],
 "edges": [{"from": "in", "to": "flat"}, {"from": "flat", "to": "fc"}],
 "training": {"dataset": "fashion", "lr": 0.01}}"""


def make_history(epochs: int = 3, batches: int = 4, params: int = 650, reason: str = "completed",
                 test_accuracy: float | None = 0.9, val_accuracy: float = 0.8,
                 seconds: float = 12.5) -> RunHistory:
    """A real RunHistory built from trainer records, as the worker would feed it."""
    history = RunHistory()
    history.add(RunStarted(epochs, batches, 100, 20, 30, "cpu", params, "classify", CLASSES,
                           "val_loss"))
    step = 0
    for epoch in range(1, epochs + 1):
        for batch in range(1, batches + 1):
            step += 1
            history.add(BatchEnd(epoch, batch, batches, step, 2.0 / step, step / 100, 900.5))
        history.add(EpochEnd(epoch, epochs, 1.0 / epoch, 1.1 / epoch, 0.5, val_accuracy, None,
                             None, None, None, 0.01 / epoch, 1.5, 800.0, epoch, True, 2))
    history.add(RunFinished(reason, "done", epochs, epochs, "val_loss", 1.1 / epochs,
                            1.0 / epochs, 1.1 / epochs, val_accuracy, None, 0.4, test_accuracy,
                            None, ((3, 1), (0, 4)), "test", (0.75, 1.0), CLASSES, seconds))
    return history


def graph_dict() -> dict:
    return graph_to_dict(loads_graph(GRAPH_TEXT, REGISTRY))
