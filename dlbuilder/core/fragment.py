"""Copy and paste of part of a graph: a JSON-able fragment of nodes and the wires among them.

The clipboard may hold anything, so a fragment is checked before use and a broken one is refused
with a ValueError that says what is wrong. Pasting gives every node a fresh id and keeps the
wires inside the fragment, in their port order and from the same output (`from_port`, as in the
file); wires to nodes outside it are not copied. Copied block instances carry the definitions
they need (with every block those use), so they paste into another file too: a definition the
file already has, identical, is reused; a different one of the same name comes in renamed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection
from typing import Any

from dlbuilder.core.block_commands import AddBlock, place_problem
from dlbuilder.core.block_files import blocks_from_list, blocks_to_list
from dlbuilder.core.block_library import copy_into, with_dependencies
from dlbuilder.core.blocks import BLOCK, BlockDef
from dlbuilder.core.commands import AddEdge, AddNode, Macro
from dlbuilder.core.file_parts import Problem, edge_entry
from dlbuilder.core.fileformat import strict_json
from dlbuilder.core.graph import Graph
from dlbuilder.core.registry import Registry
from dlbuilder.core.tuning import normalized, train_problems

FORMAT = "dlbuilder.fragment"
VERSION = 1


class FragmentError(ValueError):
    """Clipboard content that is not a fragment of copied layers; the message says why."""


def copy_fragment(graph: Graph, nodes: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The nodes (in graph order) with type, params and ui, and the wires among them."""
    chosen = set(nodes)
    missing = sorted(n for n in chosen if n not in graph)
    if missing:
        raise FragmentError(f"cannot copy {', '.join(map(repr, missing))}: no such node")
    entries = [{"id": n, "type": graph.type_of(n), "params": _jsonable(graph.params(n)),
                "ui": _jsonable(graph.ui(n)), **({"train": t} if (t := graph.train(n)) else {}),
                **({"dismissed": list(d)} if (d := graph.dismissed(n)) else {})}
               for n in graph.nodes() if n in chosen]
    edges = [edge_entry(graph, src, dst, port)
             for src, dst, port in graph.edges() if src in chosen and dst in chosen]
    fragment = {"format": FORMAT, "version": VERSION, "nodes": entries, "edges": edges}
    needed: dict[str, BlockDef] = {}
    for entry in entries:
        name = entry["params"].get("block") if entry["type"] == BLOCK else None
        if name in graph.blocks:
            needed.update((d.name, d) for d in with_dependencies(graph.blocks[name]))
    if needed:
        fragment["blocks"] = blocks_to_list(needed.values())
    return fragment


def fragment_to_text(fragment: dict[str, Any]) -> str:
    return json.dumps(fragment, ensure_ascii=False, allow_nan=False)


def fragment_from_text(text: str | bytes, types: Collection[str] | None = None
                       ) -> dict[str, Any]:
    """Parse and check clipboard text; ValueError with the reason when it is not a fragment.
    With `types`, a layer type outside them is refused too (a saved file could not hold it)."""
    try:
        data = strict_json(text)
    except ValueError as err:  # not JSON, not UTF-8, NaN or a number too big for a float
        raise FragmentError(f"the clipboard does not hold copied layers (not JSON: {err})"
                            ) from None
    except RecursionError:
        raise FragmentError("the clipboard does not hold copied layers (nested too deeply)"
                            ) from None
    check_fragment(data, types)
    return data


