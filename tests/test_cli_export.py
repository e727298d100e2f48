"""`dlbuilder export`: Python to stdout or a file, ONNX, and the exit status contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO
from helpers import chain, example_graph

from dlbuilder.cli import main
from dlbuilder.core.fileformat import save_graph

GOLDEN = REPO / "tests" / "backend" / "golden"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_python_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "export", "lenet5")
    assert code == 0
    assert out == (GOLDEN / "lenet5.py").read_text(encoding="utf-8")


def test_python_to_file_with_class_name(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "model.py"
    code, out, err = run(capsys, "export", str(REPO / "examples" / "digits_cnn.json"), "-o",
                         str(target), "--class-name", "DigitsNet")
    assert code == 0 and out == ""
    assert f"wrote {target}: class DigitsNet, 38,314 parameters" in err
    text = target.read_text(encoding="utf-8")
    assert "class DigitsNet(nn.Module):" in text


def test_graph_errors_exit_1_and_write_nothing(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    save_graph(chain(("Conv2d", {"out_channels": 2, "kernel_size": 9}), shape=[1, 4, 4]), path)
    target = tmp_path / "model.py"
    code, _, err = run(capsys, "export", str(path), "-o", str(target))
    assert code == 1
    assert "n1.kernel_size: kernel 9 is larger than the padded input 4" in err
    assert not target.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["lenet5", "--class-name", "import os"], "--class-name: class name 'import os'"),
    (["lenet5", "--class-name", "torch"], "would hide"),
    (["lenet5", "--format", "onnx"], "ONNX needs an output file"),
    (["lenet5", "-o", "m.py", "--weights", "w.pt", "--with-training-script"],
     "--weights and --with-training-script"),
    (["lenet5", "--format", "keras"], "invalid choice: 'keras'"),
    (["no_such_graph.json"], "cannot be read"),
])
def test_usage_problems_exit_2(args: list[str], message: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "export", *args)
    assert code == 2 and out == ""
    assert message in err


@pytest.mark.parametrize("name", ["m.py", pytest.param("m.onnx", marks=pytest.mark.slow)])
def test_unwritable_output_exit_2(name: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    if name.endswith(".onnx"):
        pytest.importorskip("onnxscript", reason="ONNX is an optional extra")
    target = tmp_path / "no" / "dir" / name
    code, _, err = run(capsys, "export", "digits_cnn", "-o", str(target))
    assert code == 2
    assert err.strip() == f"dlbuilder export: cannot write {target}: No such file or directory"


def test_onnx_without_the_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from dlbuilder.backend import onnx_export

    monkeypatch.setattr(onnx_export, "onnx_missing",
                        lambda: 'ONNX export needs onnx; pip install "dlbuilder[onnx]"')
    code, _, err = run(capsys, "export", "lenet5", "-o", str(tmp_path / "m.onnx"))
    assert code == 2 and 'pip install "dlbuilder[onnx]"' in err
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.slow
def test_onnx_with_trained_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ort = pytest.importorskip("onnxruntime", reason="ONNX is an optional extra")
    import torch

    from dlbuilder.backend.compiler import compile_graph
    from dlbuilder.backend.weights import save_weights

    model = compile_graph(example_graph("digits_cnn"))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))  # "trained": not the initial weights
    weights, target = tmp_path / "trained.pt", tmp_path / "digits.onnx"
    save_weights(model, weights)
    code, _, err = run(capsys, "export", "digits_cnn", "-o", str(target), "--weights",
                       str(weights))
    assert code == 0 and f"weights from {weights}" in err
    x = torch.randn(3, 1, 8, 8)
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x.numpy()})
    with torch.no_grad():
        expected = model.eval()(x).numpy()
    assert abs(got - expected).max() <= 1e-5


def test_onnx_with_weights_of_another_graph_exit_2(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnxscript", reason="ONNX is an optional extra")
    from dlbuilder.backend.compiler import compile_graph
    from dlbuilder.backend.weights import save_weights

    weights = tmp_path / "lenet.pt"
    save_weights(compile_graph(example_graph("lenet5")), weights)
    code, _, err = run(capsys, "export", "digits_cnn", "-o", str(tmp_path / "m.onnx"),
                       "--weights", str(weights))
    assert code == 2 and "do not fit this graph" in err and "c1.weight" in err
    assert not (tmp_path / "m.onnx").exists()


def _digits_weights(folder: Path, with_info: bool = True) -> Path:
    """digits_cnn's initial weights, saved with the preprocessing of a digits run."""
    from dlbuilder.backend.compiler import compile_graph
    from dlbuilder.backend.datasets import load_dataset
    from dlbuilder.backend.prepare import fit_preprocessing, save_preprocessing
    from dlbuilder.backend.weights import save_weights

    weights = folder / "digits.pt"
    save_weights(compile_graph(example_graph("digits_cnn")), weights)
    if with_info:
        data = load_dataset("digits")
        save_preprocessing(weights, fit_preprocessing(data, data.train.x, (1, 8, 8), True))
    return weights


def test_python_with_weights_carries_their_preprocessing(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    weights = _digits_weights(tmp_path)
    target = tmp_path / "digits_net.py"
    code, _, err = run(capsys, "export", "digits_cnn", "-o", str(target), "--weights",
                       str(weights))
    assert code == 0, err
    assert "with the preprocessing of digits.pt (preprocess())" in err
    text = target.read_text(encoding="utf-8")
    assert "def preprocess(x):" in text and "SCALE = 16.0" in text and "MEAN = (" in text
    assert 'torch.load("digits.pt", weights_only=True)' in text
    assert "note:" not in err  # the weights are beside the code


def test_python_with_weights_without_their_json_says_so(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    weights = _digits_weights(tmp_path, with_info=False)
    out_dir = tmp_path / "elsewhere"
    out_dir.mkdir()
    target = out_dir / "m.py"
    code, _, err = run(capsys, "export", "digits_cnn", "-o", str(target), "--weights",
                       str(weights))
    assert code == 0, err
    assert f"{weights}.json (the preprocessing saved with the weights) is missing" in err
    assert "copy digits.pt beside" in err
    assert "def preprocess" not in target.read_text(encoding="utf-8")


def test_python_with_weights_of_another_graph_exit_2(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    from dlbuilder.backend.compiler import compile_graph
    from dlbuilder.backend.weights import save_weights

    weights = tmp_path / "lenet.pt"
    save_weights(compile_graph(example_graph("lenet5")), weights)
    code, _, err = run(capsys, "export", "digits_cnn", "-o", str(tmp_path / "m.py"),
                       "--weights", str(weights))
    assert code == 2 and "do not fit this graph" in err
    assert not (tmp_path / "m.py").exists()
    weights = _digits_weights(tmp_path)
    code, _, err = run(capsys, "export", "digits_cnn", "--weights", str(weights),
                       "--class-name", "preprocess")
    assert code == 2 and "--class-name: class name 'preprocess'" in err
