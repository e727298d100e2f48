"""`dlbuilder import`: a graph file and weights for a model file; a refusal or a bad argument
writes nothing and says why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from import_checks import exported_net

from dlbuilder.backend.importing.loading import build_model
from dlbuilder.backend.importing.result import Imported
from dlbuilder.cli import main
from dlbuilder.core.fileformat import load_graph
from dlbuilder.layers import REGISTRY

MODELS = Path(__file__).resolve().parents[2] / "import_models"
REPO = Path(__file__).resolve().parents[3]


def test_refused_model_prints_the_report_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.json"
    code = main(["import", f"{MODELS / 'unsupported.py'}:Branchy", "-o", str(out),
                 "--input", "8", "--weights", str(tmp_path / "g.pt")])
    err = capsys.readouterr().err
    assert code == 1
    assert "running the Python code" in err.splitlines()[0]
    assert "2 places the graph cannot hold" in err and "if x.sum() > 0:" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("spec", "args", "words"), [
    ("tutorial.py:Net", ["--input", "3x"], "--input '3x' is not finished"),
    ("tutorial.py:Net", ["--input", "0x4"], "--input '0x4' is not a shape"),
    ("tutorial.py:Net", [], "does not say the shape of its input: give one sample's with --input"),
    ("tutorial.py:Net", ["--input", "3x32x32", "-o", "nowhere/g.json"], "does not exist"),
    ("nothere.py:Net", ["--input", "3x32x32"], "there is no file"),
])
def test_what_is_wrong_before_anything_runs_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, args: list[str],
        words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """None of these runs the model's code, or says it does."""
    monkeypatch.chdir(tmp_path)
    code = main(["import", str(MODELS / spec), "-o", "g.json", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert words in err and "running the Python code" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_import_command_end_to_end(tmp_path: Path) -> None:
    graph_path, weights = tmp_path / "tutorial.json", tmp_path / "tutorial.pt"
    done = subprocess.run(
        [sys.executable, "-m", "dlbuilder", "import", f"{MODELS / 'tutorial.py'}:Net",
         "-o", str(graph_path), "--input", "3x32x32", "--weights", str(weights)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f"wrote {graph_path}: 15 top-level nodes, 1 block type, "
                                   f"62,666 parameters (weights: {weights})")
    graph = load_graph(graph_path, REGISTRY)
    state = torch.load(weights, weights_only=True)
    net, _ = exported_net(Imported(graph, state))
    model = build_model(f"{MODELS / 'tutorial.py'}:Net").eval()
    model.load_state_dict(dict(zip(model.state_dict(), state.values(), strict=True)))
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(net(x), model(x))


def _onnx_file(path: Path, op: str) -> Path:
    """A one-node ONNX model (x: N x 4 -> op -> y), built by hand."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node(op, ["x"], ["y"], name="only")], "one",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_an_onnx_file_goes_to_the_onnx_importer(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _onnx_file(tmp_path / "relu.onnx", "Relu")
    out = tmp_path / "relu.json"
    assert main(["import", str(source), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "running the Python code" not in captured.err  # an ONNX file is only read
    assert captured.out.startswith(f"wrote {out}: ")
    assert "ReLU" in [t for _, t in _types(load_graph(out, REGISTRY))]
    refused = _onnx_file(tmp_path / "erf.onnx", "Erf")
    assert main(["import", str(refused), "-o", str(tmp_path / "erf.json")]) == 1
    assert "cannot be imported" in capsys.readouterr().err
    assert not (tmp_path / "erf.json").exists()


def _types(graph) -> list[tuple[str, str]]:
    return [(node, graph.type_of(node)) for node in graph.nodes()]
