"""Block libraries: the built-in blocks shipped with dlbuilder and the user's own saved blocks.

A library file holds block definitions exactly as a graph file's `blocks` list does:

```json
{"format": "dlbuilder.blocks", "version": 1, "blocks": [...]}
```
A definition may place others from the same file. Placing a library block copies its
definition, and every block it uses, into the graph (`copy_into`), so a graph file never
depends on a library. The user's blocks are one file per block in a folder of the app's data;
the block is the file's last definition, the ones before it are the blocks it uses.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from dlbuilder.core.block_files import blocks_from_list, blocks_to_list
from dlbuilder.core.blocks import BLOCK, BlockDef
from dlbuilder.core.file_parts import pretty_json
from dlbuilder.core.fileformat import GraphFileError, Problem, strict_json, write_atomic
from dlbuilder.core.graph import Graph
from dlbuilder.core.registry import Registry

LIBRARY_FORMAT = "dlbuilder.blocks"
LIBRARY_VERSION = 1
_LIBRARY_KEYS = {"format", "version", "blocks"}


# -- library files ----------------------------------------------------------------------------
def loads_library(text: str | bytes, registry: Registry, source: str = "<text>"
                  ) -> list[BlockDef]:
    """The definitions of a library file's text, in file order, sharing one `blocks` dict
    (so each resolves the blocks it uses). GraphFileError lists every problem with its place."""
    try:
        data = strict_json(text)
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise GraphFileError(source, [Problem("file", f"not valid JSON: {err}")]) from None
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise GraphFileError(source, [Problem("file", "the top level must be a JSON object")])
    if data.get("format") != LIBRARY_FORMAT:
        problems.append(Problem("format", f"expected {LIBRARY_FORMAT!r}, got "
                                          f"{data.get('format')!r}: not a block library"))
    if data.get("version") != LIBRARY_VERSION:
        problems.append(Problem("version", f"unknown block library version "
                                           f"{data.get('version')!r}; this dlbuilder reads "
                                           f"version {LIBRARY_VERSION}"))
    for key in sorted(set(data) - _LIBRARY_KEYS):
        problems.append(Problem(key, "unknown key (known: blocks, format, version)"))
    defs = blocks_from_list(data.get("blocks"), registry, problems) if not problems else []
    if problems:
        raise GraphFileError(source, problems)
    return defs


def read_library(path: str | os.PathLike[str], registry: Registry) -> list[BlockDef]:
    """A library file's definitions (the built-in one is resources.builtin_blocks_file())."""
    try:
        text = Path(path).read_bytes()
    except OSError as err:
        raise GraphFileError(str(path), [Problem("file", err.strerror or str(err))]) from None
    return loads_library(text, registry, str(path))


def dumps_library(defs: Iterable[BlockDef]) -> str:
    """A library file's text."""
    data = {"format": LIBRARY_FORMAT, "version": LIBRARY_VERSION,
            "blocks": blocks_to_list(defs)}
    return pretty_json(data)


# -- what a block needs -----------------------------------------------------------------------
def with_dependencies(defn: BlockDef, library: Mapping[str, BlockDef] | None = None
                      ) -> list[BlockDef]:
    """`defn` and every block it uses, directly or through others, each once, a block after
    the ones it uses. Names resolve in each definition's own `graph.blocks`, then `library`."""
    order: list[BlockDef] = []
    seen: set[str] = set()

    def visit(block: BlockDef, chain: tuple[str, ...]) -> None:
        if block.name in chain:
            raise ValueError(f"a block cannot contain itself: "
                             f"{' > '.join([*chain, block.name])}")
        if block.name in seen:
            return
        for used in block.used_blocks():
            found = block.graph.blocks.get(used) or (library or {}).get(used)
            if found is None:
                raise ValueError(f"block {block.name!r} uses {used!r}, which is not in "
                                 "its library")
            visit(found, (*chain, block.name))
        seen.add(block.name)
        order.append(block)

    visit(defn, ())
    return order


class Copied(NamedTuple):
    """What placing a library block takes: the definitions to add to the graph (a block after
    the ones it uses; none when the graph already has them all, identical) and the name the
    new instance's `block` gives (the library's name, or a fresh one on a clash)."""

    defs: list[BlockDef]
    name: str


