"""Whether a run can start: errors in the graph, bad settings, and whether a dataset fits the
graph, said in the user's terms before anything trains. No torch: the editor asks it live, to
block Start with the list of what to fix."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbuilder.backend.datasets import Dataset
from dlbuilder.backend.plan import CompileError, ModelPlan, build_plan, loss_and_target
from dlbuilder.backend.settings import SettingsError, resolve_settings
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.registry import format_shape
from dlbuilder.layers.io import CLASS_LOSSES


def result_node(engine: InferenceEngine) -> str | None:
    """The node whose value the network returns: the Output's input, or the single end."""
    graph = engine.graph
    for node in graph.nodes():
        if graph.type_of(node) == "Output":
            inputs = graph.inputs(node)
            return inputs[0] if inputs else None
    ends = [node for node in graph.nodes() if not graph.outputs(node)]
    return ends[0] if len(ends) == 1 else None


def _prod(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape)) if shape else 1


def fit_problems(plan: ModelPlan, dataset: Dataset, output_node: str | None) -> list[str]:
    """How the data and the graph disagree, in the user's terms; empty when they fit.

    An Input whose shape holds as many values as a sample (784 for 1x28x28) is fine: the
    samples are reshaped to it, as a multilayer perceptron on images expects.
    """
    problems = []
    data_shape = tuple(dataset.sample_shape)
    noun = "images are" if dataset.kind == "image" else "samples are"
    if tuple(plan.input_shape) != data_shape and _prod(plan.input_shape) != _prod(data_shape):
        problems.append(f"Input is {format_shape(plan.input_shape)} but {dataset.name} {noun} "
                        f"{format_shape(data_shape)}: set the Input's shape to "
                        f"{list(data_shape)}")
    out = tuple(plan.output_shape)
    who = output_node or "the network's last layer"
    loss, target = loss_and_target(plan)
    if target == "input":  # the graph's own check (target_shape) compares output and Input
        return problems
    classes = len(dataset.classes)
    if len(out) != 1 or out[0] != classes:
        values = f"{out[0]} values" if len(out) == 1 else format_shape(out)
        problems.append(f"{who} gives {values} but {dataset.name} has {classes} classes: "
                        f"give it {classes} outputs" + ("" if loss in CLASS_LOSSES
                                                        else " (one per class, one-hot)"))
    return problems


def start_problems(engine: InferenceEngine, training: dict[str, Any], dataset: Any | None,
                   data_failure: str | None = None) -> tuple[list[str], list[str]]:
    """Why a run cannot start: (errors in the graph, with the node, and bad settings, with the
    setting; how the loaded data does not fit the graph). Data not loaded yet is no reason:
    the run loads (or downloads) it and says so."""
    problems = [f"{d.node}: {d.message}" if d.node else d.message
                for d in engine.diagnostics() if d.severity == "error"]
    if data_failure:
        problems.append(f"the data cannot be read: {data_failure}")
    try:
        resolve_settings(training)
    except SettingsError as err:
        problems += err.problems
    if dataset is None or engine.has_errors():
        return problems, []
    try:
        plan = build_plan(engine)
    except CompileError:
        return problems, []
    return problems, fit_problems(plan, dataset, result_node(engine))
