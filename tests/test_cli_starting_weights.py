"""Starting weights named by the graph file (`training.init_weights`): the setting itself,
`dlbuilder import --weights` writing it, `dlbuilder train` honouring it (and refusing a
missing file), the exported training script loading it, and the warning when frozen layers
would start from random weights."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import helpers
import pytest
import torch
from helpers import engine_for, example_graph

from dlbuilder.backend.compiler import compile_graph
from dlbuilder.backend.settings import (
    SettingsError,
    resolve_settings,
    starting_weights_path,
    weights_reference,
)
from dlbuilder.backend.weights import save_weights
from dlbuilder.cli import main
from dlbuilder.core.fileformat import load_graph, save_graph
from dlbuilder.core.graph import Graph
from dlbuilder.core.tuning import (
    fresh_frozen_warning,
    frozen_layers,
    frozen_params,
)
from dlbuilder.layers import REGISTRY

WARNING = "frozen layers start from new random weights: nothing of theirs will be learned"

SMALL_MODEL = """
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(F.relu(self.conv1(x)).flatten(1))
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def frozen_digits(training: dict | None = None) -> Graph:
    """helpers.frozen_digits, set to train one epoch on the CPU (and `training`)."""
    graph = helpers.frozen_digits()
    graph.training.update({"epochs": 1, "device": "cpu", **(training or {})})
    return graph


def test_the_setting_is_checked_and_kept_in_the_file(tmp_path: Path) -> None:
    assert resolve_settings({"init_weights": "w.pt"}).init_weights == "w.pt"
    with pytest.raises(SettingsError, match=r"training\.init_weights: must be a non-empty text"):
        resolve_settings({"init_weights": 3})
    graph = example_graph("digits_cnn")
    graph.training["init_weights"] = "digits.pt"
    save_graph(graph, tmp_path / "g.json")
    assert load_graph(tmp_path / "g.json", REGISTRY).training["init_weights"] == "digits.pt"


def test_a_path_is_relative_to_the_graph_file(tmp_path: Path) -> None:
    graph_file = tmp_path / "a" / "g.json"
    assert starting_weights_path("w.pt", graph_file) == tmp_path / "a" / "w.pt"
    assert starting_weights_path(str(tmp_path / "x.pt"), graph_file) == tmp_path / "x.pt"
    assert weights_reference(tmp_path / "a" / "w.pt", graph_file) == "w.pt"
    assert weights_reference(tmp_path / "b" / "w.pt", graph_file) == str(tmp_path / "b/w.pt")


def test_frozen_layers_are_counted_and_warned_about() -> None:
    engine = engine_for(frozen_digits())
    assert frozen_layers(engine) == 4 and frozen_params(engine) == 160 + 32 + 4640 + 32832
    assert fresh_frozen_warning(4).startswith(f"4 {WARNING}; load starting weights")
    assert fresh_frozen_warning(1).startswith("1 frozen layer starts from new random")


@pytest.mark.slow
def test_import_with_weights_names_them_in_the_graph(tmp_path: Path, capsys) -> None:
    model = tmp_path / "small.py"
    model.write_text(SMALL_MODEL)
    code, _, err = run(capsys, "import", f"{model}:Net", "--input", "1x8x8",
                       "-o", str(tmp_path / "g.json"), "--weights", str(tmp_path / "g.pt"))
    assert code == 0, err
    assert load_graph(tmp_path / "g.json", REGISTRY).training["init_weights"] == "g.pt"
    elsewhere = tmp_path / "weights"
    elsewhere.mkdir()
    code, _, err = run(capsys, "import", f"{model}:Net", "--input", "1x8x8",
                       "-o", str(tmp_path / "h.json"), "--weights", str(elsewhere / "h.pt"))
    assert code == 0, err
    named = load_graph(tmp_path / "h.json", REGISTRY).training["init_weights"]
    assert named == str((elsewhere / "h.pt").resolve())


