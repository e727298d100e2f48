"""Activations: elementwise functions (and Softmax across one dimension); no weights."""

from __future__ import annotations

from collections.abc import Callable

from dlbuilder.core.diagnostics import ChangeParams, ShapeProblem
from dlbuilder.core.params import ParamSpec
from dlbuilder.core.registry import Example, LayerSpec, Params, Shape, format_shape
from dlbuilder.layers import curves
from dlbuilder.layers.common import IMG, float_param, int_param

Curve = Callable[[float, Params], tuple[float, float]]


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
            examples: tuple[Example, ...] = (([IMG], {}),)) -> LayerSpec:
    """An elementwise activation without weights: torch.nn.<type_name>, one value per value."""
    first = params[0].name if params else ""
    return LayerSpec(
        type_name, "activation", summary, params, _same, explain=_explainer(formula),
        torch_class=f"torch.nn.{type_name}",
        key_params=(lambda p: f"{key} {p[first]:g}") if key else (lambda p: ""),
        curve=curve, examples=examples)


def softmax_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    dim = p["dim"]
    axis = (dim + len(out) + 1 if dim < 0 else dim) - 1
    return [f"f(x)_i = e^x_i / sum_j e^x_j over dim {dim} ({out[axis]} values that sum to 1)",
            f"output = input = {format_shape(out)}", "params = 0"]


SPECS = (
    _simple("ReLU", "max(0, x): the default choice for hidden layers", lambda p: "max(0, x)",
            curves.relu),
    _simple("LeakyReLU", "x for x > 0, a small slope times x below",
            lambda p: f"x if x > 0, else {p['negative_slope']:g}*x", curves.leaky_relu,
            (float_param("negative_slope", 0.01, "slope for negative inputs"),), "slope",
            examples=(([(5,)], {"negative_slope": 0.2}),)),
    _simple("Sigmoid", "1 / (1 + e^-x): squashes to (0, 1)", lambda p: "1 / (1 + e^-x)",
            curves.sigmoid),
    _simple("Tanh", "squashes to (-1, 1), centred on zero",
            lambda p: "(e^x - e^-x) / (e^x + e^-x)", curves.tanh),
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
              examples=(([(10,)], {}), ([IMG], {"dim": -1}))),
)
