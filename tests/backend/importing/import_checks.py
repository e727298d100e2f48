"""Shared checks of an import: the exported code, given the imported weights, computes what
the original model computes, bit for bit (eval mode, CPU)."""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

import torch
from torch import nn

from dlbuilder.backend.codegen import export_code
from dlbuilder.backend.importing.result import Imported
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY


def exported_net(imported: Imported) -> tuple[nn.Module, str]:
    """The exported class built and given the imported weights (strictly), and its code."""
    engine = InferenceEngine(imported.graph, REGISTRY)
    assert not engine.has_errors(), [str(d) for d in engine.diagnostics()]
    code = export_code(engine)
    namespace: dict[str, Any] = {}
    exec(compile(code, "<exported>", "exec"), namespace)
    net = namespace["Net"]().eval()
    net.load_state_dict(imported.state, strict=True)
    return net, code


def assert_round_trip(model: nn.Module, imported: Imported, shape: tuple[int, ...]) -> str:
    """Same parameter count, and equal outputs on random input; returns the exported code."""
    net, code = exported_net(imported)
    count = sum(p.numel() for p in model.parameters())
    assert sum(p.numel() for p in net.parameters()) == count
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got = model.eval()(x), net(x)
    assert torch.equal(got, want), (got - want).abs().max()
    return code


def export_torch_onnx(model: nn.Module, shape: tuple[int, ...], path: Any, dynamo: bool
                      ) -> None:
    """`model` as an ONNX file written by torch's own exporter (dynamo or TorchScript) with
    a dynamic batch, its chatter kept out of the test output."""
    model.eval()
    example = torch.randn(2, *shape)
    if dynamo:
        extra: dict[str, Any] = {"dynamic_shapes": ({0: torch.export.Dim("batch")},)}
    else:
        extra = {"dynamic_axes": {"input": {0: "batch"}}}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), str(path), input_names=["input"],
                          output_names=["output"], dynamo=dynamo, **extra)