def check_fragment(data: Any, types: Collection[str] | None = None) -> None:
    """Refuse anything that is not a well-formed fragment, naming the first problem."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FragmentError("the clipboard does not hold copied layers (expected a "
                         f"{FORMAT!r} object)")
    if data.get("version") != VERSION:
        raise FragmentError(f"copied layers of version {data.get('version')!r} cannot be pasted; "
                         f"this dlbuilder reads version {VERSION}")
    nodes, edges = data.get("nodes"), data.get("edges", [])
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise FragmentError("copied layers: 'nodes' and 'edges' must be lists")
    ids: set[str] = set()
    for i, entry in enumerate(nodes):
        _check_node(i, entry, ids)
        if types is not None and entry["type"] not in types:
            raise FragmentError(f"copied layers: node {i} ({entry['id']}) has the unknown layer "
                                f"type {entry['type']!r}")
    for i, edge in enumerate(edges):
        _check_edge(i, edge, ids)


def _check_node(i: int, entry: Any, ids: set[str]) -> None:
    where = f"copied layers: node {i}"
    if not isinstance(entry, dict):
        raise FragmentError(f"{where} must be an object")
    node, type_name = entry.get("id"), entry.get("type")
    if not isinstance(node, str) or not node:
        raise FragmentError(f"{where} needs a non-empty string 'id'")
    if node in ids:
        raise FragmentError(f"{where}: id {node!r} appears twice")
    if not isinstance(type_name, str) or not type_name:
        raise FragmentError(f"{where} ({node}) needs a string 'type'")
    for key in ("params", "ui"):
        if not isinstance(entry.get(key, {}), dict):
            raise FragmentError(f"{where} ({node}): '{key}' must be an object")
    problems = train_problems(entry.get("train", {}))
    if problems:
        raise FragmentError(f"{where} ({node}): train: {problems[0]}")
    dismissed = entry.get("dismissed", [])
    if not isinstance(dismissed, list) or not all(isinstance(c, str) for c in dismissed):
        raise FragmentError(f"{where} ({node}): 'dismissed' must be a list of hint codes")
    ids.add(node)


def _check_edge(i: int, edge: Any, ids: set[str]) -> None:
    where = f"copied layers: wire {i}"
    if not isinstance(edge, dict):
        raise FragmentError(f"{where} must be an object")
    for key in ("from", "to"):
        if edge.get(key) not in ids:
            raise FragmentError(f"{where}: '{key}' must name a copied node, got {edge.get(key)!r}")
    for key in ("to_port", "from_port"):
        port = edge.get(key, 0)
        if not isinstance(port, int) or isinstance(port, bool) or port < 0:
            raise FragmentError(f"{where}: '{key}' must be a whole number >= 0, got {port!r}")


def paste_commands(graph: Graph, fragment: dict[str, Any],
                   offset: tuple[float, float] = (0, 0), registry: Registry | None = None,
                   container: str | None = None) -> tuple[Macro, list[str]]:
    """One command adding the fragment's nodes (moved by `offset`) under fresh ids, with its
    internal wires and the block definitions its instances need (read with `registry`); and
    the new ids, in the fragment's order. `container` is the block whose definition `graph`
    is (None: the top level): an instance that would make it contain itself is refused."""
    check_fragment(fragment)
    adds, names = _block_commands(graph, fragment, registry)
    commands: list[Any] = list(adds)
    dx, dy = offset
    renamed: dict[str, str] = {}
    for entry in fragment["nodes"]:
        new = graph.unique_id(entry["id"], set(renamed.values()))
        renamed[entry["id"]] = new
        ui = dict(entry.get("ui", {}))
        ui["x"] = round(_number(ui.get("x")) + dx)
        ui["y"] = round(_number(ui.get("y")) + dy)
        params = copy.deepcopy(entry.get("params", {}))
        if entry["type"] == BLOCK:
            params["block"] = _placed_block(graph, names, params.get("block"), container,
                                            adds)
        commands.append(AddNode(new, entry["type"], params, ui,
                                train=normalized(entry.get("train", {})),
                                dismissed=tuple(entry.get("dismissed", ()))))
    wires = sorted(fragment.get("edges", []), key=lambda e: (e.get("to_port", 0)))
    for edge in wires:  # ascending ports: each wire appends, so the order is kept
        commands.append(AddEdge(renamed[edge["from"]], renamed[edge["to"]],
                                from_port=edge.get("from_port", 0)))
    count = len(renamed)
    text = f"Paste {count} node{'s' * (count != 1)}"
    return Macro(text, commands), list(renamed.values())


def _block_commands(graph: Graph, fragment: dict[str, Any], registry: Registry | None
                    ) -> tuple[list[AddBlock], dict[str, str]]:
    """AddBlock for each definition the fragment brings that the file lacks, and the name
    each copied block has in the file (renamed on a clash with a different definition)."""
    raw = fragment.get("blocks")
    if not raw or registry is None:
        return [], {}
    problems: list[Problem] = []
    defs = blocks_from_list(raw, registry, problems)
    if problems:
        raise FragmentError(f"copied layers: their blocks cannot be read: {problems[0]}")
    scratch = Graph("scratch", blocks=dict(graph.blocks))  # the file's blocks as pasting adds
    commands: list[AddBlock] = []
    names: dict[str, str] = {}
    for defn in defs:
        copied = copy_into(scratch, defs, defn.name)
        names[defn.name] = copied.name
        for added in copied.defs:
            scratch.blocks[added.name] = added
            commands.append(AddBlock(added))
    return commands, names


def _placed_block(graph: Graph, names: dict[str, str], name: Any, container: str | None,
                  adding: list[AddBlock]) -> Any:
    """The file's name for a pasted instance's block; FragmentError when the file has no such
    block or placing it inside `container` would make a block contain itself (through the
    blocks the paste `adding` brings in too)."""
    name = names.get(name, name)
    if name not in graph.blocks and name not in names.values():
        raise FragmentError(f"copied layers place block {name!r}, which this file does not "
                            "define")
    problem = place_problem(graph, container, name, [step.defn for step in adding])
    if problem:
        raise FragmentError(problem)
    return name


def _number(value: Any) -> float:
    """A copied coordinate, or 0 for anything that is not a usable one (text, 10**400)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) <= 1e9:
        return 0.0
    return float(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value
