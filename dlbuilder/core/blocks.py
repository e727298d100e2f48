"""Blocks: named subgraphs kept in the graph file, placed as instances that may repeat.

A block type (`BlockDef`) has its own graph, whose `BlockInput` and `BlockOutput` nodes are its
ports (in node order), and integer parameters. An instance is a node of type `Block` whose
params name the block (`block`), how many times it runs in a chain (`repeat`) and one value
per block parameter. Inside a definition, a layer parameter (or an inner instance's argument)
may be a reference `{"expr": "channels * 4"}`: a JSON object, so it can never be confused with a
string value such as padding "same", parsed by core/expr.py, never eval'd. Besides the block's
parameters a reference may name `in_channels`, the channels of the block's (first) input, which
follow from each instance's input as every inferred size does (a depthwise convolution's
`groups`). These three node
types are not layer types: they are not in the registry, and code asks `is_block_type` first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlbuilder.core.expr import ExprError, parse_expr
from dlbuilder.core.graph import Graph

BLOCK = "Block"
BLOCK_INPUT = "BlockInput"
BLOCK_OUTPUT = "BlockOutput"
BLOCK_TYPES = frozenset({BLOCK, BLOCK_INPUT, BLOCK_OUTPUT})
RESERVED = ("block", "repeat")  # instance params that are not block arguments
INPUT_CHANNELS = "in_channels"  # a reference's name for the block input's channels
MAX_REPEAT = 1000
_CLASS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def is_block_type(type_name: str) -> bool:
    """Whether a node type belongs to blocks (an instance or a port), not to the registry."""
    return type_name in BLOCK_TYPES


def is_ref(value: Any) -> bool:
    """Whether a parameter value is a reference to block parameters."""
    return isinstance(value, dict) and set(value) == {"expr"}


def ref(text: str) -> dict[str, str]:
    return {"expr": text}


@dataclass(frozen=True)
class BlockParam:
    """A block's integer parameter: its name, default and optional range."""

    name: str
    default: int
    low: int | None = None
    high: int | None = None

    def problem(self, value: Any) -> str | None:
        """Why `value` cannot be this parameter's value, or None."""
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{self.name} must be a whole number, got {value!r}"
        if self.low is not None and value < self.low:
            return f"{self.name} = {value} is below its minimum {self.low}"
        if self.high is not None and value > self.high:
            return f"{self.name} = {value} is above its maximum {self.high}"
        return None

    def describe(self) -> str:
        span = ""
        if self.low is not None or self.high is not None:
            low = "" if self.low is None else str(self.low)
            high = "" if self.high is None else str(self.high)
            span = f", {low}..{high}"
        return f"{self.name} (default {self.default}{span})"

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name, "default": self.default}
        if self.low is not None:
            entry["min"] = self.low
        if self.high is not None:
            entry["max"] = self.high
        return entry


class BlockDef:
    """A block type: name, parameters, documentation and the graph inside."""

    def __init__(self, name: str, params: tuple[BlockParam, ...] | list[BlockParam],
                 graph: Graph, doc: str = "") -> None:
        self.name = name
        self.params = tuple(params)
        self.graph = graph
        self.doc = doc

    def param(self, name: str) -> BlockParam | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def defaults(self) -> dict[str, int]:
        return {p.name: p.default for p in self.params}

    def ports(self) -> tuple[list[str], list[str]]:
        """(BlockInput ids, BlockOutput ids), each in node order: the instance's ports."""
        ins, outs = [], []
        for node, type_name in self.graph.nx.nodes(data="type"):
            if type_name == BLOCK_INPUT:
                ins.append(node)
            elif type_name == BLOCK_OUTPUT:
                outs.append(node)
        return ins, outs

    def used_blocks(self) -> list[str]:
        """The block names this definition places directly, in node order, each once."""
        names: list[str] = []
        graph = self.graph
        for node in graph.nodes():
            if graph.type_of(node) == BLOCK:
                name = graph.raw_params(node).get("block")
                if isinstance(name, str) and name not in names:
                    names.append(name)
        return names


def placed_definition(blocks: Mapping[str, BlockDef], params: Mapping[str, Any]
                      ) -> BlockDef | None:
    """The definition an instance's (raw) params name, or None: no name, or a block the
    file does not define (inference reports that on the instance)."""
    name = params.get("block")
    return blocks.get(name) if isinstance(name, str) else None


def instance_definition(graph: Graph, node: str) -> BlockDef | None:
    """The definition instance `node` of `graph` places, or None (as `placed_definition`)."""
    return placed_definition(graph.blocks, graph.raw_params(node))


