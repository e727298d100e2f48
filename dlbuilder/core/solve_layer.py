"""The search within one layer, for core/solve.py: each axis on its own, every combination of
the layer's size parameters in bounded ranges (SEARCH), each one's size read from the layer's
own shape rule; then the axes' answers joined into proposals and checked on the real input.

A problem on one axis is made square (both axes see that axis's input size and settings), so
one call of the shape rule gives that axis's size whatever the rule is: per-axis settings are
how convolutions and poolings work, and every joined proposal is checked on the real shapes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dlbuilder.core.commands import Macro, SetParams
from dlbuilder.core.registry import LayerSpec, Params, Shape

SEARCH: dict[str, range] = {
    "padding": range(6), "stride": range(1, 5), "kernel_size": range(1, 12),
    "dilation": range(1, 4), "output_padding": range(4),
}
TARGETED = ("size", "output_size")  # tried at the wanted size itself
SCALES = ("scale_factor",)  # tried at wanted size / input size
LARGEST = 1 << 16  # the largest size the path search asks a layer for

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


Choice = tuple[bool, Any]  # (whole: the value holds for every axis, value)


@dataclass
class SizeLayer:
    """A layer the solver may change, and the layers between it and the node asked about."""

    node: str
    spec: LayerSpec
    ins: list[Shape]
    p: Params
    knobs: list[str]
    frozen: frozenset[str]
    after: list[tuple[LayerSpec, Params]]  # the fixed layers up to the node, in order


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


def through(after: list[tuple[LayerSpec, Params]], shape: Shape | None,
             axis: int | None = None) -> Shape | None:
    """`shape` carried through the fixed layers (as axis `axis` sees them, when given)."""
    for spec, p in after:
        if shape is None:
            return None
        if axis is not None:
            p = _axis_params(spec, p, axis)
        shape = _rule(spec, [shape], p)
    return shape


def _candidates(layer: SizeLayer, knob: str, axis: int, wanted: range) -> list[Choice]:
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


def _table(layer: SizeLayer, axis: int, wanted: range, most: int | None
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


def _wanted(layer: SizeLayer, axis: int, target: int) -> range:
    """The sizes of the layer's output on `axis` that the fixed layers after it turn into
    `target` (an interval: every layer's size grows with its input's)."""
    if not layer.after:
        return range(target, target + 1)
    channels = _rule(layer.spec, layer.ins, layer.p)
    c = channels[0] if channels else 1

    def size(v: int) -> int:
        out = through(layer.after, (c, v, v), axis)
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
class Found:
    key: tuple
    proposal: Proposal = field(compare=False)


def _now(layer: SizeLayer, axis: int) -> tuple[Choice, ...]:
    """The layer's current setting of every knob on one axis, as choices."""
    return tuple((False, v[axis]) if isinstance(v, tuple) else (True, v)
                 for v in (layer.p[k] for k in layer.knobs))


def _axis_cost(combo: tuple[Choice, ...], now: tuple[Choice, ...]) -> tuple[int, float]:
    changed = [(c, n) for c, n in zip(combo, now, strict=True) if c != n]
    size = sum(abs(c[1] - n[1]) if not (c[0] or n[0]) else 1 for c, n in changed)
    return len(changed), size


def _best(layer: SizeLayer, rows: list, wanted: range, axis: int) -> dict[tuple, list]:
    """The combinations that give a wanted size, cheapest first, grouped by their whole
    values (which the axes must share), a few per group."""
    now = _now(layer, axis)
    groups: dict[tuple, list] = {}
    for combo, out in rows:
        if out in wanted:
            whole = tuple(c if c[0] else None for c in combo)
            groups.setdefault(whole, []).append(combo)
    return {k: sorted(v, key=lambda c: _axis_cost(c, now))[:8] for k, v in groups.items()}


def _joined(layer: SizeLayer, combos: tuple[tuple[Choice, ...], ...]) -> dict[str, Any]:
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


def _checked(layer: SizeLayer, changes: dict[str, Any], target: tuple[int, ...]) -> Shape | None:
    """The node's output with `changes` made to `layer`, when it is the target: the layer's
    parameter checks and shape rule on its real input, then every layer up to the node."""
    p = dict(layer.p)
    try:
        for name, raw in changes.items():
            pspec = layer.spec.param_index[name]
            p[name] = pspec.check(raw) if raw is not None else layer.spec.defaults[name]
    except ValueError:
        return None
    out = through(layer.after, _rule(layer.spec, layer.ins, p))
    return out if out is not None and tuple(out[1:]) == target else None


def layer_proposals(layer: SizeLayer, target: tuple[int, ...], distance: int,
                     tables: list, most: int | None) -> list[Found]:
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


def _found(layer: SizeLayer, changes: dict[str, Any], shape: Shape, distance: int) -> Found:
    size = 0.0
    for name, raw in changes.items():
        olds, news = _per_axis(layer.p[name]), _per_axis(raw)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool)
                      for v in (*olds, *news))
        size += sum(abs(a - b) for a, b in zip(news, olds, strict=True)) if numbers else 1
    order = tuple(sorted(layer.knobs.index(n) for n in changes))
    text = ", ".join(f"{n} {_value_text(changes[n], layer.spec.defaults.get(n))}"
                     for n in sorted(changes, key=layer.knobs.index))
    label = text if distance == 0 else f"{layer.node}: {text}"
    skips = _skips_pixels({**layer.p, **changes})
    return Found((skips, len(changes), distance, size, order, label),
                  Proposal(label, {layer.node: changes}, shape))


def _per_axis(value: Any) -> tuple[Any, ...]:
    """A setting per axis: a checked pair (tuple) or a proposal's (list) as it is, one value
    for both axes."""
    return tuple(value) if isinstance(value, tuple | list) else (value, value)


def _skips_pixels(p: Params) -> bool:
    """Whether a stride longer than the (dilated) kernel leaves input pixels that no output
    sees: such a proposal comes after every other, however few changes it makes."""
    if "stride" not in p or "kernel_size" not in p:
        return False
    kernels, dilations = _per_axis(p["kernel_size"]), _per_axis(p.get("dilation", 1))
    # a pooling's stride left unset is its kernel
    strides = _per_axis(p["stride"]) if p["stride"] is not None else kernels
    axes = zip(strides, kernels, dilations, strict=False)
    return any(isinstance(s, int) and isinstance(k, int) and isinstance(d, int)
               and s > d * (k - 1) + 1 for s, k, d in axes)


def _value_text(value: Any, default: Any) -> str:
    if value is None:
        return f"back to its default ({_value_text(default, None)})" if default is not None \
            else "unset (the default)"
    if isinstance(value, list):
        return "x".join(_value_text(v, None) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def proposal_command(proposal: Proposal) -> Macro:
    """One undo step making the proposal's changes (to the graph the solver read: inside an
    open block, the editor wraps it for the definition)."""
    commands = [SetParams(node, dict(changes)) for node, changes in proposal.changes.items()]
    return Macro(f"Solve for size: {proposal.label}", commands)
