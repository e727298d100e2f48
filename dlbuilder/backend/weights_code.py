"""The model class for a set of trained weights: the class as codegen writes it, the
preprocessing the weights were trained with (constants and a `preprocess()` function), and a
docstring that says how the three go together.

Weights trained on normalized inputs score far lower on inputs prepared any other way (LeNet-5
on MNIST: 98.9% normalized, 78.7% scaled to 0..1), so code that travels with weights must carry
their preprocessing, not leave it in the `.pt.json` beside them. `preprocess()` computes what
`Preprocessing.apply` computes, in the same order, so the numbers are the same to the bit.

No torch here, like codegen: the editor and `dlbuilder export` write this before torch loads.
Values reach the text only as numbers, `quoted` strings, or names checked to be plain.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

from dlbuilder.backend.codegen import (
    INDENT,
    check_class_name,
    check_names_free,
    generate_code,
    py_literal,
    quoted,
    wrapped_call,
)
from dlbuilder.backend.plan import ModelPlan, loss_and_target
from dlbuilder.backend.preprocessing import Preprocessing
from dlbuilder.core.registry import format_shape
from dlbuilder.layers.io import CLASS_LOSSES

# Names the appendix binds at module level; the class may not take one of them.
PREPROCESS_NAMES = frozenset({"SAMPLE_SHAPE", "SCALE", "MEAN", "STD", "CLASSES", "preprocess"})
PROSE_WIDTH = 84
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.\- ]+")  # shown as it is in a docstring


def plain_or(text: str, fallback: str) -> str:
    """`text` when it can stand in a docstring as it is, else `fallback`."""
    return text if _PLAIN_NAME.fullmatch(text) and '"' not in text else fallback


def code_with_weights(plan: ModelPlan, class_name: str, weights_name: str,
                      prep: Preprocessing | None) -> str:
    """The model file for the weights file `weights_name` (a name beside it), trained with
    `prep` (None when their `.pt.json` was missing: the docstring then says so)."""
    check_class_name(class_name)
    check_names_free(plan, class_name, PREPROCESS_NAMES, "the exported preprocessing")
    shown = plain_or(weights_name, "the .pt file of the same name")
    literal = quoted(weights_name if shown == weights_name else "weights.pt")
    loading = [*textwrap.wrap(f"The trained weights are in {shown}, beside this file. "
                              + _how_prepared(prep, shown), PROSE_WIDTH), "",
               f"    model = {class_name}()",
               f"    model.load_state_dict(torch.load({literal}, weights_only=True))",
               "    model.eval()"]
    if prep is None:
        return generate_code(plan, class_name, loading=loading, imports=("import torch",))
    loading += ["    with torch.no_grad():",
                (f"        scores = model(preprocess(samples))  # raw samples, "
                 f"{format_shape(prep.sample_shape)} each")]
    loss, target = loss_and_target(plan)
    if loss in CLASS_LOSSES and target == "label" and prep.classes:
        loading.append("    predicted = [CLASSES[i] for i in scores.argmax(1)]")
    return generate_code(plan, class_name, loading=loading, imports=("import torch",),
                         appendix=preprocess_lines(prep))


def _how_prepared(prep: Preprocessing | None, weights: str) -> str:
    if prep is None:
        return ("How their inputs were prepared is not known here: the preprocessing file "
                f"dlbuilder writes beside the weights it saves ({weights}.json) was missing. "
                "Prepare inputs as they were prepared for training:")
    data = plain_or(prep.dataset, "the training data")
    steps = f"divided by {prep.scale:g}"
    if prep.mean:
        steps += ", then normalized with the training split's MEAN and STD"
    return (f"They were trained on {data} samples prepared by preprocess() below ({steps}). "
            "Prepare inputs the same way, or the model will not score as it did in training:")


def preprocess_lines(prep: Preprocessing) -> list[str]:
    """The constants and `preprocess()`: x / SCALE, then (x - MEAN) / STD per channel (images)
    or feature, then the Input's shape."""
    sample = tuple(prep.sample_shape)
    lines = ["# The preprocessing the weights were trained with (as dlbuilder saved it).",
             f"SAMPLE_SHAPE = {py_literal(sample)}", f"SCALE = {py_literal(float(prep.scale))}"]
    if prep.mean:
        lines += [*_tuple_lines("MEAN", prep.mean), *_tuple_lines("STD", prep.std)]
    if prep.classes:
        lines += _tuple_lines("CLASSES", prep.classes)
    body = ["x = torch.as_tensor(x, dtype=torch.float32).reshape(-1, *SAMPLE_SHAPE) / SCALE"]
    result = "x"
    if prep.mean:
        view = ", ".join(["1", "-1", *(["1"] * (len(sample) - 1))])
        body += [f"mean = torch.tensor(MEAN).view({view})",
                 f"std = torch.tensor(STD).view({view})"]
        result = "(x - mean) / std"
    if tuple(prep.input_shape) != sample:
        inner = result if result == "x" else f"({result})"
        result = f"{inner}.reshape(-1, {', '.join(str(n) for n in prep.input_shape)})"
    values = f"values 0 to {prep.scale:g}" if prep.scale != 1 else "as they are"
    docstring = [f'"""Raw samples ({values}) to the network\'s input.', "",
                 *textwrap.wrap(f"`x`: N samples of {format_shape(sample)} values each, or one "
                                "sample, as an array, a list or a tensor; the result is a "
                                "float32 tensor of shape N x "
                                f"{format_shape(tuple(prep.input_shape))}.", PROSE_WIDTH - 4),
                 '"""']
    return [*lines, "", "", "def preprocess(x):",
            *(f"{INDENT}{line}" if line else "" for line in docstring),
            *(f"{INDENT}{line}" for line in body), f"{INDENT}return {result}"]


def _tuple_lines(name: str, values: Sequence[float | str]) -> list[str]:
    items = [py_literal(v) for v in values]
    if len(items) == 1:
        return [f"{name} = ({items[0]},)"]
    return wrapped_call(f"{name} = (", items)
