"""What the inspector shows for the nodes that belong to blocks, and where it reads them.

An instance (a `Block` node) gets one whole-number field per parameter of its block (range and
default from the block's declaration) and its `repeat`; ports (`BlockInput`, `BlockOutput`)
have no settings and get a short explanation instead.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QPushButton

from dlbuilder.core.blocks import (
    BLOCK,
    BLOCK_INPUT,
    BLOCK_OUTPUT,
    MAX_REPEAT,
    BlockDef,
    instance_definition,
)
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


def block_header(graph: Graph, node: str) -> tuple[str, str | None]:
    """(title, summary) for a node of the blocks: an instance is titled by its block; a port
    explains itself; None as the summary for a type that is neither (nor a layer)."""
    type_name = graph.type_of(node)
    if type_name != BLOCK:
        return type_name, PORT_TEXT.get(type_name)
    name = graph.raw_params(node).get("block")
    return (name if isinstance(name, str) else type_name,
            instance_summary(instance_definition(graph, node), name))


def fields_stale(graph: Graph, node: str, names: list[str]) -> bool:
    """Whether an instance's fields (`names`) no longer match its block's parameters."""
    if graph.type_of(node) != BLOCK:
        return False
    groups = instance_groups(instance_definition(graph, node))
    return [p.name for _, params in groups for p in params] != names


def instance_buttons() -> tuple[QPushButton, QPushButton, QHBoxLayout]:
    """The instance's Open and Save buttons, in a row."""
    opener = QPushButton("Open block")
    opener.setToolTip("Show this block's inside on the canvas (double-clicking the card does "
                      "the same); edits there change every instance")
    saver = QPushButton("Save to My blocks")
    saver.setToolTip("Keep this block in your library (the palette's My blocks) to place it "
                     "in other files")
    row = QHBoxLayout()
    row.addWidget(opener)
    row.addWidget(saver)
    row.addStretch(1)
    return opener, saver, row
