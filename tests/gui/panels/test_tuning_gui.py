"""Fine-tuning in the editor: the inspector's Frozen and Learning-rate fields, the lock on the
card, the canvas menu's Freeze entries and the Training tab's count of what trains."""

from __future__ import annotations

import pytest
from gui_helpers import settle
from helpers import example_graph
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem

from dlbuilder.core.tuning import SetTrain
from dlbuilder.gui.canvas.card_marks import LOCK_BODY, LOCK_SHACKLE
from dlbuilder.gui.canvas.style import HEADER_H, NODE_H, NODE_W
from dlbuilder.gui.look.theme import theme_manager


@pytest.fixture
def inspector(make_inspector):
    return make_inspector("resnet_cifar")


def test_the_frozen_box_freezes_in_one_undoable_step(inspector) -> None:
    doc, panel = inspector
    box = panel.tuning_box
    doc.select(["stem_conv"])
    settle()
    assert box.isVisibleTo(panel) and box.nodes == ["stem_conv"]
    steps = doc.undo_stack.count()
    box.frozen_check.click()
    assert doc.graph.train("stem_conv") == {"frozen": True}
    assert doc.undo_stack.count() == steps + 1
    assert not box.rate_spin.isEnabled()  # a frozen layer has no rate to scale
    doc.undo_stack.undo()
    assert doc.graph.train("stem_conv") == {} and not box.frozen_check.isChecked()


def test_the_rate_field_sets_the_multiplier(inspector) -> None:
    doc, panel = inspector
    doc.select(["fc"])
    settle()
    panel.tuning_box.rate_spin.setValue(10)
    assert doc.graph.train("fc") == {"lr_scale": 10.0}
    panel.tuning_box.rate_spin.setValue(1)
    assert doc.graph.train("fc") == {}


def test_several_selected_apply_to_all_with_weights_in_one_step(inspector) -> None:
    doc, panel = inspector
    box = panel.tuning_box
    SetTrain("fc", {"frozen": True}).apply(doc.graph)
    doc.select(["stem_conv", "stem_relu", "fc"])
    settle()
    assert box.isVisibleTo(panel) and box.nodes == ["stem_conv", "fc"]  # ReLU has no weights
    assert box.frozen_check.checkState() == Qt.CheckState.PartiallyChecked
    assert "Applies to the 2 selected layers" in box.note_label.text()
    steps = doc.undo_stack.count()
    box.frozen_check.click()
    assert doc.graph.train("stem_conv") == doc.graph.train("fc") == {"frozen": True}
    assert doc.undo_stack.count() == steps + 1
    assert box.frozen_check.checkState() == Qt.CheckState.Checked


def test_the_box_says_what_freezing_means_for_blocks(inspector) -> None:
    doc, panel = inspector
    doc.select(["block2"])
    settle()
    assert "freezes every layer inside it" in panel.tuning_box.note_label.text()
    doc.open_block("block1")
    doc.select(["conv1"])
    settle()
    box = panel.tuning_box
    assert box.isVisibleTo(panel)
    assert "in every instance of BasicBlock" in box.note_label.text()
    box.frozen_check.click()
    assert doc.graph.block("BasicBlock").graph.train("conv1") == {"frozen": True}


def test_hidden_for_layers_without_weights(inspector) -> None:
    doc, panel = inspector
    doc.select(["stem_relu"])
    settle()
    assert not panel.tuning_box.isVisibleTo(panel)


