"""Adding a layer type is its declaration (and, for an activation, its curve) and nothing else.

A type is declared here exactly as README's "Adding a layer" shows, registered into a fresh
registry built like the real one, and taken through the shared per-layer checks, the curve
check, compile and export, with no other edit anywhere.
"""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch
from helpers import problems
from layer_checks import (
    check_explanation,
    check_file_round_trip,
    check_mult_adds,
    check_shape_and_counts,
)

from dlbuilder.backend.codegen import export_code
from dlbuilder.backend.compiler import compile_graph
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.registry import LayerSpec, Params, Shape
from dlbuilder.layers import REGISTRY, build_registry
from dlbuilder.layers.common import IMG


def softsign(x: float, p: Params) -> tuple[float, float]:
    """x / (1 + |x|) and its derivative 1 / (1 + |x|)^2 (this would go in layers/curves.py)."""
    d = 1.0 + abs(x)
    return x / d, 1.0 / (d * d)


def _same(ins: list[Shape], p: Params) -> Shape:
    return ins[0]


SOFTSIGN = LayerSpec(
    "Softsign", "activation", "x / (1 + |x|): a gentler tanh", (), _same,
    torch_class="torch.nn.Softsign", curve=softsign,
    examples=(([IMG], {}), ([(7,)], {})))


@pytest.fixture(scope="module")
def registry():
    return build_registry(SOFTSIGN)


def test_the_new_type_joins_a_registry_built_like_the_real_one(registry) -> None:
    assert registry.types() == [*REGISTRY.types(), "Softsign"]
    assert "Softsign" not in REGISTRY  # the real one is untouched


@pytest.mark.parametrize("example", SOFTSIGN.examples, ids=str)
def test_the_shared_per_layer_checks_pass(registry, example) -> None:
    check_shape_and_counts(SOFTSIGN, example.inputs, example.params)
    check_mult_adds(SOFTSIGN, example.inputs, example.params)
    check_explanation(SOFTSIGN, example.inputs, example.params)
    check_file_round_trip(registry, SOFTSIGN, example.inputs, example.params)


def test_its_curve_agrees_with_torch() -> None:
    xs = [i / 8 for i in range(-40, 41)]
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    y = torch.nn.Softsign()(x)
    y.sum().backward()
    for xi, yi, gi in zip(xs, y.tolist(), x.grad.tolist(), strict=True):
        assert softsign(xi, {}) == pytest.approx((yi, gi), abs=1e-12)
    assert all(math.isfinite(v) for v in softsign(-1e6, {}))


def test_it_compiles_and_exports_with_no_other_edit(registry, tmp_path) -> None:
    graph = Graph("softsign_net")
    for node, type_name, params in (
            ("in", "Input", {"shape": [3, 8, 8]}),
            ("conv", "Conv2d", {"out_channels": 4, "kernel_size": 3}),
            ("soft", "Softsign", {}), ("flat", "Flatten", {}),
            ("fc", "Linear", {"out_features": 5}), ("out", "Output", {})):
        graph.add_node(node, type_name, params)
    for src, dst in (("in", "conv"), ("conv", "soft"), ("soft", "flat"), ("flat", "fc"),
                     ("fc", "out")):
        graph.add_edge(src, dst)
    engine = InferenceEngine(graph, registry)
    assert not problems(engine)
    model = compile_graph(engine).eval()
    code = export_code(engine)
    assert "self.soft = nn.Softsign()" in code
    path = tmp_path / "softsign_net.py"
    path.write_text(code, encoding="utf-8")
    loader = importlib.util.spec_from_file_location("softsign_net", path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    exported = module.Net().eval()
    exported.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(exported(x), model(x))


def test_an_inline_operation_missing_from_the_table_is_refused_when_declared() -> None:
    with pytest.raises(ValueError, match=r"Power: unknown inline operation op='pow'"):
        LayerSpec("Power", "merge", "elementwise power", (), _same, op="pow",
                  min_inputs=2, max_inputs=None, examples=(([IMG, IMG], {}),))


def test_fields_after_the_first_five_are_keywords() -> None:
    with pytest.raises(TypeError):
        LayerSpec("Bad", "activation", "positional count", (), _same, SOFTSIGN.count)  # type: ignore[misc]
