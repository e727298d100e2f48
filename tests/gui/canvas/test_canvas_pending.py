"""A half-built graph is calm: a card that simply has no input yet is drawn grey-dashed, not
red, while its diagnostic stays (it still blocks training and export); other errors stay red."""

from __future__ import annotations

from gui_helpers import place
from helpers import chain
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from dlbuilder.gui.canvas.node_item import NodeItem
from dlbuilder.gui.look.theme import theme_manager


def card_colours(item: NodeItem) -> set[tuple[int, int, int]]:
    """The colours painted over the card and its border (the badge included)."""
    rect = item.card_rect().adjusted(-6, -6, 6, 6)
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    item.scene().render(painter, QRectF(image.rect()), rect)
    painter.end()
    return {QColor(image.pixel(x, y)).getRgb()[:3]
            for x in range(image.width()) for y in range(image.height())}


def test_a_layer_without_input_is_calm_but_still_reported(make_view) -> None:
    graph = place(chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("ReLU", {}),
                        shape=[1, 8, 8]))
    graph.remove_edge("in", "n1")
    view = make_view(graph)
    scene, doc = view.graph_scene, view.doc
    waiting = scene.nodes["n1"]
    assert [d.code for d in doc.engine.diagnostics() if d.node == "n1"] == ["no_input"]
    assert waiting.severity == "pending" and "nothing is connected" in waiting.toolTip()
    manager = theme_manager()
    old = manager.choice
    try:
        for name in ("light", "dark"):
            manager.apply(name)
            red = QColor(manager.theme.error).getRgb()[:3]
            assert red not in card_colours(waiting)
            assert red not in card_colours(scene.nodes["n2"])  # its '?' waits as calmly
    finally:
        manager.apply(old)


def test_a_real_error_stays_red(make_view) -> None:
    graph = place(chain(("Conv2d", {"out_channels": 4, "kernel_size": 9}), shape=[1, 4, 4]))
    view = make_view(graph)
    item = view.graph_scene.nodes["n1"]
    assert item.severity == "error"
    assert QColor(theme_manager().theme.error).getRgb()[:3] in card_colours(item)


def test_a_merge_waiting_for_its_second_input_is_calm(make_view) -> None:
    graph = place(chain(("ReLU", {}), ("Add", {}), shape=[4]))
    view = make_view(graph)
    assert view.graph_scene.nodes["n2"].severity == "pending"
