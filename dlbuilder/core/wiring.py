"""Whether a wire may be drawn, asked before it is: the editor refuses a connection that could
never work (a cycle, a full input, tensors of incompatible ranks) and says why. The rules any
graph keeps (no wire into itself, none twice, no cycle) live in `Graph.wire_problem`, with their
words; this adds the ones that need the declarations and the shapes.

A connection that breaks a rule with a one-click fix (a Linear after an image: insert Flatten;
an Add of equal ranks but different sizes: project the shortcut) is allowed, so the node can
show the problem with its fix.
"""

from __future__ import annotations

from typing import Any

from dlbuilder.core.diagnostics import ShapeProblem
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.params import ParamError
from dlbuilder.core.registry import LayerSpec, Params, format_shape


def displaced_source(engine: InferenceEngine, src: str, dst: str) -> str | None:
    """The layer whose wire a new wire `src` -> `dst` would replace: `dst` takes one input
    and another layer feeds it (dropping a wire there swaps the old one, as in node editors;
    merges take more and append instead)."""
    graph = engine.graph
    if graph.type_of(dst) not in engine.registry:
        return None
    inputs = graph.inputs(dst)
    if engine.registry.get(graph.type_of(dst)).max_inputs == 1 and len(inputs) == 1 \
            and inputs[0] != src:
        return inputs[0]
    return None


def connect_problem(engine: InferenceEngine, src: str, dst: str,
                    replace: bool = False, from_port: int = 0) -> str | None:
    """Why wiring `src`'s output `from_port` into `dst` must be refused, or None when it may be
    drawn. With `replace`, a single input already fed is no refusal: the new wire takes its
    place."""
    graph = engine.graph
    problem = graph.wire_problem(src, dst, from_port) or _port_problem(engine, src, from_port)
    if problem is not None:
        return problem
    if graph.type_of(dst) not in engine.registry:
        return None
    spec = engine.registry.get(graph.type_of(dst))
    if spec.max_inputs == 0:
        return f"{dst} is an {spec.type}: nothing can flow into it"
    inputs = graph.inputs(dst)
    displaced = displaced_source(engine, src, dst) if replace else None
    if displaced is not None:
        inputs = [s for s in inputs if s != displaced]
    if spec.max_inputs is not None and len(inputs) >= spec.max_inputs:
        taken = ", ".join(inputs)
        return (f"{dst} ({spec.type}) takes {spec.max_inputs} input and already has one "
                f"({taken}); delete that wire first, or join them with Add or Concat")
    if engine.registry.role_of(graph.type_of(src)) == "output":
        return _ends_the_network(engine, src)
    return _rank_problem(engine, (src, from_port), dst, spec, engine.checked_params(dst),
                         [(s, graph.from_port(s, dst)) for s in inputs])


def _port_problem(engine: InferenceEngine, src: str, from_port: int) -> str | None:
    """Why `src` has no output `from_port` (a Chunk that gives fewer pieces), or None."""
    info = engine.info(src)
    count = len(info.output_shapes)
    if from_port == 0 or not count or from_port < count:
        return None
    return f"{src} has {count} output{'s' * (count != 1)} (0 to {count - 1}), not {from_port}"


def feed_problem(engine: InferenceEngine, src: str, type_name: str,
                 raw_params: dict[str, Any], from_port: int = 0) -> str | None:
    """Why a new `type_name` layer could not be wired after `src`'s output `from_port`
    (quick-add after a node)."""
    spec = engine.registry.get(type_name)
    if engine.registry.role_of(engine.graph.type_of(src)) == "output":
        return _ends_the_network(engine, src)
    if spec.max_inputs == 0:
        return f"an {type_name} takes no input"
    try:
        params = {**spec.defaults, **{k: spec.param_index[k].check(v)
                                      for k, v in raw_params.items()}}
    except (KeyError, ParamError):
        return None
    return _port_problem(engine, src, from_port) or \
        _rank_problem(engine, (src, from_port), f"the new {type_name}", spec, params, [])


def _ends_the_network(engine: InferenceEngine, src: str) -> str:
    return f"{src} is an {engine.graph.type_of(src)}: it ends the network and feeds nothing"


def _rank_problem(engine: InferenceEngine, wire: tuple[str, int], dst: str, spec: LayerSpec,
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
