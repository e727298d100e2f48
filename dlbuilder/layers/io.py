"""Input (the per-sample shape, no batch) and Output (the loss and what it compares with)."""

from __future__ import annotations

from dlbuilder.core.diagnostics import ShapeProblem
from dlbuilder.core.params import REQUIRED, ParamSpec
from dlbuilder.core.registry import LayerSpec, Params, Shape, format_shape
from dlbuilder.layers.common import IMG

LOSSES = ("CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
          "BCELoss", "BCEWithLogitsLoss")
CLASS_LOSSES = ("CrossEntropyLoss", "NLLLoss")
_WORDS = {1: "features", 2: "channels x length", 3: "channels x height x width"}


def input_shape(ins: list[Shape], p: Params) -> Shape:
    return p["shape"]


def input_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    return [(f"each sample is {format_shape(out)} ({_WORDS[len(out)]}); the batch dimension "
            "is left out everywhere")]


def output_shape(ins: list[Shape], p: Params) -> Shape:
    shape = ins[0]
    if p["target"] == "label" and p["loss"] in CLASS_LOSSES and len(shape) != 1:
        raise ShapeProblem(
            "loss_shape",
            f"{p['loss']} with class labels needs one score per class (a vector), but gets "
            f"{format_shape(shape)}; add Flatten and a Linear with one output per class", "loss")
    return shape


def output_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    target = "the class label" if p["target"] == "label" else "the input itself (autoencoder)"
    return [(f"the network's result {format_shape(out)} goes to {p['loss']}, compared with "
            f"{target}")]


SPECS = (
    LayerSpec("Input", "io", "the data going in: one sample's shape, without the batch",
              (ParamSpec("shape", "shape", REQUIRED, "[C, H, W] for images, [F] for vectors",
                         initial=[1, 28, 28]),),
              input_shape, explain=input_explain, role="input", min_inputs=0, max_inputs=0,
              key_params=lambda p: format_shape(p["shape"]),
              examples=(([], {"shape": [3, 12, 10]}), ([], {"shape": [20]}))),
    LayerSpec("Output", "io", "the result, and the loss used to train it",
              (ParamSpec("loss", "choice", "CrossEntropyLoss", "the training loss",
                         choices=LOSSES),
               ParamSpec("target", "choice", "label", "label: classify; input: reconstruct",
                         choices=("label", "input"))),
              output_shape, explain=output_explain, role="output",
              key_params=lambda p: p["loss"],
              examples=(([(10,)], {}), ([IMG], {"loss": "MSELoss", "target": "input"}))),
)
