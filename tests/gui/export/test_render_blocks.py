"""A graph of blocks draws its instances as the canvas does, and the whole network is drawn
even while the document shows a block's inside."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage

from dlbuilder.core.fileformat import load_graph
from dlbuilder.gui.document import Document
from dlbuilder.gui.export.render import render_graph
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).resolve().parents[2] / "core" / "data" / "blocks_tiny.json"


def test_the_top_level_is_drawn_while_a_block_is_open(qapp, tmp_path: Path) -> None:
    doc = Document(load_graph(TINY, REGISTRY))
    top = QImage(str(render_graph(doc, tmp_path / "top.png", scale=1.0)))
    doc.open_block("layer2")  # Stage: three cards in a row, not eight
    inside = QImage(str(render_graph(doc, tmp_path / "inside.png", scale=1.0)))
    assert (inside.width(), inside.height()) == (top.width(), top.height())
    assert top.width() > 6 * top.height()  # eight cards in a row
    assert doc.scope.block == "Stage"  # the document still shows the block


def test_instances_are_drawn_with_their_block_names(qapp, tmp_path: Path) -> None:
    svg = render_graph(load_graph(TINY, REGISTRY), tmp_path / "tiny.svg").read_text("utf-8")
    for words in ("Basic", "Stage", "channels=16, n=2", "layer1"):
        assert words in svg
