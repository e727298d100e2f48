"""Big graphs open readable: a file without positions is laid out for the window as it opens
(and stays unmodified), fit always shows the whole network, and at the fitted zoom the cards
still tell their layer types apart (low detail: category colour and the type name, large)."""

from __future__ import annotations

from collections import Counter

import pytest
from big_graphs import resnet50_graph
from gui_helpers import settle
from PySide6.QtGui import QColor

from dlbuilder.core.fileformat import load_graph, save_graph
from dlbuilder.core.layout import layered_layout, layout_for_view
from dlbuilder.gui.canvas import CanvasView, GraphScene, style
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.layers import REGISTRY

SIZES = [(1600, 1000), (1280, 720)]


@pytest.fixture
def open_file(make_window, tmp_path):
    """Save `graph` (ResNet-50 without positions by default) and open it with File > Open in
    a window of `size`."""
    def open_at(size: tuple[int, int], graph=None):
        path = tmp_path / "resnet50.json"
        save_graph(graph if graph is not None else resnet50_graph(), path)
        window = make_window(example=None)
        window.resize(*size)
        settle()
        assert window.files.open(path, ask=False)
        settle()
        return window
    return open_at


def positions(graph) -> dict[str, tuple[int, int]]:
    return {n: (graph.ui(n)["x"], graph.ui(n)["y"]) for n in graph.nodes()}


def shows_all(view: CanvasView) -> bool:
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    return shown.contains(view.graph_scene.nodes_rect())


@pytest.mark.parametrize("size", SIZES)
def test_a_file_without_positions_opens_laid_out_for_the_window(open_file, size) -> None:
    window = open_file(size)
    doc, view = window.doc, window.view
    assert positions(doc.graph) == layout_for_view(doc.graph, *view.layout_size())
    for node, item in window.scene.nodes.items():
        assert (item.x(), item.y()) == positions(doc.graph)[node]
    assert doc.undo_stack.count() == 0 and not doc.modified and not window.isWindowModified()
    assert shows_all(view) and view.zoom() >= CanvasView.MIN_ZOOM
    assert view.zoom() > 0.14  # the whole 177-node network, at a zoom its names read at


def test_the_positions_a_file_lacks_come_with_its_one_change(make_window, tmp_path) -> None:
    window = make_window(example=None)
    changes = []
    window.doc.changed.connect(changes.append)
    save_graph(resnet50_graph(), tmp_path / "resnet50.json")
    assert window.files.open(tmp_path / "resnet50.json", ask=False)
    assert [c.replaced for c in changes] == [True]  # laid out before the views hear of it
    assert all("x" in window.doc.graph.ui(n) for n in window.doc.graph.nodes())


def test_a_graph_opened_before_the_view_shows_is_placed_as_it_shows(qtbot) -> None:
    doc = Document(resnet50_graph())
    view = CanvasView(GraphScene(doc))
    qtbot.addWidget(view)
    changes = []
    doc.changed.connect(changes.append)
    view.resize(1000, 700)
    view.show()
    settle()
    graph = doc.graph
    assert len(changes) == 1 and changes[0].moved == frozenset(graph.nodes())  # one move
    assert positions(graph) == layout_for_view(graph, *view.layout_size())
    assert doc.undo_stack.count() == 0 and not doc.modified


def test_the_laid_out_positions_are_saved_with_the_next_save(open_file, tmp_path) -> None:
    window = open_file(SIZES[0])
    laid_out = positions(window.doc.graph)
    window.doc.save(tmp_path / "saved.json")
    assert positions(load_graph(tmp_path / "saved.json", REGISTRY)) == laid_out


def test_a_file_partly_without_positions_keeps_the_ones_it_has(open_file) -> None:
    graph = resnet50_graph()
    placed = layout_for_view(graph, 1400, 800)
    for node, (x, y) in placed.items():
        if not node.startswith("batchnorm2d"):
            graph.set_ui(node, {"x": x, "y": y})
    window = open_file(SIZES[0], graph)
    now = positions(window.doc.graph)
    assert {n: p for n, p in now.items() if not n.startswith("batchnorm2d")} == \
        {n: p for n, p in placed.items() if not n.startswith("batchnorm2d")}
    rects = [item.card_rect() for item in window.scene.nodes.values()]
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
    assert not window.doc.modified and shows_all(window.view)


def test_fit_shows_a_network_laid_out_in_one_long_row(open_file) -> None:
    graph = resnet50_graph()
    for node, (x, y) in layered_layout(graph).items():  # 44,000 units wide
        graph.set_ui(node, {"x": x, "y": y})
    window = open_file(SIZES[0], graph)
    view = window.view
    assert positions(window.doc.graph) == layered_layout(graph)  # the file's own: kept
    assert shows_all(view) and view.zoom() < CanvasView.MIN_ZOOM
    fitted = view.zoom()
    for _ in range(30):
        view.zoom_out()
    assert view.zoom() == pytest.approx(fitted)  # out as far as the whole network, no further
    view.zoom_in()
    assert view.zoom() > fitted


def card_colours(window, node: str) -> Counter:
    """The colours of the pixels inside a card's rectangle, as painted in the viewport."""
    view = window.view
    image = view.viewport().grab().toImage()
    box = view.mapFromScene(window.scene.nodes[node].card_rect()).boundingRect()
    box = box.adjusted(2, 2, -2, -2)  # inside the anti-aliased edges
    return Counter(image.pixelColor(x, y).name() for x in range(box.left(), box.right())
                   for y in range(box.top(), box.bottom()))


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("size", [SIZES[0], pytest.param(SIZES[1], marks=pytest.mark.slow)])
def test_fitted_cards_show_their_category_and_type_name(open_file, size, theme) -> None:
    theme_manager().apply(theme)
    try:
        window = open_file(size)
        zoom = window.view.zoom()
        assert zoom < style.LOD_TEXT  # low detail: the full card's text is under 6 px here
        palette, text = current().categories, QColor(current().header_text).name()
        for node in ("conv2d1", "batchnorm2d1", "relu1", "maxpool2d1", "add1", "linear1"):
            item = window.scene.nodes[node]
            colours = card_colours(window, node)
            assert colours.most_common(1)[0][0] == QColor(palette[item.category]).name()
            assert colours[text] > 0  # its type name is drawn
            name = style.far_name(item.type_name, style.NODE_H)
            assert name.font.pixelSize() * zoom >= 4.0  # header text would be 12 * zoom
    finally:
        theme_manager().apply("light")
