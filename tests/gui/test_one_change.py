"""One change per edit: the document says once, after inference, what a push, an undo or a redo
changed, and every view refreshes once from it, with the diagnostics gathered once (issue 13).
"""

from __future__ import annotations

from collections import Counter

import pytest
from gui_helpers import all_panels_follow, settle
from helpers import example_graph

from dlbuilder.core.commands import AddNode, Macro, RemoveEdge, SetParams, SetTraining
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.layout import layered_layout
from dlbuilder.gui.canvas.node_item import NodeItem
from dlbuilder.gui.document import Document
from dlbuilder.gui.panels.code_panel import DEBOUNCE_MS, CodePanel
from dlbuilder.gui.panels.inspector import InspectorPanel
from dlbuilder.gui.panels.problems_panel import ProblemsPanel
from dlbuilder.gui.panels.summary_panel import SummaryPanel
from dlbuilder.gui.training.panel import TrainingPanel
from dlbuilder.gui.window.status import StatusWidget

BLOCKS = 42  # 7 nodes each: with the stem and the head, 300 nodes


def resnet_like(blocks: int = BLOCKS) -> Graph:
    """Input, a stem Conv2d, `blocks` residual blocks of 8 channels, pooling head, Output."""
    graph = Graph("resnet_like")
    graph.add_node("input", "Input", {"shape": [3, 16, 16]})
    graph.add_node("stem", "Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1})
    graph.add_edge("input", "stem")
    x = "stem"
    for b in range(blocks):
        names = [f"b{b}_{part}" for part in ("c1", "n1", "r1", "c2", "n2", "add", "r2")]
        conv = {"out_channels": 8, "kernel_size": 3, "padding": 1}
        types = [("Conv2d", conv), ("BatchNorm2d", {}), ("ReLU", {}), ("Conv2d", conv),
                 ("BatchNorm2d", {}), ("Add", {}), ("ReLU", {})]
        for name, (type_name, params) in zip(names, types, strict=True):
            graph.add_node(name, type_name, params)
        for src, dst in zip([x, *names[:5]], names[:6], strict=True):
            graph.add_edge(src, dst)
        graph.add_edge(x, names[5])  # the shortcut
        graph.add_edge(names[5], names[6])
        x = names[6]
    for name, type_name, params in (("pool", "AdaptiveAvgPool2d", {"output_size": 1}),
                                    ("flat", "Flatten", {}),
                                    ("fc", "Linear", {"out_features": 10}),
                                    ("output", "Output", {})):
        graph.add_node(name, type_name, params)
        graph.add_edge(x, name)
        x = name
    for node, (px, py) in layered_layout(graph).items():
        graph.set_ui(node, {"x": px, "y": py})
    return graph


class Counts:
    """How often each view refreshed, each card was re-read and diagnostics were gathered."""

    VIEWS = ((InspectorPanel, "_refresh_results"), (SummaryPanel, "refresh"),
             (ProblemsPanel, "refresh"), (CodePanel, "refresh"), (StatusWidget, "refresh"),
             (TrainingPanel, "refresh_problems"))

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.views: Counter[str] = Counter()
        self.cards: Counter[str] = Counter()
        self.gathered = 0
        for cls, name in self.VIEWS:
            self._count(monkeypatch, cls, name, lambda _self, key=cls.__name__: key, self.views)
        self._count(monkeypatch, NodeItem, "refresh", lambda item: item.node, self.cards)
        gather = InferenceEngine._gather_diagnostics

        def counted(engine: InferenceEngine):
            self.gathered += 1
            return gather(engine)
        monkeypatch.setattr(InferenceEngine, "_gather_diagnostics", counted)

    @staticmethod
    def _count(monkeypatch, cls, name, key, counter) -> None:
        original = getattr(cls, name)

        def counted(self, *args, **kwargs):
            counter[key(self)] += 1
            return original(self, *args, **kwargs)
        monkeypatch.setattr(cls, name, counted)

    def reset(self) -> None:
        self.views.clear()
        self.cards.clear()
        self.gathered = 0


def heard(doc: Document) -> list:
    changes: list = []
    doc.changed.connect(changes.append)
    return changes


def test_each_edit_is_one_change_after_inference() -> None:
    doc = Document(example_graph("lenet5"))
    changes = heard(doc)
    seen_shapes = []
    doc.changed.connect(lambda change: seen_shapes.append(doc.engine.info("c3").output_shape))
    assert doc.push(SetParams("c1", {**doc.graph.params("c1"), "kernel_size": 3}),
                    merge_key=("c1", "kernel_size"))
    (change,) = changes
    assert change.params_changed == {"c1"} and {"c1", "s2", "c3"} <= change.shapes
    assert seen_shapes == [doc.engine.info("c3").output_shape] != [(16, 12, 12)]
    assert tuple(change.diagnostics) == tuple(doc.engine.diagnostics())
    doc.undo_stack.undo()
    doc.undo_stack.redo()
    assert len(changes) == 3 and changes[1].params_changed == changes[2].params_changed
    doc.push(Macro("two", [AddNode("a", "ReLU"), AddNode("b", "ReLU")]))
    doc.undo_stack.setIndex(0)  # back over both edits at once: one change
    assert len(changes) == 5 and set(changes[-1].nodes_removed) == {"a", "b"}
    assert changes[-1].params_changed == {"c1"}


def test_refusals_training_and_outside_edits() -> None:
    doc = Document(example_graph("lenet5"))
    changes = heard(doc)
    assert not doc.push(RemoveEdge("c1", "f7"))  # no such wire: refused, nothing changed
    assert changes == []
    doc.push(SetTraining({**doc.graph.training, "epochs": 2}, "Set training epochs"))
    assert changes[-1].training and not changes[-1].inferred
    doc.select(["f7"])
    doc.graph.remove_node("f7")  # outside the undo stack: told at once
    assert changes[-1].nodes_removed == ("f7",) and doc.selection() == ()


def test_a_new_graph_is_one_change_that_replaces(qtbot) -> None:
    doc = Document(example_graph("lenet5"))
    doc.push(AddNode("x", "ReLU"))
    changes = heard(doc)
    doc.replace(example_graph("digits_cnn"))
    (change,) = changes
    assert change.replaced and change.nodes_added == () and not doc.undo_stack.count()


@pytest.fixture
def big_window(make_window, monkeypatch, qtbot):
    window = make_window(resnet_like())
    assert len(window.doc.graph) == 300
    window.training.ensure_panel()  # its graph listener counts too
    window.doc.select(["stem"])
    qtbot.wait(DEBOUNCE_MS + 200)  # the code panel's first pass, the training check
    return window, Counts(monkeypatch)


def run_edit(qtbot, edit) -> None:
    edit()
    settle()
    qtbot.wait(DEBOUNCE_MS + 200)


def test_one_refresh_per_view_per_edit_on_300_nodes(big_window, qtbot) -> None:
    window, counts = big_window
    doc = window.doc
    stem = {"out_channels": 16, "kernel_size": 3, "padding": 1}  # the shortcuts mismatch
    edits = [("push", lambda: doc.push(SetParams("stem", stem), merge_key=("stem", "x"))),
             ("undo", doc.undo_stack.undo), ("redo", doc.undo_stack.redo)]
    for name, edit in edits:
        counts.reset()
        run_edit(qtbot, edit)
        assert counts.gathered == 1, name
        assert counts.views == Counter({cls.__name__: 1 for cls, _ in Counts.VIEWS}), name
        assert max(counts.cards.values()) == 1, (name, counts.cards.most_common(3))
        assert len(counts.cards) > 100, name  # the cards downstream were re-read
    all_panels_follow(window)


@pytest.mark.slow
def test_a_fix_that_inserts_several_nodes_is_one_change(big_window, qtbot) -> None:
    window, counts = big_window
    doc = window.doc
    doc.push(SetParams("stem", {"out_channels": 16, "kernel_size": 3, "padding": 1}))
    settle()
    (problem,) = [d for d in doc.engine.diagnostics() if d.node == "b0_add"]
    fixes = doc.fixes_for(problem)
    changes = heard(doc)
    counts.reset()
    run_edit(qtbot, lambda: doc.apply_fix(fixes[-1]))
    (change,) = changes
    assert len(change.nodes_added) >= 2 and counts.gathered == 1
    assert max(counts.views.values()) == 1 and max(counts.cards.values()) == 1
    all_panels_follow(window)
    for edit in (doc.undo_stack.undo, doc.undo_stack.redo):
        counts.reset()
        run_edit(qtbot, edit)
        assert len(changes) in (2, 3) and counts.gathered == 1
        assert max(counts.views.values()) == 1 and max(counts.cards.values()) == 1
        all_panels_follow(window)
    assert not [d for d in doc.engine.diagnostics() if d.node == "b0_add"]


def test_moving_a_card_refreshes_no_panel(big_window, qtbot) -> None:
    window, counts = big_window
    counts.reset()
    run_edit(qtbot, lambda: window.doc.move_nodes({"b3_c1": (4000.0, 4000.0)}))
    assert counts.views == Counter() and counts.cards == Counter()
    assert window.scene.nodes["b3_c1"].pos().x() == 4000


def test_lenet_kernel_step_refreshes_the_inspector_once(make_window, monkeypatch, qtbot) -> None:
    """The issue's case: one spin-box step on kernel_size (4 inspector refreshes, 2 of the
    card and 7 diagnostics reads before)."""
    window = make_window(example="lenet5")
    window.doc.select(["c1"])
    settle()
    counts = Counts(monkeypatch)
    run_edit(qtbot, window.inspector.fields["kernel_size"].first.stepUp)
    assert window.doc.graph.params("c1")["kernel_size"] == 6
    assert counts.views["InspectorPanel"] == 1 and counts.cards["c1"] == 1
    assert counts.gathered == 1
