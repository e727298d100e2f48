"""Skip connections and gates: Add (residual sum of equal shapes), Concat (join along a
dimension), Mul (elementwise product with broadcasting: the squeeze-and-excitation gate) and
Identity (a named pass-through)."""

from __future__ import annotations

from dlbuilder.core.diagnostics import InsertBefore, ShapeProblem
from dlbuilder.core.registry import LayerSpec, Params, Shape, format_shape
from dlbuilder.layers import receptive_maps as maps
from dlbuilder.layers.common import IMG, int_param, per_sample_axis

DIM_NAMES = {3: ("channels", "height", "width"), 2: ("channels", "length"), 1: ("features",)}


def _differences(a: Shape, b: Shape) -> str:
    if len(a) != len(b):
        return f"{len(a)} dimensions vs {len(b)}"
    names = DIM_NAMES.get(len(a), tuple(f"dim {i + 1}" for i in range(len(a))))
    pairs = enumerate(zip(a, b, strict=True))
    return ", ".join(f"{names[i]} {x} vs {y}" for i, (x, y) in pairs if x != y)


def _reference(ins: list[Shape]) -> int:
    """The input the others should match: the smallest image (most channels on a tie).

    In a residual block the main path has downsampled and widened; the shortcut is the one to
    project, so the reference is the smallest spatial size, then the most channels.
    """
    def key(i: int) -> tuple[int, int, int]:
        shape = ins[i]
        spatial = 1
        for d in shape[1:]:
            spatial *= d
        return (spatial, -shape[0], i)
    return min(range(len(ins)), key=key)


