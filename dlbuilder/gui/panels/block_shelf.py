"""The blocks the palette offers, how a query finds them, and how one is placed or saved.

Three shelves: the open file's own blocks, the built-in library and the user's saved blocks
(one file each in `<data folder>/blocks`). Placing a library block copies its definition, and
every block it uses, into the file (core/block_library.copy_into) in the same undo step as the
new instance, so a file never depends on a library.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlbuilder.core.block_commands import AddBlock, place_problem
from dlbuilder.core.block_library import (
    copy_into,
    load_user_blocks,
    read_library,
    save_user_block,
)
from dlbuilder.core.blocks import BLOCK, BlockDef
from dlbuilder.core.graph import Graph
from dlbuilder.core.registry import Registry
from dlbuilder.resources import builtin_blocks_file

FILE, BUILTIN, USER = "file", "builtin", "user"
SHELF_TITLES = {FILE: "In this file", BUILTIN: "Built-in", USER: "My blocks"}
USER_FOLDER = "blocks"  # under the app's data folder (gui/paths.data_dir)


@dataclass(frozen=True)
class BlockEntry:
    """One block on a shelf: its definition and, for a library block, the library's
    definitions (the blocks it uses are among them)."""

    source: str
    defn: BlockDef
    library: tuple[BlockDef, ...] = ()

    @property
    def name(self) -> str:
        return self.defn.name

    def summary(self) -> str:
        """One line: its documentation, else its parameters."""
        if self.defn.doc.strip():
            return self.defn.doc.strip().splitlines()[0]
        names = ", ".join(p.name for p in self.defn.params)
        return f"parameters: {names}" if names else "no parameters"

    def tooltip(self) -> str:
        params = "<br>".join(p.describe() for p in self.defn.params) or "no parameters"
        doc = f"{self.defn.doc.strip()}<br>" if self.defn.doc.strip() else ""
        return (f"<b>{self.name}</b> ({SHELF_TITLES[self.source]})<br>{doc}"
                f"Parameters:<br>{params}")


def file_entries(graph: Graph) -> list[BlockEntry]:
    """The open file's blocks, in the file's order."""
    return [BlockEntry(FILE, defn) for defn in graph.blocks.values()]


def library_entries(source: str, defs: Iterable[BlockDef]) -> list[BlockEntry]:
    defs = tuple(defs)
    return [BlockEntry(source, defn, defs) for defn in defs]


def user_folder(data: Path) -> Path:
    return Path(data) / USER_FOLDER


def library_shelves(registry: Registry, folder: Path | None
                    ) -> tuple[list[BlockEntry], list[str]]:
    """The built-in blocks and the user's (from `folder`), and a message for each file that
    could not be read."""
    entries = library_entries(BUILTIN, read_library(builtin_blocks_file(), registry))
    problems: list[str] = []
    if folder is not None:
        users, problems = load_user_blocks(folder, registry)
        for defn in users:  # each resolves the blocks it uses through its own file's list
            entries += [BlockEntry(USER, defn, tuple(defn.graph.blocks.values()))]
    return entries, problems


def block_rank(entry: BlockEntry, query: str) -> int | None:
    """How well a block matches `query` (lower is better; None: not at all): every word in
    its name, documentation, parameter names or shelf title."""
    words = query.lower().split()
    if not words:
        return 3
    name = entry.name.lower()
    haystack = " ".join((name, entry.defn.doc.lower(), SHELF_TITLES[entry.source].lower(),
                         "block", *(p.name for p in entry.defn.params)))
    if not all(word in haystack for word in words):
        return None
    first = words[0]
    return 0 if name == first else 1 if name.startswith(first) else 2 if first in name else 3


def find_blocks(entries: Iterable[BlockEntry], query: str) -> list[BlockEntry]:
    """The entries matching `query`, best first (shelf order among equals)."""
    ranked = [(rank, i, e) for i, e in enumerate(entries)
              if (rank := block_rank(e, query)) is not None]
    return [e for _, _, e in sorted(ranked, key=lambda item: item[:2])]


def placing_steps(graph: Graph, container: str | None, entry: BlockEntry
                  ) -> tuple[tuple[AddBlock, ...], str] | str:
    """What placing `entry` in `graph` (the graph the canvas shows: the top level, or the
    definition `container`) takes: the library's definitions to copy in first and the name
    the instance places; or why it cannot be placed there (it would contain itself)."""
    if entry.source == FILE:
        return place_problem(graph, container, entry.name) or ((), entry.name)
    copied = copy_into(graph, entry.library, entry.name)
    problem = place_problem(graph, container, copied.name, copied.defs)
    return problem or (tuple(AddBlock(d) for d in copied.defs), copied.name)


def place_block(doc: Any, entry: BlockEntry, at: tuple[float, float] | None = None,
                after: str | None = None, on_wire: tuple[str, str] | None = None
                ) -> str | None:
    """Place an instance of `entry` in the graph the canvas shows as one undo step: near `at`,
    wired after layer `after` when it can take its output (without `at`: into its chain, as
    a layer is), or in between the two layers of `on_wire`; select it and return its id. A
    block that cannot go there is refused with the reason."""
    scope = doc.scope
    made = placing_steps(scope.graph, scope.block, entry)
    if isinstance(made, str):
        doc.refused.emit(made)
        return None
    adds, name = made
    node = scope.graph.unique_id(name)
    if on_wire is not None:
        return doc.insert_node(node, BLOCK, {"block": name}, on_wire, at or (0, 0), adds)
    x, y = at if at is not None else (None, None)
    return doc.add_node(node, BLOCK, {"block": name}, x, y, after=after, prelude=adds,
                        text=f"Place block {name} as {node}")


def save_block(folder: Path, graph: Graph, name: str) -> Path:
    """Write block `name` of the file (with every block it uses) to the user's folder."""
    return save_user_block(folder, graph.block(name), graph)
