"""Whether the data fits the graph does not depend on the graph's other errors (issue 19: an
Input of 1x28x28 with the 8x8 digits and a kernel of 100 said "Fits the graph ✓")."""

from __future__ import annotations

import pytest

from dlbuilder.backend.datasets import load_dataset
from dlbuilder.backend.fit import start_problems
from dlbuilder.core.commands import SetParams, SetTraining
from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import examples_dir

MISFIT = "Input is 1x28x28 but digits images are 1x8x8"


def lenet_on_digits() -> InferenceEngine:
    graph = load_graph(examples_dir() / "lenet5.json", REGISTRY)
    return InferenceEngine(graph, REGISTRY)


def test_the_inputs_misfit_is_found_in_a_graph_with_errors() -> None:
    engine = lenet_on_digits()
    engine.graph.set_params("c1", {**engine.graph.params("c1"), "kernel_size": 100})
    assert engine.has_errors()
    graph, fit = start_problems(engine, {"dataset": "digits"}, load_dataset("digits"))
    assert any("c1" in p for p in graph)
    assert any(p.startswith(MISFIT) for p in fit.problems)
    assert fit.unknown  # the output's size is not known while c1 is wrong: said, not guessed


def test_a_graph_with_errors_is_never_said_to_fit() -> None:
    graph_file = load_graph(examples_dir() / "digits_cnn.json", REGISTRY)
    engine = InferenceEngine(graph_file, REGISTRY)
    conv = next(n for n in graph_file.nodes() if graph_file.type_of(n) == "Conv2d")
    graph_file.set_params(conv, {**graph_file.params(conv), "kernel_size": 100})
    _graph, fit = start_problems(engine, {"dataset": "digits"}, load_dataset("digits"))
    assert fit.problems == () and fit.unknown


@pytest.mark.slow
def test_the_data_panel_shows_the_misfit_beside_the_graphs_errors(qtbot, make_window):
    window = make_window(example="lenet5")
    window.show_training()
    panel = window.training.panel
    assert window.doc.push(SetTraining({**window.doc.graph.training, "dataset": "digits"}))
    qtbot.waitUntil(lambda: panel.data_panel.dataset() is not None, timeout=10_000)
    assert window.doc.push(SetParams("c1", {"kernel_size": 100}))
    panel.refresh_problems()
    fit_text = panel.data_panel.fit_label.text()
    assert "Fits the graph" not in fit_text and MISFIT in fit_text
    assert MISFIT in panel.problems_label.text()
    window.doc.undo_stack.undo()  # kernel back to 5: only the data misfit is left
    panel.refresh_problems()
    assert MISFIT in panel.data_panel.fit_label.text()
    assert "Fits the graph" not in panel.data_panel.fit_label.text()
