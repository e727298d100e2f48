"""An imported model: its graph and its weights under the exported class's keys."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from dlbuilder.backend.compiler import NodePath, compile_graph, node_modules
from dlbuilder.backend.weights import save_state
from dlbuilder.core.fileformat import save_graph
from dlbuilder.core.graph import Graph


@dataclass
class Imported:
    """`state` has the keys of the exported class (`Net().load_state_dict(state)`);
    `notes` are what the user should know about the import (a dropped no-op, a renamed
    node), each one line."""

    graph: Graph
    state: dict[str, torch.Tensor]
    notes: list[str] = field(default_factory=list)


def exported_state(graph: Graph, tensors: Mapping[NodePath, Mapping[str, torch.Tensor]]
                   ) -> dict[str, torch.Tensor]:
    """The state_dict of the graph's exported class, each layer node's tensors taken from
    `tensors`, keyed by node path (compiler.node_modules) and then by the torch module's own
    names (`weight`, `running_mean`...). Every layer with tensors must be given, each with
    the layer's keys and shapes; a KeyError names the first node that is not."""
    model = compile_graph(graph)
    prefixes = {id(module): name for name, module in model.named_modules()}
    state: dict[str, torch.Tensor] = {}
    for path, module in node_modules(model).items():
        if isinstance(path[-1], int):  # a block instance's run: its layers have paths of their own
            continue
        own, given = module.state_dict(), tensors.get(path, {})
        where = "/".join(map(str, path))
        if own and path not in tensors:
            raise KeyError(f"{where}: no weights were taken for this layer")
        if {k: tuple(v.shape) for k, v in given.items()} != {
                k: tuple(v.shape) for k, v in own.items()}:
            raise KeyError(f"{where}: the weights taken ({_shapes(given)}) do not fit the "
                           f"layer ({_shapes(own)})")
        prefix = prefixes[id(module)]
        state.update({f"{prefix}.{key}": value.detach().clone() for key, value in given.items()})
    return state


def _shapes(tensors: Mapping[str, torch.Tensor]) -> str:
    return ", ".join(f"{k} {tuple(v.shape)}" for k, v in tensors.items()) or "none"


def write_imported(imported: Imported, graph_path: str | os.PathLike[str],
                   weights_path: str | os.PathLike[str] | None = None) -> None:
    """Write the graph file (and the weights file), each atomically; the weights go first, so
    a graph file on disk always has its weights beside it when they were asked for."""
    if weights_path is not None:
        save_state(imported.state, Path(weights_path))
    save_graph(imported.graph, Path(graph_path))
