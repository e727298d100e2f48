"""`dlbuilder summary`: the table, --json, and the exit status contract (0 / 1 / 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from helpers import chain

from dlbuilder.cli import main
from dlbuilder.core.fileformat import save_graph

LENET = str(REPO / "examples" / "lenet5.json")
TINY_BLOCKS = str(REPO / "tests" / "core" / "data" / "blocks_tiny.json")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "summary", LENET)
    assert code == 0
    assert "Layer (id)" in out and "% of total" in out and "Mult-adds" in out
    row = next(line for line in out.splitlines() if line.startswith("c1 "))
    assert row.split() == ["c1", "Conv2d", "6x28x28", "156", "0.3%", "122,304", "5x5",
                           "(jump", "1)"]
    assert "Receptive field" in out
    s4 = next(line for line in out.splitlines() if line.startswith("s4 "))
    assert s4.endswith("16x16 (jump 4)")  # LeNet-5's last pooling sees 16x16 of the 28x28
    assert "Total params: 61,706" in out
    assert "No problems found." in out


def test_summary_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "summary", LENET, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["total_params"] == 61706
    c1 = next(n for n in data["nodes"] if n["id"] == "c1")
    assert c1["type"] == "Conv2d" and c1["output_shape"] == [6, 28, 28] and c1["params"] == 156
    # LeNet-5's f5 holds 78% of the parameters: a hint (advice), and still exit 0
    assert [d["code"] for d in data["diagnostics"]] == ["dense_holds_most"]
    assert data["errors"] == data["warnings"] == 0 and data["hints"] == 1


def test_summary_by_example_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "summary", "digits_cnn")
    assert code == 0 and "Graph: digits_cnn" in out


def test_graph_errors_exit_1_and_name_the_node(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    save_graph(chain(("Conv2d", {"out_channels": 2, "kernel_size": 9}), shape=[1, 4, 4]), path)
    code, out, _ = run(capsys, "summary", str(path))
    assert code == 1
    assert "error   n1.kernel_size: kernel 9 is larger than the padded input 4" in out
    code, out, _ = run(capsys, "summary", str(path), "--json")
    data = json.loads(out)
    assert code == 1 and data["diagnostics"][0]["node"] == "n1"
    assert data["nodes"][1]["output_shape"] is None


def test_warnings_only_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "warn.json"
    save_graph(chain(("ReLU", {}), output=False), path)
    code, out, _ = run(capsys, "summary", str(path))
    assert code == 0 and "no_output" in out


def test_unreadable_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "summary", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot be read" in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "dlbuilder.graph",\n "version": 1,\n "nodes": [}')
    code, out, _ = run(capsys, "summary", str(broken), "--json")
    data = json.loads(out)
    assert code == 2 and "line 3" in data["problems"][0]


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "summary")
    assert code == 2 and "required: FILE" in err
    code, out, _ = run(capsys, "summary", LENET, "--json", "--bogus")
    assert code == 2 and "bogus" in json.loads(out)["error"]
    code, _, err = run(capsys, "--bogus")
    assert code == 2 and "--bogus" in err


def test_summary_depth_expands_blocks_as_torchinfo_does(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    code, out, _ = run(capsys, "summary", TINY_BLOCKS)  # default depth 3, torchinfo's
    assert code == 0 and "    layer1.2.relu2 " in out and "layer2.0.1.conv1" not in out
    code, out, _ = run(capsys, "summary", TINY_BLOCKS, "--depth", "1")
    assert "layer1." not in out and "Total params: 23,978" in out
    code, out, _ = run(capsys, "summary", TINY_BLOCKS, "--depth", "9", "--json")
    layer2 = json.loads(out)["nodes"][3]
    assert layer2["path"] == "layer2" and layer2["children"][0]["path"] == "layer2.0"
    conv = layer2["children"][0]["children"][1]["children"][0]
    assert (conv["path"], conv["depth"], conv["params"]) == ("layer2.0.1.conv1", 4, 2304)


@pytest.mark.parametrize("depth", ["0", "-1", "two", "1.5"])
def test_a_bad_depth_exits_2_and_says_what_fits(capsys: pytest.CaptureFixture[str],
                                                 depth: str) -> None:
    code, _, err = run(capsys, "summary", TINY_BLOCKS, "--depth", depth)
    assert code == 2
    assert "--depth: must be a whole number of 1 or more" in err and repr(depth) in err
    code, out, _ = run(capsys, "summary", TINY_BLOCKS, "--json", f"--depth={depth}")
    assert code == 2 and "--depth" in json.loads(out)["error"]


def test_help_lists_subcommands_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "summary" in out and "lenet5" in out


@pytest.mark.slow
def test_python_dash_m_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "dlbuilder", "summary", LENET, "--json"],
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total_params"] == 61706


@pytest.mark.parametrize("name", ["resnet18", "resnet_cifar"])
def test_summary_paths_are_the_compiled_models_module_names(
        capsys: pytest.CaptureFixture[str], name: str) -> None:
    """A row's path is where its layer lives in the torch model, as torchinfo would show.
    (Not yet mobilenet_v2: the export splices a repeat into a block of numbered layers,
    stage3.1.0 becoming stage3.1, which the summary does not follow.)"""
    from dlbuilder.backend.compiler import compile_graph
    from dlbuilder.cli.common import load_engine

    code, out, _ = run(capsys, "summary", name, "--json", "--depth", "9")
    assert code == 0

    def leaves(nodes: list[dict]) -> set[str]:
        found = set()
        for node in nodes:
            found |= leaves(node["children"]) if node.get("children") else (
                {node["path"]} if node["params"] else set())
        return found

    model = compile_graph(load_engine(name))
    owners = {path for path, module in model.named_modules()
              if next(module.parameters(recurse=False), None) is not None}
    assert leaves(json.loads(out)["nodes"]) == owners


def test_a_reader_that_stops_early_gets_no_traceback(monkeypatch, tmp_path) -> None:
    """`dlbuilder summary ... | head`: the pipe closes while the summary is written."""
    sink = (tmp_path / "sink").open("w")

    class ClosedPipe:
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            return sink.fileno()

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["summary", "resnet18"]) == 0
    sink.close()
