"""A torchinfo-like summary of an inferred graph: rows, totals, text table and JSON."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dlbuilder.core.blocks import BLOCK, BLOCK_INPUT, BLOCK_OUTPUT, RESERVED
from dlbuilder.core.engine_base import EngineBase, NodeInfo
from dlbuilder.core.receptive import Receptive, compose_block, merged
from dlbuilder.core.receptive_text import field_text
from dlbuilder.core.registry import Shape, format_shape, prod
from dlbuilder.core.tuning import frozen_params

if TYPE_CHECKING:
    from dlbuilder.core.block_eval import BlockEngine
    from dlbuilder.core.inference import InferenceEngine

BYTES_PER_VALUE = 4  # float32


def key_params(engine: EngineBase, info: NodeInfo) -> str:
    """The node's parameters in a few words ("6@5x5"; an instance's arguments and repeats,
    "channels=64 x2"), or "" while they are invalid."""
    params = engine.checked_params(info.node)
    if params is None:
        return ""
    if info.type == BLOCK:
        return _arguments_text(params, params["repeat"])
    if info.type not in engine.registry:
        return ""
    return engine.registry.get(info.type).key_params(params)


def _arguments_text(params: dict[str, Any], repeat: int) -> str:
    words = [f"{name}={value}" for name, value in params.items() if name not in RESERVED]
    if repeat > 1:
        words.append(f"x{repeat}")
    return ", ".join(words)


@dataclass(frozen=True)
class Row:
    """One row of the summary tree: a layer, a block instance (its numbers the sum of all its
    repeats) or one repeat of an instance, with the rows inside it (empty when collapsed).

    `path` is the torch module path the exported model gives it (`layer2.0.conv1`); `depth`
    is 1 for the graph's own layers, as torchinfo counts it."""

    path: str
    depth: int
    info: NodeInfo
    key_params: str
    block: str | None = None  # the block an instance or a repeat runs
    children: tuple[Row, ...] = ()
    repeat: int = 1           # an instance's repeat count
    # on the graph's input (inside a block too: composed with the instance's input field)
    receptive: Receptive | None = None

    @property
    def id(self) -> str:
        """The row's own name: a node id in its graph, or a repeat's index."""
        return self.info.node

    @property
    def label(self) -> str:
        """What the Type column shows: the layer type, or the block's name."""
        return self.block or self.info.type


def summary_rows(engine: EngineBase, depth: int | None = None) -> list[Row]:
    """The graph's layers as a tree, expanded down to `depth` (None: all the way). Ports
    (BlockInput, BlockOutput) are not rows; numbers never depend on the depth."""
    return [layer_row(engine, info, depth) for info in _layers(engine)]


def layer_row(engine: EngineBase, info: NodeInfo, depth: int | None = None) -> Row:
    """The row of one of the graph's own layers, with the rows inside it down to `depth`."""
    return _row(engine, info, info.node, 1, depth)


def _layers(engine: EngineBase) -> list[NodeInfo]:
    return [i for i in engine.infos() if i.type not in (BLOCK_INPUT, BLOCK_OUTPUT)]


_TOP: Any = object()  # a row of the graph's own: its field is on the input already


def _on_input(base: Any, field: Receptive | None) -> Receptive | None:
    """A field inside a block (from its BlockInput) on the graph's input, given the field
    `base` at the block's input."""
    return field if base is _TOP else compose_block(base, field)


def _row(engine: EngineBase, info: NodeInfo, path: str, level: int, depth: int | None,
         base: Any = _TOP) -> Row:
    field = _on_input(base, info.receptive)
    if info.type != BLOCK:
        return Row(path, level, info, key_params(engine, info), receptive=field)
    params = engine.checked_params(info.node)
    block = params["block"] if params else engine.graph.raw_params(info.node).get("block")
    row = Row(path, level, info, key_params(engine, info),
              block if isinstance(block, str) else None, repeat=params["repeat"] if params else 1,
              receptive=field)
    if (depth is not None and level >= depth) or info.output_shape is None:
        return row  # an instance in error counts nothing, so nothing is shown inside it
    runs = engine.runs(info.node)
    entry = _on_input(base, merged([engine.info(src).receptive
                                    for src, _ in engine.graph.input_sources(info.node)]))
    if params is None or params["repeat"] == 1:
        children = [_row(run, i, f"{path}.{i.node}", level + 1, depth, entry)
                    for run in runs for i in _layers(run)]
    else:
        children = []
        for n, run in enumerate(runs):
            children.append(_repeat_row(run, f"{path}.{n}", n, level + 1, depth, params,
                                        entry))
            entry = compose_block(entry, run.output_receptive())
    return replace(row, children=tuple(children))


def _repeat_row(run: BlockEngine, path: str, index: int, level: int, depth: int | None,
                params: dict[str, Any], entry: Receptive | None) -> Row:
    """One repeat of an instance: its own share of the instance's numbers; `entry` is the
    field at its input."""
    totals = run.totals()
    outs = run.output_shapes
    info = NodeInfo(str(index), BLOCK, outs[0] if outs else None, totals.params,
                    totals.buffers, totals.macs, tuple(run.diagnostics()),
                    tuple(outs) if len(outs) > 1 and None not in outs else (),
                    run.layer_activations())
    children: tuple[Row, ...] = ()
    if depth is None or level < depth:
        children = tuple(_row(run, i, f"{path}.{i.node}", level + 1, depth, entry)
                         for i in _layers(run))
    return Row(path, level, info, _arguments_text(params, 1), run.defn.name, children,
               receptive=compose_block(entry, run.output_receptive()))


def walk(rows: Sequence[Row]) -> Iterator[Row]:
    """Every row, each before the rows inside it (the order the table prints them)."""
    for row in rows:
        yield row
        yield from walk(row.children)


