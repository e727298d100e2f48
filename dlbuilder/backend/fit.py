"""Whether a run can start: errors in the graph, bad settings, and whether a dataset fits the
graph, said in the user's terms before anything trains. No torch: the editor asks it live, to
block Start with the list of what to fix."""

from __future__ import annotations

from dataclasses import dataclass
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
    graph, role = engine.graph, engine.registry.role_of
    for node in graph.nodes():
        if role(graph.type_of(node)) == "output":
            inputs = graph.inputs(node)
            return inputs[0] if inputs else None
    ends = [node for node in graph.nodes() if not graph.outputs(node)]
    return ends[0] if len(ends) == 1 else None


def _prod(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape)) if shape else 1


@dataclass(frozen=True)
class Fit:
    """How the loaded data fits the graph: the disagreements found, and `unknown`, a sentence
    saying what could not be checked (an Input or output size the graph's errors hide)."""

    problems: tuple[str, ...] = ()
    unknown: str | None = None


def fit_problems(plan: ModelPlan, dataset: Dataset, output_node: str | None) -> list[str]:
    """How the data and the graph disagree, in the user's terms; empty when they fit.

    An Input whose shape holds as many values as a sample (784 for 1x28x28) is fine: the
    samples are reshaped to it, as a multilayer perceptron on images expects.
    """
    return (_input_problems(tuple(plan.input_shape), dataset)
            + _output_problems(tuple(plan.output_shape), *loss_and_target(plan), dataset,
                               output_node))


def _input_problems(shape: tuple[int, ...], dataset: Dataset) -> list[str]:
    data_shape = tuple(dataset.sample_shape)
    noun = "images are" if dataset.kind == "image" else "samples are"
    if shape != data_shape and _prod(shape) != _prod(data_shape):
        return [(f"Input is {format_shape(shape)} but {dataset.name} {noun} "
                 f"{format_shape(data_shape)}: set the Input's shape to {list(data_shape)}")]
    return []


def _output_problems(out: tuple[int, ...], loss: str, target: str, dataset: Dataset,
                     output_node: str | None) -> list[str]:
    if target == "input":  # the graph's own check (target_shape) compares output and Input
        return []
    classes = len(dataset.classes)
    if len(out) == 1 and out[0] == classes:
        return []
    who = output_node or "the network's last layer"
    values = f"{out[0]} values" if len(out) == 1 else format_shape(out)
    hint = "" if loss in CLASS_LOSSES else " (one per class, one-hot)"
    return [(f"{who} gives {values} but {dataset.name} has {classes} classes: give it "
             f"{classes} outputs{hint}")]


def check_fit(engine: InferenceEngine, dataset: Dataset) -> Fit:
    """The fit of `dataset` to the engine's graph, errors or not: what the graph's errors hide
    is said to be unknown, never taken to fit."""
    if not engine.has_errors():
        try:
            plan = build_plan(engine)
        except CompileError:
            pass
        else:
            return Fit(tuple(fit_problems(plan, dataset, result_node(engine))))
    graph, problems, hidden = engine.graph, [], []
    inputs = [n for n in graph.nodes() if engine.registry.role_of(graph.type_of(n)) == "input"]
    in_shape = engine.info(inputs[0]).output_shape if len(inputs) == 1 else None
    if in_shape is None:
        hidden.append("the Input")
    else:
        problems += _input_problems(tuple(in_shape), dataset)
    end = result_node(engine)
    out_shape = engine.info(end).output_shape if end is not None else None
    loss = _loss_and_target(engine)
    if out_shape is None or loss is None:
        hidden.append("the output")
    else:
        problems += _output_problems(tuple(out_shape), *loss, dataset, end)
    unknown = (f"Whether the data fits {' and '.join(hidden)} shows once the graph's errors "
               "are fixed") if hidden else None
    return Fit(tuple(problems), unknown)


def _loss_and_target(engine: InferenceEngine) -> tuple[str, str] | None:
    """The Output's loss and target (None while they are wrong); without an Output, its
    declaration's defaults, as a plan takes them."""
    graph, registry = engine.graph, engine.registry
    output = next((n for n in graph.nodes() if registry.role_of(graph.type_of(n)) == "output"),
                  None)
    declared = registry.get(next(iter(registry.types_with_role("output")))).defaults
    params = engine.checked_params(output) if output is not None else declared
    return (params["loss"], params["target"]) if params else None


def start_problems(engine: InferenceEngine, training: dict[str, Any], dataset: Any | None,
                   data_failure: str | None = None) -> tuple[list[str], Fit | None]:
    """Why a run cannot start: (errors in the graph, with the node, and bad settings, with the
    setting; how the loaded data fits the graph, None while no data is loaded). Data not
    loaded yet is no reason: the run loads (or downloads) it and says so."""
    problems = [f"{d.node}: {d.message}" if d.node else d.message
                for d in engine.diagnostics() if d.severity == "error"]
    if data_failure:
        problems.append(f"the data cannot be read: {data_failure}")
    try:
        resolve_settings(training)
    except SettingsError as err:
        problems += err.problems
    if dataset is None:
        return problems, None
    return problems, check_fit(engine, dataset)
