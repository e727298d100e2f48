"""The constants of an ONNX graph, folded: initializers, Constant nodes and the shape arithmetic
exporters write around Reshape (`Shape -> Gather -> Unsqueeze -> Concat` for
`x.view(x.size(0), -1)`), computed here so the layer that reads them sees plain numbers.

A shape read off a tensor holds the batch dimension as `BATCH`, a marker that is not a number:
arithmetic on it fails unless it gives the batch back (batch * 1, batch // 1, floor(batch)), so
a value that depends on the batch size in any other way than being carried along stays
unfolded, and the importer says it cannot map what needs it. Integer arithmetic on the other
sizes (TorchScript's `channels // groups` is Div, Cast) folds to plain numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np


class _Batch:
    """The batch dimension inside a folded shape vector."""

    def __repr__(self) -> str:
        return "batch"


BATCH = _Batch()

Dims = tuple[Any, ...]  # a tensor's dimensions: ints, with the batch as BATCH


def attributes(node: Any) -> dict[str, Any]:
    """An ONNX node's attributes as Python values (tensors as numpy arrays, bytes as text)."""
    from onnx import helper, numpy_helper

    out: dict[str, Any] = {}
    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif hasattr(value, "raw_data") and hasattr(value, "dims"):
            value = numpy_helper.to_array(value)
        out[attr.name] = value
    return out


def constant_value(attrs: Mapping[str, Any]) -> np.ndarray | None:
    """The value a Constant node holds (any of its attribute forms), or None (sparse)."""
    for name in ("value", "value_float", "value_int", "value_floats", "value_ints"):
        if name in attrs:
            return np.asarray(attrs[name])
    return None


def _ints(value: Any) -> list[int]:
    return [int(v) for v in np.asarray(value).reshape(-1)]


def _axes(attrs: Mapping[str, Any], inputs: Sequence[Any]) -> list[int]:
    """Squeeze/Unsqueeze axes: an attribute before opset 13, the second input after."""
    axes = attrs.get("axes")
    if axes is None and len(inputs) > 1 and inputs[1] is not None:
        axes = _ints(inputs[1])
    return list(axes or [])


def _unsqueeze(attrs: Mapping[str, Any], ins: Sequence[Any]) -> np.ndarray:
    data = np.asarray(ins[0])
    axes = _axes(attrs, ins)
    for axis in sorted(a % (data.ndim + len(axes)) for a in axes):
        data = np.expand_dims(data, axis)
    return data


def _squeeze(attrs: Mapping[str, Any], ins: Sequence[Any]) -> np.ndarray:
    data = np.asarray(ins[0])
    axes = [a % data.ndim for a in _axes(attrs, ins)]
    return np.squeeze(data, axis=tuple(axes or [i for i, d in enumerate(data.shape) if d == 1]))


def _slice(attrs: Mapping[str, Any], ins: Sequence[Any]) -> np.ndarray:
    data = np.asarray(ins[0])
    starts = _ints(attrs["starts"] if "starts" in attrs else ins[1])
    ends = _ints(attrs["ends"] if "ends" in attrs else ins[2])
    axes = _ints(attrs.get("axes", ins[3] if len(ins) > 3 and ins[3] is not None
                           else range(len(starts))))
    steps = _ints(ins[4]) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        index[axis] = slice(start, end, step)
    return data[tuple(index)]


def _cast(attrs: Mapping[str, Any], ins: Sequence[Any]) -> np.ndarray:
    from onnx import helper

    data = np.asarray(ins[0])
    if data.dtype == object:  # a shape with the batch in it stays as it is
        return data
    return data.astype(helper.tensor_dtype_to_np_dtype(attrs["to"]))


def _gather(attrs: Mapping[str, Any], ins: Sequence[Any]) -> np.ndarray:
    return np.take(np.asarray(ins[0]), np.asarray(ins[1]), axis=attrs.get("axis", 0))


def _concat(attrs: Mapping[str, Any], ins: Sequence[Any]) -> np.ndarray:
    parts = [np.asarray(v) for v in ins]
    kind = object if any(p.dtype == object for p in parts) else None
    return np.concatenate([p.astype(kind) if kind else p for p in parts], axis=attrs["axis"])


