"""Pictures of a whole graph without a window: PNG and SVG of sensible size, both themes, clear
refusals, and the caller's graph left untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import chain, example_graph
from PySide6.QtGui import QImage

from dlbuilder.core.fileformat import graph_to_dict
from dlbuilder.gui.document import Document
from dlbuilder.gui.export.render import render_graph


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_png_of_an_example(qapp, tmp_path: Path, theme: str) -> None:
    doc = Document(example_graph("resnet_cifar"))
    out = render_graph(doc, tmp_path / "resnet.png", theme, scale=1.0)
    image = QImage(str(out))
    assert not image.isNull()
    assert 1000 < image.width() < 10_000 and 150 < image.height() < 2000
    assert 20_000 < out.stat().st_size < 5_000_000
    assert image.pixelColor(2, 2).name() == ("#fafbfc" if theme == "light" else "#191b20")


def test_scale_sets_the_pixels(qapp, tmp_path: Path) -> None:
    graph = example_graph("lenet5")
    one = QImage(str(render_graph(graph, tmp_path / "one.png", scale=1)))
    two = QImage(str(render_graph(graph, tmp_path / "two.PNG", scale=2)))
    assert abs(two.width() - 2 * one.width()) <= 2 and abs(two.height() - 2 * one.height()) <= 2


def test_svg_of_a_graph(qapp, tmp_path: Path) -> None:
    graph = example_graph("lenet5")
    before = graph_to_dict(graph)
    out = render_graph(graph, tmp_path / "lenet.svg", "dark")
    text = out.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "lenet5" in text  # the title
    assert "Conv2d" in text and "6x28x28" in text and "<image" not in text  # real text
    assert 10_000 < len(text) < 5_000_000
    assert graph_to_dict(graph) == before and not graph._listeners  # the caller's graph alone


def test_graph_without_positions(qapp, tmp_path: Path) -> None:
    out = render_graph(chain(("ReLU", {}), ("ReLU", {})), tmp_path / "chain.png")
    image = QImage(str(out))
    assert image.width() > 2 * image.height()  # laid out left to right


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("graph.jpg", {}, r"must end in \.png"),
    ("graph", {}, r"must end in \.png"),
    ("graph.png", {"theme_name": "pink"}, "unknown theme"),
    ("graph.png", {"scale": 0}, "positive"),
    ("graph.png", {"scale": float("nan")}, "positive"),
])
def test_refusals(qapp, tmp_path: Path, name: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_graph(chain(), tmp_path / name, **kwargs)
    assert not (tmp_path / name).exists()


def test_too_large_a_picture_is_refused(qapp, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="smaller scale"):
        render_graph(example_graph("resnet_cifar"), tmp_path / "huge.png", scale=40)


def test_rendering_leaves_the_document_as_it_was(qapp, tmp_path: Path) -> None:
    doc = Document(example_graph("lenet5"))
    doc.select(["c1"])
    render_graph(doc, tmp_path / "a.png")
    assert doc.selection() == ("c1",) and doc.undo_stack.count() == 0
