"""The exported Python code: golden files, stability, ruff, shape of the file, class names.

Refresh the golden files after an intended change with `pytest --refresh-golden`.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import chain, engine_for, example_graph, flat_resnet_cifar

from dlbuilder.backend.codegen import ClassNameError, check_class_name, export_code
from dlbuilder.backend.plan import CompileError
from dlbuilder.core.fileformat import dumps_graph, loads_graph
from dlbuilder.core.graph import Graph
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import example_names

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = example_names()


def example_code(name: str, class_name: str = "Net") -> str:
    return export_code(engine_for(example_graph(name)), class_name)


@pytest.mark.parametrize("name", EXAMPLES)
def test_golden(name: str, refresh_golden: bool) -> None:
    path = GOLDEN / f"{name}.py"
    code = example_code(name)
    if refresh_golden:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(code, encoding="utf-8")
    assert path.exists(), f"no golden file for {name}; run pytest --refresh-golden"
    assert code == path.read_text(encoding="utf-8"), (
        f"the code for {name} changed; if intended, run pytest --refresh-golden and review "
        "the diff")


def test_every_golden_file_has_an_example() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.py")) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_stable_across_save_and_load(name: str) -> None:
    graph = example_graph(name)
    again = loads_graph(dumps_graph(graph), REGISTRY)
    assert export_code(engine_for(graph)) == export_code(engine_for(again)) == example_code(name)


def _ruff() -> list[str]:
    if shutil.which("ruff"):
        return ["ruff"]
    pytest.importorskip("ruff", reason="ruff is in the test extra: pip install '.[test]'")
    return [sys.executable, "-m", "ruff"]


def test_py_compile_and_ruff_default_rules(tmp_path: Path) -> None:
    files = []
    for name in EXAMPLES:
        path = tmp_path / f"{name}.py"
        path.write_text(example_code(name), encoding="utf-8")
        files.append(str(path))
    compiled = subprocess.run([sys.executable, "-m", "py_compile", *files], check=False,
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    ruff = _ruff()
    checked = subprocess.run([*ruff, "check", "--isolated", "--no-cache", *files], check=False,
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = subprocess.run([*ruff, "format", "--isolated", "--no-cache", "--check", *files],
                               check=False, capture_output=True, text=True)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


@pytest.mark.parametrize("name", EXAMPLES)
def test_one_module_class_that_imports_only_torch(name: str) -> None:
    tree = ast.parse(example_code(name))
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    modules = {a.name for n in imports if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in imports if isinstance(n, ast.ImportFrom)}
    assert modules <= {"torch"}
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    *blocks, net = classes  # one class per block type the model uses, then the model
    assert net.name == "Net" and ast.unparse(net.bases[0]) == "nn.Module"
    assert {c.name for c in blocks} <= set(example_graph(name).blocks)
    assert all(ast.unparse(c.bases[0]) in ("nn.Module", "nn.Sequential") for c in blocks)
    methods = {f.name: f for f in net.body if isinstance(f, ast.FunctionDef)}
    assert [a.arg for a in methods["__init__"].args.args] == ["self"]
    forward = methods["forward"]
    assert [a.arg for a in forward.args.args] == ["self", "x"]
    returns = [n for n in ast.walk(forward) if isinstance(n, ast.Return)]
    assert len(returns) == 1 and returns[0] is forward.body[-1]


def test_resnet_reads_like_hand_written_code() -> None:
    code = export_code(engine_for(flat_resnet_cifar()), "Net")
    forward = code[code.index("def forward"):]
    assert forward.count("shortcut = x\n") == 3
    assert forward.count("x = x + shortcut  # ") == 3
    assert "shortcut = self.block2_proj(shortcut)  # 32x16x16" in forward
    assert "x = torch.flatten(x, 1)  # 64" in forward
    assert "self.flatten" not in code  # Flatten is inline, not a submodule
    init = code[code.index("def __init__"):code.index("def forward")]
    assert "# 16x32x32 -> 32x16x16, 512 parameters\n        self.block2_proj = nn.Conv2d(" \
        in init
    assert "in_channels=16," in init and "bias=False," in init
    assert "# 32x16x16 -> 32x16x16, 64 parameters, 65 buffer values" in init


def test_concat_and_branches_are_inline() -> None:
    graph = Graph("inception")
    graph.add_node("in", "Input", {"shape": [3, 8, 8]})
    for name, k in (("wide", 3), ("narrow", 1)):
        graph.add_node(name, "Conv2d", {"out_channels": 4, "kernel_size": k, "padding": k // 2})
        graph.add_edge("in", name)
    graph.add_node("deep1", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1})
    graph.add_node("deep2", "ReLU", {})
    graph.add_edge("in", "deep1")
    graph.add_edge("deep1", "deep2")
    graph.add_node("join", "Concat", {})
    for port, src in enumerate(("wide", "narrow", "deep2")):
        graph.add_edge(src, "join", port)
    code = export_code(engine_for(graph))
    forward = code[code.index("def forward"):].splitlines()[1:]
    assert [line.strip() for line in forward] == [
        "branch = x",
        "branch_2 = x",
        "x = self.deep1(x)  # 4x8x8",
        "x = self.deep2(x)  # 4x8x8",
        "branch = self.wide(branch)  # 4x8x8",
        "branch_2 = self.narrow(branch_2)  # 4x8x8",
        "x = torch.cat([branch, branch_2, x], dim=1)  # 12x8x8",
        "return x",
    ]


def test_unused_branch_is_listed_but_not_run() -> None:
    graph = chain(("Flatten", {}), ("Linear", {"out_features": 3}), shape=[1, 2, 2])
    graph.add_node("spare", "Linear", {"out_features": 5})
    graph.add_edge("n1", "spare")
    code = export_code(engine_for(graph))
    assert "# (not used by forward: nothing consumes its output)\n        self.spare" in code
    assert "self.spare(" not in code[code.index("def forward"):]


def test_class_name_option() -> None:
    code = example_code("digits_cnn", "DigitsNet")
    assert "class DigitsNet(nn.Module):" in code and "model = DigitsNet()" in code


@pytest.mark.parametrize("bad", ["", "1Net", "my net", "import os", "class", "torch", "nn",
                                 "list", "self", "_Net", "Net\n", "Nét"])
def test_bad_class_names_are_refused(bad: str) -> None:
    with pytest.raises(ClassNameError, match="class name"):
        check_class_name(bad)


def test_a_graph_with_errors_is_refused_with_its_diagnostics() -> None:
    graph = chain(("Conv2d", {"out_channels": 2, "kernel_size": 9}), shape=[1, 4, 4])
    with pytest.raises(CompileError) as caught:
        export_code(engine_for(graph))
    assert caught.value.diagnostics[0].code == "kernel_too_large"
    assert "n1.kernel_size: kernel 9 is larger than the padded input 4" in str(caught.value)
