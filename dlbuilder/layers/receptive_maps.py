"""How each layer type maps a receptive field (the `receptive` hook of its LayerSpec).

Each function gets the layer's input shapes, its checked parameters and its output shape and
returns a core/receptive.py `Window` (or None: after this layer the field is not known, e.g.
a Concat along a spatial axis). Layers that keep each position where it is declare nothing.
"""

from __future__ import annotations

from dlbuilder.core.receptive import SAME, WHOLE, Window, conv_window, resize_window
from dlbuilder.core.registry import Params, Shape
from dlbuilder.layers.common import per_sample_axis


def conv(ins: list[Shape], p: Params, out: Shape) -> Window:
    padding = p["padding"]
    if padding == "same":  # torch pads d*(k-1) in all, the smaller half before
        padding = tuple(d * (k - 1) // 2 for k, d in zip(p["kernel_size"], p["dilation"],
                                                          strict=True))
    elif padding == "valid":
        padding = (0, 0)
    return conv_window(p["kernel_size"], p["stride"], padding, p["dilation"])


def conv_transpose(ins: list[Shape], p: Params, out: Shape) -> Window:
    """Output o gathers the inputs i with i*s - p <= o <= i*s - p + d*(k-1)."""
    spans, strides, offsets = [], [], []
    for k, s, pad, d in zip(p["kernel_size"], p["stride"], p["padding"], p["dilation"],
                            strict=True):
        spans.append(d * (k - 1) / s + 1)
        strides.append(1 / s)
        offsets.append((pad - d * (k - 1)) / s)
    return Window(tuple(spans), tuple(strides), tuple(offsets))


def pool(ins: list[Shape], p: Params, out: Shape) -> Window:
    kernel = p["kernel_size"]
    stride = p["stride"] if p["stride"] is not None else kernel
    return conv_window(kernel, stride, p["padding"], p.get("dilation", (1, 1)))


def adaptive(ins: list[Shape], p: Params, out: Shape) -> Window:
    """torch's window for output i runs from floor(i*n/m) to ceil((i+1)*n/m) - 1 (n in, m
    out): a regular pooling when m divides n; otherwise the real interval widened by
    (m-1)/m on each side holds exactly those pixels."""
    if out[1:] == (1, 1):
        return WHOLE
    spans, strides, offsets = [], [], []
    for n, m in zip(ins[0][1:], out[1:], strict=True):
        widen = 0.0 if n % m == 0 else (m - 1) / m
        spans.append(n / m + 2 * widen)
        strides.append(n / m)
        offsets.append(-widen)
    return Window(tuple(spans), tuple(strides), tuple(offsets))


_TAPS = {"nearest": 1, "nearest-exact": 1, "bilinear": 2, "bicubic": 4}


def upsample(ins: list[Shape], p: Params, out: Shape) -> Window:
    if p["scale_factor"] is not None:  # torch reads 1/scale, not in/out, when given a scale
        ratios = tuple(1 / s for s in p["scale_factor"])
    else:
        ratios = tuple(n / m for n, m in zip(ins[0][1:], out[1:], strict=True))
    return resize_window(ratios, _TAPS[p["mode"]])


def zero_pad(ins: list[Shape], p: Params, out: Shape) -> Window:
    left, _, top, _ = p["padding"]
    return Window((1.0, 1.0), (1.0, 1.0), (-float(top), -float(left)))


def pixel_shuffle(ins: list[Shape], p: Params, out: Shape) -> Window:
    r = p["upscale_factor"]
    return resize_window((1 / r, 1 / r), 1)


def same_positions(ins: list[Shape], p: Params, out: Shape) -> Window:
    """Flatten: each value still sees the region of the position it came from."""
    return SAME


def dense(ins: list[Shape], p: Params, out: Shape) -> Window | None:
    """Linear on a vector: every output sees every input (on a map, only along the last axis:
    not a region)."""
    return WHOLE if len(ins[0]) == 1 else None


def along_dim(ins: list[Shape], p: Params, out: Shape) -> Window | None:
    """Concat, Chunk, Softmax: position-preserving along channels, not along a spatial axis."""
    return SAME if per_sample_axis(ins[0], p["dim"], "use") == 0 else None
