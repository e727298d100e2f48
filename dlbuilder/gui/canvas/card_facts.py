"""What a card says about its node: the header's title, the line of key settings, the ports.

A layer's come from its declaration. The three node types of blocks have no declaration
(core/blocks.py): a block instance's card shows the block's name (`Basic x3` when it repeats),
its argument values (`channels=64, stride=2`; nothing when it takes none, like a layer without
settings: the count line already says what it holds) and one port per BlockInput and
BlockOutput of its definition; a BlockInput or BlockOutput inside a definition is one of the
block's ports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dlbuilder.core.blocks import BLOCK, BLOCK_INPUT, BLOCK_OUTPUT, is_ref, placed_definition
from dlbuilder.core.engine_base import EngineBase, NodeInfo
from dlbuilder.core.graph import Graph
from dlbuilder.core.registry import Registry

BLOCK_CATEGORY = "block"  # the theme's colour for block instances


@dataclass(frozen=True)
class CardFacts:
    """`kind`: "layer", "instance" or "port". `inputs`: input ports to draw (None: one per wire,
    as the declaration allows); `outputs`: the output ports the node gives (0: none)."""

    kind: str
    category: str
    title: str
    key: str
    summary: str
    inputs: int
    outputs: int
    several: bool  # outputs numbered, each with its shape


def card_facts(graph: Graph, engine: EngineBase, registry: Registry, node: str,
               info: NodeInfo, connected: int) -> CardFacts:
    type_name = graph.type_of(node)
    if type_name == BLOCK:
        return _instance_facts(graph, engine, node, connected)
    if type_name in (BLOCK_INPUT, BLOCK_OUTPUT):
        return _port_facts(graph, node, type_name == BLOCK_INPUT)
    spec = registry.get(type_name) if type_name in registry else None
    if spec is None:
        return CardFacts("layer", "io", type_name, "unknown layer type", "",
                         max(connected, 1), 1, False)
    outputs = 0 if spec.role == "output" else 1
    if spec.multi_output:
        outputs = len(info.port_shapes)
        if not outputs:  # shapes unknown: as many as asked for
            checked = engine.checked_params(node) or {}
            outputs = checked.get(spec.outputs_param, 1)
    return CardFacts("layer", spec.category, type_name,
                     _key_text(spec, engine.checked_params(node)), spec.summary,
                     _port_count(spec, connected), outputs, spec.multi_output)


def _instance_facts(graph: Graph, engine: EngineBase, node: str, connected: int) -> CardFacts:
    raw = graph.raw_params(node)
    name = raw.get("block")
    defn = placed_definition(graph.blocks, raw)
    checked = engine.checked_params(node)
    repeat = (checked or {}).get("repeat", raw.get("repeat", 1))
    title = f"{name} \u00d7{repeat}" if isinstance(repeat, int) and repeat > 1 else str(name)
    if defn is None:
        return CardFacts("instance", BLOCK_CATEGORY, title, "unknown block", "",
                         max(connected, 1), 1, False)
    ins, outs = defn.ports()
    args = ", ".join(_argument(p.name, raw.get(p.name, p.default), (checked or {}).get(p.name))
                     for p in defn.params)
    runs = f"runs {repeat} times in a row" if isinstance(repeat, int) and repeat > 1 \
        else "runs once"
    summary = (f"block {defn.name}{': ' + defn.doc if defn.doc else ''}; {runs}. "
               "Double-click to open it")
    return CardFacts("instance", BLOCK_CATEGORY, title, args, summary,
                     max(len(ins), 1), max(len(outs), 1), len(outs) > 1)


def _port_facts(graph: Graph, node: str, is_input: bool) -> CardFacts:
    """A definition's port: `Block input 1` when it has several, else `Block input`."""
    same = [n for n, t in graph.nx.nodes(data="type") if t == graph.type_of(node)]
    number = f" {same.index(node)}" if len(same) > 1 else ""
    if is_input:
        return CardFacts("port", "io", f"Block input{number}",
                         "what the instance is given", "where the block's input enters",
                         0, 1, False)
    return CardFacts("port", "io", f"Block output{number}", "what the instance gives",
                     "where the block's result leaves", 1, 0, False)


def _argument(name: str, raw: Any, value: Any) -> str:
    """`channels=64`; a reference with what it comes to here: `channels=width * 2 (128)`."""
    if not is_ref(raw):
        return f"{name}={raw}"
    return f"{name}={raw['expr']}" + (f" ({value})" if value is not None else "")


def _port_count(spec: Any, connected: int) -> int:
    """One port per wire plus a free one for merges; none for the Input."""
    if spec.max_inputs == 0:
        return 0
    if spec.max_inputs is None or spec.max_inputs > 1:
        room = connected + 1
        return room if spec.max_inputs is None else min(room, spec.max_inputs)
    return max(connected, 1)


def _key_text(spec: Any, checked: dict[str, Any] | None) -> str:
    if checked is None:
        return ""
    try:
        return spec.key_params(checked)
    except Exception:  # noqa: BLE001 - a declaration's text helper must not break painting
        return ""
