"""Turn a rule's remedy (plain data) into a `Fix` for one node: a label and its commands."""

from __future__ import annotations

from typing import Any

from dlbuilder.core.commands import Command, Macro, SetParams, bypass, insert_between
from dlbuilder.core.diagnostics import Bypass, Fix, InsertBefore, Remedy
from dlbuilder.core.diagnostics import SetParams as SetParamsRemedy
from dlbuilder.core.graph import Graph


def make_fix(node: str, remedy: Remedy, label: str | None = None) -> Fix:
    if isinstance(remedy, SetParamsRemedy):
        text = label or "Set " + ", ".join(f"{k} = {_show(v)}" for k, v in remedy.changes.items())
        changes = dict(remedy.changes)

        def build_set(graph: Graph) -> list[Command]:
            return [SetParams(node, changes)]

        return Fix(text, build_set)
    if isinstance(remedy, InsertBefore):
        text = label or f"Insert {remedy.type} before {node}"

        def build_insert(graph: Graph) -> list[Command]:
            src = graph.inputs(node)[remedy.port]
            new_id = graph.unique_id(remedy.type)
            return [insert_between(graph, src, node, new_id, remedy.type, remedy.params, text)]

        return Fix(text, build_insert)
    if isinstance(remedy, Bypass):
        text = label or f"Remove {remedy.node}"

        def build_bypass(graph: Graph) -> list[Command]:
            return [bypass(graph, remedy.node, text)]

        return Fix(text, build_bypass)
    raise TypeError(f"unknown remedy {remedy!r}")


def apply_fix(graph: Graph, fix: Fix) -> Macro:
    """Apply a fix as one command (one undo step) and return it."""
    command = Macro(fix.label, fix.commands(graph))
    command.apply(graph)
    return command


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "x".join(str(v) for v in value) if len(set(value)) > 1 else str(value[0])
    return repr(value) if isinstance(value, str) else str(value)
