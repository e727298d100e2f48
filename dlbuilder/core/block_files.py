"""Block definitions as the file writes them (the `blocks` list of format version 2).

```json
{"name": "BasicBlock", "doc": "...",
 "params": [{"name": "channels", "default": 64, "min": 1, "max": 4096}],
 "nodes": [...], "edges": [...]}
```
`nodes` and `edges` are written as the top level's; a layer parameter (or an inner instance's
argument or repeat) may be `{"expr": "channels * 4"}`. The same list is the format of the block
library files. Reading checks every definition and reports each problem with its place: names,
parameters, nodes and wires, instances of blocks that do not exist, and a block that contains
itself (with the chain).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dlbuilder.core.blocks import (
    BlockDef,
    BlockParam,
    contains_words,
    cycle_through,
    name_problem,
    param_name_problem,
)
from dlbuilder.core.file_parts import (
    Problem,
    check_edges,
    check_instances,
    check_nodes,
    fill_graph,
    nodes_and_edges,
)
from dlbuilder.core.graph import Graph
from dlbuilder.core.registry import Registry

BLOCK_KEYS = {"name", "doc", "params", "nodes", "edges"}
PARAM_KEYS = {"name", "default", "min", "max"}


def blocks_from_list(raw: Any, registry: Registry, problems: list[Problem],
                     known: Iterable[str] = ()) -> list[BlockDef]:
    """The definitions in a `blocks` list, in order, sharing one `blocks` dict; appends a
    Problem for each thing wrong. `known` names blocks defined elsewhere (none in a file)."""
    if not isinstance(raw, list):
        problems.append(Problem("blocks", "must be a list of block definitions"))
        return []
    shared: dict[str, BlockDef] = {}
    defs: list[BlockDef] = []
    for i, entry in enumerate(raw):
        defn = _block_from_dict(entry, f"blocks[{i}]", registry, problems)
        if defn is None:
            continue
        if defn.name in shared:
            problems.append(Problem(f"blocks[{i}]", f"a second block named {defn.name!r}; "
                                                    "block names are unique"))
            continue
        defn.graph.blocks = shared
        shared[defn.name] = defn
        defs.append(defn)
    _check_uses(defs, shared, set(known), problems)
    return defs


def _block_from_dict(entry: Any, where: str, registry: Registry, problems: list[Problem]
                     ) -> BlockDef | None:
    if not isinstance(entry, dict):
        problems.append(Problem(where, "must be an object with name, params, nodes, edges"))
        return None
    name = entry.get("name")
    problem = name_problem(name)
    if problem:
        problems.append(Problem(f"{where}.name", problem))
        return None
    where = f"{where} ({name})"
    for key in sorted(set(entry) - BLOCK_KEYS):
        problems.append(Problem(where, f"unknown key {key!r} (known: "
                                       f"{', '.join(sorted(BLOCK_KEYS))})"))
    doc = entry.get("doc", "")
    if not isinstance(doc, str):
        problems.append(Problem(f"{where}.doc", "must be a string"))
    params = _params_from_list(entry.get("params", []), f"{where}.params", problems)
    before = len(problems)
    nodes = check_nodes(entry.get("nodes"), registry, problems, f"{where}.")
    edges = check_edges(entry.get("edges", []), nodes, problems, f"{where}.")
    if len(problems) > before:
        return None
    graph = Graph(name)
    fill_graph(graph, nodes, edges)
    return BlockDef(name, params, graph, doc if isinstance(doc, str) else "")


def _params_from_list(raw: Any, where: str, problems: list[Problem]) -> tuple[BlockParam, ...]:
    if not isinstance(raw, list):
        problems.append(Problem(where, "must be a list of {name, default, min, max}"))
        return ()
    params: list[BlockParam] = []
    for i, entry in enumerate(raw):
        place = f"{where}[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(place, "must be an object with name and default"))
            continue
        for key in sorted(set(entry) - PARAM_KEYS):
            problems.append(Problem(place, f"unknown key {key!r} (known: default, max, min, "
                                           "name)"))
        name = entry.get("name")
        problem = param_name_problem(name)
        if problem is None and any(p.name == name for p in params):
            problem = f"parameter {name!r} is declared twice"
        bounds = {}
        for key in ("default", "min", "max"):
            value = entry.get(key)
            if (value is not None or key == "default") and (
                    isinstance(value, bool) or not isinstance(value, int)):
                problems.append(Problem(f"{place}.{key}", f"must be a whole number, got "
                                                          f"{value!r}"))
                problem = problem or "bad bounds"
            bounds[key] = value
        if problem is None:
            param = BlockParam(name, bounds["default"], bounds["min"], bounds["max"])
            problem = param.problem(param.default)
            if problem is None:
                params.append(param)
                continue
            problem = f"the default is out of range: {problem}"
        if problem != "bad bounds":
            problems.append(Problem(place, problem))
    return tuple(params)


def _check_uses(defs: list[BlockDef], shared: dict[str, BlockDef], known: set[str],
                problems: list[Problem]) -> None:
    """Every instance names a block that exists; no block contains itself."""
    for defn in defs:
        nodes = {n: {"type": defn.graph.type_of(n), "params": defn.graph.raw_params(n)}
                 for n in defn.graph.nodes()}
        check_instances(nodes, set(shared) | known, problems, f"block {defn.name!r}, ")
    reported: set[frozenset[str]] = set()
    for defn in defs:
        loop = cycle_through(shared, defn.name)
        if loop and frozenset(loop) not in reported:
            reported.add(frozenset(loop))
            problems.append(Problem(f"block {defn.name!r}", contains_words(loop)))


def blocks_to_list(defs: Iterable[BlockDef]) -> list[dict[str, Any]]:
    """The `blocks` list the file writes."""
    result = []
    for defn in defs:
        entry: dict[str, Any] = {"name": defn.name}
        if defn.doc:
            entry["doc"] = defn.doc
        entry["params"] = [p.to_dict() for p in defn.params]
        entry.update(nodes_and_edges(defn.graph))
        result.append(entry)
    return result