def _card_image(view, node: str) -> QImage:
    """The card as it paints itself, at twice its size."""
    item = view.graph_scene.nodes[node]
    size = item.card_rect().size().toSize() * 2
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(QColor(0, 0, 0, 0))
    painter = QPainter(image)
    painter.scale(2, 2)
    item.paint(painter, QStyleOptionGraphicsItem())
    painter.end()
    return image


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_frozen_card_shows_a_lock_in_the_themes_muted_colour(make_view, theme) -> None:
    before = theme_manager().choice
    chosen = theme_manager().apply(theme)
    try:
        view = make_view(example_graph("resnet_cifar"))
        view.graph_scene.clearSelection()
        plain = _card_image(view, "stem_conv")
        view.doc.push(SetTrain("stem_conv", {"frozen": True}))
        settle()
        item = view.graph_scene.nodes["stem_conv"]
        assert item.tuning.frozen and "frozen: its weights do not train" in item.toolTip()
        locked = _card_image(view, "stem_conv")
        centre = LOCK_BODY.boundingRect().center() * 2
        x, y = int(centre.x()), int(centre.y())
        assert plain.pixelColor(x, y) != locked.pixelColor(x, y)
        muted = QColor(chosen.muted)
        got = locked.pixelColor(x, y)
        assert abs(got.red() - muted.red()) + abs(got.green() - muted.green()) < 40
        view.doc.undo_stack.undo()
        settle()
        assert not item.tuning.frozen
        view.doc.push(SetTrain("fc", {"lr_scale": 0.1}))
        assert view.graph_scene.nodes["fc"].texts()["rate"] == "lr \u00d70.1"
    finally:
        theme_manager().apply(before)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_frozen_card_is_set_apart_quietly_with_a_readable_lock(make_view, theme) -> None:
    """Review 15, item 14: the lock was 10x12 pixels, and a frozen card looked like any."""
    lock = LOCK_BODY.united(LOCK_SHACKLE).boundingRect()
    assert lock.width() >= 12 and lock.height() >= 14  # as tall as the count line's text
    assert lock.bottom() <= NODE_H - 5 and lock.right() <= NODE_W - 8  # inside the card
    before = theme_manager().choice
    theme_manager().apply(theme)
    try:
        view = make_view(example_graph("resnet_cifar"))
        view.graph_scene.clearSelection()
        plain = _card_image(view, "stem_conv")
        view.doc.push(SetTrain("stem_conv", {"frozen": True}))
        settle()
        frozen = _card_image(view, "stem_conv")
        # the body right of the shape's text, above the lock: plain card colour unless frozen
        differences = [
            max(abs(a.red() - b.red()), abs(a.green() - b.green()), abs(a.blue() - b.blue()))
            for x in range(int(NODE_W * 1.3), int(NODE_W * 1.8))
            for y in range(int(HEADER_H * 2 + 8), int(NODE_H * 2 - 44))
            for a, b in [(plain.pixelColor(x, y), frozen.pixelColor(x, y))]]
        changed = [d for d in differences if d]
        assert len(changed) > len(differences) / 20  # seen over the whole body
        assert max(changed) < 90  # quiet: a faint pattern, not a new colour
    finally:
        theme_manager().apply(before)


def test_the_menu_freezes_and_freezes_everything_before(make_view) -> None:
    view = make_view(example_graph("resnet_cifar"))
    doc = view.doc
    view.graph_scene.clearSelection()
    view.graph_scene.nodes["fc"].setSelected(True)
    menu = view.edits.node_menu("fc")
    actions = {a.text(): a for a in menu.actions() if a.text()}
    assert "Freeze" in actions and "Freeze Everything Before This" in actions
    steps = doc.undo_stack.count()
    actions["Freeze Everything Before This"].trigger()
    assert doc.undo_stack.count() == steps + 1
    frozen = [n for n in doc.graph.nodes() if doc.graph.train(n).get("frozen")]
    assert frozen == ["stem_conv", "stem_bn", "block1", "block2", "block3"]
    view.graph_scene.clearSelection()
    view.graph_scene.nodes["block1"].setSelected(True)
    actions = {a.text(): a for a in view.edits.node_menu("block1").actions() if a.text()}
    actions["Unfreeze"].trigger()
    assert doc.graph.train("block1") == {}


def test_the_training_tab_says_how_many_parameters_train(make_window) -> None:
    window = make_window(example_graph("resnet_cifar"))
    panel = window.training.ensure_panel()
    panel.refresh_problems()  # what its check timer does after an edit
    total = window.doc.engine.totals().params
    assert panel.params_label.text() == f"{total:,} parameters train"
    window.doc.push(SetTrain("block3", {"frozen": True}))
    panel.refresh_problems()
    frozen = window.doc.engine.info("block3").params
    assert panel.params_label.text() == (f"{total - frozen:,} of {total:,} parameters train; "
                                         f"{frozen:,} frozen")
