"""Solve for a size: the settings that give a layer's output the spatial size a user asks for.

The size formula run backwards. `solve_size(engine, node, (14, 14))` lists the changes that
make `node` give 14x14: first to the node's own size parameters (the ones its declaration names
in `LayerSpec.resizes`), then to one layer on the path before it (a Conv2d two layers up whose
padding gives the size through the layers in between). Proposals come fewest changes first,
then smallest change, and every one has been checked by the layers' own shape rules on the real
input shapes (for a path, through every layer up to `node`) before it is listed.

The search is bounded. A parameter is tried at these values on each axis:
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dlbuilder.core.commands import Macro, SetParams
from dlbuilder.core.engine_base import EngineBase
from dlbuilder.core.registry import LayerSpec, Params, Shape, format_shape

SEARCH: dict[str, range] = {
    "padding": range(6), "stride": range(1, 5), "kernel_size": range(1, 12),
    "dilation": range(1, 4), "output_padding": range(4),
}
TARGETED = ("size", "output_size")  # tried at the wanted size itself
SCALES = ("scale_factor",)  # tried at wanted size / input size
MAX_PROPOSALS = 6
FIRST_TRY = 2  # settings of one layer changed at once, before every combination is tried
MAX_PATH = 8
MAX_NEAREST = 2
LARGEST = 1 << 16  # the largest size the path search asks a layer for


class SolveError(ValueError):
    """A request the solver cannot take: an unknown node, bad size text, no image output."""


@dataclass(frozen=True)
class Proposal:
    """One way to get the size: raw parameter values per node (None: back to the default),
    and the node's output shape once applied."""

    label: str
    changes: dict[str, dict[str, Any]]
    shape: Shape

    @property
    def count(self) -> int:
        return sum(len(c) for c in self.changes.values())


@dataclass(frozen=True)
class Solution:
    node: str
    target: tuple[int, ...]
    shape: Shape | None  # the node's output now (None: it cannot be computed now)
    proposals: list[Proposal] = field(default_factory=list)
    reason: str = ""  # why none, when there is none
    nearest: list[Proposal] = field(default_factory=list)

    @property
    def already(self) -> bool:
        return self.shape is not None and tuple(self.shape[1:]) == self.target


# -- the request ------------------------------------------------------------------------------

def parse_size(text: str, axes: int) -> tuple[int, ...]:
    """`14x14`, `14 x 14` or `14,14` (one number per spatial axis), or `14` for every axis."""
    parts = [p for p in re.split(r"\s*[x\u00d7,*]\s*|\s+", text.strip().lower()) if p]
    if not parts or not all(p.isdigit() for p in parts):
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
        raise SolveError(f"there is no node {node!r}")
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
    """Whether `node` has an image output (C x H x W) the solver can size."""
    try:
        return spatial_axes(engine, node) == 2
    except (SolveError, KeyError):
        return False


# -- one layer, one axis ----------------------------------------------------------------------

Choice = tuple[bool, Any]  # (whole: the value holds for every axis, value)


@dataclass
class _Layer:
    """A layer the solver may change, and the layers between it and the node asked about."""

    node: str
    spec: LayerSpec
    ins: list[Shape]
    p: Params
    knobs: list[str]
    frozen: frozenset[str]
    after: list[tuple[LayerSpec, Params]]  # the fixed layers up to the node, in order


def _knob_names(engine: EngineBase, node: str) -> list[str]:
    type_name = engine.graph.type_of(node)
    if type_name not in engine.registry:
        return []
    return list(engine.registry.get(type_name).resizes)


def _axis_params(spec: LayerSpec, p: Params, axis: int) -> Params:
    """The parameters as axis `axis` sees them, on both axes: a square problem."""
    out = dict(p)
    for name, value in p.items():
        if isinstance(value, tuple) and len(value) == 2 and spec.param_index[name].kind == "pair":
            out[name] = (value[axis], value[axis])
    return out


def _axis_shape(spec: LayerSpec, shape: Shape, axis: int) -> Shape:
    return (shape[0], shape[1 + axis], shape[1 + axis]) if len(shape) == 3 else shape


def _rule(spec: LayerSpec, ins: list[Shape], p: Params) -> Shape | None:
    try:
        out = spec.shape(ins, p)
    except Exception:  # noqa: BLE001 - a setting the rule refuses is simply not a solution
        return None
    return out[0] if spec.multi_output else out


