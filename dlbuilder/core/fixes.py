"""Fixes: a rule's remedy (plain data) bound to a node, and the core commands that apply it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dlbuilder.core.block_commands import InBlock
from dlbuilder.core.commands import (
    Command,
    Macro,
    RemoveEdge,
    SetParams,
    bypass,
    insert_between,
    retype,
)
from dlbuilder.core.diagnostics import (
    Bypass,
    ChangeParams,
    Disconnect,
    Fix,
    InsertBefore,
    Remedy,
    Retype,
)
from dlbuilder.core.graph import Graph
from dlbuilder.core.placement import card_positions, place_between, placed
from dlbuilder.core.registry import Registry, Shape


def make_fix(node: str, remedy: Remedy, label: str | None = None) -> Fix:
    return Fix(label or _default_label(node, remedy), node, remedy)


def _default_label(node: str, remedy: Remedy) -> str:
    if isinstance(remedy, ChangeParams):
        parts = [f"reset {k} to its default" if v is None else f"set {k} = {_show(v)}"
                 for k, v in remedy.changes.items()]
        text = ", ".join(parts)
        return text[0].upper() + text[1:]
    if isinstance(remedy, InsertBefore):
        return f"Insert {remedy.type} before {node}"
    if isinstance(remedy, Disconnect):
        return f"Disconnect {node} from {remedy.dst}"
    if isinstance(remedy, Retype):
        return f"Make {node} a {remedy.type}"
    return f"Remove {remedy.node}"


def fix_commands(fix: Fix, graph: Graph) -> list[Command]:
    """The commands that apply `fix` to `graph` as it is now; a fix of a layer inside a block
    (`fix.block`) applies to the block's definition, so every instance gets it."""
    if fix.block is not None:
        inner = graph.block(fix.block).graph
        inside = fix_commands(replace(fix, block=None), inner)
        return [InBlock(fix.block, Macro(fix.label, inside))]
    remedy, node = fix.remedy, fix.node
    if isinstance(remedy, ChangeParams):
        return [SetParams(node, dict(remedy.changes))]
    if isinstance(remedy, InsertBefore):
        src = graph.inputs(node)[remedy.port]
        new_id, *chain_ids = _insert_ids(graph, node, remedy)
        chain = [(cid, t, p) for cid, (t, p) in zip(chain_ids, remedy.then, strict=True)]
        command = insert_between(graph, src, node, new_id, remedy.type, remedy.params,
                                 fix.label, chain)
        spots = place_between(card_positions(graph), src, node, 1 + len(chain))
        return [placed(command, [new_id] + [c[0] for c in chain], spots, graph)]
    if isinstance(remedy, Bypass):
        return [bypass(graph, remedy.node, fix.label)]
    if isinstance(remedy, Disconnect):
        return [RemoveEdge(node, remedy.dst)]
    if isinstance(remedy, Retype):
        return [retype(graph, node, remedy.type, remedy.params, fix.label)]
    raise TypeError(f"unknown remedy {remedy!r}")


NORM_AFTER = {"Conv2d": "BatchNorm2d", "Linear": "BatchNorm1d"}
SUFFIX = {"BatchNorm2d": "bn", "BatchNorm1d": "bn"}  # a chained layer's name after its lead's


def _insert_ids(graph: Graph, node: str, remedy: InsertBefore) -> list[str]:
    """Fresh ids for the layers an insertion adds, named as a person would: a projection after
    the merge it feeds (block1_add_proj), its BatchNorm after it (block1_add_proj_bn), anything
    else after its type (flatten)."""
    lead = f"{node}_proj" if remedy.type in NORM_AFTER else remedy.type
    ids = [graph.unique_id(lead)]
    for type_name, _params in remedy.then:
        base = f"{ids[0]}_{SUFFIX.get(type_name, type_name.lower())}"
        ids.append(graph.unique_id(base, ids))
    return ids


def with_batchnorm(fix: Fix) -> Fix | None:
    """The same projection followed by a BatchNorm (as ResNet's shortcuts have), if it is one."""
    remedy = fix.remedy
    if not isinstance(remedy, InsertBefore) or remedy.then or remedy.type not in NORM_AFTER:
        return None
    norm = NORM_AFTER[remedy.type]
    return replace(fix, label=f"{fix.label} + {norm}",
                   remedy=InsertBefore(remedy.port, remedy.type, remedy.params, ((norm, {}),)))


MAX_WALK = 12  # layers to look back along a path for the convolution that shrank it


def same_padding_fix(graph: Graph, registry: Registry, shape_of: Callable[[str], Shape | None],
                     params_of: Callable[[str], dict[str, Any] | None],
                     sources: list[str]) -> Fix | None:
    """For a merge whose inputs differ in size because an unpadded odd-kernel convolution on
    one path shrank it: pad that convolution to keep the size ("same" padding, (F - 1) / 2).

    Shape rules see only shapes; this looks back along the graph, so the engine asks it when
    a merge's rule found no remedy of its own.
    """
    shapes = [shape_of(src) for src in sources]
    if any(s is None or len(s) != 3 for s in shapes):
        return None
    biggest = max(shapes, key=lambda s: s[1] * s[2])
    for src, shape in zip(sources, shapes, strict=True):
        gap = (biggest[1] - shape[1], biggest[2] - shape[2])
        if gap == (0, 0) or min(gap) < 0:
            continue
        conv = _shrinking_conv(graph, registry, shape_of, params_of, src, shape, gap)
        if conv is not None:
            node, pad = conv
            return Fix(f"Pad {node} to keep the size ('same': padding = {pad})", node,
                       ChangeParams({"padding": pad}))
    return None


def _pads_same(registry: Registry, type_name: str) -> bool:
    """A convolution that can keep its input's size: its padding accepts 'same' (Conv2d)."""
    if type_name not in registry:
        return False
    padding = registry.get(type_name).param_index.get("padding")
    return padding is not None and "same" in padding.strings


def _shrinking_conv(graph: Graph, registry: Registry,
                    shape_of: Callable[[str], Shape | None],
                    params_of: Callable[[str], dict[str, Any] | None], node: str,
                    size: Shape, gap: tuple[int, int]) -> tuple[str, int] | None:
    for _ in range(MAX_WALK):
        if _pads_same(registry, graph.type_of(node)):
            p = params_of(node)
            if p is None or p["padding"] in ("same", "valid") or p["stride"] != (1, 1) \
                    or p["dilation"] != (1, 1):
                return None
            k, pads = p["kernel_size"], p["padding"]
            if k[0] == k[1] and k[0] % 2 == 1 and pads[0] == pads[1] \
                    and (k[0] - 1 - 2 * pads[0],) * 2 == gap:
                return node, (k[0] - 1) // 2
            return None
        inputs = graph.inputs(node)
        if len(inputs) != 1:
            return None
        node = inputs[0]
        shape = shape_of(node)
        if shape is None or shape[1:] != size[1:]:  # a layer that changed the size: stop
            return None
    return None


def apply_fix(graph: Graph, fix: Fix) -> Macro:
    """Apply a fix as one command (one undo step) and return it."""
    command = Macro(fix.label, fix_commands(fix, graph))
    command.apply(graph)
    return command


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "x".join(str(v) for v in value) if len(set(value)) > 1 else str(value[0])
    return repr(value) if isinstance(value, str) else str(value)
