"""`dlbuilder solve`: the settings that give a layer the output size asked for."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dlbuilder.cli.common import (
    EXIT_GRAPH_ERRORS,
    EXIT_OK,
    Parser,
    args_and_engine,
    fail,
)

if TYPE_CHECKING:
    from dlbuilder.core.engine_base import EngineBase
    from dlbuilder.core.solve import Proposal, Solution


def _solve_parser() -> Parser:
    parser = Parser(prog="dlbuilder solve",
                    description="List the settings that give a layer's output the size you "
                                "want (its own, or a layer's before it), fewest changes first.")
    parser.add_argument("file", metavar="FILE",
                        help="a graph file (.json), or the name of a shipped example")
    parser.add_argument("--node", required=True, metavar="ID",
                        help="the layer whose output size you want; inside a block, the ids "
                             "down to it: layer1/conv1 (a proposal there changes the block "
                             "definition, so every instance)")
    parser.add_argument("--size", required=True, metavar="HxW",
                        help="the output size wanted: 14x14, or 14 for every axis")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object on stdout instead of text")
    return parser


SHOWN_BROKEN = 3  # broken proposals the text lists


def cmd_solve(argv: Sequence[str]) -> int:
    loaded = args_and_engine(_solve_parser(), argv)
    if isinstance(loaded, int):
        return loaded
    args, engine = loaded
    from dlbuilder.core.solve import SolveError, parse_size, solve_size, spatial_axes
    from dlbuilder.core.solve_check import WholeFileCheck

    try:
        scope, node, block = _find(engine, args.node)
        target = parse_size(args.size, spatial_axes(scope, node))
        check = WholeFileCheck(engine.graph, engine.registry, block)
        solution = solve_size(scope, node, target, check=check)
    except SolveError as err:
        return fail(f"dlbuilder solve: {err}", args.json, [])
    type_name = scope.graph.type_of(node)
    if args.json:
        print(json.dumps(_as_dict(solution, type_name, block)))
    else:
        print(_as_text(solution, type_name, block))
    return EXIT_OK if solution.proposals or solution.already else EXIT_GRAPH_ERRORS


def _find(engine: EngineBase, path: str) -> tuple[EngineBase, str, str | None]:
    """The engine holding the node that `a/b/c` names (instance ids down to it, each read
    in its first repeat), the node, and the block definition it is in (None: the top)."""
    from dlbuilder.core.blocks import BLOCK
    from dlbuilder.core.solve import SolveError

    *outer, node = path.split("/")
    block = None
    for part in outer:
        if part not in engine.graph or engine.graph.type_of(part) != BLOCK:
            raise SolveError(f"{part!r} in {path!r} is not a block instance here")
        runs = engine.runs(part)
        if not runs:
            raise SolveError(f"{part}'s inside cannot be evaluated (fix its problems first)")
        engine, block = runs[0], runs[0].defn.name
    return engine, node, block


def _proposal_dict(proposal: Proposal) -> dict[str, Any]:
    return {"label": proposal.label, "changes": proposal.changes,
            "shape": list(proposal.shape)}


def _as_dict(solution: Solution, type_name: str, block: str | None) -> dict[str, Any]:
    return {"node": solution.node, "type": type_name, "block": block,
            "shape": list(solution.shape) if solution.shape is not None else None,
            "target": list(solution.target), "already": solution.already,
            "proposals": [_proposal_dict(p) for p in solution.proposals],
            "reason": solution.reason,
            "nearest": [_proposal_dict(p) for p in solution.nearest],
            "broken": [{**_proposal_dict(p), "error": error.to_dict()}
                       for p, error in solution.broken]}


def _as_text(solution: Solution, type_name: str, block: str | None) -> str:
    from dlbuilder.core.registry import format_shape

    want = "x".join(str(v) for v in solution.target)
    head = f"{solution.node} ({type_name}) gives {format_shape(solution.shape)}"
    if block:
        head += f" (in block {block}: a change there applies to every instance)"
    if solution.already:
        return f"{head}: already {want}"
    if solution.proposals:
        lines = [f"{head}; for {want}:"]
        lines += _listed(solution.proposals)
    else:
        lines = [f"{head}; {want} cannot be had: {solution.reason}"]
    if solution.nearest:
        lines.append("nearest:")
        lines += _listed(solution.nearest)
    if solution.broken:
        from dlbuilder.core.solve import first_clause

        shown = solution.broken[:SHOWN_BROKEN]
        more = len(solution.broken) - len(shown)
        lines.append("left out, they break the graph elsewhere:")
        lines += [f"  - {p.label}: {first_clause(e)}" for p, e in shown]
        if more:
            lines.append(f"  (and {more} more; --json lists them all)")
    return "\n".join(lines)


def _listed(proposals: list[Proposal]) -> list[str]:
    from dlbuilder.core.registry import format_shape

    width = max(len(p.label) for p in proposals)
    return [f"  {i}. {p.label:<{width}}  -> {format_shape(p.shape)}"
            for i, p in enumerate(proposals, start=1)]
