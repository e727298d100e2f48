"""The layer palette: grouped entries from the registry, filtering, drag payload, add requests."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from dlbuilder.gui.mime import BLOCK_MIME, LAYER_MIME
from dlbuilder.gui.panels.palette import SEARCH_PLACEHOLDER, PalettePanel
from dlbuilder.gui.widgets.layer_search import TYPE_ROLE, category_title, find_layers, match_rank
from dlbuilder.layers import REGISTRY


@pytest.fixture
def palette(qtbot) -> PalettePanel:
    panel = PalettePanel(REGISTRY)
    qtbot.addWidget(panel)
    panel.resize(240, 700)
    panel.show()
    return panel


def test_every_layer_is_listed_under_its_category(palette: PalettePanel) -> None:
    assert sorted(palette.visible_types()) == sorted(REGISTRY.types())
    tree = palette.tree
    titles = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert titles[:2] == ["Input / output", "Convolution"]
    conv = tree.topLevelItem(1)
    assert [conv.child(i).text(0) for i in range(conv.childCount())] == [
        spec.type for spec in REGISTRY.by_category()["convolution"]]
    assert REGISTRY.get("Conv2d").summary in conv.child(0).toolTip(0)
    assert palette.search.placeholderText() == SEARCH_PLACEHOLDER


@pytest.mark.parametrize(("query", "expected"), [
    ("conv", ["Conv2d", "ConvTranspose2d"]),
    ("CONV", ["Conv2d", "ConvTranspose2d"]),
    ("probabilities", ["Softmax"]),
    ("batchnorm", ["BatchNorm1d", "BatchNorm2d"]),
    ("pool 2d", ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]),
    ("zzz", []),
])
def test_filter_matches_names_and_summaries(palette: PalettePanel, query: str,
                                            expected: list[str]) -> None:
    palette.set_filter(query)
    visible = palette.visible_types()  # the registry's matches; new types may join them
    assert visible == [spec.type for spec in find_layers(REGISTRY, query)]
    assert [t for t in visible if t in expected] == expected
    tree = palette.tree
    shown_groups = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())
                    if not tree.topLevelItem(i).isHidden()]
    assert shown_groups == list(dict.fromkeys(
        category_title(REGISTRY.get(t).category) for t in visible))
    palette.set_filter("")
    assert len(palette.visible_types()) == len(REGISTRY)


def test_best_match_first() -> None:
    found = find_layers(REGISTRY, "relu")
    assert found[0].type == "ReLU" and "LeakyReLU" in [s.type for s in found]
    ranks = [match_rank(s, "relu") for s in found]
    assert ranks == sorted(ranks)
    assert match_rank(REGISTRY.get("Linear"), "linear") == 0
    assert match_rank(REGISTRY.get("Linear"), "conv") is None


def test_drag_carries_the_type_name(palette: PalettePanel) -> None:
    item = next(i for i in palette.layer_items() if i.data(0, TYPE_ROLE) == "MaxPool2d")
    assert item.flags() & Qt.ItemFlag.ItemIsDragEnabled
    data = palette.tree.mimeData([item])
    assert data.hasFormat(LAYER_MIME)
    assert bytes(data.data(LAYER_MIME)).decode("utf-8") == "MaxPool2d"
    assert palette.tree.mimeTypes() == [LAYER_MIME, BLOCK_MIME]
    assert bytes(palette.mime_data("ReLU").data(LAYER_MIME)) == b"ReLU"
    group = palette.tree.topLevelItem(0)
    assert not group.flags() & Qt.ItemFlag.ItemIsDragEnabled


def test_search_and_enter_asks_to_add_the_first_match(palette: PalettePanel, qtbot) -> None:
    qtbot.keyClicks(palette.search, "conv")
    assert palette.visible_types()[0] == "Conv2d"
    with qtbot.waitSignal(palette.add_requested, timeout=1000) as blocker:
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert blocker.args == ["Conv2d"]


def test_enter_on_empty_search_adds_nothing(palette: PalettePanel, qtbot) -> None:
    with qtbot.assertNotEmitted(palette.add_requested):
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)


def test_double_click_and_enter_in_the_list(palette: PalettePanel, qtbot) -> None:
    item = next(i for i in palette.layer_items() if i.data(0, TYPE_ROLE) == "Dropout")
    with qtbot.waitSignal(palette.add_requested, timeout=1000) as blocker:
        palette.tree.itemDoubleClicked.emit(item, 0)
    assert blocker.args == ["Dropout"]
    with qtbot.assertNotEmitted(palette.add_requested):
        palette.tree.itemDoubleClicked.emit(palette.tree.topLevelItem(0), 0)
    palette.tree.setCurrentItem(item)
    with qtbot.waitSignal(palette.add_requested, timeout=1000) as blocker:
        qtbot.keyClick(palette.tree, Qt.Key.Key_Return)
    assert blocker.args == ["Dropout"]


def test_down_from_search_enters_the_list_and_escape_clears(palette: PalettePanel,
                                                            qtbot) -> None:
    qtbot.keyClicks(palette.search, "tanh")
    qtbot.keyClick(palette.search, Qt.Key.Key_Down)
    assert palette.tree.currentItem().data(0, TYPE_ROLE) == "Tanh"
    qtbot.keyClick(palette.search, Qt.Key.Key_Escape)
    assert palette.search.text() == "" and len(palette.visible_types()) == len(REGISTRY)


@pytest.mark.parametrize("query", ["dropout", "norm", "relu", "2d", "pool"])
def test_the_highlighted_match_is_the_one_enter_adds(palette: PalettePanel, qtbot,
                                                     query: str) -> None:
    """Review of issue 19: "dropout" highlighted BatchNorm1d (its group is "Normalization and
    dropout") while Enter added Dropout."""
    qtbot.keyClicks(palette.search, query)
    highlighted = palette.tree.currentItem().data(0, TYPE_ROLE)
    assert palette.tree.currentItem().isSelected()
    with qtbot.waitSignal(palette.add_requested, timeout=1000) as blocker:
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert blocker.args == [highlighted]
    assert highlighted == find_layers(REGISTRY, query)[0].type
    qtbot.keyClick(palette.search, Qt.Key.Key_Down)  # into the list, on that same entry
    assert palette.tree.currentItem().data(0, TYPE_ROLE) == highlighted


def test_dropout_highlights_dropout_over_its_group_mates(palette: PalettePanel, qtbot) -> None:
    qtbot.keyClicks(palette.search, "dropout")
    assert palette.tree.currentItem().data(0, TYPE_ROLE) == "Dropout"
    assert set(palette.visible_types()) >= {"Dropout", "Dropout2d", "BatchNorm1d"}
