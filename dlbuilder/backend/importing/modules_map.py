"""A torch.nn module that fx left as a leaf -> one of our layer types and its parameters.

Every registry type with a `torch_class` maps from that class; the parameter values are read
from the module's attributes of the same names (torch's names are ours), `bias` from whether
the module has one; a square pair or four equal sides (torch keeps ZeroPad2d's 2 as
(2, 2, 2, 2)) is stored as the one number a person writes. A setting our type cannot
express (a Conv2d's `padding_mode="reflect"`, a MaxPool2d that returns indices) makes the
module unmappable, with the reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from typing import Any

from torch import nn

from dlbuilder.core.params import ParamError
from dlbuilder.core.registry import LayerSpec
from dlbuilder.layers import REGISTRY

# settings a torch module has that our type fixes: (attribute, the only value we express)
_FIXED: dict[str, tuple[tuple[str, Any], ...]] = {
    "Conv2d": (("padding_mode", "zeros"),),
    "ConvTranspose2d": (("padding_mode", "zeros"),),
    "MaxPool2d": (("return_indices", False),),
    "AdaptiveMaxPool2d": (("return_indices", False),),
    "AvgPool2d": (("divisor_override", None),),
    "Upsample": (("align_corners", None), ("recompute_scale_factor", None)),
}
_FLAG_TENSORS = {"bias"}  # a parameter that says whether the module holds this tensor
_UNREADABLE = {("PReLU", "init")}  # not kept by the module; its weight carries the value


class ModuleRefused(ValueError):
    """The module is a type we have, with a setting we cannot express (the message says)."""


@cache
def class_types() -> dict[type, str]:
    """torch class -> our type name, for every registry type with a torch class."""
    table: dict[type, str] = {}
    for spec in REGISTRY:
        if spec.torch_class and spec.op is None:
            module_name, _, name = spec.torch_class.rpartition(".")
            table[getattr(importlib.import_module(module_name), name)] = spec.type
    table[nn.Flatten] = "Flatten"
    return table


def module_layer(module: nn.Module, input_ndim: int) -> tuple[str, dict[str, Any]] | None:
    """(type, params as stored: values at their defaults left out) for a module we have,
    None for a module we do not have; ModuleRefused for one whose settings we cannot hold."""
    type_name = class_types().get(type(module))
    if type_name is None:
        return None
    spec = REGISTRY.get(type_name)
    for attr, only in _FIXED.get(type_name, ()):
        value = getattr(module, attr, only)
        if value != only:
            raise ModuleRefused(f"{attr}={value!r} (only {only!r} is supported)")
    raw: dict[str, Any] = {}
    for param in spec.params:
        if (type_name, param.name) in _UNREADABLE:
            continue
        if param.name in _FLAG_TENSORS:
            raw[param.name] = getattr(module, param.name, None) is not None
        else:
            raw[param.name] = getattr(module, param.name)
    if type_name == "Softmax" and raw["dim"] is None:
        raw["dim"] = 0 if input_ndim in (0, 1, 3) else 1  # torch's implicit choice
    if type_name in ("MaxPool2d", "AvgPool2d") and _plain(raw["stride"]) == _plain(
            raw["kernel_size"]):
        raw["stride"] = None  # torch keeps the kernel as the stride it was not given
    return type_name, stored_params(spec, raw)


def stored_params(spec: LayerSpec, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as a file stores them: checked, tuples as lists or one number for a
    square pair, values equal to the default left out. ModuleRefused for a value the type
    cannot hold."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        param = spec.param_index[name]
        try:
            checked = param.check(_plain(value))
        except ParamError as err:
            raise ModuleRefused(err.message) from None
        if not param.required and checked == spec.defaults.get(name):
            continue
        out[name] = _file_value(checked, param.kind in ("pair", "sides"))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _file_value(value: Any, square: bool) -> Any:
    """A value as a file writes it; a square pair (or four equal sides) as one number."""
    if isinstance(value, tuple | list):
        items = list(value)
        return items[0] if square and items and all(v == items[0] for v in items) else items
    return value
