"""Where new cards land in the window: fixes, palette adds and quick-adds put them in free
space (neighbours shifting in the same undo step), "add after" a layer that feeds another goes
into the chain, the view follows what was added, and switching graphs after a fix is clean."""

from __future__ import annotations

from gui_helpers import all_panels_follow, settle
from PySide6.QtCore import QRectF

from dlbuilder.core.commands import SetParams
from dlbuilder.resources import examples_dir


def overlapping_cards(scene) -> list[tuple[str, str]]:
    items = sorted(scene.nodes.items())
    return [(a, b) for i, (a, ia) in enumerate(items) for b, ib in items[i + 1:]
            if ia.card_rect().intersects(ib.card_rect())]


def shown_rect(view) -> QRectF:
    return view.mapToScene(view.viewport().rect()).boundingRect()


def apply_menu_fix(view, node: str, starts: str) -> None:
    menu = view.node_menu(node)
    action = next(a for a in menu.actions() if a.text().startswith(starts))
    action.trigger()
    settle()


def test_opening_another_example_after_a_fix_is_clean(make_window) -> None:
    window = make_window(example="resnet_cifar")
    doc = window.doc
    assert doc.push(SetParams("block1_conv1", {"stride": 2}))
    apply_menu_fix(window.view, "block1_add", "Fix: Project input 1")
    assert window.files.open(examples_dir() / "digits_cnn.json", ask=False)
    settle()
    assert "conv2d" not in window.scene.nodes and "conv1" in window.scene.nodes
    all_panels_follow(window)
