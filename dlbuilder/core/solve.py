"""Solve for a size: the settings that give a layer's output the spatial size a user asks for.

The size formula run backwards. `solve_size(engine, node, (14, 14))` lists the changes that
make `node` give 14x14: first to the node's own size parameters (the ones its declaration names
in `LayerSpec.resizes`), then to one layer on the path before it (a Conv2d two layers up whose
padding gives the size through the layers in between). Proposals come fewest changes first,
then smallest change, and every one has been checked by the layers' own shape rules on the real
input shapes (for a path, through every layer up to `node`) before it is listed.

The search is bounded (solve_layer.SEARCH). A parameter is tried at these values on each axis:
  padding 0-5, stride 1-4, kernel_size 1-11, dilation 1-3, output_padding 0-3,
  ceil_mode both ways; size and output_size the wanted size itself; scale_factor the wanted
  size over the input size; a nullable parameter also at its default (pooling's stride).
Every combination of these is tried, each axis on its own (the height of a convolution or a
pooling does not depend on the width's settings), and the axes' answers are joined. So when
the solver says a size cannot be had, no combination in these ranges gives it. A parameter
that refers to a block parameter (`{"expr": ...}`) is left as it is: changing it would cut the
block's link. The path reaches back over single-input layers that feed nothing else, at most
MAX_PATH layers, and stops at the Input, a merge, a block instance or a non-image tensor.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dlbuilder.core import solve_layer
from dlbuilder.core.diagnostics import Diagnostic
from dlbuilder.core.engine_base import EngineBase
from dlbuilder.core.registry import LayerSpec, Params, Shape, format_shape
from dlbuilder.core.solve_layer import (  # noqa: F401 - proposal_command: the API's
    Found,
    Proposal,
    SizeLayer,
    layer_proposals,
    proposal_command,
    through,
)

MAX_PROPOSALS = 6
FIRST_TRY = 2  # settings of one layer changed at once, before every combination is tried
MAX_PATH = 8
MAX_NEAREST = 2
MAX_CHECKED = 40  # candidates tried on the whole file before the solver gives up looking

Check = Callable[[Proposal], list[Diagnostic]]  # the errors a proposal would add (solve_check)


class SolveError(ValueError):
    """A request the solver cannot take: an unknown node, bad size text, no image output."""


@dataclass(frozen=True)
class Solution:
    node: str
    target: tuple[int, ...]
    shape: Shape | None  # the node's output now (None: it cannot be computed now)
    proposals: list[Proposal] = field(default_factory=list)
    reason: str = ""  # why none, when there is none
    nearest: list[Proposal] = field(default_factory=list)
    # proposals that give the size but would break the graph elsewhere, with the first error
    broken: list[tuple[Proposal, Diagnostic]] = field(default_factory=list)

    @property
    def already(self) -> bool:
        return self.shape is not None and tuple(self.shape[1:]) == self.target


# -- the request ------------------------------------------------------------------------------

def parse_size(text: str, axes: int) -> tuple[int, ...]:
    """`14x14`, `14 x 14` or `14,14` (one number per spatial axis), or `14` for every axis."""
    parts = re.split(r"\s*[x\u00d7,*]\s*|\s+", text.strip().lower())
    if not parts or not all(p.isdigit() for p in parts):  # "14x" is half a size
        raise SolveError(f"size {text!r} is not whole numbers like 14x14 or 14")
    values = tuple(int(p) for p in parts)
    if min(values) < 1:
        raise SolveError(f"size {text!r}: every side must be at least 1")
    if len(values) == 1:
        return values * axes
    if len(values) != axes:
        raise SolveError(f"size {text!r} has {len(values)} numbers, but the output has "
                         f"{axes} spatial axes; give {axes} like "
                         f"{'x'.join(['14'] * axes)}, or one number for all")
    return values


def spatial_axes(engine: EngineBase, node: str) -> int:
    """How many spatial axes the node's output has (2 for an image); SolveError when it has
    none or cannot be known."""
    if node not in engine.graph:
        images = [i.node for i in engine.infos()
                  if i.output_shape is not None and len(i.output_shape) == 3]
        known = f"; the layers with an image output: {', '.join(images)}" if images else ""
        raise SolveError(f"there is no node {node!r}{known}")
    shape = engine.info(node).output_shape
    if shape is None:
        ins = engine.input_shapes(node)
        if not _knob_names(engine, node) or not ins or ins[0] is None:
            raise SolveError(f"the output size of {node} is not known yet (fix the problems "
                             "before it first)")
        shape = ins[0]
    if len(shape) < 2:
        raise SolveError(f"{node} gives {format_shape(shape)}, which has no height or width "
                         "to solve for")
    return len(shape) - 1


def can_solve(engine: EngineBase, node: str) -> bool:
    """Whether `node` has an image output (C x H x W) and a layer with size settings on it or
    on the path before it (a block instance has none: its inside is solved layer by layer)."""
    try:
        return spatial_axes(engine, node) == 2 and bool(_layers(engine, node, True))
    except (SolveError, KeyError):
        return False


# -- the layers to change ---------------------------------------------------------------------

def _knob_names(engine: EngineBase, node: str) -> list[str]:
    type_name = engine.graph.type_of(node)
    if type_name not in engine.registry:
        return []
    return list(engine.registry.get(type_name).resizes)


def _layer(engine: EngineBase, node: str, after: list) -> SizeLayer | None:
    """`node` as a layer the solver may change, or None when it has no size parameters or
    its input or parameters are not known."""
    knobs = _knob_names(engine, node)
    p = engine.checked_params(node)
    ins = engine.input_shapes(node)
    if not knobs or p is None or len(ins) != 1 or ins[0] is None or len(ins[0]) != 3:
        return None
    raw = engine.graph.raw_params(node)
    frozen = frozenset(k for k in knobs if isinstance(raw.get(k), dict))
    spec = engine.registry.get(engine.graph.type_of(node))
    return SizeLayer(node, spec, list(ins), p, knobs, frozen, list(after))


def _layers(engine: EngineBase, node: str, path: bool) -> list[SizeLayer]:
    """The node (when it has size parameters) and, with `path`, the layers before it on the
    single path that leads there, nearest first."""
    layers = [own] if (own := _layer(engine, node, [])) is not None else []
    graph, registry = engine.graph, engine.registry
    after: list[tuple[LayerSpec, Params]] = []
    current = node
    for _ in range(MAX_PATH if path else 0):
        p = engine.checked_params(current)
        if graph.type_of(current) not in registry or p is None:
            break
        after.insert(0, (registry.get(graph.type_of(current)), p))
        sources = graph.input_sources(current)
        if len(sources) != 1:
            break
        src = sources[0][0]
        spec = registry.get(graph.type_of(src)) if graph.type_of(src) in registry else None
        shape = engine.info(src).output_shape
        if spec is None or spec.role != "layer" or spec.multi_output or shape is None \
                or len(shape) != 3 or len(graph.outputs(src)) != 1:
            break
        if (layer := _layer(engine, src, after)) is not None:
            layers.append(layer)
        current = src
    return layers


# -- the whole answer -------------------------------------------------------------------------

def solve_size(engine: EngineBase, node: str, target: tuple[int, ...],
               path: bool = True, check: Check | None = None) -> Solution:
    """The changes that give `node`'s output the spatial size `target` (see the module's
    docstring); with `path` False only the node's own settings are tried. With `check`
    (solve_check.WholeFileCheck), a proposal that would add an error anywhere in the file is
    not listed but kept in `broken` with that error."""
    axes = spatial_axes(engine, node)
    if axes != 2:
        raise SolveError(f"{node} gives {format_shape(engine.info(node).output_shape)}; "
                         "solving works on images (C x H x W)")
    if len(target) != axes:
        raise SolveError(f"{node}'s output has {axes} spatial axes, but the size asked for "
                         f"has {len(target)}")
    shape = engine.info(node).output_shape
    if shape is not None and tuple(shape[1:]) == tuple(target):
        return Solution(node, tuple(target), shape,
                        reason=f"{node} already gives {_size_text(target)}")
    layers = _layers(engine, node, path)
    tables: list = []
    broken: list[tuple[Proposal, Diagnostic]] = []
    found = _search(layers, tuple(target), tables, check, broken)
    if found:
        return Solution(node, tuple(target), shape, found, broken=broken)
    if broken:
        return Solution(node, tuple(target), shape, [], _broken_reason(node, target, broken),
                        broken=broken)
    reach = _reach(tables, axes)
    nearest = [p for p in _nearest(layers, tuple(target), reach, shape)
               if check is None or not check(p)]
    return Solution(node, tuple(target), shape, [],
                    _reason(engine, node, layers, tuple(target), reach), nearest)


def _search(layers: list[SizeLayer], target: tuple[int, ...], tables: list,
            check: Check | None = None, broken: list | None = None) -> list[Proposal]:
    """The best proposals: those changing at most FIRST_TRY settings of one layer when
    there are any (the quick common case), else every combination in the ranges (its
    per-axis tables kept in `tables`). Those `check` finds errors in go to `broken`."""
    found: list[Found] = []
    for most in (FIRST_TRY, None):
        tables.clear()
        for layer in layers:  # ranked by how many layers lie between it and the node
            found.extend(layer_proposals(layer, target, len(layer.after), tables, most))
        if found:
            break
    found.sort()
    kept: list[Proposal] = []
    for checked, item in enumerate(found):  # one that only adds changes to a listed one: out
        if len(kept) == MAX_PROPOSALS or (check is not None and checked == MAX_CHECKED):
            break
        if any(_extends(item.proposal, other) for other in kept):
            continue
        errors = check(item.proposal) if check is not None else []
        if errors:
            if broken is not None:
                broken.append((item.proposal, errors[0]))
        else:
            kept.append(item.proposal)
    return kept


def _broken_reason(node: str, target: tuple[int, ...],
                   broken: list[tuple[Proposal, Diagnostic]]) -> str:
    proposal, error = broken[0]
    return (f"every setting found that gives {node} {_size_text(target)} breaks the graph "
            f"elsewhere ({proposal.label}: {first_clause(error)}). A skip connection's "
            "other branch must change with it (the shortcut's stride), or ask for the size "
            "after the merge")


def _extends(proposal: Proposal, other: Proposal) -> bool:
    return all(node in proposal.changes and all(
        proposal.changes[node].get(k, object()) == v for k, v in changes.items())
        for node, changes in other.changes.items())


def _reach(tables: list, axes: int) -> list[set[int]]:
    """The sizes the node's output can take on each axis within the search."""
    reach: list[set[int]] = [set() for _ in range(axes)]
    for layer, served, rows in tables:  # a table serves every axis with the same problem
        for axis in served:
            sizes = {out for _, out in rows}
            if layer.after:
                c = layer.ins[0][0]
                sizes = {s[1] for v in sizes
                         if (s := through(layer.after, (c, v, v), axis)) is not None
                         and len(s) == 3}
            reach[axis] |= sizes
    return reach