def _through(after: list[tuple[LayerSpec, Params]], shape: Shape | None,
             axis: int | None = None) -> Shape | None:
    """`shape` carried through the fixed layers (as axis `axis` sees them, when given)."""
    for spec, p in after:
        if shape is None:
            return None
        if axis is not None:
            p = _axis_params(spec, p, axis)
        shape = _rule(spec, [shape], p)
    return shape


def _candidates(layer: _Layer, knob: str, axis: int, wanted: range) -> list[Choice]:
    """The values tried for one knob on one axis: per-axis numbers and whole values."""
    pspec = layer.spec.param_index[knob]
    current = layer.p[knob]
    now: list[Choice] = [(False, current[axis])] if isinstance(current, tuple) \
        else [(True, current)]
    if knob in layer.frozen:
        return now
    if pspec.kind == "bool":
        return [(True, current), (True, not current)]
    if knob in SEARCH:
        values: list[Any] = list(SEARCH[knob])
    elif knob in TARGETED:
        values = list(wanted)[:3]
    elif knob in SCALES:
        size = layer.ins[0][1 + axis]
        values = [_scale(v, size) for v in list(wanted)[:3]]
    else:
        return now
    choices = now + [(False, v) for v in values if (False, v) not in now]
    if pspec.nullable and layer.spec.defaults.get(knob, 0) is None and current is not None:
        choices.append((True, None))
    return choices


def _scale(want: int, size: int) -> float | int:
    """The scale factor that turns `size` into `want` (floor(size * scale) = want)."""
    if want % size == 0:
        return want // size
    scale = want / size
    return scale if int(size * scale) == want else want / size + 1e-9


def _table(layer: _Layer, axis: int, wanted: range, most: int | None
           ) -> list[tuple[tuple[Choice, ...], int]]:
    """The combinations of the knobs' candidates on one axis that change at most `most`
    knobs (None: every combination), with the size each gives there."""
    spec = layer.spec
    base = _axis_params(spec, layer.p, axis)
    ins = [_axis_shape(spec, layer.ins[0], axis)]
    lists = [_candidates(layer, k, axis, wanted) for k in layer.knobs]
    rows = []
    for combo in _combos(lists, _now(layer, axis), most):
        for knob, (whole, value) in zip(layer.knobs, combo, strict=True):
            base[knob] = value if whole else (value, value)
        out = _rule(spec, ins, base)
        if out is not None and len(out) == 3:
            rows.append((combo, out[1]))
    return rows


def _combos(lists: list[list[Choice]], now: tuple[Choice, ...], most: int | None
            ) -> Iterator[tuple[Choice, ...]]:
    """Each combination once, those that change fewer knobs first, up to `most` changed."""
    count = len(lists)
    for level in range(count + 1 if most is None else min(most, count) + 1):
        for chosen in itertools.combinations(range(count), level):
            options = [[c for c in lists[j] if c != now[j]] if j in chosen else [now[j]]
                       for j in range(count)]
            yield from itertools.product(*options)


def _wanted(layer: _Layer, axis: int, target: int) -> range:
    """The sizes of the layer's output on `axis` that the fixed layers after it turn into
    `target` (an interval: every layer's size grows with its input's)."""
    if not layer.after:
        return range(target, target + 1)
    channels = _rule(layer.spec, layer.ins, layer.p)
    c = channels[0] if channels else 1

    def size(v: int) -> int:
        out = _through(layer.after, (c, v, v), axis)
        return out[1] if out is not None and len(out) == 3 else 0

    low, high = _first(size, target), _first(size, target + 1)
    return range(low, high) if low < high and size(low) == target else range(0)


def _first(size: Any, at_least: int) -> int:
    """The smallest v with size(v) >= at_least (size grows with v), or LARGEST."""
    high = 1
    while size(high) < at_least:
        if high >= LARGEST:
            return LARGEST
        high *= 2
    low = high // 2 + 1 if high > 1 else 1
    while low < high:
        mid = (low + high) // 2
        if size(mid) >= at_least:
            high = mid
        else:
            low = mid + 1
    return low


# -- joining the axes into proposals ----------------------------------------------------------

@dataclass(order=True)
class _Found:
    key: tuple
    proposal: Proposal = field(compare=False)


