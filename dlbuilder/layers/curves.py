"""Activation curves: value and derivative at x, in plain Python math.

The inspector plots these next to an activation's fields, so a student sees f(x) and f'(x) for
the parameters they typed. Where a function has a kink (ReLU at 0) the derivative is the one
torch's autograd uses there, so the plot agrees with training.
"""

from __future__ import annotations

import math

from dlbuilder.core.registry import Params

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_SCALE = math.sqrt(2.0 / math.pi)
_TANH_CUBIC = 0.044715


def relu(x: float, p: Params) -> tuple[float, float]:
    return (x, 1.0) if x > 0 else (0.0, 0.0)


def leaky_relu(x: float, p: Params) -> tuple[float, float]:
    slope = float(p.get("negative_slope", 0.01))
    return (x, 1.0) if x > 0 else (slope * x, slope)


def sigmoid(x: float, p: Params) -> tuple[float, float]:
    # two forms so that neither exp() overflows for large |x|
    if x >= 0:
        s = 1.0 / (1.0 + math.exp(-x))
    else:
        e = math.exp(x)
        s = e / (1.0 + e)
    return s, s * (1.0 - s)


def tanh(x: float, p: Params) -> tuple[float, float]:
    t = math.tanh(x)
    return t, 1.0 - t * t


def elu(x: float, p: Params) -> tuple[float, float]:
    alpha = float(p.get("alpha", 1.0))
    if x > 0:
        return x, 1.0
    e = math.exp(x)
    return alpha * (e - 1.0), alpha * e


def gelu(x: float, p: Params) -> tuple[float, float]:
    """x * Phi(x) with the exact Gaussian CDF, or torch's tanh approximation when chosen."""
    if p.get("approximate") == "tanh":
        return _gelu_tanh(x)
    cdf = 0.5 * (1.0 + math.erf(x / _SQRT_2))
    pdf = _INV_SQRT_2PI * math.exp(-0.5 * x * x)
    return x * cdf, cdf + x * pdf


def _gelu_tanh(x: float) -> tuple[float, float]:
    inner = _TANH_SCALE * (x + _TANH_CUBIC * x ** 3)
    t = math.tanh(inner)
    d_inner = _TANH_SCALE * (1.0 + 3.0 * _TANH_CUBIC * x * x)
    return 0.5 * x * (1.0 + t), 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner


def relu6(x: float, p: Params) -> tuple[float, float]:
    """min(max(0, x), 6); autograd gives slope 0 at both kinks (0 and 6)."""
    if x <= 0:
        return 0.0, 0.0
    if x >= 6:
        return 6.0, 0.0
    return x, 1.0


def silu(x: float, p: Params) -> tuple[float, float]:
    s = sigmoid(x, p)[0]
    return x * s, s * (1.0 + x * (1.0 - s))


def hardsigmoid(x: float, p: Params) -> tuple[float, float]:
    """relu6(x + 3) / 6; autograd gives slope 0 at -3 and at 3."""
    if x <= -3:
        return 0.0, 0.0
    if x >= 3:
        return 1.0, 0.0
    return x / 6.0 + 0.5, 1.0 / 6.0


def hardswish(x: float, p: Params) -> tuple[float, float]:
    """x * relu6(x + 3) / 6; autograd gives slope 0 at -3 and 1 at 3."""
    if x <= -3:
        return 0.0, 0.0
    if x >= 3:
        return x, 1.0
    return x * (x + 3.0) / 6.0, x / 3.0 + 0.5


def mish(x: float, p: Params) -> tuple[float, float]:
    """x * tanh(softplus(x)); softplus is x itself past 20, as torch computes it."""
    softplus = x if x > 20 else math.log1p(math.exp(x))
    t = math.tanh(softplus)
    s = sigmoid(x, p)[0]
    return x * t, t + x * s * (1.0 - t * t)


def prelu(x: float, p: Params) -> tuple[float, float]:
    """A leaky ReLU whose slope is learned; the plot shows it at its starting value `init`."""
    slope = float(p.get("init", 0.25))
    return (x, 1.0) if x > 0 else (slope * x, slope)
