"""Gestures and checks for GUI tests: a synthesized palette drop, scene-to-viewport points,
the clipboard, and a check that every view agrees with the graph."""

from __future__ import annotations

from helpers import chain
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from dlbuilder.core.graph import Graph
from dlbuilder.core.registry import format_shape
from dlbuilder.gui.canvas import CanvasView
from dlbuilder.gui.mime import NODES_MIME


def drag_events(view: CanvasView, mime: QMimeData, at: QPoint) -> list[bool]:
    """Enter, move and drop `mime` at viewport point `at`; whether each event was accepted."""
    action, button = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton
    modifier = Qt.KeyboardModifier.NoModifier
    accepted = []
    for event in (QDragEnterEvent(at, action, mime, button, modifier),
                  QDragMoveEvent(at, action, mime, button, modifier),
                  QDropEvent(QPointF(at), action, mime, button, modifier)):
        QApplication.sendEvent(view.viewport(), event)
        accepted.append(event.isAccepted())
    return accepted


def viewport_point(view: CanvasView, scene_pos: QPointF) -> QPoint:
    return view.mapFromScene(scene_pos)


def settle() -> None:
    """Let the panels' coalesced refreshes and deferred slots run."""
    for _ in range(3):
        QApplication.processEvents()


def put_on_clipboard(data: bytes) -> None:
    mime = QMimeData()
    mime.setData(NODES_MIME, data)
    QApplication.clipboard().setMimeData(mime)


def all_panels_follow(window) -> None:
    """Every view agrees with the graph once the refreshes ran."""
    settle()
    graph = window.doc.graph
    assert set(window.scene.nodes) == set(graph.nodes())
    assert set(window.scene.wires) == {(s, d) for s, d, _ in graph.edges()}
    engine = window.doc.engine
    for (src, dst), wire in window.scene.wires.items():
        path = wire.path()
        assert wire.port == graph.port_of(src, dst)
        assert wire.from_port == graph.from_port(src, dst)
        assert path.pointAtPercent(0) == wire.src.output_port_pos(wire.from_port)
        assert path.pointAtPercent(1) == wire.dst.input_port_pos(wire.port)
        assert wire.label_text() == format_shape(engine.source_shape(src, wire.from_port))
    for node, item in window.scene.nodes.items():
        info = engine.info(node)
        if info.port_shapes:  # one text per output: the port labels say them
            shown = item.port_shapes[:len(info.port_shapes)]
            assert shown == tuple(map(format_shape, info.port_shapes))
        else:
            assert item.texts()["shape"] == format_shape(info.output_shape)
        assert item.connected == len(graph.inputs(node))
    if window.docks["summary"].isVisible():  # a hidden table catches up when shown
        assert sorted(window.summary.visible_nodes()) == sorted(graph.nodes())
    assert window.problems.diagnostics() == sorted(
        window.doc.engine.diagnostics(), key=lambda d: d.severity != "error")
    shown = window.inspector.node
    assert shown is None or shown in graph


def place(graph: Graph) -> Graph:
    """Give every node a position, left to right, as the files do."""
    for i, node in enumerate(graph.nodes()):
        graph.set_ui(node, {"x": i * 260, "y": 0})
    return graph


def convs() -> Graph:
    return place(chain(("Conv2d", {"out_channels": 8, "kernel_size": 3}), ("ReLU", {}),
                       ("Conv2d", {"out_channels": 16, "kernel_size": 3}), shape=[1, 12, 12]))
