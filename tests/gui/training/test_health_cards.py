"""Health badges on the canvas's cards: what each says and how it is painted, the worst layer of
a block instance, an opened block's own layers, cleared by structural edits and another graph,
kept after the run; and a real run in the window (F5) feeding the badges and the Health tab."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import example_graph
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication
from run_helpers import make_history

from dlbuilder.backend.compiler import compile_graph
from dlbuilder.backend.health import by_top_node, layer_types
from dlbuilder.backend.module_names import path_text
from dlbuilder.backend.runs.store import RunStore
from dlbuilder.core.commands import RemoveNode, SetParams, SetTraining
from dlbuilder.core.fileformat import graph_to_dict
from dlbuilder.gui.canvas.card_health import HealthBadgeItem
from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.training.kept_runs import doc_runs_folder
from dlbuilder.gui.training.weights_files import same_network

RUN_S = 120_000


def record(graph, epoch: int = 3, **special: dict[str, Any]) -> dict[str, Any]:
    """A health record for every layer of `graph`, healthy unless `special` (by node label)
    says otherwise."""
    layers = []
    types = layer_types(compile_graph(graph).plan)
    for path, kind in types.items():
        rectifying = kind == "ReLU"
        weighted = kind in ("Conv2d", "Linear", "BatchNorm2d")
        values = {"path": list(path), "node": path_text(path, types), "type": kind,
                  "grad_norm": 0.12 if weighted else None,
                  "update_ratio": 1e-3 if weighted else None,
                  "dead_share": 0.03 if rectifying else None, "act_mean": 0.1, "act_std": 0.9,
                  "flags": []}
        values.update(special.get(path_text(path, types), {}))
        layers.append(values)
    return {"epoch": epoch, "layers": layers}


def badge(view, node: str) -> HealthBadgeItem | None:
    return view.graph_scene.nodes[node].health


def warning_pixels(view, item: HealthBadgeItem) -> int:
    """Pixels of the theme's warning colour where the badge is painted."""
    rect = item.sceneBoundingRect()
    image = QImage(int(rect.width() * 2), int(rect.height() * 2), QImage.Format.Format_ARGB32)
    image.fill(QColor(current().base))
    painter = QPainter(image)
    view.graph_scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    warning = QColor(current().warning)
    return sum(1 for y in range(image.height()) for x in range(image.width())
               if _near(image.pixelColor(x, y), warning))


def _near(a: QColor, b: QColor) -> bool:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue()) < 30


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_each_card_says_its_layer_s_health(make_view, theme: str) -> None:
    theme_manager().apply(theme)
    graph = example_graph("digits_cnn")
    view = make_view(graph)
    view.graph_scene.set_health(by_top_node(record(
        graph, conv1={"grad_norm": 1e-7, "flags": ["vanishing"]},
        relu2={"dead_share": 0.62, "flags": ["dead"]})), 3)
    QApplication.processEvents()
    assert (badge(view, "conv1").text, badge(view, "conv1").warns) == ("vanishing", True)
    assert (badge(view, "relu2").text, badge(view, "relu2").warns) == ("dead 62%", True)
    assert (badge(view, "relu1").text, badge(view, "relu1").warns) == ("dead 3%", False)
    assert (badge(view, "fc1").text, badge(view, "fc1").warns) == ("\u2207 0.12", False)
    assert badge(view, "pool1").text == ""  # nothing telling: a neutral dot
    for node in ("input", "flatten", "output"):  # no module, nothing measured
        assert badge(view, node) is None
    tip = badge(view, "conv1").toolTip()
    assert tip.startswith("Training health, epoch 3:")
    assert "conv1 (Conv2d): gradient norm 1e-07 · update / weight 0.001 · activation mean " \
           "0.1 · activation spread (std) 0.9" in tip and "vanishing:" in tip
    assert "dead units 62%" in badge(view, "relu2").toolTip()
    # the warning is painted in the theme's warning colour, the healthy badge is not
    assert warning_pixels(view, badge(view, "conv1")) > 20
    assert warning_pixels(view, badge(view, "fc1")) == 0
    # above the card, right of its middle, clear of the problem badge's corner
    card = view.graph_scene.nodes["conv1"].card_rect()
    spot = badge(view, "conv1").sceneBoundingRect()
    assert spot.bottom() <= card.top() + 3 and card.center().x() < spot.left()
    assert spot.right() <= card.right() - 12
    theme_manager().apply("light")


