"""What the inspector shows for the nodes that belong to blocks, and where it reads them.

An instance (a `Block` node) gets one whole-number field per parameter of its block (range and
default from the block's declaration) and its `repeat`; ports (`BlockInput`, `BlockOutput`)
have no settings and get a short explanation instead. The inspector reads the graph the canvas
shows: the top level, or a block definition opened from an instance (`Document.scope`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from dlbuilder.core.blocks import BLOCK, BLOCK_INPUT, BLOCK_OUTPUT, MAX_REPEAT, BlockDef
from dlbuilder.core.engine_base import NodeInfo
from dlbuilder.core.graph import Graph
from dlbuilder.core.params import ParamSpec

REPEAT_DOC = ("How many times the block runs in a row, each repeat's output feeding the next "
              "(x3 on its card)")
PORT_TEXT = {
    BLOCK_INPUT: ("An input of this block. Each instance's wire comes in here: the first "
                  "BlockInput (in the order they were added) is the instance's input 0, the "
                  "next input 1. Its shape is the shape the instance receives."),
    BLOCK_OUTPUT: ("An output of this block. Whatever is wired into it leaves the instance: "
                   "the first BlockOutput is the instance's output 0. Wire exactly one layer "
                   "into it."),
}


class Scope(NamedTuple):
    """The graph a view shows, the engine to read its numbers from, and the block it is the
    inside of (None at the top level)."""

    graph: Graph
    engine: Any
    block: str | None


def shown_scope(doc: Any) -> Scope:
    """The document's current scope (`doc.scope` where the document has one: the canvas may
    show a block's inside), else its top level."""
    scope = getattr(doc, "scope", None)
    if scope is not None:
        return Scope(scope.graph, scope.engine, scope.block)
    return Scope(doc.graph, doc.engine, None)


def instance_block(graph: Graph, node: str) -> BlockDef | None:
    """The definition an instance places, or None (an unknown name: the engine says so)."""
    name = graph.raw_params(node).get("block")
    return graph.blocks.get(name) if isinstance(name, str) else None


def argument_specs(defn: BlockDef) -> list[ParamSpec]:
    """One whole-number field per block parameter, with its range and default."""
    return [ParamSpec(p.name, "int", p.default, doc=f"a parameter of {defn.name}",
                      minimum=p.low, maximum=p.high) for p in defn.params]


REPEAT_SPEC = ParamSpec("repeat", "int", 1, doc=REPEAT_DOC, minimum=1, maximum=MAX_REPEAT)


def instance_groups(defn: BlockDef | None) -> list[tuple[str, list[ParamSpec]]]:
    """The instance's fields: the block's arguments, then the repeat count."""
    groups: list[tuple[str, list[ParamSpec]]] = []
    if defn is not None and defn.params:
        groups.append(("Arguments", argument_specs(defn)))
    groups.append(("Repeat", [REPEAT_SPEC]))
    return groups


def instance_summary(defn: BlockDef | None, name: Any) -> str:
    if defn is None:
        return f"This instance places block {name!r}, which this file does not define."
    layers = sum(1 for n in defn.graph.nodes()
                 if defn.graph.type_of(n) not in (BLOCK_INPUT, BLOCK_OUTPUT))
    doc = f"{defn.doc.strip()}\n" if defn.doc.strip() else ""
    return (f"{doc}A block of {layers} node{'s' * (layers != 1)}. Open it to edit its "
            "inside; a change there updates every instance.")


def repeat_totals(info: NodeInfo | None, repeat: int) -> str:
    """`all 3 repeats: 221,184 parameters, 56.6M mult-adds` (the totals the card shows)."""
    if info is None or info.output_shape is None:
        return ""
    what = f"all {repeat} repeats" if repeat > 1 else "the block"
    return (f"Totals of {what}: {info.params:,} parameter{'s' * (info.params != 1)}, "
            f"{info.buffers:,} buffers, {info.macs:,} mult-adds")


def port_text(type_name: str) -> str | None:
    return PORT_TEXT.get(type_name)


def is_instance(graph: Graph, node: str) -> bool:
    return graph.type_of(node) == BLOCK
