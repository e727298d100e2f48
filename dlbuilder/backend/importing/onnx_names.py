"""Node ids for imported ONNX nodes: the module path the exporter recorded, else the type.

torch's exporters say which module computed each node: the TorchScript exporter in the node's
name (`/layer1/layer1.0/conv1/Conv`), the dynamo exporter in its `pkg.torch.onnx.name_scopes`
metadata, and both in the names of the weights (`layer1.0.conv1.weight`). The weights' name
wins (the dynamo exporter credits a convolution with a BatchNorm folded into it to the
BatchNorm), then the recorded scopes. A layer without a module (an inline `+`, a
`torch.flatten`) and a node of another tool with a generic name get the lower-case type, as
the editor names a new node (`add`, `flatten`, `conv2d`); the graph makes them unique.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import Any

_PATH = re.compile(r"[A-Za-z_]\w*(\.\w+)*")
_SCOPES = "pkg.torch.onnx.name_scopes"


def joined_path(scopes: Sequence[str]) -> str:
    """A module path from nested scope names, each of which may repeat its parent's name
    (`features`, `features.1`, `conv`, `conv.0` -> `features.1.conv.0`)."""
    parts: list[str] = []
    previous = ""
    for scope in scopes:
        if previous and scope.startswith(previous + "."):
            parts.append(scope[len(previous) + 1:])
        elif scope:
            parts.append(scope)
        previous = scope
    return ".".join(parts)


def _generic(name: str, op: str) -> bool:
    """A name a tool made up (`Conv_0`, `node_relu`, `n4_2`, `/Relu_1`), not one a person
    gave."""
    return (not name or name.startswith(("/", "node_"))
            or re.fullmatch(rf"({re.escape(op)}|n)(_?\d+)*", name, re.IGNORECASE) is not None)


def module_path(proto: Any, weight_name: str | None) -> tuple[str, bool]:
    """The module path an ONNX node was exported from ("" when it does not say), and whether
    that names the node itself (its own name, its weights' module) rather than the module
    around it."""
    if weight_name and weight_name.endswith(".weight") and _PATH.fullmatch(weight_name):
        return weight_name[: -len(".weight")], True
    for entry in proto.metadata_props:
        if entry.key == _SCOPES:
            try:
                scopes = ast.literal_eval(entry.value)
            except (ValueError, SyntaxError):
                break
            if isinstance(scopes, list) and all(isinstance(s, str) for s in scopes):
                return joined_path(scopes[1:-1]), False
    if proto.name.startswith("/") and proto.name.count("/") >= 2:
        return joined_path(proto.name.split("/")[1:-1]), False
    return ("", False) if _generic(proto.name, proto.op_type) else (proto.name, True)


def id_base(path: str, own: bool, type_name: str, inline: bool) -> str:
    """The id a layer would like: its module path (`layer1_0_conv1`), with the type after it
    for an inline operation inside a module (`layer1_0_add`), or the type alone."""
    stem = path.replace(".", "_")
    if not stem:
        return type_name.lower()
    return f"{stem}_{type_name.lower()}" if inline and not own else stem