def test_badges_go_with_structural_edits_and_another_graph_not_with_moves(make_view) -> None:
    graph = example_graph("digits_cnn")
    view = make_view(graph)
    doc, scene = view.doc, view.graph_scene
    figures = by_top_node(record(graph))
    scene.set_health(figures, 1)
    assert badge(view, "conv1") is not None
    doc.move_nodes({"conv1": (400.0, 400.0)})
    doc.push(SetTraining({**doc.graph.training, "epochs": 4}))
    assert badge(view, "conv1") is not None  # the same network: kept
    doc.push(SetParams("conv1", {"out_channels": 8}))
    assert all(item.health is None for item in scene.nodes.values())
    scene.set_health(figures, 1)
    doc.undo_stack.undo()  # back to 16 channels: the figures were of 8
    assert badge(view, "conv1") is None
    scene.set_health(figures, 1)
    doc.add_node("extra", "ReLU", {})  # a node comes: the network changed
    assert all(item.health is None for item in scene.nodes.values())
    scene.set_health(figures, 1)
    doc.replace(example_graph("digits_cnn"))  # another graph, even one like it
    assert all(item.health is None for item in scene.nodes.values())
    scene.set_health(figures, 1)
    scene.set_health(None)
    assert all(item.health is None for item in scene.nodes.values())


def test_badges_that_know_their_graph_come_back_when_it_is_the_same_again(make_view) -> None:
    graph = example_graph("digits_cnn")
    view = make_view(graph)
    doc, scene = view.doc, view.graph_scene
    trained = graph_to_dict(doc.graph)
    scene.set_health(by_top_node(record(graph)), 2,
                     lambda now: same_network(trained, graph_to_dict(now)))
    assert badge(view, "conv1") is not None
    doc.push(SetParams("conv1", {"out_channels": 8}))
    assert all(item.health is None for item in scene.nodes.values())
    doc.undo_stack.undo()  # back to the graph measured
    assert badge(view, "conv1") is not None and badge(view, "fc2") is not None
    doc.push(RemoveNode("relu1"))
    assert all(item.health is None for item in scene.nodes.values())
    doc.undo_stack.undo()  # the card comes back, and its badge with it
    assert badge(view, "relu1") is not None and badge(view, "relu1").text.startswith("dead ")
    doc.replace(example_graph("digits_cnn"))  # another graph, even the same network
    assert all(item.health is None for item in scene.nodes.values())


def test_a_block_instance_shows_its_worst_layer_and_opened_its_own(make_view) -> None:
    graph = example_graph("resnet_cifar")
    view = make_view(graph)
    scene, doc = view.graph_scene, view.doc
    scene.set_health(by_top_node(record(
        graph, **{"block2/relu1": {"dead_share": 0.7, "flags": ["dead"]},
                  "block2/conv2": {"grad_norm": 1e-9, "flags": ["vanishing"]},
                  "block2/downsample/0": {"grad_norm": 7.0}})), 2)
    assert (badge(view, "block2").text, badge(view, "block2").warns) == ("vanishing", True)
    assert (badge(view, "block1").text, badge(view, "block1").warns) == ("", False)
    assert "block2/relu1 (ReLU)" in badge(view, "block2").toolTip()
    assert badge(view, "stem_conv").text == "\u2207 0.12"
    assert doc.open_block("block2")
    QApplication.processEvents()
    assert (badge(view, "relu1").text, badge(view, "relu1").warns) == ("dead 70%", True)
    assert badge(view, "conv2").text == "vanishing"
    assert badge(view, "conv1").text == "\u2207 0.12"
    assert badge(view, "downsample").text == ""  # an instance inside: its layers' worst
    assert "downsample/0" in badge(view, "downsample").toolTip()
    doc.leave()
    QApplication.processEvents()
    assert badge(view, "block2").text == "vanishing"


