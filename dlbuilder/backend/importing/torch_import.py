"""Importing a PyTorch model: trace it with torch.fx, map it to a graph with blocks, lay it
out, and take its weights under the exported class's keys.

The phases are separate functions so they can be timed apart (benchmarks/import.py):
`trace_model` (torch's work: tracing and the shapes on fake tensors), `map_traced` (ours:
drafts, block types, weights by node path), `lay_out` (ours) and `weights_of` (building the
exported class's state_dict). `import_model` runs them all; `import_module` first builds the
model a spec names (running the user's own code; see loading.py).

torch.fx's symbolic tracing was chosen over torch.export/dynamo: it keeps the module
hierarchy as written (every call of a submodule, with its arguments), leaves torch.nn
modules whole, needs no example input to trace, and reports what it cannot follow at the
place in the user's code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from dlbuilder.backend.compiler import NodePath
from dlbuilder.backend.importing.building import Builder
from dlbuilder.backend.importing.grouping import Grouper, layer_tensors
from dlbuilder.backend.importing.loading import build_model, split_spec
from dlbuilder.backend.importing.report import ImportFailed, ImportRefused
from dlbuilder.backend.importing.result import Imported, exported_state
from dlbuilder.backend.importing.tracing import Traced, trace
from dlbuilder.core.graph import Graph
from dlbuilder.core.layout import layout_for_view

VIEW = (1600, 900)  # the canvas a fresh window shows: the layout wraps its rows to fit it


@dataclass
class Mapped:
    """A model mapped to a graph, with each layer's tensors by node path."""

    graph: Graph
    tensors: dict[NodePath, dict[str, torch.Tensor]]
    notes: list[str] = field(default_factory=list)


def import_module(spec: str, input_shape: tuple[int, ...] | None = None) -> Imported:
    """Build and import the model `spec` names (`path/file.py:NAME`, `package.module:NAME`).
    Runs that Python code: it is the user's own."""
    _, name = split_spec(spec)
    return import_model(build_model(spec), input_shape, name=name, source=spec)


def import_model(model: nn.Module, input_shape: tuple[int, ...] | None = None,
                 name: str | None = None, source: str | None = None) -> Imported:
    """Import a module already built. `input_shape` is one sample's (C, H, W) or (F,).
    Raises ImportRefused (every place that cannot be mapped) or ImportFailed."""
    if input_shape is None:
        raise ImportFailed("a PyTorch model does not say the shape of its input: give one "
                           "sample's shape, e.g. 3x224x224 (or 784 for vectors)")
    name = name or type(model).__name__
    traced = trace_model(model, tuple(input_shape))
    mapped = map_traced(traced, name, tuple(input_shape), source or name)
    lay_out(mapped.graph)
    return Imported(mapped.graph, weights_of(mapped), mapped.notes)


def trace_model(model: nn.Module, input_shape: tuple[int, ...]) -> Traced:
    if not all(isinstance(d, int) and d >= 1 for d in input_shape) or not 1 <= len(
            input_shape) <= 3:
        raise ImportFailed(f"input shape {input_shape!r} is not one sample's shape: give "
                           "C x H x W or F, e.g. 3x224x224")
    return trace(model, input_shape)


def map_traced(traced: Traced, name: str, input_shape: tuple[int, ...], source: str
               ) -> Mapped:
    """The graph of a traced model; ImportRefused listing every place it cannot hold."""
    builder = Builder(traced, name, input_shape)
    root = builder.build()
    if builder.problems:
        raise ImportRefused(source, builder.problems)
    grouper = Grouper()
    grouper.group(root)
    graph = root.graph
    for defn in grouper.defs:  # inner types first: each is named before what places it
        graph.add_block(defn)
    return Mapped(graph, layer_tensors(root), builder.notes)


def lay_out(graph: Graph) -> None:
    """Positions for the top level and inside every block: layered, wrapped into rows that
    fit a window (blocks stay collapsed: one card per instance)."""
    for inner in [graph, *(defn.graph for defn in graph.blocks.values())]:
        for node, (x, y) in layout_for_view(inner, *VIEW).items():
            inner.set_ui(node, {"x": x, "y": y})


def weights_of(mapped: Mapped) -> dict[str, torch.Tensor]:
    return exported_state(mapped.graph, mapped.tensors)
