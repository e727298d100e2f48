"""Activations: elementwise functions (and Softmax across one dimension); PReLU learns its slope."""

from __future__ import annotations

from collections.abc import Callable

from dlbuilder.core.diagnostics import ChangeParams, ShapeProblem
from dlbuilder.core.params import ParamSpec
from dlbuilder.core.registry import Example, LayerSpec, Params, Shape, format_shape
from dlbuilder.layers import curves
from dlbuilder.layers import receptive_maps as maps
from dlbuilder.layers.common import IMG, float_param, int_param

Curve = Callable[[float, Params], tuple[float, float]]
_RECTIFYING = frozenset({"rectifying"})  # exactly 0 below a point: its units can die


def _same(ins: list[Shape], p: Params) -> Shape:
    return ins[0]


def softmax_shape(ins: list[Shape], p: Params) -> Shape:
    shape = ins[0]
    rank = len(shape)
    dim = p["dim"]
    if dim == 0 or dim == -(rank + 1):
        raise ShapeProblem("bad_dim", f"dim {dim} is the batch dimension: softmax would mix "
                           "different samples; use 1 (the classes)", "dim",
                           ChangeParams({"dim": None}))
    if not -rank <= dim <= rank:
        raise ShapeProblem("bad_dim", f"dim {dim} is outside the input {format_shape(shape)} "
                           f"(per-sample dimensions 1 to {rank}, or -1 to -{rank})", "dim",
                           ChangeParams({"dim": None}))
    return shape


def _explainer(formula: Callable[[Params], str]) -> Callable[[list[Shape], Params, Shape],
                                                            list[str]]:
    def explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
        return [f"f(x) = {formula(p)}, applied to each value",
                f"output = input = {format_shape(out)}", "params = 0"]
    return explain


def _simple(type_name: str, summary: str, formula: Callable[[Params], str], curve: Curve,
            params: tuple[ParamSpec, ...] = (), key: str | None = None,
            examples: tuple[Example, ...] = (([IMG], {}),),
            traits: frozenset[str] = frozenset()) -> LayerSpec:
    """An elementwise activation without weights: torch.nn.<type_name>, one value per value."""
    first = params[0].name if params else ""
    return LayerSpec(
        type_name, "activation", summary, params, _same, explain=_explainer(formula),
        torch_class=f"torch.nn.{type_name}",
        key_params=(lambda p: f"{key} {p[first]:g}") if key else (lambda p: ""),
        curve=curve, examples=examples, traits=traits)


def prelu_shape(ins: list[Shape], p: Params) -> Shape:
    """One learned slope, or one per channel (dim 1 of the batch: C of an image, F of a vector)."""
    channels, n = ins[0][0], p["num_parameters"]
    if n not in (1, channels):
        raise ShapeProblem(
            "channels_mismatch",
            f"num_parameters {n} must be 1 (one slope shared by all) or the input's "
            f"{channels} channels (one slope per channel) for input {format_shape(ins[0])}",
            "num_parameters", ChangeParams({"num_parameters": channels}),
            f"Set num_parameters to {channels} (one slope per channel)")
    return ins[0]


def prelu_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    n = p["num_parameters"]
    which = "one slope shared by every channel" if n == 1 else f"one slope per channel (C = {n})"
    return [f"f(x) = x if x > 0, else a*x, with a learned (starts at {p['init']:g})",
            f"output = input = {format_shape(out)}", f"params = {n} ({which})"]


def softmax_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    dim = p["dim"]
    axis = (dim + len(out) + 1 if dim < 0 else dim) - 1
    return [f"f(x)_i = e^x_i / sum_j e^x_j over dim {dim} ({out[axis]} values that sum to 1)",
            f"output = input = {format_shape(out)}", "params = 0"]


