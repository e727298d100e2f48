"""The activation curves against torch itself (values and autograd), where torch is installed."""

from __future__ import annotations

import pytest

from dlbuilder.layers import REGISTRY

torch = pytest.importorskip("torch")

CASES = [("ReLU", {}), ("LeakyReLU", {"negative_slope": 0.1}), ("Sigmoid", {}), ("Tanh", {}),
         ("ELU", {"alpha": 0.7}), ("GELU", {}), ("GELU", {"approximate": "tanh"})]


@pytest.mark.parametrize(("type_name", "params"), CASES)
def test_curve_agrees_with_torch(type_name: str, params: dict) -> None:
    spec = REGISTRY.get(type_name)
    p = {**spec.defaults, **params}
    module = getattr(torch.nn, type_name)(**params)
    xs = [i / 8 for i in range(-40, 41)]  # includes 0, the kink
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    y = module(x)
    y.sum().backward()
    for xi, yi, gi in zip(xs, y.tolist(), x.grad.tolist()):
        value, slope = spec.curve(xi, p)
        assert value == pytest.approx(yi, abs=1e-9)
        assert slope == pytest.approx(gi, abs=1e-9), (type_name, xi)
