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
import json
import math
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from dlbuilder.core.block_files import blocks_from_list, blocks_to_list
from dlbuilder.core.blocks import BlockDef
from dlbuilder.core.file_parts import (
    GraphFileError,
    Problem,
    check_edges,
    check_instances,
    check_nodes,
    fill_graph,
    jsonable,
    nodes_and_edges,
    pretty_json,
)
from dlbuilder.core.graph import Graph
from dlbuilder.core.registry import Registry

__all__ = ["FORMAT", "VERSION", "GraphFileError", "Problem", "dumps_graph", "graph_from_dict",
           "graph_to_dict", "load_graph", "loads_graph", "save_graph", "write_atomic"]

FORMAT = "dlbuilder.graph"
VERSION = 2  # the newest this dlbuilder reads; a file without blocks is still written as 1
BLOCKS_VERSION = 2  # the version that brought blocks
_TOP_KEYS = {"format", "version", "name", "nodes", "edges", "training", "blocks"}


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
    blocks: list[BlockDef] = []
    if "blocks" in data:
        if data.get("version") == 1:
            problems.append(Problem("blocks", f"blocks need format version {BLOCKS_VERSION}; "
                                              "the file says 1"))
        blocks = blocks_from_list(data["blocks"], registry, problems)
    nodes = check_nodes(data.get("nodes"), registry, problems)
    check_instances(nodes, {b.name for b in blocks}, problems)
    edges = check_edges(data.get("edges", []), nodes, problems)
    name = data.get("name", default_name)
    if not isinstance(name, str):
        problems.append(Problem("name", f"must be a string, got {name!r}"))
    training = data.get("training", {})
    if not isinstance(training, dict):
        problems.append(Problem("training", "must be an object of training settings"))
    if problems:
        raise GraphFileError(source, problems)
    graph = Graph(name, training)
    for defn in blocks:
        graph.add_block(defn)
    fill_graph(graph, nodes, edges)
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


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    data: dict[str, Any] = {"format": FORMAT, "version": BLOCKS_VERSION if graph.blocks else 1,
                            "name": graph.name}
    if graph.blocks:
        data["blocks"] = blocks_to_list(graph.blocks.values())
    data.update(nodes_and_edges(graph))
    if graph.training:
        data["training"] = jsonable(graph.training)
    return data


def dumps_graph(graph: Graph) -> str:
    """The file text: one node or wire per line, so version control shows readable diffs."""
    return pretty_json(graph_to_dict(graph))


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