def _reshape(attrs: Mapping[str, Any], ins: Sequence[Any]) -> np.ndarray:
    return np.asarray(ins[0]).reshape(_ints(ins[1]))


def _divide(a: Any, b: Any) -> Any:
    """ONNX Div: true division of floats, integer division truncated towards zero."""
    if isinstance(a, float | np.floating) or isinstance(b, float | np.floating):
        return a / b
    quotient = abs(int(a)) // abs(int(b))
    return quotient if (a < 0) == (b < 0) else -quotient


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mul": lambda a, b: a * b,
    "Div": _divide, "Max": np.maximum, "Min": np.minimum,
}
# x op neutral == x: the batch passes through these unchanged (batch * 1, batch // 1, batch + 0)
_NEUTRAL = {"Add": 0, "Sub": 0, "Mul": 1, "Div": 1}
_ROUNDING = {"Floor": math.floor, "Ceil": math.ceil}


def _scalar(op: str, a: Any, b: Any) -> Any:
    if a is BATCH or b is BATCH:
        other = b if a is BATCH else a
        commutes = op in ("Add", "Mul")
        if (b is not BATCH or commutes) and other is not BATCH and other == _NEUTRAL.get(op):
            return BATCH
        raise TypeError(f"{op} changes the batch size")
    return _ARITHMETIC[op](a, b)


def _arithmetic(op: str) -> Callable[[Mapping[str, Any], Sequence[Any]], np.ndarray]:
    """Element-wise arithmetic on shape values (which may hold the batch) and numbers."""
    def folder(attrs: Mapping[str, Any], ins: Sequence[Any]) -> np.ndarray:
        a, b = (np.asarray(v) for v in ins)
        if a.dtype != object and b.dtype != object:
            if op != "Div":
                return np.asarray(_ARITHMETIC[op](a, b))
            if a.dtype.kind in "iu" and b.dtype.kind in "iu":
                return (np.abs(a) // np.abs(b) * np.sign(a) * np.sign(b)).astype(a.dtype)
            return np.asarray(a / b)
        a, b = np.broadcast_arrays(a, b)
        out = np.empty(a.shape, dtype=object)
        for index in np.ndindex(a.shape):
            out[index] = _scalar(op, a[index], b[index])
        return out
    return folder


def _rounding(op: str) -> Callable[[Mapping[str, Any], Sequence[Any]], np.ndarray]:
    def folder(attrs: Mapping[str, Any], ins: Sequence[Any]) -> np.ndarray:
        data = np.asarray(ins[0])
        if data.dtype != object:
            return np.floor(data) if op == "Floor" else np.ceil(data)
        return np.vectorize(lambda v: v if v is BATCH or isinstance(v, int | np.integer)
                            else _ROUNDING[op](v), otypes=[object])(data)
    return folder


_FOLDERS: dict[str, Callable[[Mapping[str, Any], Sequence[Any]], np.ndarray]] = {
    **{op: _arithmetic(op) for op in _ARITHMETIC},
    **{op: _rounding(op) for op in _ROUNDING},
    "Identity": lambda attrs, ins: np.asarray(ins[0]),
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": _concat,
    "Slice": _slice,
    "Cast": _cast,
    "Reshape": _reshape,
}


def shape_value(dims: Dims, attrs: Mapping[str, Any]) -> np.ndarray:
    """What an ONNX Shape node gives for a tensor of `dims` (its start/end attributes too)."""
    start, end = attrs.get("start", 0), attrs.get("end", len(dims))
    return np.array(list(dims)[start:end], dtype=object)


def fold(op: str, attrs: Mapping[str, Any], inputs: Sequence[Any]) -> np.ndarray | None:
    """The value of an operation on constant inputs, or None where it is not shape arithmetic
    this folds (the caller then treats the node as a layer, or refuses it)."""
    if op == "Constant":
        return constant_value(attrs)
    folder = _FOLDERS.get(op)
    if folder is None:
        return None
    try:
        return folder(attrs, inputs)
    except (TypeError, ValueError, IndexError, KeyError):
        return None
