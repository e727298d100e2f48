"""The nodes and wires of a graph file (the top level's or a block's): checked with their
places when read, and written the one way both use.

Every problem is collected with where it is (`nodes[3] (id 'c1')`, `blocks[0] (BasicBlock).
edges[2]`), so a file is refused once with all its reasons, never at the first.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import networkx as nx

from dlbuilder.core.blocks import BLOCK, is_block_type
from dlbuilder.core.graph import Graph, cycle_words, second_wire_words, self_wire_words
from dlbuilder.core.registry import Registry
from dlbuilder.core.tuning import normalized, train_problems

NODE_KEYS = {"id", "type", "params", "train", "ui", "dismissed"}
EDGE_KEYS = {"from", "to", "to_port", "from_port"}


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class GraphFileError(Exception):
    """A file that cannot be opened as a graph; `problems` lists every reason with its place."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        count = len(problems)
        super().__init__(f"{source}: cannot open ({count} problem{'s' * (count != 1)}):\n{lines}")


def fill_graph(graph: Graph, nodes: dict[str, dict], edges: dict[str, list]) -> None:
    """Add checked nodes and wires (from `check_nodes` and `check_edges`) to `graph`."""
    for node_id, entry in nodes.items():
        graph.add_node(node_id, entry["type"], entry.get("params", {}), entry.get("ui", {}),
                       train=normalized(entry.get("train", {})),
                       dismissed=tuple(entry.get("dismissed", ())))
    for dst, incoming in edges.items():
        for src, from_port in incoming:
            graph.add_edge(src, dst, from_port=from_port)


def check_nodes(raw: Any, registry: Registry, problems: list[Problem], prefix: str = ""
                ) -> dict[str, dict]:
    """The nodes by id; reports each bad one. `prefix` places them (a block's nodes)."""
    nodes: dict[str, dict] = {}
    if not isinstance(raw, list):
        problems.append(Problem(f"{prefix}nodes", "must be a list of node objects"))
        return nodes
    for i, entry in enumerate(raw):
        where = f"{prefix}nodes[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(where, "must be an object with id and type"))
            continue
        node_id = entry.get("id")
        if isinstance(node_id, str) and node_id:
            where += f" (id {node_id!r})"
        else:
            problems.append(Problem(where, f"id must be a non-empty string, got {node_id!r}"))
            node_id = None
        for key in sorted(set(entry) - NODE_KEYS):
            problems.append(Problem(where, f"unknown key {key!r} (known: id, type, params, "
                                           "train, ui, dismissed)"))
        type_name = entry.get("type")
        if type_name == BLOCK and not isinstance(entry.get("params", {}).get("block"), str):
            problems.append(Problem(where, "a Block node must name its block: params.block"))
        if not isinstance(type_name, str) or (type_name not in registry
                                              and not is_block_type(type_name)):
            known = ", ".join(sorted(registry.types()))
            problems.append(Problem(where, f"unknown layer type {type_name!r}; known: {known}"))
        for key in ("params", "ui"):
            if key in entry and not isinstance(entry[key], dict):
                problems.append(Problem(f"{where}.{key}", "must be an object"))
        if "train" in entry:
            problems += [Problem(f"{where}.train", text) for text in train_problems(entry["train"])]
        dismissed = entry.get("dismissed", [])
        if not isinstance(dismissed, list) or not all(isinstance(c, str) for c in dismissed):
            problems.append(Problem(f"{where}.dismissed", "must be a list of hint codes like "
                                    f"[\"dense_holds_most\"], got {dismissed!r}"))
        if node_id is not None:
            if node_id in nodes:
                problems.append(Problem(where, f"duplicate id {node_id!r}; ids must be unique"))
            else:
                nodes[node_id] = entry
    return nodes


def check_edges(raw: Any, nodes: dict[str, dict], problems: list[Problem], prefix: str = ""
                ) -> dict[str, list]:
    """Incoming (source, from_port) per target, in input order; reports each bad wire and any
    cycle."""
    if not isinstance(raw, list):
        problems.append(Problem(f"{prefix}edges", "must be a list of {from, to} objects"))
        return {}
    incoming: dict[str, list[tuple[int | None, int, tuple[str, int]]]] = {}
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(raw):
        where = f"{prefix}edges[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(where, "must be an object with from and to"))
            continue
        for key in sorted(set(entry) - EDGE_KEYS):
            problems.append(Problem(where, f"unknown key {key!r} (known: from, to, to_port, "
                                           "from_port)"))
        src, dst, port = entry.get("from"), entry.get("to"), entry.get("to_port")
        from_port = entry.get("from_port", 0)
        ok = True
        for key, value in (("from", src), ("to", dst)):
            if not isinstance(value, str) or value not in nodes:
                problems.append(Problem(f"{where}.{key}", f"{value!r} is not a node id"))
                ok = False
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or port < 0):
            problems.append(Problem(f"{where}.to_port", f"must be a whole number >= 0, got "
                                                        f"{port!r}"))
            ok = False
        if isinstance(from_port, bool) or not isinstance(from_port, int) or from_port < 0:
            problems.append(Problem(f"{where}.from_port", "must be a whole number >= 0 (the "
                                    f"source's output, 0 for the first), got {from_port!r}"))
            ok = False
        if not ok:
            continue
        where += f" ({src} -> {dst})"
        if src == dst:
            problems.append(Problem(where, self_wire_words(src)))
        elif (src, dst) in seen:
            problems.append(Problem(where, second_wire_words(src, dst)))
        else:
            seen.add((src, dst))
            incoming.setdefault(dst, []).append((port, i, (src, from_port)))
    ordered: dict[str, list] = {}
    for dst, wires in incoming.items():
        ordered[dst] = _order_ports(dst, wires, problems)
    _check_cycles(seen, problems, prefix)
    return ordered


