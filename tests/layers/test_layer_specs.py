"""The shared test every layer declaration passes (DESIGN.md habit 8).

For each case: the inferred shape equals torch's real output shape, the parameter count equals
sum(numel) of the module's parameters (buffers likewise), mult-adds equal torchinfo's count, the
explanation quotes the numbers, and a graph holding the layer round-trips through the file.
"""

from __future__ import annotations

import pytest
from helpers import engine_for
from layer_checks import (
    check_explanation,
    check_file_round_trip,
    check_mult_adds,
    check_shape_and_counts,
    checked_params,
)

from dlbuilder.core.graph import Graph
from dlbuilder.core.ops import OPS
from dlbuilder.layers import REGISTRY

# every declaration's examples (LayerSpec(examples=...)): a new type brings its own cases
ALL_CASES = [(spec.type, ex.inputs, ex.params) for spec in REGISTRY for ex in spec.examples]


def test_every_registered_type_has_examples() -> None:
    missing = [spec.type for spec in REGISTRY if not spec.examples]
    assert not missing, f"give these declarations examples=: {', '.join(missing)}"


# -- every registered declaration, through its examples -----------------------------------------
@pytest.mark.parametrize(("type_name", "ins", "params"), ALL_CASES)
def test_shape_and_counts_match_torch(type_name: str, ins: list, params: dict) -> None:
    check_shape_and_counts(REGISTRY.get(type_name), ins, params)


@pytest.mark.parametrize(("type_name", "ins", "params"),
                         [c for c in ALL_CASES if REGISTRY.get(c[0]).torch_class])
def test_mult_adds_match_torchinfo(type_name: str, ins: list, params: dict) -> None:
    check_mult_adds(REGISTRY.get(type_name), ins, params)


@pytest.mark.parametrize(("type_name", "ins", "params"), ALL_CASES)
def test_explanation_quotes_the_numbers(type_name: str, ins: list, params: dict) -> None:
    check_explanation(REGISTRY.get(type_name), ins, params)


@pytest.mark.parametrize(("type_name", "ins", "params"), ALL_CASES)
def test_file_round_trip(type_name: str, ins: list, params: dict) -> None:
    check_file_round_trip(REGISTRY, REGISTRY.get(type_name), ins, params)


def test_registry_refuses_duplicates() -> None:
    with pytest.raises(ValueError, match="already registered"):
        REGISTRY.register(REGISTRY.get("Conv2d"))


def test_declarations_name_torch_classes_as_strings() -> None:
    for spec in REGISTRY:
        assert spec.torch_class is None or spec.torch_class.startswith("torch.nn.")
        if spec.torch_class is None:
            assert spec.op in OPS or spec.role in ("input", "output")


def test_course_formula_example() -> None:
    """The numbers from the issue: a 5x5 conv with padding 1 on 28x28, 10 filters."""
    spec = REGISTRY.get("Conv2d")
    p = checked_params(spec, {"out_channels": 10, "kernel_size": 5, "padding": 1})
    lines = spec.explain([(1, 28, 28)], p, (10, 26, 26))
    assert any("H = (28 - 5 + 2*1)/1 + 1 = 26" in line for line in lines)
    assert any("params = (F*F*D1)*K + K = (5*5*1)*10 + 10 = 260" in line for line in lines)
    assert spec.key_params(p) == "5x5 s1 p1 -> 10"


@pytest.mark.parametrize("spec", list(REGISTRY), ids=lambda s: s.type)
def test_a_newly_placed_node_has_no_parameter_problems(spec) -> None:
    """The palette places nodes with start_params(): required fields must be filled in."""
    graph = Graph("palette")
    if spec.role != "input":
        input_type = next(iter(REGISTRY.types_with_role("input")))
        graph.add_node("in", input_type, {"shape": [3, 16, 16]})
    graph.add_node("x", spec.type, spec.start_params())
    if spec.role != "input":
        graph.add_edge("in", "x")
    problems = [d.code for d in engine_for(graph).diagnostics() if d.node == "x"]
    assert not [c for c in problems if c.startswith("param_")], problems