def _nearest(layers: list[SizeLayer], target: tuple[int, ...], reach: list[set[int]],
             shape: Shape | None) -> list[Proposal]:
    """The reachable sizes closest to the target, each with its cheapest proposal."""
    options = []
    for want, sizes in zip(target, reach, strict=True):
        below = [s for s in sizes if s <= want]
        above = [s for s in sizes if s >= want]
        near = ({max(below)} if below else set()) | ({min(above)} if above else set())
        options.append(sorted(near))
    sizes = sorted(itertools.product(*options),
                   key=lambda size: sum(abs(a - b) for a, b in zip(size, target, strict=True)))
    nearest: list[Proposal] = []
    for size in sizes:
        if shape is not None and tuple(shape[1:]) == size:
            continue
        found = _search(layers, size, [])
        if found:
            best = found[0]
            nearest.append(Proposal(f"{_size_text(size)}: {best.label}", best.changes,
                                    best.shape))
        if len(nearest) == MAX_NEAREST:
            break
    return nearest


def _reason(engine: EngineBase, node: str, layers: list[SizeLayer], target: tuple[int, ...],
            reach: list[set[int]]) -> str:
    """Why no setting gives the target: the formula with the node's numbers, what was tried
    and what sizes it can reach."""
    want = _size_text(target)
    if not layers:
        return (f"{node} ({engine.graph.type_of(node)}) has no setting that sets its size, "
                "and no layer before it on its path can change it (the path stops at the "
                f"Input, a merge, a block or a layer that feeds another); {want} cannot be "
                "had by changing settings here")
    tried = "; ".join(f"{layer.node}: {_tried(layer)}" for layer in layers)
    text = f"no setting in the searched ranges gives {want} at {node} (tried {tried})."
    formula = [line for line in engine.explain(node) if line[:2] in ("H ", "W ", "H=")]
    if formula:
        text += " Now " + "; ".join(formula) + "."
    axes = list(zip(("height", "width"), target, reach, strict=True))
    if len(axes) == 2 and axes[0][1:] == axes[1][1:]:  # a square problem: say it once
        axes = [("height and width", *axes[0][1:])]
    for word, want_axis, sizes in axes:
        if sizes and want_axis not in sizes:
            text += f" Within them the {word} can be {min(sizes)} to {max(sizes)}" + (
                "" if max(sizes) - min(sizes) + 1 == len(sizes) else ", with gaps") + \
                f", not {want_axis}."
    return text


def _tried(layer: SizeLayer) -> str:
    parts = []
    for knob in layer.knobs:
        if knob in layer.frozen:
            parts.append(f"{knob} left as it is (it refers to a block parameter)")
        elif knob in solve_layer.SEARCH:
            span = solve_layer.SEARCH[knob]
            parts.append(f"{knob} {span.start}-{span.stop - 1}")
        elif layer.spec.param_index[knob].kind == "bool":
            parts.append(f"{knob} on and off")
        else:
            parts.append(knob)
    return ", ".join(parts)


def _size_text(size: tuple[int, ...]) -> str:
    return "x".join(str(v) for v in size)


# -- applying ---------------------------------------------------------------------------------


def first_clause(diagnostic: Diagnostic) -> str:
    """What an error says, without its advice: "block2/add: Add needs inputs of equal shape,
    but input 1 is 32x16x16 and input 0 is 32x8x8"."""
    text = diagnostic.message.split(";")[0].split(" (")[0]
    return text if text.startswith(f"{diagnostic.node}") else f"{diagnostic.node}: {text}"
