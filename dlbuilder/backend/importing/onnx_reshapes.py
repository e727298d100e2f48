"""ONNX operators that join, cut, pad or reshape tensors as our layers: Add/Mul/Concat,
Flatten and the Reshape/Squeeze to one vector per sample, Split (Chunk), Pad, Resize, Dropout.
"""

from __future__ import annotations

import math

import numpy as np

from dlbuilder.backend.importing.onnx_fold import BATCH
from dlbuilder.backend.importing.onnx_nodes import (
    CannotMap,
    Context,
    Converter,
    Layer,
    Node,
    input_or_attr,
    number,
    pair,
    sample,
)
from dlbuilder.layers.split import chunk_sizes


def _no_constants(node: Node, ctx: Context, verb: str) -> None:
    constants = [n for n in node.inputs if n and ctx.const(n) is not None]
    if constants:
        raise CannotMap(f"it {verb} a constant tensor ({constants[0]!r}); the graph has no "
                        "constant layer")


def _merge(type_name: str, verb: str) -> Converter:
    def convert(node: Node, ctx: Context) -> list[Layer]:
        _no_constants(node, ctx, verb)
        return [Layer(type_name if len(node.inputs) > 1 else "Identity")]
    return convert


def concat(node: Node, ctx: Context) -> list[Layer]:
    _no_constants(node, ctx, "joins")
    rank = len(sample(ctx, node.inputs[0])) + 1
    axis = int(node.attrs.get("axis", 1)) % rank
    if axis == 0:
        raise CannotMap("it joins along the batch dimension")
    return [Layer("Concat" if len(node.inputs) > 1 else "Identity",
                  {"dim": axis} if len(node.inputs) > 1 else {})]


def flatten(node: Node, ctx: Context) -> list[Layer]:
    rank = len(sample(ctx, node.inputs[0])) + 1
    if int(node.attrs.get("axis", 1)) % rank != 1:
        raise CannotMap("it flattens across the batch dimension")
    return [Layer("Flatten")]


def reshape(node: Node, ctx: Context) -> list[Layer]:
    """A reshape that keeps the batch and turns each sample into one vector: a Flatten."""
    size = math.prod(sample(ctx, node.inputs[0]))
    target = ctx.const(node.inputs[1])
    if target is not None:
        target = list(np.asarray(target).reshape(-1))
        first_kept = bool(target) and (target[0] is BATCH or target[0] in (0, -1)
                                       or target[-1] == size)
        if len(target) == 2 and first_kept and target[1] in (-1, size):
            return [Layer("Flatten")]
        raise CannotMap(f"it reshapes to {[str(t) for t in target]}; the graph reshapes "
                        "only to one vector per sample (Flatten)")
    out = ctx.dims(node.outputs[0])
    if out is not None and len(out) == 2 and out[1] == size:
        return [Layer("Flatten")]
    raise CannotMap("its new shape is computed by the network and cannot be read")


def squeeze(node: Node, ctx: Context) -> list[Layer]:
    """Dropping the 1 x 1 of a pooled image (C x 1 x 1 -> C): a Flatten."""
    shape = sample(ctx, node.inputs[0])
    out = ctx.dims(node.outputs[0])
    if len(shape) > 1 and out is not None and len(out) == 2 and out[1] == math.prod(shape):
        return [Layer("Flatten")]
    raise CannotMap("it squeezes to something else than one vector per sample")


def split(node: Node, ctx: Context) -> list[Layer]:
    shape = sample(ctx, node.inputs[0])
    axis = int(node.attrs.get("axis", 0)) % (len(shape) + 1)
    if axis == 0:
        raise CannotMap("it splits the batch")
    sizes = input_or_attr(node, ctx, 1, "split")
    count = len(node.outputs)
    if sizes is not None and [int(s) for s in sizes.reshape(-1)] != chunk_sizes(
            shape[axis - 1], count):
        raise CannotMap(f"unequal pieces {[int(s) for s in sizes.reshape(-1)]}; Chunk cuts "
                        "pieces of equal size (the last may be smaller)")
    if len(chunk_sizes(shape[axis - 1], count)) != count:
        raise CannotMap(f"{shape[axis - 1]} cannot be cut into {count} pieces by Chunk")
    return [Layer("Chunk", {"chunks": count, "dim": axis})]


def dropout(node: Node, ctx: Context) -> list[Layer]:
    if any(node.outputs[1:]):
        raise CannotMap("its mask output is used")
    ratio = input_or_attr(node, ctx, 1, "ratio")
    return [Layer("Dropout", {"p": number(0.5 if ratio is None else float(ratio))})]