@pytest.mark.slow
def test_a_run_in_the_window_puts_health_on_cards_and_in_the_health_tab(qtbot, make_window,
                                                                         tmp_path) -> None:
    window = make_window()
    window.doc.save(tmp_path / "digits.json")
    window.doc.push(SetTraining({**window.doc.graph.training, "epochs": 2}))
    window.show_training()
    panel = window.training.panel
    qtbot.waitUntil(lambda: panel.data_panel.dataset() is not None, timeout=10_000)
    window.actions["train"].trigger()
    qtbot.waitUntil(lambda: not panel.running, timeout=RUN_S)
    assert panel.history.finished["reason"] == "completed"
    assert [h["epoch"] for h in panel.history.health] == [1, 2]
    scene = window.scene
    last = {layer["node"]: layer for layer in panel.history.health[-1]["layers"]}
    conv1 = scene.nodes["conv1"].health
    assert conv1 is not None and "epoch 2" in conv1.toolTip()
    assert not last["conv1"]["flags"]  # digits_cnn trains well
    assert conv1.text == f"\u2207 {last['conv1']['grad_norm']:.2g}" and not conv1.warns
    assert scene.nodes["relu1"].health.text.startswith("dead ")
    panel.tabs.setCurrentWidget(panel.health)
    QApplication.processEvents()
    lines = panel.health.layer_lines()
    assert set(lines) == {"conv1", "conv2", "fc1", "fc2"}  # bn1: only when asked
    assert list(lines["conv2"][1]) == pytest.approx([h["layers"][3]["grad_norm"]
                                                     for h in panel.history.health])
    kept = panel.store.history(panel.store.summaries()[-1].id)
    assert kept.health == panel.history.health  # the run's record keeps it
    panel.runs.select_runs([panel.store.summaries()[-1].id])
    assert list(panel.health.depth_lines()) == ["run 1"]
    assert scene.nodes["conv1"].health is not None  # kept after the run
    window.doc.push(SetParams("fc1", {"out_features": 32}))
    assert scene.nodes["conv1"].health is None


@pytest.mark.slow
def test_a_graph_reopened_shows_the_health_its_newest_run_kept(make_window, tmp_path) -> None:
    """The runs store of a saved graph holds a run with health (the app's or `train
    --health`'s): opening the graph again puts that run's last record on the cards; a run of
    a graph since changed shows nothing until the graph is that one again."""
    window = make_window()
    path = tmp_path / "digits.json"
    window.doc.save(path)
    window.show_training()
    panel = window.training.panel
    history = make_history(2)
    history.health = [record(window.doc.graph, 1),
                      record(window.doc.graph, 2, conv2={"flags": ["vanishing"],
                                                         "grad_norm": 1e-9})]
    changed = graph_to_dict(window.doc.graph)
    changed["nodes"][1]["params"] = {**changed["nodes"][1]["params"], "out_channels": 8}
    assert changed["nodes"][1]["id"] == "conv1"
    panel.store.add(graph_to_dict(window.doc.graph), {"epochs": 2}, history)
    assert window.files.open(path, ask=False)
    scene = window.scene
    assert (scene.nodes["conv2"].health.text, scene.nodes["conv2"].health.warns) == \
        ("vanishing", True)
    assert "epoch 2" in scene.nodes["conv1"].health.toolTip()
    panel.store.add(changed, {"epochs": 2}, history)  # the newest run: conv1 had 8 channels
    assert window.files.open(path, ask=False)
    assert all(item.health is None for item in scene.nodes.values())
    window.doc.push(SetParams("conv1", {"out_channels": 8}))
    assert scene.nodes["conv2"].health.text == "vanishing"
    window.doc.undo_stack.undo()
    assert all(item.health is None for item in scene.nodes.values())


def test_health_kept_shows_before_the_training_tab_is_ever_built(qtbot, make_window,
                                                                 tmp_path) -> None:
    window = make_window()
    path = tmp_path / "digits.json"
    window.doc.save(path)
    assert window.training.panel is None  # the tab was never shown: no PyTorch, no panel
    history = make_history(1)
    history.health = [record(window.doc.graph, 1, relu1={"dead_share": 0.8,
                                                         "flags": ["dead"]})]
    RunStore(doc_runs_folder(window.doc)).add(graph_to_dict(window.doc.graph), {}, history)
    assert window.files.open(path, ask=False)
    qtbot.waitUntil(lambda: window.scene.nodes["relu1"].health is not None, timeout=5_000)
    assert window.scene.nodes["relu1"].health.text == "dead 80%"
    assert window.training.panel is None
