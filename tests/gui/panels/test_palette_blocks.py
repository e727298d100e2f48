"""The palette's Blocks section: the file's blocks, the built-in ones and the user's saved
ones; search; placing (a library block's definitions copied into the file in one undo step);
saving a block to the user's folder."""

from __future__ import annotations

import json

import pytest
from blocks_doc import tiny_graph
from PySide6.QtCore import Qt

from dlbuilder.core.block_library import read_library
from dlbuilder.core.blocks import BLOCK
from dlbuilder.gui.document import Document
from dlbuilder.gui.mime import BLOCK_MIME
from dlbuilder.gui.panels.block_shelf import (
    BUILTIN,
    FILE,
    USER,
    library_shelves,
    place_block,
)
from dlbuilder.gui.panels.palette import PalettePanel
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import builtin_blocks_file


@pytest.fixture
def shelves(qtbot, tmp_path):
    doc = Document(tiny_graph())
    folder = tmp_path / "blocks"
    panel = PalettePanel(REGISTRY, doc=doc, user_folder=folder,
                         library=lambda: library_shelves(REGISTRY, folder))
    qtbot.addWidget(panel)
    panel.resize(260, 800)
    panel.show()
    placed: list = []
    panel.block_requested.connect(placed.append)
    return doc, panel, placed


def test_the_file_and_the_library_are_listed(shelves) -> None:
    doc, panel, _ = shelves
    shown = panel.visible_blocks()
    assert shown[:2] == [(FILE, "Basic"), (FILE, "Stage")]
    builtin = [name for source, name in shown if source == BUILTIN]
    assert builtin == [d.name for d in read_library(builtin_blocks_file(), REGISTRY)]
    assert "BasicBlock" in builtin and "Bottleneck" in builtin
    assert sorted(panel.visible_types()) == sorted(REGISTRY.types())  # layers unchanged


def test_search_finds_blocks_too(shelves) -> None:
    doc, panel, placed = shelves
    panel.set_filter("bottleneck")
    assert panel.visible_types() == []
    assert [name for _, name in panel.visible_blocks()] == ["Bottleneck", "BottleneckDown"]
    panel.search.returnPressed.emit()
    assert [e.name for e in placed] == ["Bottleneck"]
    panel.set_filter("stage")
    assert panel.visible_blocks()[0] == (FILE, "Stage")
    assert panel.best_item().text(0) == "Stage"
    panel.set_filter("conv")  # layers and blocks side by side
    assert "Conv2d" in panel.visible_types() and panel.visible_blocks()


def test_double_click_and_drag(shelves, qtbot) -> None:
    doc, panel, placed = shelves
    item = next(i for i in panel.block_items() if i.data(0, Qt.ItemDataRole.UserRole + 3).name
                == "VGGBlock")
    panel.tree.itemDoubleClicked.emit(item, 0)
    assert [(e.source, e.name) for e in placed] == [(BUILTIN, "VGGBlock")]
    data = panel.tree.mimeData([item])
    assert json.loads(bytes(data.data(BLOCK_MIME)).decode()) == {"source": BUILTIN,
                                                                  "name": "VGGBlock"}
    assert panel.entry(BUILTIN, "VGGBlock").name == "VGGBlock"


def test_placing_a_library_block_copies_it_in_one_undo_step(shelves) -> None:
    doc, panel, _ = shelves
    steps = doc.undo_stack.count()
    node = place_block(doc, panel.entry(BUILTIN, "BottleneckDown"), (400, 300))
    graph = doc.graph
    assert graph.type_of(node) == BLOCK
    assert graph.params(node) == {"block": "BottleneckDown"}
    assert "BottleneckDown" in graph.blocks
    assert doc.undo_stack.count() == steps + 1
    assert doc.selection() == (node,)
    assert (FILE, "BottleneckDown") in panel.visible_blocks()  # the file's shelf follows
    doc.undo_stack.undo()
    assert node not in graph and "BottleneckDown" not in graph.blocks
    assert (FILE, "BottleneckDown") not in panel.visible_blocks()


def test_placing_a_file_block_adds_an_instance_only(shelves) -> None:
    doc, panel, _ = shelves
    blocks = list(doc.graph.blocks)
    node = place_block(doc, panel.entry(FILE, "Basic"), (0, 600))
    assert doc.graph.params(node) == {"block": "Basic"} and list(doc.graph.blocks) == blocks


def test_a_block_cannot_be_placed_inside_itself(shelves, qtbot) -> None:
    doc, panel, _ = shelves
    doc.open_block("layer2")  # inside Stage, which places Basic
    with qtbot.waitSignal(doc.refused) as refused:
        assert place_block(doc, panel.entry(FILE, "Stage"), (0, 0)) is None
    assert "Stage > Stage" in refused.args[0]
    node = place_block(doc, panel.entry(FILE, "Basic"), (0, 200))
    assert doc.graph.block("Stage").graph.params(node) == {"block": "Basic"}


def test_saving_a_block_lists_it_under_my_blocks(shelves, tmp_path) -> None:
    doc, panel, _ = shelves
    path = panel.save_block("Stage")
    assert path == tmp_path / "blocks" / "Stage.json"
    assert (USER, "Stage") in panel.visible_blocks()
    other = Document()
    node = place_block(other, panel.entry(USER, "Stage"), (0, 0))
    assert list(other.graph.blocks) == ["Basic", "Stage"]  # with the block it uses
    assert other.graph.params(node) == {"block": "Stage"}


def test_an_unreadable_saved_block_is_reported_not_raised(qtbot, tmp_path) -> None:
    folder = tmp_path / "blocks"
    folder.mkdir()
    (folder / "Broken.json").write_text("{not json")
    panel = PalettePanel(REGISTRY, doc=Document(), user_folder=folder,
                         library=lambda: library_shelves(REGISTRY, folder))
    qtbot.addWidget(panel)
    assert any("Broken.json" in p for p in panel.library_problems)
    builtin = read_library(builtin_blocks_file(), REGISTRY)
    assert [s for s, _ in panel.visible_blocks()] == [BUILTIN] * len(builtin)


def test_an_unused_block_can_be_removed_from_the_file(shelves) -> None:
    doc, panel = shelves[0], shelves[1]
    refusals: list[str] = []
    doc.refused.connect(refusals.append)
    assert not panel.remove_block("Basic")  # layer1 and Stage's "0" place it
    assert "used by" in refusals[-1] and "Basic" in doc.graph.blocks
    doc.graph.remove_node("layer1")
    doc.graph.remove_node("layer2")
    assert panel.remove_block("Stage") and "Stage" not in doc.graph.blocks
    assert panel.remove_block("Basic") and doc.graph.blocks == {}
    doc.undo_stack.undo()
    assert list(doc.graph.blocks) == ["Basic"]
