"""Fixtures the panel tests share."""

from __future__ import annotations

import pytest
from gui_helpers import settle
from helpers import example_graph

from dlbuilder.gui.document import Document
from dlbuilder.gui.panels.inspector import InspectorPanel


@pytest.fixture
def make_inspector(qtbot):
    """`make_inspector("lenet5")`: a Document on the example and an InspectorPanel over it,
    shown at the width of the window's dock and settled."""
    def make(example: str) -> tuple[Document, InspectorPanel]:
        doc = Document(example_graph(example))
        panel = InspectorPanel(doc)
        qtbot.addWidget(panel)
        panel.resize(340, 900)
        panel.show()
        settle()
        return doc, panel
    return make
