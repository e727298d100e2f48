"""A document for the panels' block tests: blocks_tiny.json, opened in a real Document."""

from __future__ import annotations

from pathlib import Path

from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.graph import Graph
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).resolve().parents[2] / "core" / "data" / "blocks_tiny.json"


def tiny_graph() -> Graph:
    return load_graph(TINY, REGISTRY)