def _projection(src: Shape, ref: Shape, port: int) -> tuple[InsertBefore, str] | None:
    """A 1x1 convolution (or a Linear for vectors) that maps `src` onto `ref`, if one exists."""
    if len(src) == 1 and len(ref) == 1:
        return (InsertBefore(port, "Linear", {"out_features": ref[0]}),
                f"Project input {port} with Linear({ref[0]})")
    if len(src) != 3 or len(ref) != 3:
        return None
    strides = []
    for size, want in zip(src[1:], ref[1:], strict=True):
        stride = next((s for s in range(1, size + 1) if (size - 1) // s + 1 == want), None)
        if stride is None:
            return None
        strides.append(stride)
    stride = strides[0] if strides[0] == strides[1] else strides
    params = {"out_channels": ref[0], "kernel_size": 1, "stride": stride}
    text = "x".join(str(s) for s in strides) if strides[0] != strides[1] else str(strides[0])
    return (InsertBefore(port, "Conv2d", params),
            f"Project input {port} with a 1x1 Conv2d (stride {text}, {ref[0]} channels)")


def add_shape(ins: list[Shape], p: Params) -> Shape:
    ref = _reference(ins)
    for port, shape in enumerate(ins):
        if shape != ins[ref]:
            projection = _projection(shape, ins[ref], port)
            remedy, label = projection if projection else (None, None)
            advice = ("project the shortcut with a 1x1 convolution (stride for the size, "
                      "out_channels for the channels)")
            if projection is None and len(shape) == 3 == len(ins[ref]):
                advice = ("no strided projection makes up that difference in size; pad the "
                          "convolutions on the other path so they keep the size ('same' "
                          "padding, (F - 1)/2 for an odd kernel)")
            raise ShapeProblem(
                "add_shape_mismatch",
                f"Add needs inputs of equal shape, but input {port} is {format_shape(shape)} "
                f"and input {ref} is {format_shape(ins[ref])} "
                f"({_differences(shape, ins[ref])}); {advice}", None, remedy, label)
    return ins[0]


def add_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    return [(f"{len(ins)} inputs of {format_shape(out)} summed element by element -> "
            f"{format_shape(out)}"), "params = 0"]


def concat_shape(ins: list[Shape], p: Params) -> Shape:
    rank = len(ins[0])
    dim = p["dim"]
    axis = per_sample_axis(ins[0], dim, "join", "inputs") + 1
    for port, shape in enumerate(ins[1:], start=1):
        mismatched = len(shape) != rank or any(
            a != b for i, (a, b) in enumerate(zip(shape, ins[0], strict=True)) if i != axis - 1)
        if mismatched:
            raise ShapeProblem(
                "concat_shape_mismatch",
                f"Concat joins along dim {dim}, so its inputs must match in every other "
                f"dimension, but input {port} is {format_shape(shape)} and input 0 is "
                f"{format_shape(ins[0])} ({_differences(shape, ins[0])})")
    out = list(ins[0])
    out[axis - 1] = sum(shape[axis - 1] for shape in ins)
    return tuple(out)


def concat_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    dim = p["dim"]
    axis = (dim + len(out) + 1 if dim < 0 else dim) - 1
    parts = " + ".join(str(s[axis]) for s in ins)
    return [f"joined along dim {dim}: {parts} = {out[axis]} -> {format_shape(out)}",
            "params = 0"]


def _broadcast(a: Shape, b: Shape) -> Shape | None:
    """The shape torch gives a * b for per-sample shapes of equal rank, or None."""
    if len(a) != len(b) or any(x != y and 1 not in (x, y) for x, y in zip(a, b, strict=True)):
        return None
    return tuple(max(x, y) for x, y in zip(a, b, strict=True))


def mul_shape(ins: list[Shape], p: Params) -> Shape:
    out = ins[0]
    for port, shape in enumerate(ins[1:], start=1):
        joined = _broadcast(out, shape)
        if joined is None:
            why = ("the same number of dimensions, or the batch would be multiplied with a "
                   "per-sample dimension" if len(shape) != len(out) else
                   "sizes that match or are 1 in each dimension")
            raise ShapeProblem(
                "mul_shape_mismatch",
                f"Mul multiplies element by element, so its inputs need {why}, but input "
                f"{port} is {format_shape(shape)} and input 0 is {format_shape(ins[0])} "
                f"({_differences(shape, out)}); a gate on a C x H x W image is C x 1 x 1 "
                "(AdaptiveAvgPool2d(1), then 1x1 convolutions)")
        out = joined
    return out


def mul_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    stretched = [s for s in ins if s != out]
    product = " * ".join(format_shape(s) for s in ins)
    lines = [f"{product} element by element -> {format_shape(out)}"]
    names = DIM_NAMES.get(len(out), tuple(f"dim {i + 1}" for i in range(len(out))))
    for shape in stretched:
        dims = [names[i] for i, (x, y) in enumerate(zip(shape, out, strict=True)) if x != y]
        lines.append(f"the {format_shape(shape)} input is repeated along {' and '.join(dims)}")
    return [*lines, "params = 0"]


def _identity(ins: list[Shape], p: Params) -> Shape:
    return ins[0]


SPECS = (
    LayerSpec("Add", "merge", "adds inputs of equal shape: the skip connection of a ResNet",
              (), add_shape, explain=add_explain, op="add", min_inputs=2, max_inputs=None,
              examples=(([IMG, IMG, IMG], {}),)),
    LayerSpec("Concat", "merge", "joins inputs along a dimension (channels by default)",
              (int_param("dim", 1, "dimension to join along (1: channels)", minimum=None),),
              concat_shape, explain=concat_explain, op="cat", min_inputs=2, max_inputs=None,
              receptive=maps.along_dim,
              key_params=lambda p: f"dim {p['dim']}",
              examples=(([(2, 5, 5), (3, 5, 5)], {}), ([(4, 2, 5), (4, 3, 5)], {"dim": 2}))),
    LayerSpec("Mul", "merge",
              "multiplies inputs element by element, sizes of 1 stretched: a gate (SE block)",
              (), mul_shape, explain=mul_explain, op="mul", min_inputs=2, max_inputs=None,
              receptive=maps.same_positions,
              examples=(([(4, 6, 5), (4, 1, 1)], {}), ([(3, 1, 5), (3, 6, 1), (1, 6, 5)], {}),
                        ([(7,), (7,)], {}))),
    LayerSpec("Identity", "merge",
              "passes its input on unchanged: a named placeholder (a shortcut, a removed layer)",
              (), _identity, torch_class="torch.nn.Identity",
              examples=(([IMG], {}), ([(7,)], {}))),
)
