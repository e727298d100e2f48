"""Identifier safety: node ids from shared files can hold anything; the code stays safe.

Hostile ids must give valid Python whose only calls are the expected ones, unique legal
attribute names shared by the compiled module, comments that cannot break out of their line,
and nothing from the file executed (checked with a marker file a payload would create).
"""

from __future__ import annotations

import ast
import io
import keyword
import tokenize
from pathlib import Path

import pytest
import torch
from conftest import examples
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dlbuilder.backend.codegen import export_code
from dlbuilder.backend.compiler import compile_graph
from dlbuilder.backend.names import (
    ATTRIBUTE_RESERVED,
    MODULE_ATTRIBUTES,
    Namespace,
    identifier_from,
)
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY

MARKER = Path("/tmp/dlbuilder_pwned_marker")
HOSTILE = [
    'conv"1', "conv'1", "a\nimport os", "x\r\nos.system('touch /tmp/dlbuilder_pwned_marker')",
    "__import__('os').system('touch /tmp/dlbuilder_pwned_marker')", '"""', "'''", "#", "\\",
    "class", "def", "lambda", "None", "True", "match", "case", "type", "_",
    "self", "torch", "nn", "F", "x", "shortcut", "print", "exec", "eval", "input",
    "forward", "training", "state_dict", "to", "cuda", "__init__", "__class__", "_modules",
    "_parameters", "卷积层", "Größe", "🙂", "naïve", "conv 1", "conv_1", "conv-1", "conv.1",
    "1conv", "123", " ", "\t", "\u2028", "\x0c", "x\x00y", "a" * 300, "Conv 1", "CONV_1",
    "}{)(", "${HOME}", "%s", "\u202eevil",
]
CALLS = {"super", "super().__init__", "torch.cat", "torch.flatten"}


def hostile_graph(ids: list[str]) -> Graph:
    """Input -> Conv2d, ReLU, ... one layer per id, with a residual Add every few layers."""
    graph = Graph("hostile\n\"\"\"import os")
    graph.add_node("in put", "Input", {"shape": [2, 6, 6]})
    prev = "in put"
    kinds = [("Conv2d", {"out_channels": 2, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
             ("BatchNorm2d", {}), ("Add", {})]
    for i, node in enumerate(ids):
        type_name, params = kinds[i % len(kinds)]
        graph.add_node(node, type_name, params)
        graph.add_edge(prev, node)
        if type_name == "Add":
            graph.add_edge(graph.inputs(prev)[0], node)
        prev = node
    graph.add_node("out\nput", "Output", {"loss": "MSELoss"})
    graph.add_edge(prev, "out\nput")
    return graph


def check_safe(code: str, graph: Graph) -> set[str]:
    """Every property the generated code must have whatever the ids; returns the attributes."""
    tree = ast.parse(code)
    assigned = [t.attr for n in ast.walk(tree) if isinstance(n, ast.Assign)
                for t in n.targets if isinstance(t, ast.Attribute)]
    assert len(assigned) == len(set(assigned))
    for name in assigned:
        assert name.isascii() and name.isidentifier() and not keyword.iskeyword(name)
        assert name not in ATTRIBUTE_RESERVED and not name.startswith("_")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = ast.unparse(node.func)
            assert func in CALLS or func.startswith(("nn.", "self.")), func
            if func.startswith("self."):
                assert func[5:] in assigned
        if isinstance(node, ast.Name):
            assert node.id.isascii()
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert node.value.startswith("A network for") or node.value.isalnum(), node.value
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.COMMENT:
            assert token.string.isascii() and token.string.isprintable()
    modules = [n for n in graph.nodes() if REGISTRY.get(graph.type_of(n)).torch_class
               and REGISTRY.get(graph.type_of(n)).op is None]
    assert len(assigned) == len(modules)
    return set(assigned)


def load_module(code: str, tmp_path: Path) -> type[torch.nn.Module]:
    import importlib.util

    path = tmp_path / "exported.py"
    path.write_text(code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("exported_hostile", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Net


def test_hostile_ids_give_safe_equivalent_code(tmp_path: Path) -> None:
    MARKER.unlink(missing_ok=True)
    graph = hostile_graph(HOSTILE)
    engine = InferenceEngine(graph, REGISTRY)
    assert not engine.has_errors(), engine.diagnostics()
    code = export_code(engine)
    attrs = check_safe(code, graph)
    model = compile_graph(engine).eval()
    assert {name.split(".")[0] for name in model.state_dict()} <= attrs
    exported = load_module(code, tmp_path)().eval()
    exported.load_state_dict(model.state_dict())
    x = torch.randn(3, 2, 6, 6)
    assert torch.equal(model(x), exported(x))
    assert not MARKER.exists(), "a node id was executed"


def test_names_that_collide_after_sanitizing_stay_apart() -> None:
    space = Namespace(ATTRIBUTE_RESERVED)
    names = [space.claim(text, "conv2d") for text in ("conv 1", "conv-1", "conv.1", "conv_1")]
    assert names == ["conv_1", "conv_1_2", "conv_1_3", "conv_1_4"]
    graph = hostile_graph(["conv 1", "conv-1", "conv_1", "conv.1"])
    code = export_code(InferenceEngine(graph, REGISTRY))
    # the id that is already a legal name keeps it; the others take suffixes
    assert "self.conv_1 = nn.BatchNorm2d(" in code


@pytest.mark.parametrize(("text", "expected"), [
    ("Größe", "Grosse"), ("naïve conv", "naive_conv"), ("卷积", "conv2d"), ("1st", "conv2d_1st"),
    ("a\nimport os", "a_import_os"), ("x'); os.system('rm", "x_os_system_rm"),
    ("__init__", "init"), ("a--b", "a_b"), ("", "conv2d"),
])
def test_identifier_from(text: str, expected: str) -> None:
    assert identifier_from(text, "conv2d") == expected


def test_reserved_attributes_cover_this_torch() -> None:
    public = {n for n in dir(torch.nn.Module()) if not n.startswith("_")}
    assert public <= MODULE_ATTRIBUTES, sorted(public - MODULE_ATTRIBUTES)


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=8, unique=True))
def test_any_ids_give_valid_code(ids: list[str]) -> None:
    assume(not {"in put", "out\nput"} & set(ids))
    graph = hostile_graph(ids)
    engine = InferenceEngine(graph, REGISTRY)
    assert not engine.has_errors(), engine.diagnostics()
    check_safe(export_code(engine), graph)
