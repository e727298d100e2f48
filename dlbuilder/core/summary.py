"""A torchinfo-like summary of an inferred graph: rows, totals, text table and JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlbuilder.core.inference import InferenceEngine, NodeInfo
from dlbuilder.core.registry import Shape, format_shape, prod

BYTES_PER_VALUE = 4  # float32


def key_params(engine: InferenceEngine, info: NodeInfo) -> str:
    """The node's parameters in a few words ("6@5x5"), or "" while they are invalid."""
    params = engine.checked_params(info.node)
    if params is None or info.type not in engine.registry:
        return ""
    return engine.registry.get(info.type).key_params(params)


def summary_dict(engine: InferenceEngine) -> dict[str, Any]:
    """Everything `dlbuilder summary --json` prints; plain JSON values only."""
    nodes = []
    for info in engine.infos():
        nodes.append({
            "id": info.node, "type": info.type, "role": engine.registry.role_of(info.type),
            "output_shape": list(info.output_shape) if info.output_shape is not None else None,
            **({"output_shapes": [list(s) for s in info.port_shapes]} if info.port_shapes else {}),
            "params": info.params, "buffers": info.buffers, "macs": info.macs,
            "activations": info.activations, "key_params": key_params(engine, info),
            "diagnostics": [d.to_dict() for d in info.diagnostics],
        })
    totals = engine.totals()
    return {
        "name": engine.graph.name, "nodes": nodes,
        "total_params": totals.params, "total_buffers": totals.buffers,
        "total_macs": totals.macs, "total_activations": totals.activations,
        "errors": totals.errors, "warnings": totals.warnings,
        "diagnostics": [d.to_dict() for d in engine.diagnostics()],
    }


def format_summary(engine: InferenceEngine) -> str:
    data = summary_dict(engine)
    total = data["total_params"]
    header = ("Layer (id)", "Type", "Output shape", "Param #", "% of total", "Mult-adds")
    rows = [header]
    for node in data["nodes"]:
        share = f"{100 * node['params'] / total:.1f}%" if total else "-"
        shown = shape_text(node["output_shape"], node.get("output_shapes", ()))
        rows.append((node["id"], node["type"], shown, f"{node['params']:,}",
                     share, f"{node['macs']:,}"))
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
    if data["diagnostics"]:
        out.append(f"Problems: {data['errors']} error(s), {data['warnings']} warning(s)")
        for d in data["diagnostics"]:
            where = d["node"] or "graph"
            if d["field"]:
                where += f".{d['field']}"
            out.append(f"  {d['severity']:<7} {where}: {d['message']} [{d['code']}]")
    else:
        out.append("No problems found.")
    return "\n".join(out)


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
        f"Total params: {data['total_params']:,} (all trainable)",
        f"Buffers (BatchNorm running statistics): {data['total_buffers']:,}",
        f"Total mult-adds: {_human(data['total_macs'])} per sample",
        (f"Input size: {_mb(input_values)} MB; forward activations: "
        f"{_mb(data['total_activations'])} MB; params: {_mb(data['total_params'])} MB "
        "(float32, per sample)"),
    ]


def _mb(values: int) -> str:
    return f"{values * BYTES_PER_VALUE / 1e6:.2f}"


def _human(value: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= size:
            return f"{value / size:.2f} {unit} ({value:,})"
    return f"{value:,}"