def pad(node: Node, ctx: Context) -> list[Layer]:
    if node.attrs.get("mode", "constant") != "constant":
        raise CannotMap(f"{node.attrs['mode']} padding; the graph pads with zeros only")
    value = input_or_attr(node, ctx, 2, "value")
    if value is not None and float(np.asarray(value).reshape(-1)[0]) != 0:
        raise CannotMap("it pads with a value other than zero")
    pads = input_or_attr(node, ctx, 1, "pads")
    rank = len(sample(ctx, node.inputs[0])) + 1
    pads = [int(p) for p in np.asarray(pads).reshape(-1)]
    axes = input_or_attr(node, ctx, 3, "axes")
    full = [0] * (2 * rank)
    for i, axis in enumerate([int(a) % rank for a in axes] if axes is not None
                             else range(rank)):
        full[axis], full[axis + rank] = pads[i], pads[i + len(pads) // 2]
    if rank != 4 or any(full[a] or full[a + 4] for a in (0, 1)) or min(full) < 0:
        raise CannotMap(f"pads {full}; ZeroPad2d adds zeros around an image's height and width")
    sides = [full[3], full[7], full[2], full[6]]
    return [Layer("ZeroPad2d", {"padding": sides[0] if len(set(sides)) == 1 else sides})]


def resize(node: Node, ctx: Context) -> list[Layer]:
    """Nearest-neighbour Resize/Upsample as Upsample (by scale when stored, else by size)."""
    if node.attrs.get("mode", "nearest") != "nearest":
        raise CannotMap(f"{node.attrs['mode']} interpolation; only nearest maps to Upsample")
    scales_at = 1 if node.op == "Upsample" or ctx.opset < 11 else 2
    scales = input_or_attr(node, ctx, scales_at, "scales")
    if scales is not None and scales.size == 4 and list(scales.reshape(-1)[:2]) == [1, 1]:
        factor = [number(s) for s in scales.reshape(-1)[2:]]
        mode = node.attrs.get("coordinate_transformation_mode", "asymmetric")
        if mode == "asymmetric" or all(float(f).is_integer() for f in factor):
            return [Layer("Upsample", {"scale_factor": factor[0] if factor[0] == factor[1]
                                       else factor, "mode": "nearest"})]
    out = ctx.dims(node.outputs[0])
    if out is None or len(out) != 4 or not all(isinstance(d, int) for d in out[2:]):
        raise CannotMap("its output size cannot be read")
    return [Layer("Upsample", {"size": pair(out[2:]), "mode": "nearest"})]



def _per_sample(ctx: Context, name: str, size: int) -> list[int] | None:
    """A Reshape target as one sample's new shape, its -1 resolved; None where the target
    does not keep the batch (first BATCH, -1 or 0) or does not hold `size` values."""
    target = ctx.const(name)
    if target is None:
        raise CannotMap("its new shape is computed by the network and cannot be read")
    dims = list(np.asarray(target).reshape(-1))
    if not dims or not (dims[0] is BATCH or dims[0] in (0, -1)) or BATCH in dims[1:]:
        return None
    rest = [int(d) for d in dims[1:]]
    known = math.prod(d for d in rest if d != -1)
    if rest.count(-1) == 1 and known > 0 and size % known == 0:
        rest[rest.index(-1)] = size // known
    return rest if min(rest, default=1) > 0 and math.prod(rest) == size else None


def channel_shuffle(node: Node, ctx: Context) -> list[Layer]:
    """Reshape to (g, C/g, H, W), swap g and C/g, reshape back to (C, H, W): ShuffleNet's
    channel shuffle, found by the importer across three nodes (onnx_patterns.py)."""
    shape = sample(ctx, node.inputs[0])
    grouped = _per_sample(ctx, node.inputs[1], math.prod(shape))
    back = _per_sample(ctx, node.inputs[2], math.prod(shape))
    if (len(shape) == 3 and grouped is not None and len(grouped) == 4
            and tuple(grouped[2:]) == shape[1:] and tuple(back or ()) == shape):
        return [Layer("ChannelShuffle", {"groups": grouped[0]})]
    raise CannotMap(f"it reshapes {list(shape)} to {grouped}, swaps dimensions 1 and 2 and "
                    f"reshapes to {back}; only a channel shuffle (to (g, C/g, H, W) and back) "
                    "is a layer")


def chunk_piece(node: Node, ctx: Context, cuts: int) -> tuple[int, int, int]:
    """A Slice of a tensor of the network as a piece of a Chunk: (dim, chunks, which piece).
    `cuts` is how many Slices read that tensor: TorchScript writes `x.chunk(2, dim=1)` as two
    Slices, and a Slice that is not one of `cuts` equal pieces is refused."""
    shape = sample(ctx, node.inputs[0])
    bounds = [input_or_attr(node, ctx, i, attr)
              for i, attr in enumerate(("starts", "ends", "axes"), 1)]
    steps = input_or_attr(node, ctx, 4, "steps")
    if any(b is not None and b.size != 1 for b in bounds) or (
            steps is not None and int(steps.reshape(-1)[0]) != 1):
        raise CannotMap("it cuts along several dimensions or takes every n-th element; the "
                        "graph cuts one dimension into equal pieces (Chunk)")
    start, end, axis = (int(b.reshape(-1)[0]) if b is not None else 0 for b in bounds)
    axis %= len(shape) + 1
    if axis == 0:
        raise CannotMap("it cuts the batch")
    size = shape[axis - 1]
    start, end, _ = slice(start, end).indices(size)
    sizes = chunk_sizes(size, cuts)
    edges = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
    pieces = list(zip(edges[:-1], edges[1:], strict=True))
    if (start, end) not in pieces:
        raise CannotMap(f"it takes {start}..{end} of the {size} along dimension {axis}; the "
                        f"graph cuts a tensor only into equal pieces (Chunk), here {pieces}")
    return axis, cuts, pieces.index((start, end))

RESHAPES: dict[str, Converter] = {
    "Add": _merge("Add", "adds"), "Sum": _merge("Add", "adds"), "Mul": _merge("Mul", "multiplies"),
    "Concat": concat, "Flatten": flatten, "Reshape": reshape, "Squeeze": squeeze, "Split": split,
    "Dropout": dropout, "Pad": pad, "Resize": resize, "Upsample": resize,
    "ChannelShuffle": channel_shuffle,
}