SPECS = (
    _simple("ReLU", "max(0, x): the default choice for hidden layers", lambda p: "max(0, x)",
            curves.relu, traits=_RECTIFYING),
    _simple("LeakyReLU", "x for x > 0, a small slope times x below",
            lambda p: f"x if x > 0, else {p['negative_slope']:g}*x", curves.leaky_relu,
            (float_param("negative_slope", 0.01, "slope for negative inputs"),), "slope",
            examples=(([(5,)], {"negative_slope": 0.2}),)),
    _simple("Sigmoid", "1 / (1 + e^-x): squashes to (0, 1)", lambda p: "1 / (1 + e^-x)",
            curves.sigmoid, traits=frozenset({"saturating"})),
    _simple("Tanh", "squashes to (-1, 1), centred on zero",
            lambda p: "(e^x - e^-x) / (e^x + e^-x)", curves.tanh,
            traits=frozenset({"saturating"})),
    _simple("ELU", "x for x > 0, alpha*(e^x - 1) below",
            lambda p: f"x if x > 0, else {p['alpha']:g}*(e^x - 1)", curves.elu,
            (float_param("alpha", 1.0, "value approached for very negative inputs"),), "alpha",
            examples=(([(5,)], {"alpha": 0.5}),)),
    _simple("GELU", "x times the Gaussian CDF of x: smooth ReLU of transformers",
            lambda p: "x * Phi(x)" + (
                ", Phi approximated with tanh" if p["approximate"] == "tanh" else ""),
            curves.gelu,
            (ParamSpec("approximate", "choice", "none", "tanh: a faster approximation",
                       choices=("none", "tanh")),),
            examples=(([(5,)], {"approximate": "tanh"}),)),
    LayerSpec("Softmax", "activation", "turns scores into probabilities that sum to 1",
              (int_param("dim", 1, "dimension that sums to 1 (1: the classes)", minimum=None),),
              softmax_shape, explain=softmax_explain, torch_class="torch.nn.Softmax",
              role="probabilities", key_params=lambda p: f"dim {p['dim']}",
              receptive=maps.along_dim,
              examples=(([(10,)], {}), ([IMG], {"dim": -1}))),
    _simple("ReLU6", "ReLU capped at 6: robust in low precision (MobileNet)",
            lambda p: "min(max(0, x), 6)", curves.relu6, traits=_RECTIFYING),
    _simple("SiLU", "x * sigmoid(x), also called swish: smooth, dips below zero (EfficientNet)",
            lambda p: "x / (1 + e^-x)", curves.silu, examples=(([(5,)], {}),)),
    _simple("Hardswish", "x * ReLU6(x + 3)/6: a cheap swish of straight pieces (MobileNetV3)",
            lambda p: "x * min(max(0, x + 3), 6) / 6", curves.hardswish, traits=_RECTIFYING),
    _simple("Hardsigmoid", "ReLU6(x + 3)/6: a cheap sigmoid, the gate of MobileNetV3's SE blocks",
            lambda p: "min(max(0, x + 3), 6) / 6", curves.hardsigmoid,
            examples=(([(4, 9)], {}),), traits=_RECTIFYING),
    _simple("Mish", "x * tanh(softplus(x)): a smooth self-gated activation",
            lambda p: "x * tanh(ln(1 + e^x))", curves.mish),
    LayerSpec("PReLU", "activation", "a leaky ReLU whose negative slope is learned",
              (int_param("num_parameters", 1, "learned slopes: 1, or one per input channel"),
               float_param("init", 0.25, "starting value of the slope(s)")),
              prelu_shape, count=lambda ins, p: (p["num_parameters"], 0), explain=prelu_explain,
              torch_class="torch.nn.PReLU", curve=curves.prelu,
              key_params=lambda p: f"{p['num_parameters']} slope"
              + ("s" if p["num_parameters"] != 1 else ""),
              examples=(([IMG], {}), ([IMG], {"num_parameters": 3, "init": 0.125}),
                        ([(7,)], {"num_parameters": 7}))),
)
