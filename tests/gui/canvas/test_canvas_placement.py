"""Where new cards land in the window: fixes, palette adds and quick-adds put them in free
space (neighbours shifting in the same undo step), "add after" a layer that feeds another goes
into the chain, the view follows what was added, and switching graphs after a fix is clean."""

from __future__ import annotations

from gui_helpers import all_panels_follow, place, settle
from helpers import chain, flat_resnet_cifar
from PySide6.QtCore import QRectF, Qt
from PySide6.QtTest import QTest

from dlbuilder.core.commands import SetParams
from dlbuilder.resources import examples_dir


def overlapping_cards(scene) -> list[tuple[str, str]]:
    items = sorted(scene.nodes.items())
    return [(a, b) for i, (a, ia) in enumerate(items) for b, ib in items[i + 1:]
            if ia.card_rect().intersects(ib.card_rect())]


def shown_rect(view) -> QRectF:
    return view.mapToScene(view.viewport().rect()).boundingRect()


def apply_menu_fix(view, node: str, starts: str) -> None:
    menu = view.edits.node_menu(node)
    action = next(a for a in menu.actions() if a.text().startswith(starts))
    action.trigger()
    settle()


def test_opening_another_example_after_a_fix_is_clean(make_window) -> None:
    window = make_window(graph=flat_resnet_cifar())
    doc = window.doc
    assert doc.push(SetParams("block1_conv1", {"stride": 2}))
    apply_menu_fix(window.view, "block1_add", "Fix: Project input 1")
    assert window.files.open(examples_dir() / "digits_cnn.json", ask=False)
    settle()
    assert "conv2d" not in window.scene.nodes and "conv1" in window.scene.nodes
    all_panels_follow(window)


def test_the_projection_fix_lands_in_free_space_and_is_one_step(make_window) -> None:
    window = make_window(graph=flat_resnet_cifar())
    doc, scene = window.doc, window.scene
    assert doc.push(SetParams("block1_conv1", {"stride": 2}))
    before = {n: doc.graph.ui(n) for n in doc.graph.nodes()}
    apply_menu_fix(window.view, "block1_add",
                   "Fix: Project input 1 with a 1x1 Conv2d (stride 2, 16 channels) +")
    new = [n for n in doc.graph.nodes() if n not in before]
    assert len(new) == 2 and overlapping_cards(scene) == []
    assert all(scene.nodes[n].card_rect().intersects(shown_rect(window.view)) for n in new)
    doc.undo_stack.undo()
    assert {n: doc.graph.ui(n) for n in doc.graph.nodes()} == before
    settle()
    assert all(scene.nodes[n].pos().toTuple() == (ui["x"], ui["y"]) for n, ui in before.items())


def test_search_enter_with_the_input_selected_goes_into_the_chain(make_window) -> None:
    window = make_window()
    doc, scene = window.doc, window.scene
    doc.select(["input"])
    window.palette.search.setText("dropout")
    QTest.keyClick(window.palette.search, Qt.Key.Key_Return)
    settle()
    (new,) = [n for n in doc.graph.nodes() if doc.graph.type_of(n) == "Dropout"
              and n != "dropout"]
    assert doc.graph.inputs(new) == ["input"] and doc.graph.inputs("conv1") == [new]
    assert overlapping_cards(scene) == []
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.graph.inputs("conv1") == ["input"] and doc.graph.ui("conv1") == {"x": 260, "y": 0}
    all_panels_follow(window)


def test_palette_adds_along_a_chain_stay_in_view(make_window) -> None:
    graph = place(chain(*[("ReLU", {})] * 5, shape=[1, 8, 8], output=False))
    window = make_window(graph)
    window.view.fit()
    doc, view = window.doc, window.view
    doc.select(["n5"])
    for type_name in ("Flatten", "Linear"):
        window.palette.add_requested.emit(type_name)
        settle()
        (new,) = doc.selection()
        assert doc.graph.type_of(new) == type_name
        assert shown_rect(view).contains(window.scene.nodes[new].card_rect())
    assert overlapping_cards(window.scene) == []


def test_tab_quick_add_after_a_layer_goes_into_its_chain(make_window) -> None:
    window = make_window()
    doc = window.doc
    doc.select(["conv2"])
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Tab)
    window.quick_add.search.setText("batchnorm2d")
    QTest.keyClick(window.quick_add.search, Qt.Key.Key_Return)
    settle()
    (new,) = doc.selection()
    assert doc.graph.inputs(new) == ["conv2"] and doc.graph.inputs("relu2") == [new]
    assert overlapping_cards(window.scene) == []
    assert shown_rect(window.view).contains(window.scene.nodes[new].card_rect())
