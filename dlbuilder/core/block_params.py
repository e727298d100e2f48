"""Edits of a block's parameter list as the user makes them: one undo step each.

`DeclareBlock` replaces the list. Renaming a parameter must carry what refers to it, or the
user's values and expressions would be lost: every instance's argument moves to the new name and
every expression inside the definition that names it is rewritten, in the same step. Removing a
parameter keeps the expressions that still name it: they show a bad_reference error on the
layers that use them (`references` lists them, so the editor can say where).
"""

from __future__ import annotations

import re
from typing import Any

from dlbuilder.core.block_commands import DeclareBlock, InBlock, instances
from dlbuilder.core.blocks import BlockParam, is_ref, ref
from dlbuilder.core.commands import Macro, SetParams
from dlbuilder.core.expr import ExprError, parse_expr
from dlbuilder.core.graph import Graph


def names_in(text: str) -> frozenset[str]:
    """The names an expression mentions (also one that does not parse: by its words)."""
    try:
        return parse_expr(text).names
    except ExprError:
        return frozenset(re.findall(r"[A-Za-z_]\w*", text))


def references(graph: Graph, block: str, name: str) -> list[tuple[str, str]]:
    """(node, field) of every expression inside block `block` that names parameter `name`."""
    inner = graph.block(block).graph
    return [(node, key) for node in inner.nodes()
            for key, value in inner.raw_params(node).items()
            if is_ref(value) and name in names_in(value["expr"])]


def renamed_text(text: str, old: str, new: str) -> str:
    """`text` with the name `old` written `new` (spacing and everything else as typed)."""
    return re.sub(rf"(?<![\w]){re.escape(old)}(?![\w])", new, text)


def declare_commands(graph: Graph, block: str, params: tuple[BlockParam, ...], doc: str,
                     renamed: dict[str, str] | None = None) -> Macro:
    """The one undo step that gives block `block` (of the file `graph`) these parameters and
    doc, where `renamed` maps old parameter names to the new names they now have."""
    steps: list[Any] = []
    for old, new in (renamed or {}).items():
        steps += _move_arguments(graph, block, old, new)
        inner = graph.block(block).graph
        for node, key in references(graph, block, old):
            text = renamed_text(inner.raw_params(node)[key]["expr"], old, new)
            steps.append(InBlock(block, SetParams(node, {key: ref(text)})))
    steps.append(DeclareBlock(block, tuple(params), doc))
    if renamed and len(renamed) == 1:
        (old, new), = renamed.items()
        text = f"Rename parameter {old} of {block} to {new}"
    else:
        text = steps[-1].text
    return Macro(text, steps)


def _move_arguments(graph: Graph, block: str, old: str, new: str) -> list[Any]:
    """Each instance's value for `old`, given as `new` (before the declaration changes, so
    DeclareBlock finds nothing to drop)."""
    moves: list[Any] = []
    for where, node in instances(graph, block):
        raw = (graph if where is None else graph.block(where).graph).raw_params(node)
        if old in raw:
            move = SetParams(node, {old: None, new: raw[old]})
            moves.append(move if where is None else InBlock(where, move))
    return moves
