"""Whether a wire may be drawn, asked before it is: the editor refuses a connection that could
never work (a cycle, a full input, tensors of incompatible ranks) and says why. The rules any
graph keeps (no wire into itself, none twice, no cycle) live in `Graph.wire_problem`, with their
words; this adds the ones that need the declarations and the shapes.

A connection that breaks a rule with a one-click fix (a Linear after an image: insert Flatten;
an Add of equal ranks but different sizes: project the shortcut) is allowed, so the node can
show the problem with its fix.

The nodes of blocks are not in the registry and take their counts from elsewhere: an instance
has one input per BlockInput of its definition and one output per BlockOutput; inside a
definition a BlockInput takes no input (the instance's wire feeds it) and a BlockOutput takes
exactly one and feeds nothing.
"""

from __future__ import annotations

from typing import Any

from dlbuilder.core.blocks import (
    BLOCK,
    BLOCK_INPUT,
    BLOCK_OUTPUT,
    instance_definition,
    placed_definition,
)
from dlbuilder.core.diagnostics import ShapeProblem
from dlbuilder.core.engine_base import EngineBase
from dlbuilder.core.params import ParamError
from dlbuilder.core.registry import LayerSpec, Params, format_shape


def input_limit(engine: EngineBase, type_name: str, raw_params: dict[str, Any]
                ) -> tuple[int | None, str] | None:
    """(the most inputs a node of `type_name` with these params takes, None: any number;
    what to call it in a message), or None where that is not known (an unknown type or
    block: inference reports it)."""
    if type_name == BLOCK:
        defn = placed_definition(engine.graph.blocks, raw_params)
        return None if defn is None else (len(defn.ports()[0]), f"block {defn.name}")
    if type_name == BLOCK_INPUT:
        return 0, BLOCK_INPUT
    if type_name == BLOCK_OUTPUT:
        return 1, BLOCK_OUTPUT
    if type_name in engine.registry:
        spec = engine.registry.get(type_name)
        return spec.max_inputs, spec.type
    return None


def output_count(engine: EngineBase, node: str) -> int | None:
    """How many outputs `node` gives when its type says so without shapes (an instance: one
    per BlockOutput of its definition; a BlockOutput: none), else None."""
    graph = engine.graph
    type_name = graph.type_of(node)
    if type_name == BLOCK_OUTPUT:
        return 0
    if type_name == BLOCK:
        defn = instance_definition(graph, node)
        return None if defn is None else len(defn.ports()[1])
    return None


def displaced_source(engine: EngineBase, src: str, dst: str) -> str | None:
    """The layer whose wire a new wire `src` -> `dst` would replace: `dst` takes one input
    and another layer feeds it (dropping a wire there swaps the old one, as in node editors;
    merges take more and append instead)."""
    graph = engine.graph
    limit = input_limit(engine, graph.type_of(dst), graph.raw_params(dst))
    inputs = graph.inputs(dst)
    if limit is not None and limit[0] == 1 and len(inputs) == 1 and inputs[0] != src:
        return inputs[0]
    return None


def connect_problem(engine: EngineBase, src: str, dst: str,
                    replace: bool = False, from_port: int = 0) -> str | None:
    """Why wiring `src`'s output `from_port` into `dst` must be refused, or None when it may be
    drawn. With `replace`, a single input already fed is no refusal: the new wire takes its
    place."""
    graph = engine.graph
    problem = graph.wire_problem(src, dst, from_port) or _port_problem(engine, src, from_port)
    if problem is not None:
        return problem
    limit = input_limit(engine, graph.type_of(dst), graph.raw_params(dst))
    if limit is None:
        return None
    most, what = limit
    if most == 0:
        return f"{dst} is {_no_input_words(what)}"
    inputs = graph.inputs(dst)
    displaced = displaced_source(engine, src, dst) if replace else None
    if displaced is not None:
        inputs = [s for s in inputs if s != displaced]
    if most is not None and len(inputs) >= most:
        return _full_words(dst, what, most, inputs)
    ends = _ends_words(engine, src)
    if ends is not None or graph.type_of(dst) not in engine.registry:
        return ends
    spec = engine.registry.get(graph.type_of(dst))
    return _rank_problem(engine, (src, from_port), dst, spec, engine.checked_params(dst),
                         [(s, graph.from_port(s, dst)) for s in inputs])


