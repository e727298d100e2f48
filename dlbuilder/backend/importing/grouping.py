"""Draft graphs -> block types: one per module class (per distinct content), repeats merged.

Bottom-up, each draft gets its block type: named after the module's class (`BasicBlock`), or
for a plain nn.Sequential after its attribute, capitalised (`layer1` -> `Layer1`); drafts of
one name with the same graph (layers, values, wires and the block types inside) share the
type; one that differs gets the next suffix (`Bottleneck_2`). Parameterising the variants of
one class into a single type with integer parameters is for `parameterize` (see `_named`).

Inside an nn.Sequential, consecutive instances of one block type built with the same
constructor values become one instance with `repeat`; a plain nn.Sequential that is then a
single (repeated) instance is that instance itself (`layer1`: BasicBlock x2), which the
exported code writes as an nn.Sequential again, so the module paths stay the model's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from dlbuilder.backend.compiler import NodePath
from dlbuilder.backend.importing.building import Draft
from dlbuilder.core.blocks import (
    BLOCK,
    BLOCK_INPUT,
    BLOCK_OUTPUT,
    BLOCK_TYPES,
    BlockDef,
    name_problem,
)
from dlbuilder.core.graph import Graph
from dlbuilder.layers import REGISTRY


class Grouper:
    def __init__(self) -> None:
        self.signatures: dict[str, list[tuple[str, str]]] = {}  # name -> (signature, type)
        self.taken: dict[str, str] = {}  # type name -> the name it was derived from
        self.defs: list[BlockDef] = []   # in the order they were first needed

    def group(self, draft: Draft) -> None:
        """Give every draft under `draft` its type and merge repeats (`draft` is the root
        or a draft whose parent is being grouped)."""
        for node, runs in list(draft.children.items()):
            for child in runs:
                self.group(child)
            first = runs[0]
            if first.block.startswith("="):  # a Sequential that is one repeated instance
                draft.children[node] = [run for child in runs for run in
                                        next(iter(child.children.values()))]
                block = first.block[1:]
            else:
                block = first.block
            draft.graph.set_params(node, _instance(block, len(draft.children[node])))
        if draft.call is None:
            return
        if isinstance(draft.call.module, nn.Sequential):
            _merge_repeats(draft)
            single = _single_instance(draft)
            if single is not None and type(draft.call.module) is nn.Sequential:
                draft.block = "=" + draft.graph.raw_params(single)["block"]
                return
        draft.block = self._named(draft)

    def _named(self, draft: Draft) -> str:
        """The block type of `draft`: one already made with the same graph, or a new one.

        `parameterize` (the lead's, when it lands) plugs in here: given every draft of one
        `base` whose graphs differ only in integers, it gives one type with parameters."""
        base = _base_name(draft.call)
        signature = _signature(draft.graph)
        known = self.signatures.setdefault(base, [])
        for seen, name in known:
            if seen == signature:
                return name
        name = self._fresh(base if not known else f"{base}_{len(known) + 1}", base)
        known.append((signature, name))
        module = type(draft.call.module)
        doc = f"{module.__name__} from {module.__module__}, imported"
        self.defs.append(BlockDef(name, (), draft.graph, doc))
        return name

    def _fresh(self, name: str, base: str) -> str:
        """`name`, unless another base took it (or it is a layer type): then with `Block`."""
        while (name in self.taken and self.taken[name] != base) or name in REGISTRY \
                or name_problem(name):
            name = f"{name}Block" if not name_problem(name) else f"Block{name}"
        self.taken[name] = base
        return name


def _instance(block: str, runs: int) -> dict[str, Any]:
    return {"block": block, "repeat": runs} if runs > 1 else {"block": block}


def _base_name(call: Any) -> str:
    """The module's class name, or for a plain nn.Sequential its attribute capitalised
    (`layer1` -> `Layer1`; `8` inside `layers` -> `Layers8`)."""
    module = call.module
    if type(module) is not nn.Sequential:
        return type(module).__name__
    attr = call.path.rsplit(".", 1)[-1]
    words = "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", attr) if w)
    if not words or words[0].isdigit() or words in BLOCK_TYPES or words in REGISTRY:
        words = (_base_name(call.parent) if call.parent is not None else "Sequential") + words
    return words


def _signature(graph: Graph) -> str:
    nodes = [(n, graph.type_of(n), graph.raw_params(n)) for n in graph.nodes()]
    edges = [(s, d, p, graph.from_port(s, d)) for s, d, p in graph.edges()]
    return json.dumps([nodes, edges], sort_keys=True)


def _merge_repeats(draft: Draft) -> None:
    """Consecutive instances of one type in a chain, built alike, become one repeated."""
    graph = draft.graph
    for node in list(graph.nodes()):
        if node not in graph or graph.type_of(node) != BLOCK:
            continue
        while True:
            after = graph.outputs(node)
            if len(after) != 1 or graph.type_of(after[0]) != BLOCK \
                    or graph.inputs(after[0]) != [node] or graph.from_port(node, after[0]):
                break
            nxt = after[0]
            runs, more = draft.children[node], draft.children[nxt]
            if graph.raw_params(nxt)["block"] != graph.raw_params(node)["block"] \
                    or not _built_alike(runs[-1], more[0]):
                break
            wires = [(dst, graph.port_of(nxt, dst), port) for dst, port in
                     graph.output_ports(nxt)]
            graph.remove_node(nxt)
            for dst, port, from_port in wires:
                graph.add_edge(node, dst, port, from_port)
            runs.extend(more)
            del draft.children[nxt]
            graph.set_params(node, _instance(graph.raw_params(node)["block"], len(runs)))


def _built_alike(a: Draft, b: Draft) -> bool:
    """Whether two calls' modules got the same constructor values (those that are plain
    values; a module passed in is compared by its class), or neither was recorded."""
    return _plain_args(a) == _plain_args(b)


def _plain_args(draft: Draft) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in draft.call.ctor.items():
        if isinstance(value, bool | int | float | str | type(None)):
            out[name] = value
        elif isinstance(value, tuple | list) and all(
                isinstance(v, bool | int | float | str) for v in value):
            out[name] = list(value)
        else:
            out[name] = type(value).__name__
    return out


def _single_instance(draft: Draft) -> str | None:
    """The one instance a draft's graph holds between one BlockInput and one BlockOutput."""
    graph = draft.graph
    kinds = [graph.type_of(n) for n in graph.nodes()]
    if sorted(kinds) != sorted([BLOCK_INPUT, BLOCK, BLOCK_OUTPUT]):
        return None
    return next(n for n in graph.nodes() if graph.type_of(n) == BLOCK)


def layer_tensors(root: Draft) -> dict[NodePath, dict[str, torch.Tensor]]:
    """Each layer's own tensors by node path: ids from the top, an instance's id followed by
    its run (compiler.node_modules' paths)."""
    return dict(_walk(root, ()))


def _walk(draft: Draft, prefix: NodePath) -> Iterator[tuple[NodePath, dict[str, torch.Tensor]]]:
    for node, module in draft.modules.items():
        state = module.state_dict()
        if state:
            yield prefix + (node,), dict(state)
    for node, runs in draft.children.items():
        for run, child in enumerate(runs):
            yield from _walk(child, prefix + (node, run))