def _now(layer: _Layer, axis: int) -> tuple[Choice, ...]:
    """The layer's current setting of every knob on one axis, as choices."""
    return tuple((False, v[axis]) if isinstance(v, tuple) else (True, v)
                 for v in (layer.p[k] for k in layer.knobs))


def _axis_cost(combo: tuple[Choice, ...], now: tuple[Choice, ...]) -> tuple[int, float]:
    changed = [(c, n) for c, n in zip(combo, now, strict=True) if c != n]
    size = sum(abs(c[1] - n[1]) if not (c[0] or n[0]) else 1 for c, n in changed)
    return len(changed), size


def _best(layer: _Layer, rows: list, wanted: range, axis: int) -> dict[tuple, list]:
    """The combinations that give a wanted size, cheapest first, grouped by their whole
    values (which the axes must share), a few per group."""
    now = _now(layer, axis)
    groups: dict[tuple, list] = {}
    for combo, out in rows:
        if out in wanted:
            whole = tuple(c if c[0] else None for c in combo)
            groups.setdefault(whole, []).append(combo)
    return {k: sorted(v, key=lambda c: _axis_cost(c, now))[:8] for k, v in groups.items()}


def _joined(layer: _Layer, combos: tuple[tuple[Choice, ...], ...]) -> dict[str, Any]:
    """The raw values of the knobs these per-axis choices change (an equal pair as one
    number, as a person writes it)."""
    changes: dict[str, Any] = {}
    for j, knob in enumerate(layer.knobs):
        picks = [c[j] for c in combos]
        value = picks[0][1] if picks[0][0] else tuple(v for _, v in picks)
        if value == layer.p[knob]:
            continue
        if isinstance(value, tuple):
            value = value[0] if len(set(value)) == 1 else list(value)
        changes[knob] = value
    return changes


def _checked(layer: _Layer, changes: dict[str, Any], target: tuple[int, ...]) -> Shape | None:
    """The node's output with `changes` made to `layer`, when it is the target: the layer's
    parameter checks and shape rule on its real input, then every layer up to the node."""
    p = dict(layer.p)
    try:
        for name, raw in changes.items():
            pspec = layer.spec.param_index[name]
            p[name] = pspec.check(raw) if raw is not None else layer.spec.defaults[name]
    except ValueError:
        return None
    out = _through(layer.after, _rule(layer.spec, layer.ins, p))
    return out if out is not None and tuple(out[1:]) == target else None


def _layer_proposals(layer: _Layer, target: tuple[int, ...], distance: int,
                     tables: list, most: int | None) -> list[_Found]:
    """Every checked proposal that changes only `layer`; its per-axis tables kept in `tables`
    (for the nearest sizes)."""
    per_axis, seen, entries = [], {}, {}
    for axis, want in enumerate(target):
        wanted = _wanted(layer, axis, want)
        key = (layer.ins[0][1 + axis], wanted, _now(layer, axis))
        if key not in seen:
            rows = _table(layer, axis, wanted, most)
            entries[key] = (layer, [], rows)
            tables.append(entries[key])
            seen[key] = _best(layer, rows, wanted, axis)
        entries[key][1].append(axis)
        per_axis.append(seen[key])
    symmetric = len(seen) == 1
    found = []
    for whole in set(per_axis[0]).intersection(*per_axis[1:]):
        lists = [groups[whole] for groups in per_axis]
        combos = zip(*lists, strict=True) if symmetric else itertools.product(*lists)
        for combo in combos:
            changes = _joined(layer, combo)
            shape = _checked(layer, changes, target) if changes else None
            if shape is not None:
                found.append(_found(layer, changes, shape, distance))
    return found


def _found(layer: _Layer, changes: dict[str, Any], shape: Shape, distance: int) -> _Found:
    size = 0.0
    for name, raw in changes.items():
        old, new = layer.p[name], raw
        olds = old if isinstance(old, tuple) else (old, old)
        news = new if isinstance(new, list) else (new, new)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool)
                      for v in (*olds, *news))
        size += sum(abs(a - b) for a, b in zip(news, olds, strict=True)) if numbers else 1
    order = tuple(sorted(layer.knobs.index(n) for n in changes))
    text = ", ".join(f"{n} {_value_text(changes[n], layer.spec.defaults.get(n))}"
                     for n in sorted(changes, key=layer.knobs.index))
    label = text if distance == 0 else f"{layer.node}: {text}"
    return _Found((len(changes), distance, size, order, label),
                  Proposal(label, {layer.node: changes}, shape))


