"""Dropping a palette layer onto a wire puts it in between, as one undo step, or says why it
cannot go there."""

from __future__ import annotations

from gui_helpers import convs, drag_events, place, viewport_point
from helpers import chain
from PySide6.QtCore import QMimeData

from dlbuilder.gui.mime import LAYER_MIME


def test_drop_on_a_wire_inserts_the_layer_there(make_view) -> None:
    view = make_view(convs())
    doc, scene = view.doc, view.graph_scene
    wire = scene.wires[("n1", "n2")]
    at = viewport_point(view, wire.path().pointAtPercent(0.5))
    assert drag_events(view, view_mime("BatchNorm2d"), at) == [True, True, True]
    (new,) = [n for n in doc.graph.nodes() if doc.graph.type_of(n) == "BatchNorm2d"]
    assert doc.graph.inputs(new) == ["n1"] and doc.graph.inputs("n2") == [new]
    assert doc.graph.ui(new) and doc.undo_stack.count() == 1
    assert doc.undo_stack.undoText().startswith("Insert BatchNorm2d")
    assert (new, "n2") in scene.wires and ("n1", "n2") not in scene.wires
    doc.undo_stack.undo()
    assert doc.graph.inputs("n2") == ["n1"] and new not in doc.graph


def test_drop_on_a_wire_that_cannot_take_the_layer_says_why(make_view, qtbot) -> None:
    view = make_view(place(chain(("Flatten", {}), ("Linear", {"out_features": 4}),
                                 shape=[1, 4, 4])))
    doc, scene = view.doc, view.graph_scene
    at = viewport_point(view, scene.wires[("n1", "n2")].path().pointAtPercent(0.5))
    with qtbot.waitSignal(doc.refused) as said:
        drag_events(view, view_mime("BatchNorm2d"), at)  # a vector into an image norm
    assert "cannot insert BatchNorm2d between n1 and n2" in said.args[0]
    assert doc.graph.inputs("n2") == ["n1"] and doc.undo_stack.count() == 0


def view_mime(type_name: str) -> QMimeData:
    mime = QMimeData()
    mime.setData(LAYER_MIME, type_name.encode())
    return mime
