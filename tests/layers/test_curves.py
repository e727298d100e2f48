"""Activation curves (LayerSpec.curve): known values, and derivatives that agree with the
numerical slope of the values. Pure Python; never imports torch."""

from __future__ import annotations

import math

import pytest

from dlbuilder.layers import REGISTRY

CURVED = [spec.type for spec in REGISTRY if spec.curve is not None]
XS = [-6.0, -3.3, -1.0, -0.25, 0.3, 1.0, 2.5, 7.0]  # away from kinks at 0, -3, 3 and 6

# the defaults, then each example's parameters (LayerSpec(examples=...)), of every curve
PARAM_CASES = [(spec.type, params) for spec in REGISTRY if spec.curve is not None
               for params in ({}, *(ex.params for ex in spec.examples if ex.params))]


def curve_of(type_name: str, **params):
    spec = REGISTRY.get(type_name)
    p = {**spec.defaults, **params}
    return lambda x: spec.curve(x, p)


def test_exactly_the_elementwise_activations_have_curves() -> None:
    """Every activation has its curve in layers/curves.py, except one that works across a
    dimension (Softmax: role "probabilities"); nothing else has one."""
    elementwise = {spec.type for spec in REGISTRY
                   if spec.category == "activation" and spec.role != "probabilities"}
    assert set(CURVED) == elementwise
    assert REGISTRY.get("Softmax").curve is None
    assert {"ReLU", "Sigmoid", "GELU"} <= elementwise


@pytest.mark.parametrize(("type_name", "params"), PARAM_CASES)
@pytest.mark.parametrize("x", XS)
def test_derivative_matches_numerical_slope(type_name: str, params: dict, x: float) -> None:
    """Away from a kink the derivative is the numerical slope; at a kink (wherever the sample
    point happens to meet one, e.g. a clamp at a parameter's value) it lies between the slopes
    from the left and the right, as autograd's choice there does (test_curves_torch checks
    which one)."""
    f = curve_of(type_name, **params)
    h = 1e-6
    left = (f(x)[0] - f(x - h)[0]) / h
    right = (f(x + h)[0] - f(x)[0]) / h
    derivative = f(x)[1]
    if abs(left - right) > 1e-3 * max(1.0, abs(left), abs(right)):
        assert min(left, right) - 1e-6 <= derivative <= max(left, right) + 1e-6
        return
    slope = (f(x + h)[0] - f(x - h)[0]) / (2 * h)
    assert derivative == pytest.approx(slope, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize(("type_name", "params", "x", "value", "slope"), [
    ("ReLU", {}, -2.0, 0.0, 0.0),
    ("ReLU", {}, 3.0, 3.0, 1.0),
    ("ReLU", {}, 0.0, 0.0, 0.0),  # torch's subgradient at the kink
    ("LeakyReLU", {}, -2.0, -0.02, 0.01),
    ("LeakyReLU", {"negative_slope": 0.2}, -1.0, -0.2, 0.2),
    ("Sigmoid", {}, 0.0, 0.5, 0.25),
    ("Sigmoid", {}, math.log(3), 0.75, 0.1875),
    ("Tanh", {}, 0.0, 0.0, 1.0),
    ("Tanh", {}, 1.0, 0.7615941559557649, 0.41997434161402614),
    ("ELU", {}, 0.0, 0.0, 1.0),
    ("ELU", {"alpha": 2.0}, -1.0, 2.0 * (math.exp(-1) - 1), 2.0 * math.exp(-1)),
    ("ELU", {}, 2.0, 2.0, 1.0),
    ("GELU", {}, 0.0, 0.0, 0.5),
    ("GELU", {}, 1.0, 0.8413447460685429, 1.0833154705876864),
    ("GELU", {}, -1.0, -0.15865525393145707, -0.08331547058768643),
    ("GELU", {"approximate": "tanh"}, 1.0, 0.8411919906082768, 1.0829640838457826),
    ("ReLU6", {}, 0.0, 0.0, 0.0),  # torch's subgradients at both kinks
    ("ReLU6", {}, 6.0, 6.0, 0.0),
    ("ReLU6", {}, 9.0, 6.0, 0.0),
    ("SiLU", {}, 0.0, 0.0, 0.5),
    ("SiLU", {}, math.log(3), 0.75 * math.log(3), 0.75 + 0.1875 * math.log(3)),
    ("Hardswish", {}, -3.0, 0.0, 0.0),
    ("Hardswish", {}, 0.0, 0.0, 0.5),
    ("Hardswish", {}, 3.0, 3.0, 1.0),
    ("Hardsigmoid", {}, 0.0, 0.5, 1 / 6),
    ("Hardsigmoid", {}, 3.0, 1.0, 0.0),
    ("Mish", {}, 0.0, 0.0, math.tanh(math.log(2))),
    ("PReLU", {}, -2.0, -0.5, 0.25),
    ("PReLU", {"init": 0.1}, 0.0, 0.0, 0.1),
])
def test_known_points(type_name: str, params: dict, x: float, value: float, slope: float) -> None:
    assert curve_of(type_name, **params)(x) == pytest.approx((value, slope), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("type_name", CURVED)
def test_far_tails_are_finite(type_name: str) -> None:
    f = curve_of(type_name)
    for x in (-1000.0, 1000.0):
        assert all(math.isfinite(v) for v in f(x))
