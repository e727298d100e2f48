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

import functools
import inspect
import json
import re
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from dlbuilder.backend.compiler import NodePath
from dlbuilder.backend.importing.building import Draft
from dlbuilder.backend.importing.loading import defined_in
from dlbuilder.backend.importing.parameterize import Key, Sample, Shared, parameterize
from dlbuilder.backend.importing.written import written_args
from dlbuilder.core.blocks import (
    BLOCK,
    BLOCK_INPUT,
    BLOCK_OUTPUT,
    BLOCK_TYPES,
    BlockDef,
    BlockParam,
    name_problem,
)
from dlbuilder.core.graph import Graph
from dlbuilder.layers import REGISTRY


class Grouper:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}  # base name -> types made from it
        self.taken: dict[str, str] = {}   # type name -> the base it was made from
        self.defs: list[BlockDef] = []    # inner types first

    def group(self, root: Draft) -> None:
        """Type every draft under `root`, level by level from the innermost, so all the
        instances of one structure are known together (parameterize needs them all)."""
        heights: dict[int, list[Draft]] = {}
        _height(root, heights)
        for height in sorted(heights):
            level = [d for d in heights[height] if d is not root]
            shapes: dict[tuple[str, str], list[Draft]] = {}
            for draft in level:
                self._settle(draft)
                if draft.runs is None:
                    shapes.setdefault((_base_name(draft.call), _structure(draft.graph)),
                                      []).append(draft)
            for (base, _), drafts in shapes.items():
                self._type(base, drafts)
        self._settle(root)

    def _settle(self, draft: Draft) -> None:
        """Give the instances in `draft` their types and arguments (its children are typed),
        merge repeats in a Sequential, and let a plain Sequential that is one (repeated)
        instance stand for it."""
        for node, runs in list(draft.children.items()):
            first = runs[0]
            if first.runs is not None:
                runs = draft.children[node] = [r for child in runs for r in child.runs]
            draft.graph.set_params(node, _instance(first.block, first.args, len(runs)))
        if draft.call is None or not isinstance(draft.call.module, nn.Sequential):
            return
        _merge_repeats(draft)
        single = _single_instance(draft)
        if single is not None and type(draft.call.module) is nn.Sequential:
            params = draft.graph.raw_params(single)
            draft.block = params["block"]
            draft.args = {k: v for k, v in params.items() if k not in ("block", "repeat")}
            draft.runs = draft.children[single]

    def _type(self, base: str, drafts: list[Draft]) -> None:
        """Block types for drafts of one structure: one for all (with parameters where their
        values differ), or, where parameterize finds none, one per set of equal values."""
        values = [_values(d.graph) for d in drafts]
        samples = [_sample(d, v) for d, v in zip(drafts, values, strict=True)]
        shared = None
        if any(v != values[0] for v in values) or any(s.args for s in samples):
            shared = parameterize(samples, _defaults(drafts[0]), _written(drafts[0]))
        if shared is None and any(v != values[0] for v in values):
            split: dict[str, list[Draft]] = {}
            for draft, value in zip(drafts, values, strict=True):
                split.setdefault(json.dumps(sorted(value.items()), default=str), []).append(
                    draft)
            for part in split.values():
                self._define(base, part, None)
            return
        self._define(base, drafts, shared)

    def _define(self, base: str, drafts: list[Draft], shared: Shared | None) -> None:
        count = self.counts.get(base, 0) + 1
        self.counts[base] = count
        name = self._fresh(base if count == 1 else f"{base}_{count}", base)
        graph = drafts[0].graph
        params: tuple[BlockParam, ...] = ()
        if shared is not None:
            params = shared.params
            for (node, key), value in shared.values.items():
                raw = {**graph.raw_params(node), key: value}
                if _whole_defaults(graph.type_of(node)).get(key) == value:
                    del raw[key]  # a default the layer had all along: not written
                graph.set_params(node, raw)
        self.defs.append(BlockDef(name, params, graph, _doc(drafts[0])))
        for i, draft in enumerate(drafts):
            draft.block = name
            draft.args = dict(shared.args[i]) if shared is not None else {}

    def _fresh(self, name: str, base: str) -> str:
        """`name`, unless another base or a type of ours took it: then with `Module`."""
        while (name in self.taken and self.taken[name] != base) or name in REGISTRY \
                or name_problem(name):
            name = f"{name}Module" if not name_problem(name) else f"Module{name}"
        self.taken[name] = base
        return name


