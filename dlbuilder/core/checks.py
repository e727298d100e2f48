"""Graph-wide checks: exactly one Input, one end (an Output, or a single sink), reachability;
inside a block definition: its ports, and reachability from its BlockInputs.

These depend only on the wiring, so the engine re-runs them after structural edits only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlbuilder.core.blocks import BLOCK_INPUT, BLOCK_OUTPUT
from dlbuilder.core.diagnostics import Diagnostic
from dlbuilder.core.graph import Graph
from dlbuilder.core.registry import Registry


def graph_checks(graph: Graph, registry: Registry) -> list[Diagnostic]:
    g = graph.nx
    succ = g.succ
    pred = g.pred
    input_types = registry.types_with_role("input")
    output_types = registry.types_with_role("output")
    inputs: list[str] = []
    outputs: list[str] = []
    sinks: list[str] = []
    for node, type_name in g.nodes(data="type"):
        if type_name in input_types:
            inputs.append(node)
        elif type_name in output_types:
            outputs.append(node)
            continue
        if not succ[node]:
            sinks.append(node)
    diags: list[Diagnostic] = []
    diags += _count_checks(graph, inputs, outputs)
    diags += _end_checks(sinks, outputs)
    if inputs:
        reached = _reached_from(succ, inputs)
        start = inputs[0] if len(inputs) == 1 else "an Input"
        for node in g:
            if node not in reached and pred[node]:
                diags.append(Diagnostic(
                    node, None, "error", "unreachable",
                    f"{node} is not connected to {start}: its inputs trace back to a node with "
                    "nothing wired into it; connect that one or delete the branch"))
    return diags


def _reached_from(succ: Mapping[str, Any], starts: list[str]) -> set[str]:
    """Every node a walk along the wires reaches from `starts` (one pass over the graph)."""
    reached = set(starts)
    stack = list(starts)
    while stack:
        for nxt in succ[stack.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                stack.append(nxt)
    return reached


def _count_checks(graph: Graph, inputs: list[str], outputs: list[str]) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    if not inputs:
        diags.append(Diagnostic(None, None, "error", "no_input_node",
                                "the graph has no Input node; add one and set its shape, "
                                "e.g. [1, 28, 28] for MNIST"))
    elif len(inputs) > 1:
        names = ", ".join(inputs)
        diags += [Diagnostic(n, None, "error", "multiple_input_nodes",
                             f"the graph has {len(inputs)} Input nodes ({names}); a network "
                             "here takes exactly one: delete the extra ones") for n in inputs]
    if len(outputs) > 1:
        names = ", ".join(outputs)
        diags += [Diagnostic(n, None, "error", "multiple_output_nodes",
                             f"the graph has {len(outputs)} Output nodes ({names}); keep one "
                             "and delete the others") for n in outputs]
    for node in outputs:
        feeds = graph.outputs(node)
        if feeds:
            diags.append(Diagnostic(node, None, "error", "output_has_successors",
                                    f"the Output must be the last node, but it feeds "
                                    f"{', '.join(feeds)}; remove those wires"))
    return diags


def _end_checks(sinks: list[str], outputs: list[str]) -> list[Diagnostic]:
    if outputs:
        return [Diagnostic(n, None, "warning", "unused_result",
                           f"nothing uses the output of {n}; connect it onward or delete it")
                for n in sinks]
    if len(sinks) == 1:
        (end,) = sinks
        return [Diagnostic(end, None, "warning", "no_output",
                           f"there is no Output node, so the result is the output of {end}; "
                           "add an Output after it to choose the loss")]
    names = ", ".join(sinks)
    return [Diagnostic(n, None, "error", "multiple_sinks",
                       f"the graph ends in {len(sinks)} places ({names}) and has no Output; "
                       "join the branches (Add or Concat) or delete the extra ones, then add "
                       "an Output") for n in sinks]


def block_checks(graph: Graph, registry: Registry) -> list[Diagnostic]:
    """A definition's wiring: at least one BlockInput and one BlockOutput, no Input or Output
    (ports take their place), every layer fed from a BlockInput and used by a BlockOutput."""
    g = graph.nx
    ends = registry.types_with_role("input") | registry.types_with_role("output")
    ins = [n for n, t in g.nodes(data="type") if t == BLOCK_INPUT]
    outs = [n for n, t in g.nodes(data="type") if t == BLOCK_OUTPUT]
    diags: list[Diagnostic] = []
    for kind, found in ((BLOCK_INPUT, ins), (BLOCK_OUTPUT, outs)):
        if not found:
            where = "the input comes in" if kind == BLOCK_INPUT else "the result leaves"
            diags.append(Diagnostic(None, None, "error", "block_no_ports",
                                    f"the block has no {kind}; add one: it is where {where}"))
    for node, type_name in g.nodes(data="type"):
        if type_name in ends:
            diags.append(Diagnostic(node, None, "error", "layer_not_in_block",
                                    f"{type_name} belongs to the whole network, not inside a "
                                    "block; use BlockInput and BlockOutput here"))
    reached = _reached_from(g.succ, ins)
    for node in g:
        if node not in reached and g.pred[node]:
            diags.append(Diagnostic(node, None, "error", "unreachable",
                                    f"{node} is not connected to the block's inputs; connect "
                                    "it or delete it"))
        elif not g.succ[node] and g.nodes[node]["type"] not in (BLOCK_OUTPUT, *ends):
            diags.append(Diagnostic(node, None, "warning", "unused_result",
                                    f"nothing uses the output of {node}; connect it onward "
                                    "(to a BlockOutput for the block's result) or delete it"))
    return diags