def _no_input_words(what: str, new: bool = False) -> str:
    """Why nothing can be wired into this kind of node: the end of `<node> is ...`, or with
    `new` a sentence about a node yet to be added."""
    if what.startswith("block "):
        return f"{what} has no BlockInput: it takes no input" if new else \
            f"an instance of {what}, which has no BlockInput: nothing can flow into it"
    article = "an" if what[0] in "AEIOU" else "a"
    if new:
        return f"{article} {what} takes no input"
    feeds = "; the instance's wire feeds it" if what == BLOCK_INPUT else ""
    return f"{article} {what}: nothing can flow into it{feeds}"


def _full_words(dst: str, what: str, most: int, inputs: list[str]) -> str:
    taken = ", ".join(inputs)
    if most == 1:
        return (f"{dst} ({what}) takes 1 input and already has one ({taken}); delete that "
                "wire first, or join them with Add or Concat")
    return (f"{dst} ({what}) takes {most} inputs and already has {len(inputs)} ({taken}); "
            "delete one of those wires first")


def _port_problem(engine: EngineBase, src: str, from_port: int) -> str | None:
    """Why `src` has no output `from_port` (a Chunk that gives fewer pieces, an instance of
    a block with fewer BlockOutputs), or None."""
    count = output_count(engine, src)
    if count == 0 and engine.graph.type_of(src) == BLOCK:
        return f"{src} places a block without a BlockOutput: nothing leaves it"
    if count is None:
        count = len(engine.info(src).output_shapes)
    if from_port == 0 or not count or from_port < count:
        return None
    return f"{src} has {count} output{'s' * (count != 1)} (0 to {count - 1}), not {from_port}"


def feed_problem(engine: EngineBase, src: str, type_name: str,
                 raw_params: dict[str, Any], from_port: int = 0) -> str | None:
    """Why a new `type_name` node (a layer, or an instance when `raw_params` name its block)
    could not be wired after `src`'s output `from_port` (quick-add after a node, a block
    placed with a layer selected)."""
    ends = _ends_words(engine, src)
    if ends is not None:
        return ends
    limit = input_limit(engine, type_name, raw_params)
    if limit is not None and limit[0] == 0:
        return _no_input_words(limit[1], new=True)
    if type_name not in engine.registry:
        return _port_problem(engine, src, from_port)
    spec = engine.registry.get(type_name)
    try:
        params = {**spec.defaults, **{k: spec.param_index[k].check(v)
                                      for k, v in raw_params.items()}}
    except (KeyError, ParamError):
        return None
    return _port_problem(engine, src, from_port) or \
        _rank_problem(engine, (src, from_port), f"the new {type_name}", spec, params, [])


def _ends_words(engine: EngineBase, src: str) -> str | None:
    """Why nothing may be wired after `src` (an Output, a BlockOutput), or None."""
    type_name = engine.graph.type_of(src)
    if type_name == BLOCK_OUTPUT:
        return f"{src} is a BlockOutput: it ends the block and feeds nothing"
    if engine.registry.role_of(type_name) == "output":
        return _ends_the_network(engine, src)
    return None


def _ends_the_network(engine: EngineBase, src: str) -> str:
    return f"{src} is an {engine.graph.type_of(src)}: it ends the network and feeds nothing"


def _rank_problem(engine: EngineBase, wire: tuple[str, int], dst: str, spec: LayerSpec,
                  params: Params | None, inputs: list[tuple[str, int]]) -> str | None:
    """`wire` and `inputs` are (source, from_port) pairs: the new wire and the ones kept."""
    src = wire[0]
    new = engine.source_shape(*wire)
    if new is None:
        return None  # unknown until the problems upstream are fixed: let the user wire it
    shapes = [engine.source_shape(*w) for w in inputs]
    known = [s for s in shapes if s is not None]
    for (other, _), shape in zip(inputs, shapes, strict=True):
        if shape is not None and len(shape) != len(new):
            return (f"{spec.type} {dst} cannot join {src}'s {len(new)}-D output "
                    f"({format_shape(new)}) with {other}'s {len(shape)}-D output "
                    f"({format_shape(shape)})")
    if params is None or len(known) != len(shapes) or len(inputs) + 1 < spec.min_inputs:
        return None
    try:
        spec.shape([*known, new], params)
    except ShapeProblem as problem:
        if problem.code == "wrong_rank" and problem.remedy is None:
            return problem.message
    except Exception:  # noqa: BLE001 - a rule's bug is reported by inference, not here
        return None
    return None
