"""Weights files: a plain state_dict that round-trips, refuses code, and explains a misfit."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import example_cases, example_graph

from dlbuilder.backend.compiler import CompiledModel, compile_graph
from dlbuilder.backend.weights import WeightsError, load_weights, read_state_dict, save_weights


def compiled(name: str, seed: int = 0, input_shape: list[int] | None = None) -> CompiledModel:
    """A freshly initialised model of an example; `input_shape` replaces the Input's shape."""
    graph = example_graph(name)
    if input_shape is not None:
        graph.set_params("input", {"shape": input_shape})
    torch.manual_seed(seed)
    return compile_graph(graph)


def trained_looking(model: CompiledModel) -> CompiledModel:
    """Move batch-norm statistics off their defaults, so buffers are tested too."""
    model.train()
    with torch.no_grad():
        model(torch.randn(4, *model.plan.input_shape) * 3 + 1)
    return model.eval()


class RunsCode:
    """A pickle that runs a shell command when loaded with plain pickle."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


@pytest.mark.parametrize("name", example_cases())
def test_round_trip_gives_identical_outputs(name: str, tmp_path: Path) -> None:
    source = trained_looking(compiled(name, seed=0))
    path = tmp_path / "weights.pt"
    save_weights(source, path)
    target = compiled(name, seed=1).eval()
    x = torch.randn(3, *source.plan.input_shape)
    with torch.no_grad():
        assert not torch.equal(source(x), target(x))
        load_weights(target, path)
        assert torch.equal(source(x), target(x))


def test_file_is_a_plain_state_dict(tmp_path: Path) -> None:
    model = trained_looking(compiled("digits_cnn"))
    path = tmp_path / "weights.pt"
    save_weights(model, path)
    state = torch.load(path, weights_only=True)
    assert isinstance(state, dict)
    assert list(state) == list(model.state_dict())
    assert all(isinstance(value, torch.Tensor) for value in state.values())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_other_graph_names_missing_and_unexpected_keys(tmp_path: Path) -> None:
    path = tmp_path / "digits.pt"
    save_weights(compiled("digits_cnn"), path)
    model = compiled("lenet5")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(WeightsError) as info:
        load_weights(model, path)
    message = str(info.value)
    assert str(path) in message
    assert "missing from digits.pt (in this graph only): c1.weight, c1.bias" in message
    assert "unexpected in digits.pt (not in this graph): conv1.weight, conv1.bias" in message
    assert " more" in message  # long lists are cut short
    assert "renamed" in message  # the likely reason
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_resized_layer_names_both_sizes(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    save_weights(compiled("lenet5", input_shape=[3, 28, 28]), path)
    with pytest.raises(WeightsError) as info:
        load_weights(compiled("lenet5"), path)
    message = str(info.value)
    assert "c1.weight is 6x3x5x5 in weights.pt but 6x1x5x5 in this graph" in message
    assert "missing" not in message and "unexpected" not in message


@pytest.mark.parametrize("write, reason", [
    (torch.save, "refused: it asks for the Python object"),
    (lambda obj, path: path.write_bytes(pickle.dumps(obj, protocol=2)),
     "refused: it asks for the Python object"),
    # a newer protocol stops torch's reader even earlier, at an opcode it does not take
    (lambda obj, path: path.write_bytes(pickle.dumps(obj)), "not a PyTorch weights file"),
], ids=["torch_save", "pickle_protocol_2", "pickle_default_protocol"])
def test_pickle_that_runs_code_is_refused(write: Any, reason: str, tmp_path: Path) -> None:
    witness = tmp_path / "hacked"
    path = tmp_path / "weights.pt"
    write({"c1.weight": RunsCode(f"echo hacked > {witness}")}, path)
    with pytest.raises(WeightsError, match=reason) as info:
        load_weights(compiled("lenet5"), path)
    assert str(path) in str(info.value)
    assert not witness.exists()


@pytest.mark.parametrize("content, reason", [
    (b"\x00 this is not a weights file " * 8, "not a PyTorch weights file"),
    (b"", "empty or cut short"),
    (b"PK\x03\x04 half a zip", "not a PyTorch weights file"),
    (b"a text file\n", "not a PyTorch weights file"),
])
def test_unreadable_bytes(content: bytes, reason: str, tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match=reason) as info:
        read_state_dict(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("obj, reason", [
    ([torch.zeros(2)], "holds a list, not a state_dict"),
    ({"c1.weight": 3, "c1.bias": torch.zeros(6)}, "c1.weight holds a int, not a tensor"),
    ({7: torch.zeros(2)}, "7 is a int, not a name"),
])
def test_not_a_dict_of_tensors(obj: object, reason: str, tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(obj, path)
    with pytest.raises(WeightsError, match=reason):
        read_state_dict(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="no such file"):
        read_state_dict(tmp_path / "nowhere.pt")
    with pytest.raises(WeightsError, match="is a folder"):
        read_state_dict(tmp_path)


def test_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "weights.pt"
    save_weights(compiled("lenet5", seed=0), path)
    old = path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)  # after the bytes are written, before rename
    with pytest.raises(OSError, match="No space left"):
        save_weights(compiled("lenet5", seed=1), path)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["weights.pt"]  # no temporary file left
