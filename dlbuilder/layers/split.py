"""Chunk: split a tensor into pieces along a dimension, one output port per piece (torch.chunk).

torch.chunk makes every piece ceil(n / chunks) long and the last one what is left, so it may
return fewer pieces than asked: 5 channels in 4 chunks give 3 pieces of 2, 2 and 1. The shape
rule says exactly that, one shape per piece, and the node has that many output ports.
"""

from __future__ import annotations

from typing import Any

from dlbuilder.core.registry import LayerSpec, Params, Shape, format_shape
from dlbuilder.layers import receptive_maps as maps
from dlbuilder.layers.common import int_param, per_sample_axis


def chunk_sizes(n: int, chunks: int) -> list[int]:
    """The pieces torch.chunk cuts a dimension of size `n` into."""
    step = -(-n // chunks)
    count = -(-n // step)
    return [step] * (count - 1) + [n - step * (count - 1)]


def _axis(ins: list[Shape], p: Params) -> int:
    return per_sample_axis(ins[0], p["dim"], "split")


def chunk_shapes(ins: list[Shape], p: Params) -> tuple[Shape, ...]:
    axis = _axis(ins, p)
    shape = ins[0]
    return tuple(shape[:axis] + (size,) + shape[axis + 1:]
                 for size in chunk_sizes(shape[axis], p["chunks"]))


def chunk_explain(ins: list[Shape], p: Params, outs: Any) -> list[str]:
    axis = _axis(ins, p)
    n, chunks = ins[0][axis], p["chunks"]
    sizes = [s[axis] for s in outs]
    pieces = " + ".join(map(str, sizes))
    first = f"dim {p['dim']} has {n}: pieces of ceil({n}/{chunks}) = {sizes[0]}"
    lines = [f"{first}, the last what is left: {pieces} = {n}"]
    if len(outs) < chunks:
        lines.append(f"so torch gives {len(outs)} pieces, not {chunks}")
    lines += [f"output {i}: {format_shape(s)}" for i, s in enumerate(outs)]
    return [*lines, "params = 0"]


SPECS = (
    LayerSpec("Chunk", "merge", "splits its input into pieces along a dimension (channels by "
              "default), one output per piece: the split of a ShuffleNet unit",
              (int_param("chunks", 2, "how many pieces (torch may give fewer when the size "
                         "does not divide: 5 in 4 gives 2, 2, 1)", minimum=1),
               int_param("dim", 1, "dimension to split along (1: channels)", minimum=None)),
              chunk_shapes, explain=chunk_explain, op="chunk", outputs_param="chunks",
              receptive=maps.along_dim,
              key_params=lambda p: f"{p['chunks']} chunks, dim {p['dim']}",
              examples=(([(8, 6, 6)], {}), ([(5, 4, 3)], {"chunks": 4}),
                        ([(3, 7, 5)], {"chunks": 3, "dim": 2}),
                        ([(4, 6, 5)], {"chunks": 2, "dim": -1}), ([(10,)], {"chunks": 3}))),
)
