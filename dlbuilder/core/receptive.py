"""Receptive fields: which input pixels one output value of a layer sees.

Each layer type maps a region through itself with a `Window` (its `receptive` hook on the
LayerSpec; elementwise layers need none): output position i of the layer sees its own input's
positions i*stride + offset ... i*stride + offset + span - 1. Composing windows from the Input
gives, for every node, a `Receptive`: per spatial axis the `size` of the region, the `jump`
between neighbouring outputs and the `start` (the CENTRE of output 0's region), all in input
pixels. This is the standard recursion, with k_eff = d*(k-1)+1:

    size_out = size_in + (k_eff - 1) * jump_in
    jump_out = jump_in * stride
    start_out = start_in + ((k_eff - 1)/2 - padding) * jump_in

Output i's region is the input pixels inside the real interval start + i*jump -+ (extent-1)/2,
clipped to the image. For convolutions and pooling the extent is the whole-number size. Layers
that enlarge (Upsample, ConvTranspose2d, PixelShuffle) have fractional strides and spans, so
that the pixels inside the interval are exactly the ones the layer reads; `extent` keeps that
real length and `size` is the most whole pixels such an interval holds. Such a window applied
after a field whose jump is not 1 (an enlarging layer after a strided one) makes the regions
differ from output to output (a transposed convolution's even outputs see fewer inputs than
its odd ones): the field is then the smallest that holds every output's region, `exact` False.
Merges (Add, Concat, Mul) take the hull of their inputs' regions; a value that sees every input
pixel (after a Linear or a global pooling) is `whole`. Normalization statistics count as
constants, as usual (InstanceNorm and GroupNorm really mix every position of a channel).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dlbuilder.core.registry import Shape

EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Receptive:
    """The input region one output value sees, per spatial axis (H, W for an image; empty
    for a vector): `size` in whole pixels, `jump` between neighbouring outputs, `start` the
    centre of output 0's region (negative where padding reaches outside), `whole` when every
    output sees the whole input. `extent` is the region's real length (equal to `size` except
    after layers that enlarge); `exact` False when the region is an upper bound that holds
    every output's (see the module docstring)."""

    size: tuple[int, ...]
    jump: tuple[float, ...]
    start: tuple[float, ...]
    whole: bool = False
    extent: tuple[float, ...] = ()
    exact: bool = True

    @property
    def spans(self) -> tuple[float, ...]:
        return self.extent or self.size  # type: ignore[return-value]

    def region(self, index: Sequence[int], image: Sequence[int] | None = None
               ) -> tuple[tuple[int, int], ...]:
        """The first and last input pixel output `index` sees on each axis, clipped to
        `image` (the input's spatial size) when given."""
        result = []
        for axis, i in enumerate(index):
            centre = self.start[axis] + i * self.jump[axis]
            half = (self.spans[axis] - 1) / 2
            lo, hi = math.ceil(centre - half - EPS), math.floor(centre + half + EPS)
            if image is not None:
                lo, hi = max(lo, 0), min(hi, image[axis] - 1)
            result.append((lo, hi))
        return tuple(result)

    def as_dict(self) -> dict[str, Any]:
        return {"size": list(self.size), "jump": [number(j) for j in self.jump],
                "start": [number(s) for s in self.start], "whole": self.whole}


@dataclass(frozen=True, slots=True)
class Window:
    """How one layer maps a region, per spatial axis of its input: output i sees input
    positions i*stride + offset .. i*stride + offset + span - 1 (real numbers for layers that
    enlarge). `whole`: every output sees all of its input (the other fields are then unused)."""

    span: tuple[float, ...] = ()
    stride: tuple[float, ...] = ()
    offset: tuple[float, ...] = ()
    whole: bool = False
    integral: bool = False  # every number whole (convolution, pooling): the field stays exact


SAME = Window()  # the output value at a position sees the input's value there
WHOLE = Window(whole=True)
Hook = Callable[[list[Shape], dict[str, Any], Shape], Window | None]


def conv_window(kernel: Sequence[int], stride: Sequence[int], padding: Sequence[int],
                dilation: Sequence[int]) -> Window:
    """A sliding window (convolution, pooling): k_eff = d*(k-1)+1, stride, padding."""
    if len(kernel) == 2:  # the common case, without the loops (inference runs this a lot)
        return Window((dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1),
                      (stride[0], stride[1]), (-padding[0], -padding[1]), False, True)
    return Window(tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)),
                  tuple(stride), tuple(-p for p in padding), False, True)


def resize_window(ratios: Sequence[float], taps: float) -> Window:
    """Output i reads the input around (i + 0.5) * ratio - 0.5 (ratio = input/output size):
    `taps` 1 for nearest (the pixel below), 2 bilinear, 4 bicubic. Exact for whole-number
    scale factors (the tests check nearest and bilinear against torch's gradients)."""
    if taps == 1:
        return Window(tuple(2 - r for r in ratios), tuple(ratios), tuple(r - 1 for r in ratios))
    half = taps / 2
    return Window(tuple(taps + 1 - r for r in ratios), tuple(ratios),
                  tuple(r - half - 0.5 for r in ratios))


