"""The activation curves against torch itself (values and autograd), where torch is installed."""

from __future__ import annotations

import math

import pytest

from dlbuilder.core.registry import prod
from dlbuilder.layers import REGISTRY

torch = pytest.importorskip("torch")

# every curve with its defaults and with each example's parameters (LayerSpec(examples=...)),
# each on its example's input shape (a per-channel PReLU needs its channels)
CASES = [(spec.type, ex.inputs[0], params) for spec in REGISTRY if spec.curve is not None
         for ex in spec.examples for params in ({}, ex.params)
         if params or ex is spec.examples[0]]
XS = [i / 8 for i in range(-64, 65)]  # -8 to 8, with the kinks: 0, -3, 3 and 6


@pytest.mark.parametrize(("type_name", "shape", "params"), CASES)
def test_curve_agrees_with_torch(type_name: str, shape: tuple, params: dict) -> None:
    from dlbuilder.backend.modules import build_module  # imports torch: only where it is

    spec = REGISTRY.get(type_name)
    p = {**spec.defaults, **{k: spec.param_index[k].check(v) for k, v in params.items()}}
    module = build_module(spec, p, [shape])
    batch = math.ceil(len(XS) / prod(shape))  # every x at least once
    xs = (XS * batch * prod(shape))[:batch * prod(shape)]
    x = torch.tensor(xs, dtype=torch.float64).reshape(batch, *shape).requires_grad_()
    y = module.double()(x)
    y.sum().backward()
    for xi, yi, gi in zip(xs, y.flatten().tolist(), x.grad.flatten().tolist(),
                          strict=True):
        value, slope = spec.curve(xi, p)
        assert value == pytest.approx(yi, abs=1e-9), (type_name, xi)
        # rel: torch's Hardsigmoid backward multiplies by 1/6 as a float32 constant
        assert slope == pytest.approx(gi, rel=1e-7, abs=1e-9), (type_name, xi)
