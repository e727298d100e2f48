"""The graph file, format version 1: JSON that is read and checked, never executed.

A wire is `{"from": a, "to": b}`, with `"to_port"` (its place among b's inputs, always written)
and `"from_port"` (which of a's outputs it carries, for a layer with several outputs such as
Chunk): `from_port` is written only when it is not 0, so a graph without such layers saves
exactly as before and every older file loads unchanged. The version stays 1: an older dlbuilder
meeting `from_port` refuses the wire by name (unknown key) rather than misreading it, as it
refuses a layer type it does not know.

Loading refuses a file whose structure is broken (not JSON, wrong format or version, missing or
mistyped fields, unknown layer types, duplicate ids, wires to nowhere, cycles) and reports every
such problem with its place. Layer settings (parameter names and values) are not refused: they
load as written and the inference engine flags each bad one on its node, so a user can fix it in
the editor without losing the rest of the work. Saving is atomic: a temporary file, then rename.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from dlbuilder.core.graph import Graph, cycle_words, second_wire_words, self_wire_words
from dlbuilder.core.registry import Registry

FORMAT = "dlbuilder.graph"
VERSION = 1
_TOP_KEYS = {"format", "version", "name", "nodes", "edges", "training"}
_NODE_KEYS = {"id", "type", "params", "ui"}
_EDGE_KEYS = {"from", "to", "to_port", "from_port"}


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


def load_graph(path: str | os.PathLike[str], registry: Registry) -> Graph:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise GraphFileError(str(path), [Problem("file", f"cannot be read: {reason}")]) from None
    return loads_graph(text, registry, source=str(path), default_name=path.stem)


def loads_graph(text: str, registry: Registry, source: str = "<text>",
                default_name: str = "untitled") -> Graph:
    try:
        data = strict_json(text)
    except json.JSONDecodeError as err:
        raise GraphFileError(source, [Problem(f"line {err.lineno}, column {err.colno}",
                                              f"not valid JSON: {err.msg}")]) from None
    except ValueError as err:
        raise GraphFileError(source, [Problem("file", f"not valid JSON: {err}")]) from None
    except RecursionError:
        raise GraphFileError(source, [Problem("file", "nested too deeply to be a graph "
                                                      "file")]) from None
    return graph_from_dict(data, registry, source, default_name)


def strict_json(text: str | bytes) -> Any:
    """JSON with finite numbers only: NaN, Infinity and 1e400 raise ValueError, since no file
    (nor the clipboard, nor the autosave) could hold them again."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; write a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number; write a finite number")
    return value


def graph_from_dict(data: Any, registry: Registry, source: str = "<data>",
                    default_name: str = "untitled") -> Graph:
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise GraphFileError(source, [Problem("file", "the top level must be a JSON object")])
    _check_header(data, problems)
    if problems and any(p.where == "version" for p in problems):
        raise GraphFileError(source, problems)
    nodes = _check_nodes(data.get("nodes"), registry, problems)
    edges = _check_edges(data.get("edges", []), nodes, problems)
    name = data.get("name", default_name)
    if not isinstance(name, str):
        problems.append(Problem("name", f"must be a string, got {name!r}"))
    training = data.get("training", {})
    if not isinstance(training, dict):
        problems.append(Problem("training", "must be an object of training settings"))
    if problems:
        raise GraphFileError(source, problems)
    graph = Graph(name, training)
    for node_id, entry in nodes.items():
        graph.add_node(node_id, entry["type"], entry.get("params", {}), entry.get("ui", {}))
    for dst, incoming in edges.items():
        for src, from_port in incoming:
            graph.add_edge(src, dst, from_port=from_port)
    return graph


def _check_header(data: dict[str, Any], problems: list[Problem]) -> None:
    for key in sorted(set(data) - _TOP_KEYS):
        problems.append(Problem(key, f"unknown top-level key {key!r} (known: "
                                     f"{', '.join(sorted(_TOP_KEYS))})"))
    if data.get("format") != FORMAT:
        problems.append(Problem("format", f"must be {FORMAT!r}, got {data.get('format')!r}: "
                                          "this is not a dlbuilder graph file"))
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        problems.append(Problem("version", f"must be a whole number, got {version!r}"))
    elif version > VERSION:
        problems.append(Problem("version", f"the file is format version {version}, written by "
                                           f"a newer dlbuilder; this one reads version {VERSION}."
                                           " Update dlbuilder to open it"))
    elif version < 1:
        problems.append(Problem("version", f"unknown format version {version}"))