def name_problem(name: Any) -> str | None:
    """Why `name` cannot name a block type (it becomes a Python class name), or None."""
    if not isinstance(name, str) or not _CLASS_NAME.fullmatch(name):
        return (f"block name {name!r} must be a Python class name: letters, digits and "
                "underscores, not starting with a digit (e.g. BasicBlock)")
    if name in BLOCK_TYPES:
        return f"block name {name!r} is taken by dlbuilder's own node types"
    return None


def param_name_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        return (f"parameter name {name!r} must be lower-case letters, digits and underscores "
                "(e.g. channels)")
    if name in RESERVED:
        return f"parameter name {name!r} is taken: an instance uses it for its own setting"
    if name == INPUT_CHANNELS:
        return (f"parameter name {name!r} is taken: a reference reads it as the channels coming "
                "into the block, which the instance's input already gives")
    return None


def cycle_through(blocks: Mapping[str, BlockDef], start: str) -> list[str] | None:
    """A chain of block names from `start` back to itself (a block that contains itself,
    directly or through others), or None."""
    path: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in path:
            return [*path[path.index(name):], name]
        if name in done or name not in blocks:
            return None
        path.append(name)
        for used in blocks[name].used_blocks():
            loop = visit(used)
            if loop:
                return loop
        path.pop()
        done.add(name)
        return None

    return visit(start)


def would_contain_itself(blocks: Mapping[str, BlockDef], container: str, placed: str
                         ) -> list[str] | None:
    """The chain that placing block `placed` inside `container` would close, or None."""
    if placed == container:
        return [container, container]
    path = _path_between(blocks, placed, container)
    return [container, *path] if path else None


def _path_between(blocks: Mapping[str, BlockDef], start: str, goal: str) -> list[str] | None:
    stack: list[list[str]] = [[start]]
    seen: set[str] = set()
    while stack:
        path = stack.pop()
        if path[-1] == goal:
            return path
        if path[-1] in seen or path[-1] not in blocks:
            continue
        seen.add(path[-1])
        stack.extend([*path, used] for used in blocks[path[-1]].used_blocks())
    return None


def contains_words(loop: list[str]) -> str:
    return (f"a block cannot contain itself: {' > '.join(loop)}; place a different block "
            "or move the layers out")


def resolve(value: Any, env: Mapping[str, int] | None) -> Any:
    """A parameter value with a reference evaluated in `env` (the block's argument values);
    other values are returned as they are. ExprError when the reference cannot be evaluated
    (outside any block `env` is None)."""
    if not is_ref(value):
        return value
    expr = parse_expr(value["expr"])
    if env is None:
        raise ExprError(f"refers to block parameters ({value['expr']!r}) but is not inside a "
                        "block; write a number")
    return expr.evaluate(env)


def instance_arguments(defn: BlockDef, raw: Mapping[str, Any], env: Mapping[str, int] | None
                       ) -> tuple[dict[str, int], int, list[tuple[str | None, str]]]:
    """An instance's argument values (defaults filled in, references resolved in the
    enclosing block's `env`), its repeat count, and (field, message) for each problem."""
    problems: list[tuple[str | None, str]] = []
    args: dict[str, int] = {}
    for key in raw:
        if key not in RESERVED and defn.param(key) is None:
            names = ", ".join(p.name for p in defn.params) or "none"
            problems.append((key, f"{defn.name} has no parameter {key!r} (its parameters: "
                                  f"{names})"))
    for param in defn.params:
        value = _resolved(raw.get(param.name, param.default), env, param.name, problems)
        if value is None:
            continue
        problem = param.problem(value)
        if problem:
            problems.append((param.name, problem))
        else:
            args[param.name] = value
    repeat = _resolved(raw.get("repeat", 1), env, "repeat", problems)
    if repeat is not None and (isinstance(repeat, bool) or not isinstance(repeat, int)
                               or not 1 <= repeat <= MAX_REPEAT):
        problems.append(("repeat", f"repeat must be a whole number from 1 to {MAX_REPEAT}, "
                                   f"got {repeat!r}"))
        repeat = None
    return args, repeat if repeat is not None else 1, problems


def _resolved(value: Any, env: Mapping[str, int] | None, field: str,
              problems: list[tuple[str | None, str]]) -> Any:
    try:
        return resolve(value, env)
    except ExprError as err:
        problems.append((field, f"{field}: {err}"))
        return None
