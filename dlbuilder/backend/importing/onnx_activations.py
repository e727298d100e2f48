"""ONNX activation operators as our activation layers."""

from __future__ import annotations

import math

from dlbuilder.backend.importing.onnx_nodes import (
    CannotMap,
    Context,
    Converter,
    Layer,
    Node,
    input_or_attr,
    number,
    sample,
    weight,
)

_PLAIN = {"Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Mish": "Mish",
          "HardSwish": "Hardswish", "Identity": "Identity", "SiLU": "SiLU"}


def plain(node: Node, ctx: Context) -> list[Layer]:
    return [Layer(_PLAIN[node.op])]


def leaky_relu(node: Node, ctx: Context) -> list[Layer]:
    return [Layer("LeakyReLU", {"negative_slope": number(node.attrs.get("alpha", 0.01))})]


def elu(node: Node, ctx: Context) -> list[Layer]:
    return [Layer("ELU", {"alpha": number(node.attrs.get("alpha", 1.0))})]


def gelu(node: Node, ctx: Context) -> list[Layer]:
    return [Layer("GELU", {"approximate": node.attrs.get("approximate", "none")})]


def hard_sigmoid(node: Node, ctx: Context) -> list[Layer]:
    alpha, beta = node.attrs.get("alpha", 0.2), node.attrs.get("beta", 0.5)
    if abs(alpha - 1 / 6) > 1e-6 or abs(beta - 0.5) > 1e-6:
        raise CannotMap(f"alpha {number(alpha)} and beta {number(beta)}; Hardsigmoid is "
                        "x/6 + 1/2 (alpha 1/6, beta 0.5)")
    return [Layer("Hardsigmoid")]


def clip(node: Node, ctx: Context) -> list[Layer]:
    low = input_or_attr(node, ctx, 1, "min")
    high = input_or_attr(node, ctx, 2, "max")
    low_v = None if low is None else float(low)
    high_v = None if high is None or math.isinf(float(high)) else float(high)
    if low_v == 0 and high_v == 6:
        return [Layer("ReLU6")]
    if low_v == 0 and high_v is None:
        return [Layer("ReLU")]
    raise CannotMap(f"it clips to [{low_v}, {high_v}]; only [0, 6] (ReLU6) and [0, inf) "
                    "(ReLU) are layers")


def softmax(node: Node, ctx: Context) -> list[Layer]:
    rank = len(sample(ctx, node.inputs[0])) + 1
    axis = node.attrs.get("axis", 1 if ctx.opset < 13 else -1) % rank
    if axis == 0 or (ctx.opset < 13 and axis != rank - 1):
        raise CannotMap(f"softmax over axis {axis} of a {rank}-D tensor mixes samples")
    return [Layer("Softmax", {"dim": axis})]


def prelu(node: Node, ctx: Context) -> list[Layer]:
    slope = weight(node, ctx, 1, "slopes").reshape(-1)
    channels = sample(ctx, node.inputs[0])[0]
    if slope.size not in (1, channels):
        raise CannotMap(f"{slope.size} slopes for {channels} channels; PReLU has 1 or one "
                        "per channel")
    return [Layer("PReLU", {"num_parameters": int(slope.size)}, {"weight": slope})]


ACTIVATIONS: dict[str, Converter] = {
    **dict.fromkeys(_PLAIN, plain), "LeakyRelu": leaky_relu, "Elu": elu, "Gelu": gelu,
    "HardSigmoid": hard_sigmoid, "Clip": clip, "Softmax": softmax, "PRelu": prelu,
}