def copy_into(graph: Graph, defs: Iterable[BlockDef], name: str) -> Copied:
    """The definitions needed to place library block `name` into `graph`: it and every block
    it uses, copied. A graph block of the same name and the same content is reused; one of the
    same name but different content keeps its name and the copy is renamed (`Name2`, ...),
    and the blocks that use it refer to the new name."""
    library = {d.name: d for d in defs}
    if name not in library:
        raise ValueError(f"there is no block {name!r} in the library")
    renames: dict[str, str] = {}
    added: list[BlockDef] = []
    for defn in with_dependencies(library[name], library):
        target, fresh = _target_name(graph.blocks, defn, renames, {d.name for d in added})
        renames[defn.name] = target
        if fresh:
            added.append(_copied(defn, target, renames))
    return Copied(added, renames[name])


def _target_name(blocks: Mapping[str, BlockDef], defn: BlockDef, renames: Mapping[str, str],
                 adding: set[str]) -> tuple[str, bool]:
    """(name, whether the copy must be added): the first of Name, Name2, Name3... that is free
    or holds an identical definition."""
    want = _content(defn, renames)
    for i in range(1, len(blocks) + len(adding) + 2):
        candidate = defn.name if i == 1 else f"{defn.name}{i}"
        if candidate in adding:
            continue
        if candidate not in blocks:
            return candidate, True
        if _content(blocks[candidate], {}) == want:
            return candidate, False
    raise AssertionError("unreachable: one candidate per existing name, plus one")


def _content(defn: BlockDef, renames: Mapping[str, str]) -> dict[str, Any]:
    """What makes two definitions the same block: everything but the name and card positions,
    with the blocks it places renamed as they will be."""
    entry = blocks_to_list([defn])[0]
    del entry["name"]
    for node in entry["nodes"]:
        node.pop("ui", None)
        if node["type"] == BLOCK and node["params"].get("block") in renames:
            node["params"]["block"] = renames[node["params"]["block"]]
    return entry


def _copied(defn: BlockDef, name: str, renames: Mapping[str, str]) -> BlockDef:
    """A copy of `defn` named `name`, whose instances name blocks as `renames` says."""
    inner, graph = defn.graph, Graph(name)
    for node in inner.nodes():
        params = copy.deepcopy(inner.raw_params(node))
        if inner.type_of(node) == BLOCK and params.get("block") in renames:
            params["block"] = renames[params["block"]]
        graph.add_node(node, inner.type_of(node), params, inner.ui(node),
                       train=inner.train(node), dismissed=inner.dismissed(node))
    for node in inner.nodes():
        for src, from_port in inner.input_sources(node):
            graph.add_edge(src, node, from_port=from_port)
    return BlockDef(name, defn.params, graph, defn.doc)


# -- the user's own blocks --------------------------------------------------------------------
def user_block_path(folder: str | os.PathLike[str], name: str) -> Path:
    return Path(folder) / f"{name}.json"


def save_user_block(folder: str | os.PathLike[str], defn: BlockDef, graph: Graph) -> Path:
    """Write `defn` (a block of `graph`) with every block it uses into the folder, one file
    named after the block, atomically; returns the file. An existing file of that name is
    replaced."""
    path = user_block_path(folder, defn.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, dumps_library(with_dependencies(defn, graph.blocks)))
    return path


def load_user_blocks(folder: str | os.PathLike[str], registry: Registry
                     ) -> tuple[list[BlockDef], list[str]]:
    """The user's saved blocks (one per file, by file name; each resolves the blocks it uses
    through its own `graph.blocks`) and a message for each file that could not be read, with
    its name. A missing folder holds no blocks."""
    blocks: list[BlockDef] = []
    problems: list[str] = []
    where: dict[str, str] = {}
    root = Path(folder)
    for path in sorted(root.glob("*.json")) if root.is_dir() else []:
        try:
            defs = read_library(path, registry)
        except GraphFileError as err:
            problems.append(str(err))
            continue
        if not defs:
            problems.append(f"{path.name}: holds no block")
            continue
        block = defs[-1]
        if block.name in where:
            problems.append(f"{path.name}: block {block.name!r} is already in "
                            f"{where[block.name]}; this one is left out")
            continue
        where[block.name] = path.name
        blocks.append(block)
    return blocks, problems
