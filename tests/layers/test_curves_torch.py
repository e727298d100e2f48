"""The activation curves against torch itself (values and autograd), where torch is installed."""

from __future__ import annotations

import pytest

from dlbuilder.layers import REGISTRY

torch = pytest.importorskip("torch")

# every curve with its defaults and with each example's parameters (LayerSpec(examples=...))
CASES = [(spec.type, params) for spec in REGISTRY if spec.curve is not None
         for params in ({}, *(ex.params for ex in spec.examples if ex.params))]


@pytest.mark.parametrize(("type_name", "params"), CASES)
def test_curve_agrees_with_torch(type_name: str, params: dict) -> None:
    from dlbuilder.backend.modules import build_module  # imports torch: only where it is

    spec = REGISTRY.get(type_name)
    p = {**spec.defaults, **{k: spec.param_index[k].check(v) for k, v in params.items()}}
    xs = [i / 8 for i in range(-40, 41)]  # includes 0, the kink
    module = build_module(spec, p, [(len(xs),)])
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    y = module.double()(x)
    y.sum().backward()
    for xi, yi, gi in zip(xs, y.tolist(), x.grad.tolist(), strict=True):
        value, slope = spec.curve(xi, p)
        assert value == pytest.approx(yi, abs=1e-9)
        assert slope == pytest.approx(gi, abs=1e-9), (type_name, xi)
