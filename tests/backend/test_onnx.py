"""ONNX export: every example runs in onnxruntime like in torch, at any batch size."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from helpers import example_graph
from torch import nn

from dlbuilder.backend.compiler import CompiledModel, compile_graph
from dlbuilder.backend.onnx_export import (
    OnnxExportError,
    OnnxUnavailable,
    export_onnx,
    onnx_missing,
)
from dlbuilder.resources import example_names

NEEDS = "ONNX export is an optional extra: pip install 'dlbuilder[onnx]'"
Exported = Callable[[str], tuple[CompiledModel, Path]]


def needs_onnx() -> ModuleType:
    """onnxruntime, or a skip: the export needs onnx and onnxscript, the check onnxruntime."""
    pytest.importorskip("onnx", reason=NEEDS)
    pytest.importorskip("onnxscript", reason=NEEDS)
    return pytest.importorskip("onnxruntime", reason=NEEDS)


def example_model(name: str) -> CompiledModel:
    """A seeded model of an example, with batch-norm statistics off their defaults."""
    torch.manual_seed(0)
    model = compile_graph(example_graph(name))
    with torch.no_grad():
        model(torch.randn(4, *model.plan.input_shape) * 3 + 1)
    return model.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """Each example exported once for the whole module (an export takes about a second)."""
    needs_onnx()
    folder = tmp_path_factory.mktemp("onnx")
    cache: dict[str, tuple[CompiledModel, Path]] = {}

    def get(name: str) -> tuple[CompiledModel, Path]:
        if name not in cache:
            model, path = example_model(name), folder / f"{name}.onnx"
            export_onnx(model, path)
            cache[name] = (model, path)
        return cache[name]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("name", example_names())
def test_onnxruntime_matches_torch(name: str, batch: int, exported: Exported) -> None:
    ort = needs_onnx()
    model, path = exported(name)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(batch, *model.plan.input_shape)
    (result,) = session.run(["output"], {"input": x.numpy()})
    with torch.no_grad():
        expected = model.eval()(x).numpy()
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name", example_names())
def test_batch_dimension_is_symbolic(name: str, exported: Exported) -> None:
    import onnx

    model, path = exported(name)
    graph = onnx.load(str(path)).graph
    (given,), (result,) = graph.input, graph.output
    assert (given.name, result.name) == ("input", "output")
    dims = given.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch"
    assert tuple(d.dim_value for d in dims[1:]) == tuple(model.plan.input_shape)
    assert result.type.tensor_type.shape.dim[0].dim_param == "batch"


@pytest.mark.slow
def test_training_flags_are_restored(tmp_path: Path) -> None:
    needs_onnx()
    model = example_model("digits_cnn").train()
    model.bn1.eval()  # mixed flags come back exactly, not all set one way
    flags = {name: m.training for name, m in model.named_modules()}
    export_onnx(model, tmp_path / "digits.onnx")
    assert {name: m.training for name, m in model.named_modules()} == flags


class DataDependent(nn.Module):
    """Branches on a value: torch.export cannot trace it for every input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.sum() > 0 else -x


@pytest.mark.slow
def test_exporter_failure_is_one_clear_error(tmp_path: Path,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    needs_onnx()
    model = example_model("lenet5")
    model.c1 = DataDependent()
    path = tmp_path / "lenet5.onnx"
    path.write_bytes(b"an older export")
    with pytest.raises(OnnxExportError) as info:
        export_onnx(model, path)
    message = str(info.value)
    assert "'lenet5'" in message and str(path) in message and "\n" not in message
    assert info.value.__cause__ is not None
    assert path.read_bytes() == b"an older export"
    assert not model.training
    assert capfd.readouterr() == ("", "")  # torch's graph dumps and log lines stay hidden


@pytest.mark.slow
def test_unreachable_opset_is_refused(tmp_path: Path) -> None:
    needs_onnx()
    with pytest.raises(OnnxExportError, match="opset 99"):
        export_onnx(example_model("mlp_mnist"), tmp_path / "mlp.onnx", opset=99)
    assert not (tmp_path / "mlp.onnx").exists()


@pytest.mark.parametrize("absent, words", [
    (["onnxscript"], "the package onnxscript, which is not installed"),
    (["onnx", "onnxscript"], "the packages onnx and onnxscript, which are not installed"),
])
def test_missing_extra_says_what_to_install(absent: list[str], words: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for name in absent:
        monkeypatch.setitem(sys.modules, name, None)  # find_spec then answers None
    message = onnx_missing()
    assert message is not None and words in message
    assert 'pip install "dlbuilder[onnx]"' in message
    with pytest.raises(OnnxUnavailable, match=r'pip install "dlbuilder\[onnx\]"'):
        export_onnx(example_model("mlp_mnist"), tmp_path / "mlp.onnx")
    assert not (tmp_path / "mlp.onnx").exists()


@pytest.mark.slow
def test_nothing_missing_when_installed() -> None:
    needs_onnx()
    assert onnx_missing() is None