def _saved_with_weights(tmp_path: Path, graph: Graph) -> dict[str, torch.Tensor]:
    """The graph as g.json naming g.pt, weights of a model seeded apart from any run."""
    torch.manual_seed(1234)
    model = compile_graph(graph)
    save_weights(model, tmp_path / "g.pt")
    graph.training["init_weights"] = "g.pt"
    save_graph(graph, tmp_path / "g.json")
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.slow
def test_train_starts_from_the_named_weights(tmp_path: Path, capsys) -> None:
    start = _saved_with_weights(tmp_path, frozen_digits())
    code, _, err = run(capsys, "train", str(tmp_path / "g.json"), "--no-runs",
                       "--save-weights", str(tmp_path / "out.pt"))
    assert code == 0, err
    assert f"starting from the weights of {tmp_path / 'g.pt'} (training.init_weights)" in err
    assert WARNING not in err
    trained = torch.load(tmp_path / "out.pt", weights_only=True)
    assert torch.equal(trained["conv1.weight"], start["conv1.weight"])  # frozen: imported
    assert not torch.equal(trained["fc2.weight"], start["fc2.weight"])  # the head learned


def test_train_refuses_a_missing_named_file(tmp_path: Path, capsys) -> None:
    graph = frozen_digits({"init_weights": "gone.pt"})
    save_graph(graph, tmp_path / "g.json")
    code, out, err = run(capsys, "train", str(tmp_path / "g.json"), "--no-runs")
    assert code == 2 and out == ""
    assert "training.init_weights names gone.pt" in err
    assert str(tmp_path / "gone.pt") in err and "Traceback" not in err


@pytest.mark.slow
def test_train_warns_when_frozen_layers_start_from_random(tmp_path: Path, capsys) -> None:
    save_graph(frozen_digits(), tmp_path / "g.json")
    code, _, err = run(capsys, "train", str(tmp_path / "g.json"), "--no-runs")
    assert code == 0
    assert f"warning: 4 {WARNING}; load starting weights or unfreeze them" in err


def _script(path: Path):
    spec = importlib.util.spec_from_file_location(f"script_{path.parent.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_script_starts_from_the_named_weights(tmp_path: Path, capsys) -> None:
    start = _saved_with_weights(tmp_path, frozen_digits())
    imported = {**start, "fc2.weight": torch.zeros(5, 64), "fc2.bias": torch.zeros(5)}
    torch.save(imported, tmp_path / "g.pt")  # a head for 5 classes: replaced by the graph's
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, err = run(capsys, "export", str(tmp_path / "g.json"), "--with-training-script",
                       "-o", str(out_dir / "model.py"))
    assert code == 0, err
    assert (out_dir / "g.pt").read_bytes() == (tmp_path / "g.pt").read_bytes()
    text = (out_dir / "model.py").read_text()
    assert 'INIT_WEIGHTS = "g.pt"' in text and "must sit" in text and WARNING not in text
    module = _script(out_dir / "model.py")
    module.main(["--epochs", "1", "--device", "cpu", "--save-weights",
                 str(out_dir / "w.pt")])
    out = capsys.readouterr().out
    assert "starting from the weights of g.pt" in out
    assert "fc2: not in g.pt, or resized; it starts from new weights" in out
    trained = torch.load(out_dir / "w.pt", weights_only=True)
    for key in ("conv1.weight", "bn1.running_mean", "conv2.weight", "fc1.weight"):
        assert torch.equal(trained[key], start[key]), key
    assert trained["fc2.weight"].shape == (10, 64)


def test_the_script_refuses_a_missing_file_and_warns_without_one(tmp_path: Path,
                                                                 capsys) -> None:
    save_graph(frozen_digits({"init_weights": "gone.pt"}), tmp_path / "g.json")
    code, _, err = run(capsys, "export", str(tmp_path / "g.json"), "--with-training-script",
                       "-o", str(tmp_path / "model.py"))
    assert code == 2 and "training.init_weights names gone.pt" in err
    assert not (tmp_path / "model.py").exists()
    save_graph(frozen_digits(), tmp_path / "g.json")
    code, _, err = run(capsys, "export", str(tmp_path / "g.json"), "--with-training-script",
                       "-o", str(tmp_path / "model.py"))
    assert code == 0, err
    text = (tmp_path / "model.py").read_text()
    assert '"warning: 4 frozen layers start from new random weights:"' in text
    assert "INIT_WEIGHTS" not in text