def _check_nodes(raw: Any, registry: Registry, problems: list[Problem]) -> dict[str, dict]:
    nodes: dict[str, dict] = {}
    if not isinstance(raw, list):
        problems.append(Problem("nodes", "must be a list of node objects"))
        return nodes
    for i, entry in enumerate(raw):
        where = f"nodes[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(where, "must be an object with id and type"))
            continue
        node_id = entry.get("id")
        if isinstance(node_id, str) and node_id:
            where += f" (id {node_id!r})"
        else:
            problems.append(Problem(where, f"id must be a non-empty string, got {node_id!r}"))
            node_id = None
        for key in sorted(set(entry) - _NODE_KEYS):
            problems.append(Problem(where, f"unknown key {key!r} (known: id, type, params, ui)"))
        type_name = entry.get("type")
        if not isinstance(type_name, str) or type_name not in registry:
            known = ", ".join(sorted(registry.types()))
            problems.append(Problem(where, f"unknown layer type {type_name!r}; known: {known}"))
        for key in ("params", "ui"):
            if key in entry and not isinstance(entry[key], dict):
                problems.append(Problem(f"{where}.{key}", "must be an object"))
        if node_id is not None:
            if node_id in nodes:
                problems.append(Problem(where, f"duplicate id {node_id!r}; ids must be unique"))
            else:
                nodes[node_id] = entry
    return nodes


def _check_edges(raw: Any, nodes: dict[str, dict], problems: list[Problem]) -> dict[str, list]:
    """Incoming (source, from_port) per target, in input order; reports each bad wire and any
    cycle."""
    if not isinstance(raw, list):
        problems.append(Problem("edges", "must be a list of {from, to} objects"))
        return {}
    incoming: dict[str, list[tuple[int | None, int, tuple[str, int]]]] = {}
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(raw):
        where = f"edges[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(where, "must be an object with from and to"))
            continue
        for key in sorted(set(entry) - _EDGE_KEYS):
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
    _check_cycles(seen, problems)
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


def _check_cycles(wires: set[tuple[str, str]], problems: list[Problem]) -> None:
    g = nx.DiGraph(list(wires))
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return
    loop = [a for a, _ in cycle] + [cycle[0][0]]
    problems.append(Problem("edges", cycle_words(loop, proposed=False)))


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    nodes = []
    for node in graph.nodes():
        entry: dict[str, Any] = {"id": node, "type": graph.type_of(node),
                                 "params": _jsonable(graph.params(node))}
        ui = graph.ui(node)
        if ui:
            entry["ui"] = ui
        nodes.append(entry)
    edges = [edge_entry(graph, src, dst, port) for src, dst, port in graph.edges()]
    data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": graph.name,
                            "nodes": nodes, "edges": edges}
    if graph.training:
        data["training"] = _jsonable(graph.training)
    return data


def edge_entry(graph: Graph, src: str, dst: str, port: int) -> dict[str, Any]:
    """A wire as the file (and a copied fragment) writes it: `from_port` only when not 0."""
    entry: dict[str, Any] = {"from": src, "to": dst, "to_port": port}
    from_port = graph.from_port(src, dst)
    if from_port:
        entry["from_port"] = from_port
    return entry


def dumps_graph(graph: Graph) -> str:
    """The file text: one node or wire per line, so version control shows readable diffs."""
    data = graph_to_dict(graph)
    dump = functools.partial(json.dumps, ensure_ascii=False, allow_nan=False)
    lines = ["{"]
    items = list(data.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if key in ("nodes", "edges") and value:
            rows = [f"    {dump(v)}" for v in value]
            lines.append(f'  "{key}": [\n' + ",\n".join(rows) + f"\n  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {dump(value)}{comma}")
    return "\n".join(lines) + "\n}\n"


def save_graph(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write atomically: a crash leaves either the old file or the new one, never half."""
    write_atomic(Path(path), dumps_graph(graph))


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file so that a crash leaves either the old file or the new one, never half.

    Text is written as UTF-8; used for graphs, exported code, weights and ONNX files.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file is readable by all, writable by its owner.

    (Reading the umask would mean setting it, which is not thread-safe.)
    """
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o644


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
