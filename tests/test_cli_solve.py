"""`dlbuilder solve`: proposals (exit 0), impossible with reason and nearest (exit 1), bad
input with a clear message (exit 2)."""

from __future__ import annotations

import json

import pytest
from conftest import REPO

from dlbuilder.cli import main

LENET = str(REPO / "examples" / "lenet5.json")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["solve", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_proposals_fewest_changes_first(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, LENET, "--node", "c3", "--size", "14x14")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "c3 (Conv2d) gives 16x10x10; for 14x14:"
    assert lines[1].split() == ["1.", "padding", "2", "->", "16x14x14"]


def test_json_carries_changes_to_apply(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, LENET, "--node", "tanh2", "--size", "12", "--json")
    data = json.loads(out)
    assert code == 0 and data["target"] == [12, 12] and data["shape"] == [16, 10, 10]
    assert data["proposals"][0] == {"label": "c3: padding 1", "changes": {"c3": {"padding": 1}},
                                    "shape": [16, 12, 12]}


def test_impossible_exits_1_with_reason_and_nearest(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, LENET, "--node", "c1", "--size", "40")
    assert code == 1
    assert "40x40 cannot be had" in out and "(28 - 5 + 2*2)/1 + 1 = 28" in out
    assert "38x38: padding 5, kernel_size 1" in out.split("nearest:")[1]
    code, out, _ = run(capsys, LENET, "--node", "c1", "--size", "40", "--json")
    data = json.loads(out)
    assert code == 1 and not data["proposals"] and data["nearest"][0]["shape"] == [6, 38, 38]


def test_already_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, LENET, "--node", "c1", "--size", "28x28")
    assert code == 0 and out.strip().endswith("already 28x28")


def test_inside_a_block_by_path_a_size_that_breaks_the_shortcut(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "resnet_cifar", "--node", "block2/conv1", "--size", "8")
    assert code == 1 and "in block BasicBlockDown" in out
    assert "breaks the graph elsewhere" in out and "left out" in out
    assert "block2/add: Add needs inputs of equal shape" in out
    code, out, _ = run(capsys, "resnet_cifar", "--node", "block2/conv1", "--size", "8",
                       "--json")
    answer = json.loads(out)
    assert answer["proposals"] == [] and answer["broken"][0]["error"]["code"] == \
        "add_shape_mismatch"


@pytest.mark.parametrize(("args", "words"), [
    (["--node", "nope", "--size", "7"], "there is no node 'nope'"),
    (["--node", "flatten", "--size", "7"], "flatten gives 400, which has no height or width"),
    (["--node", "c1", "--size", "big"], "size 'big' is not whole numbers"),
    (["--node", "c1", "--size", "1x2x3"], "has 3 numbers, but the output has 2"),
    (["--node", "c1/x", "--size", "7"], "'c1' in 'c1/x' is not a block instance"),
    (["--size", "7"], "required: --node"),
])
def test_bad_input_exits_2_with_a_clear_message(capsys: pytest.CaptureFixture[str],
                                                 args: list[str], words: str) -> None:
    code, _, err = run(capsys, LENET, *args)
    assert code == 2 and words in err and "Traceback" not in err
    code, out, _ = run(capsys, LENET, *args, "--json")
    assert code == 2 and words in json.loads(out)["error"]