def _order_ports(dst: str, wires: list[tuple[int | None, int, tuple[str, int]]],
                 problems: list[Problem]) -> list[tuple[str, int]]:
    ports = [port for port, _, _ in wires]
    if all(p is None for p in ports):
        return [src for _, _, src in wires]
    if any(p is None for p in ports):
        problems.append(Problem(f"node {dst!r}", "to_port must be given on all of its incoming "
                                                 "edges or on none"))
    elif sorted(ports) != list(range(len(ports))):
        problems.append(Problem(f"node {dst!r}", f"to_port values {sorted(ports)} must be 0 to "
                                                 f"{len(ports) - 1}, each once"))
    return [src for _, _, src in sorted(wires, key=lambda w: (w[0] if w[0] is not None else 0,
                                                              w[1]))]


def _check_cycles(wires: set[tuple[str, str]], problems: list[Problem], prefix: str = ""
                  ) -> None:
    g = nx.DiGraph(list(wires))
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return
    loop = [a for a, _ in cycle] + [cycle[0][0]]
    problems.append(Problem(f"{prefix}edges", cycle_words(loop, proposed=False)))


def check_instances(nodes: dict[str, dict], defined: set[str], problems: list[Problem],
                    prefix: str = "") -> None:
    """Each Block node names a block the file defines."""
    for node_id, entry in nodes.items():
        if entry.get("type") != BLOCK:
            continue
        name = entry.get("params", {}).get("block")
        if isinstance(name, str) and name not in defined:
            problems.append(Problem(f"{prefix}node {node_id!r}",
                                    f"places block {name!r}, which is not defined (defined: "
                                    f"{', '.join(sorted(defined)) or 'none'})"))


def nodes_and_edges(graph: Graph) -> dict[str, list]:
    """The `nodes` and `edges` lists of a graph (or of a block's graph) as the file has them."""
    nodes = []
    for node in graph.nodes():
        entry: dict[str, Any] = {"id": node, "type": graph.type_of(node),
                                 "params": jsonable(graph.params(node))}
        train = graph.train(node)
        if train:
            entry["train"] = train
        dismissed = graph.dismissed(node)
        if dismissed:
            entry["dismissed"] = list(dismissed)
        ui = graph.ui(node)
        if ui:
            entry["ui"] = ui
        nodes.append(entry)
    edges = [edge_entry(graph, src, dst, port) for src, dst, port in graph.edges()]
    return {"nodes": nodes, "edges": edges}


def edge_entry(graph: Graph, src: str, dst: str, port: int) -> dict[str, Any]:
    """A wire as the file (and a copied fragment) writes it: `from_port` only when not 0."""
    entry: dict[str, Any] = {"from": src, "to": dst, "to_port": port}
    from_port = graph.from_port(src, dst)
    if from_port:
        entry["from_port"] = from_port
    return entry


def jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def pretty_json(data: dict[str, Any]) -> str:
    """A graph or library file's text: one node or wire per line (a block's too), so version
    control shows readable diffs."""
    dump = functools.partial(json.dumps, ensure_ascii=False, allow_nan=False)
    lines = ["{"]
    items = list(data.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if key in ("nodes", "edges") and value:
            rows = [f"    {dump(v)}" for v in value]
            lines.append(f'  "{key}": [\n' + ",\n".join(rows) + f"\n  ]{comma}")
        elif key == "blocks":
            rows = [block_text(block, dump) for block in value]
            lines.append('  "blocks": [\n' + ",\n".join(rows) + f"\n  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {dump(value)}{comma}")
    return "\n".join(lines) + "\n}\n"


def block_text(block: dict[str, Any], dump: Any) -> str:
    """One block definition: its header on a line, then one node or wire per line."""
    head = {k: v for k, v in block.items() if k not in ("nodes", "edges")}
    text = "    " + dump(head)[:-1]
    for key in ("nodes", "edges"):
        rows = ",\n".join(f"       {dump(v)}" for v in block[key])
        text += f',\n     "{key}": [\n{rows}\n     ]' if rows else f', "{key}": []'
    return text + "}"