def _doc(draft: Draft) -> str:
    call = draft.call
    module = type(call.module)
    if module is nn.Sequential:
        owner = type(call.parent.module).__name__ if call.parent is not None else "the model"
        return f"The nn.Sequential {call.path.rsplit('.', 1)[-1]!r} of {owner}, imported."
    return f"{module.__name__} from {defined_in(module)}, imported."


def _height(draft: Draft, out: dict[int, list[Draft]]) -> int:
    """How deep the instances inside `draft` go (0: none); `out` collects drafts by it."""
    height = 0
    for runs in draft.children.values():
        for child in runs:
            height = max(height, _height(child, out) + 1)
    out.setdefault(height, []).append(draft)
    return height


def _structure(graph: Graph) -> str:
    """The graph without its whole-number values (stored or left at a default): nodes, the
    other parameters, wires."""
    nodes = [(n, graph.type_of(n), sorted((k, v) for k, v in graph.raw_params(n).items()
                                          if not _whole(v)))
             for n in graph.nodes()]
    edges = [(s, d, p, graph.from_port(s, d)) for s, d, p in graph.edges()]
    return json.dumps([nodes, edges], default=str)


def _values(graph: Graph) -> dict[tuple[str, str], Any]:
    """Every whole-number value by (node, parameter), a layer's defaults included, so
    `stride` left at 1 in one instance and 2 in another is one column."""
    out: dict[tuple[str, str], Any] = {}
    for node in graph.nodes():
        raw = graph.raw_params(node)
        type_name = graph.type_of(node)
        given = {**_whole_defaults(type_name), **raw}
        out.update({(node, key): value for key, value in given.items() if _whole(value)})
    return out


@functools.cache
def _whole_defaults(type_name: str) -> dict[str, int]:
    if type_name == BLOCK:  # an instance: its arguments have no layer defaults
        return {"repeat": 1}
    if type_name not in REGISTRY:
        return {}
    spec = REGISTRY.get(type_name)
    return {name: _file_int(value) for name, value in spec.defaults.items()
            if _file_int(value) is not None}


def _file_int(value: Any) -> int | None:
    """A default as one whole number (`(1, 1)` -> 1), or None."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
        value = value[0]
    return value if _whole(value) else None


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sample(draft: Draft, values: dict[tuple[str, str], Any]) -> Sample:
    args = {k: v for k, v in draft.call.ctor.items() if _whole(v)}
    return Sample(args, draft.in_channels, values)


def _written(draft: Draft) -> dict[Key, str]:
    """What the draft's class wrote for its nodes' values, by (node, parameter)."""
    module = type(draft.call.module)
    if module is nn.Sequential:  # its items are written where it is built: in its parent
        return {}
    return {(node, name): text for node, hints in written_args(module).items()
            for name, text in hints.items()}


def _defaults(draft: Draft) -> dict[str, int]:
    try:
        signature = inspect.signature(type(draft.call.module).__init__)
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in signature.parameters.values() if _whole(p.default)}


def _instance(block: str, args: dict[str, Any], runs: int) -> dict[str, Any]:
    return {"block": block, **args, **({"repeat": runs} if runs > 1 else {})}


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
            if _without_repeat(graph.raw_params(nxt)) != _without_repeat(
                    graph.raw_params(node)) or not _built_alike(runs[-1], more[0]):
                break
            wires = [(dst, graph.port_of(nxt, dst), port) for dst, port in
                     graph.output_ports(nxt)]
            graph.remove_node(nxt)
            for dst, port, from_port in wires:
                graph.add_edge(node, dst, port, from_port)
            runs.extend(more)
            del draft.children[nxt]
            params = _without_repeat(graph.raw_params(node))
            graph.set_params(node, {**params, **({"repeat": len(runs)} if len(runs) > 1
                                                 else {})})


def _without_repeat(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "repeat"}


def _built_alike(a: Draft, b: Draft) -> bool:
    """Whether two calls' modules got the same constructor values (those that are plain
    values; a module passed in is compared by its class), or neither was recorded. An
    argument that is each one's incoming channels is left out: the graph infers it, so a
    repeat of `Inner(16, w)`, `Inner(24, w)` is one instance repeated."""
    first, second = _plain_args(a), _plain_args(b)
    for name in set(first) & set(second):
        if a.in_channels is not None and first[name] == a.in_channels \
                and second[name] == b.in_channels:
            del first[name], second[name]
    return first == second


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