def _value_text(value: Any, default: Any) -> str:
    if value is None:
        return f"back to its default ({_value_text(default, None)})" if default is not None \
            else "unset (the default)"
    if isinstance(value, list):
        return "x".join(_value_text(v, None) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# -- the layers to change ---------------------------------------------------------------------

def _layer(engine: EngineBase, node: str, after: list) -> _Layer | None:
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
    return _Layer(node, spec, list(ins), p, knobs, frozen, list(after))


def _layers(engine: EngineBase, node: str, path: bool) -> list[_Layer]:
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
               path: bool = True) -> Solution:
    """The changes that give `node`'s output the spatial size `target` (see the module's
    docstring); with `path` False only the node's own settings are tried."""
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
    found = _search(layers, tuple(target), tables)
    if found:
        return Solution(node, tuple(target), shape, found)
    reach = _reach(tables, axes)
    return Solution(node, tuple(target), shape, [],
                    _reason(engine, node, layers, tuple(target), reach),
                    _nearest(layers, tuple(target), reach, shape))


def _search(layers: list[_Layer], target: tuple[int, ...], tables: list) -> list[Proposal]:
    """The best proposals: those changing at most FIRST_TRY settings of one layer when
    there are any (the quick common case), else every combination in the ranges (its
    per-axis tables kept in `tables`)."""
    found: list[_Found] = []
    for most in (FIRST_TRY, None):
        tables.clear()
        for layer in layers:  # ranked by how many layers lie between it and the node
            found.extend(_layer_proposals(layer, target, len(layer.after), tables, most))
        if found:
            break
    found.sort()
    kept: list[Proposal] = []
    for item in found:  # a proposal that only adds changes to a listed one is left out
        if not any(_extends(item.proposal, other) for other in kept):
            kept.append(item.proposal)
        if len(kept) == MAX_PROPOSALS:
            break
    return kept


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
                         if (s := _through(layer.after, (c, v, v), axis)) is not None
                         and len(s) == 3}
            reach[axis] |= sizes
    return reach


def _nearest(layers: list[_Layer], target: tuple[int, ...], reach: list[set[int]],
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


def _reason(engine: EngineBase, node: str, layers: list[_Layer], target: tuple[int, ...],
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
    text = f"no setting gives {want} at {node} (tried {tried})."
    formula = [line for line in engine.explain(node) if line[:2] in ("H ", "W ", "H=")]
    if formula:
        text += " Now " + "; ".join(formula) + "."
    axes = list(zip(("height", "width"), target, reach, strict=True))
    if len(axes) == 2 and axes[0][1:] == axes[1][1:]:  # a square problem: say it once
        axes = [("height and width", *axes[0][1:])]
    for word, want_axis, sizes in axes:
        if sizes and want_axis not in sizes:
            text += f" The {word} can be {min(sizes)} to {max(sizes)}" + (
                "" if max(sizes) - min(sizes) + 1 == len(sizes) else ", with gaps") + \
                f", not {want_axis}."
    return text


def _tried(layer: _Layer) -> str:
    parts = []
    for knob in layer.knobs:
        if knob in layer.frozen:
            parts.append(f"{knob} left as it is (it refers to a block parameter)")
        elif knob in SEARCH:
            span = SEARCH[knob]
            parts.append(f"{knob} {span.start}-{span.stop - 1}")
        elif layer.spec.param_index[knob].kind == "bool":
            parts.append(f"{knob} on and off")
        else:
            parts.append(knob)
    return ", ".join(parts)


def _size_text(size: tuple[int, ...]) -> str:
    return "x".join(str(v) for v in size)


# -- applying ---------------------------------------------------------------------------------

def proposal_command(proposal: Proposal) -> Macro:
    """One undo step making the proposal's changes (to the graph the solver read: inside an
    open block, the editor wraps it for the definition)."""
    commands = [SetParams(node, dict(changes)) for node, changes in proposal.changes.items()]
    return Macro(f"Solve for size: {proposal.label}", commands)


def iter_proposals(solution: Solution) -> Iterator[Proposal]:
    """The proposals, then the nearest sizes' (what a view lists as buttons)."""
    yield from solution.proposals
    yield from solution.nearest