def row_dict(engine: EngineBase, row: Row) -> dict[str, Any]:
    """A row as `--json` prints it, with the rows inside it under `children`."""
    info = row.info
    entry: dict[str, Any] = {
        "id": info.node, "path": row.path, "depth": row.depth, "type": info.type,
        "role": engine.registry.role_of(info.type),
        "output_shape": list(info.output_shape) if info.output_shape is not None else None,
        **({"output_shapes": [list(s) for s in info.port_shapes]} if info.port_shapes else {}),
        "params": info.params, "buffers": info.buffers, "macs": info.macs,
        "activations": info.activations, "key_params": row.key_params,
        "diagnostics": [d.to_dict() for d in info.diagnostics],
        "receptive": row.receptive.as_dict() if row.receptive is not None else None,
    }
    if row.block is not None:
        entry["block"] = row.block
        entry["children"] = [row_dict(engine, child) for child in row.children]
    return entry


def summary_dict(engine: InferenceEngine, depth: int | None = None) -> dict[str, Any]:
    """Everything `dlbuilder summary --json` prints; plain JSON values only. `nodes` are the
    graph's own layers; a block instance holds the rows inside it under `children`, down to
    `depth` (None: all the way)."""
    totals = engine.totals()
    return {
        "name": engine.graph.name,
        "nodes": [row_dict(engine, row) for row in summary_rows(engine, depth)],
        "total_params": totals.params, "frozen_params": frozen_params(engine),
        "total_buffers": totals.buffers, "total_macs": totals.macs,
        "total_activations": totals.activations,
        "errors": totals.errors, "warnings": totals.warnings, "hints": totals.hints,
        "diagnostics": [d.to_dict() for d in engine.diagnostics()],
    }


def format_summary(engine: InferenceEngine, depth: int | None = None) -> str:
    """The table `dlbuilder summary` prints: one line per row down to `depth`, a row inside a
    block indented under it and named by its path."""
    data = summary_dict(engine, depth)
    total = data["total_params"]
    header = ("Layer (id)", "Type", "Output shape", "Param #", "% of total", "Mult-adds",
              "Receptive field")
    rows = [header]
    for node in _flat(data["nodes"]):
        share = f"{100 * node['params'] / total:.1f}%" if total else "-"
        shown = shape_text(node["output_shape"], node.get("output_shapes", ()))
        kind = node.get("block") or node["type"]
        if node["type"] == BLOCK and node["key_params"]:
            kind += f" ({node['key_params']})"
        rows.append(("  " * (node["depth"] - 1) + node["path"], kind, shown,
                     f"{node['params']:,}", share, f"{node['macs']:,}",
                     field_text(node["receptive"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {3, 4, 5}

    def line(row: tuple[str, ...]) -> str:
        cells = [cell.rjust(w) if i in right else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(cells).rstrip()

    rule = "=" * len(line(header))
    out = [f"Graph: {data['name']}", rule, line(header), "-" * len(rule)]
    out += [line(row) for row in rows[1:]]
    out += [rule, *_totals_lines(data), rule]
    problems = [d for d in data["diagnostics"] if d["severity"] != "hint"]
    advice = [d for d in data["diagnostics"] if d["severity"] == "hint"]
    if problems:
        out.append(f"Problems: {data['errors']} error(s), {data['warnings']} warning(s)")
        out += [_diagnostic_line(d) for d in problems]
    else:
        out.append("No problems found.")
    if advice:
        out.append(f"Hints: {len(advice)} (advice, not problems; dismiss one on its layer in "
                   "the editor)")
        out += [_diagnostic_line(d) for d in advice]
    return "\n".join(out)


def _diagnostic_line(d: dict[str, Any]) -> str:
    return f"  {d['severity']:<7} {_where(d)}{d['message']} [{d['code']}]"


def _flat(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in nodes:
        yield node
        yield from _flat(node.get("children", ()))


def _where(d: dict[str, Any]) -> str:
    """`node.field: `, or nothing for a problem inside a block, whose message starts with its
    path already (`layer2.0/conv1: ...`)."""
    if d.get("inside"):
        return ""
    where = d["node"] or "graph"
    if d["field"]:
        where += f".{d['field']}"
    return where + ": "


def shape_text(shape: Shape | None, ports: Sequence[Shape] = ()) -> str:
    """`16x8x8`, or each output's shape in port order for a layer with several:
    `8x8x8 | 8x8x8`."""
    if ports:
        return " | ".join(format_shape(tuple(s)) for s in ports)
    return format_shape(tuple(shape) if shape is not None else None)


def _totals_lines(data: dict[str, Any]) -> list[str]:
    input_values = next((prod(n["output_shape"] or [0]) for n in data["nodes"]
                         if n["role"] == "input"), 0)
    return [
        f"Total params: {data['total_params']:,} ({_trained(data)})",
        f"Buffers (BatchNorm running statistics): {data['total_buffers']:,}",
        f"Total mult-adds: {_human(data['total_macs'])} per sample",
        (f"Input size: {_mb(input_values)} MB; forward activations: "
        f"{_mb(data['total_activations'])} MB; params: {_mb(data['total_params'])} MB "
        "(float32, per sample)"),
    ]


def _trained(data: dict[str, Any]) -> str:
    frozen = data["frozen_params"]
    if not frozen:
        return "all trainable"
    return f"{data['total_params'] - frozen:,} trainable, {frozen:,} frozen"


def _mb(values: int) -> str:
    return f"{values * BYTES_PER_VALUE / 1e6:.2f}"


def _human(value: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= size:
            return f"{value / size:.2f} {unit} ({value:,})"
    return f"{value:,}"
