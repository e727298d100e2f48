"""The core's modules import one another without cycles, lazily or not (issue 13: a fix's
commands made diagnostics -> fixes -> registry -> diagnostics)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

import dlbuilder.core

CORE = Path(dlbuilder.core.__file__).parent


def _core_imports(path: Path) -> set[str]:
    """The core modules `path` imports anywhere in it (in functions and type-only blocks too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n.split(".")[2] for n in names
                  if n.startswith("dlbuilder.core.") and (CORE / f"{n.split('.')[2]}.py").exists()}
    return found - {path.stem}


def test_core_modules_import_without_cycles() -> None:
    graph = nx.DiGraph()
    for path in CORE.glob("*.py"):
        graph.add_node(path.stem)
        graph.add_edges_from((path.stem, other) for other in _core_imports(path))
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"import cycles in dlbuilder/core: {cycles}"
    assert "fixes" not in nx.descendants(graph, "diagnostics")