def identity(rank: int) -> Receptive | None:
    """The field of an Input of `rank` dimensions (channels first): each pixel sees itself."""
    axes = rank - 1
    if axes < 1:
        return None
    return Receptive((1,) * axes, (1.0,) * axes, (0.0,) * axes)


def node_receptive(hook: Hook | None, ins: list[Shape], p: dict[str, Any], out: Shape,
                   fields: list[Receptive | None]) -> Receptive | None:
    """A layer's field from its inputs' fields (None: not spatial, or unknown)."""
    field = merged(fields)
    if field is None:
        return None
    if hook is None:
        same = len(out) == len(ins[0]) and out[1:] == ins[0][1:]
        return field if same else None
    window = hook(ins, p, out)
    if window is None:
        return None
    if window.whole:
        return whole_of(field, ins[0])
    if not window.span or field.whole and not field.size:
        return field
    return compose(field, window)


def compose(field: Receptive, window: Window) -> Receptive:
    """The standard recursion: `window` applied after `field`."""
    axes = len(field.size)
    if len(window.span) != axes:
        return Receptive((), (), (), True) if field.whole else field
    spans, jump_in, start_in = field.extent or field.size, field.jump, field.start
    span, stride, offset = window.span, window.stride, window.offset
    sizes, jumps, starts, extents = [], [], [], []
    whole_pixels, unit_jumps = True, True
    for a in range(axes):
        j, k = jump_in[a], span[a]
        extent = spans[a] + (k - 1) * j
        size = int(extent + EPS)
        if size != extent:
            whole_pixels = False
        if j != 1:
            unit_jumps = False
        extents.append(extent)
        sizes.append(size)
        jumps.append(j * stride[a])
        starts.append(start_in[a] + (offset[a] + (k - 1) / 2) * j)
    exact = field.exact and (window.integral or unit_jumps or _integral(window))
    return Receptive(tuple(sizes), tuple(jumps), tuple(starts), field.whole,
                     () if whole_pixels else tuple(extents), exact)


def whole_of(field: Receptive, shape: Shape) -> Receptive:
    """Every output sees all the input positions of `shape`: the union of their regions."""
    axes = len(field.size)
    if axes == 0 or len(shape) - 1 != axes:
        return Receptive((), (), (), True)
    positions = shape[1:]
    window = Window(tuple(float(n) for n in positions), tuple(float(n) for n in positions),
                    (0.0,) * axes)
    composed = compose(field, window)
    return Receptive(composed.size, composed.jump, composed.start, True, composed.extent,
                     composed.exact)


def merged(fields: Sequence[Receptive | None]) -> Receptive | None:
    """The field of several inputs together (their hull); None if any is unknown."""
    if not fields or None in fields:
        return None
    return fields[0] if len(fields) == 1 else hull(fields)  # type: ignore[arg-type]


def hull(fields: Sequence[Receptive]) -> Receptive:
    """A merge's field: the smallest region holding every input's (the largest jump)."""
    first = fields[0]
    axes = len(first.size)
    whole = exact = False
    for f in fields:
        if (f.whole and not f.size) or len(f.size) != axes:
            return Receptive((), (), (), True)
    if all(f == first for f in fields):
        return first
    whole = any(f.whole for f in fields)
    exact = all(f.exact and f.jump == first.jump for f in fields)
    sizes, jumps, starts, extents = [], [], [], []
    whole_pixels = True
    for a in range(axes):
        lo = hi = None
        jump = 0.0
        for f in fields:
            half = ((f.extent or f.size)[a] - 1) / 2
            c = f.start[a]
            lo = c - half if lo is None or c - half < lo else lo
            hi = c + half if hi is None or c + half > hi else hi
            jump = max(jump, f.jump[a])
        extent = hi - lo + 1  # type: ignore[operator]
        size = int(extent + EPS)
        whole_pixels = whole_pixels and size == extent
        extents.append(extent)
        sizes.append(size)
        jumps.append(jump)
        starts.append((lo + hi) / 2)  # type: ignore[operator]
    return Receptive(tuple(sizes), tuple(jumps), tuple(starts), whole,
                     () if whole_pixels else tuple(extents), exact)


def compose_block(outer: Receptive | None, inner: Receptive | None) -> Receptive | None:
    """An instance's field: the block's own field (from its BlockInput, which starts at the
    identity) applied after the instance's input field."""
    if outer is None or inner is None:
        return None
    if inner.whole and not inner.size:
        return Receptive((), (), (), True)
    if not inner.size:
        return outer
    window = Window(inner.spans, inner.jump, tuple(
        c - (k - 1) / 2 for c, k in zip(inner.start, inner.spans, strict=True)))
    result = compose(outer, window)
    if inner.whole and not result.whole:
        result = Receptive(result.size, result.jump, result.start, True, result.extent,
                           result.exact)
    return result if inner.exact or not result.exact else _inexact(result)


def _inexact(field: Receptive) -> Receptive:
    return Receptive(field.size, field.jump, field.start, field.whole, field.extent, False)


def _integral(window: Window) -> bool:
    return all(float(v).is_integer() for v in (*window.span, *window.stride, *window.offset))


def number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 4)
