"""Weights in the app: which ones the next run starts from, which ones the last run left, and
the files the user saves and exports them to.

Weights files are plain state_dicts written by the worker; here they are only copied, never
loaded, so nothing of torch is needed in the GUI thread. A file that does not fit the graph is
refused with the reason when a run starts from it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QWidget

from dlbuilder.backend.names import identifier_from
from dlbuilder.backend.plan import CompileError, build_plan
from dlbuilder.backend.preprocessing import info_path, read_preprocessing
from dlbuilder.backend.settings import starting_weights_path
from dlbuilder.backend.weights_code import code_with_weights
from dlbuilder.core.fileformat import graph_to_dict, write_atomic
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.tuning import fresh_frozen_warning
from dlbuilder.gui.export.export_folder import export_folder, remember_export_folder

CLASS_NAME = "Net"


@dataclass
class WeightsChoice:
    """What the next run starts from: the weights the graph names (its file's
    `training.init_weights`, kept with it), else `initial`, this session's choice for a graph
    without a file (an import not saved yet, a run's weights); None of both: new random
    weights. `trained`: the newest weights worth saving (the last run's best, or a file the
    user loaded)."""

    initial: Path | None = None
    initial_from: str = ""
    trained: Path | None = None
    trained_from: str = ""
    trained_graph: dict[str, Any] | None = None  # the graph they were trained on, if known
    named: str | None = None  # the graph's init_weights, as the file writes it
    named_path: Path | None = None  # where that points

    def use(self, path: Path, label: str, graph: dict[str, Any] | None = None) -> None:
        """Start the next run from `path`, and offer it for saving and export."""
        self.initial, self.initial_from = Path(path), label
        self.trained, self.trained_from, self.trained_graph = Path(path), label, graph

    def follow(self, training: Any, graph_path: Path | None) -> None:
        """Read the graph's `training.init_weights` (relative to its file's folder)."""
        value = training.get("init_weights") if isinstance(training, dict) else None
        if isinstance(value, str) and value:
            self.named, self.named_path = value, starting_weights_path(value, graph_path)
        else:
            self.named, self.named_path = None, None

    @property
    def start(self) -> Path | None:
        """The weights file the next run starts from (None: new random weights)."""
        return self.named_path if self.named_path is not None else self.initial

    def missing(self) -> str:
        """Why the next run cannot start from the weights the graph names ("" when it can):
        a run never falls back on random weights silently."""
        if self.named_path is None or self.named_path.is_file():
            return ""
        return (f"The graph's starting weights {self.named} are missing (no file "
                f"{self.named_path}): put them back, Load weights… or Start fresh")

    def forget_missing(self) -> None:
        """Drop files that are gone (a deleted run's weights); the graph's own choice stays,
        to be said missing."""
        if self.initial is not None and not self.initial.exists():
            self.initial, self.initial_from = None, ""
        if self.trained is not None and not self.trained.exists():
            self.trained, self.trained_from, self.trained_graph = None, "", None

    def describe(self, frozen_layers: int = 0) -> tuple[str, bool]:
        """The Training tab's line, and whether it warns (missing weights, or frozen layers
        that would keep random weights)."""
        if self.missing():  # the whole sentence is among the problems above
            start, warns = f"The graph's starting weights {self.named} are missing.", True
        elif self.start is not None:
            label = self.named if self.named is not None else self.initial_from
            start, warns = f"The next run starts from the weights of {label}.", False
        elif frozen_layers:
            start, warns = f"{fresh_frozen_warning(frozen_layers)}.", True
        else:
            start, warns = "Each run starts from new random weights.", False
        if self.trained is None:
            return start, warns
        return f"{start} Trained weights to save: {self.trained_from}.", warns


def _copy_with_info(source: Path, target: Path) -> None:
    """The weights and, where there is one, their preprocessing file (`.pt.json`)."""
    shutil.copyfile(source, target)
    info = Path(f"{source}.json")
    if info.exists():
        shutil.copyfile(info, Path(f"{target}.json"))


def _suggested(doc: Any, settings: QSettings, suffix: str) -> str:
    """Named after the graph, where exports go (export_folder.py)."""
    folder = export_folder(doc.path, settings)
    return str(folder / f"{identifier_from(doc.graph.name, 'model')}{suffix}")


def ask_weights_file(parent: QWidget, graph_path: Path | None) -> Path | None:
    folder = graph_path.parent if graph_path is not None else Path.home()
    name, _ = QFileDialog.getOpenFileName(parent, "Start from weights", str(folder),
                                          "PyTorch weights (*.pt *.pth);;All files (*)")
    return Path(name) if name else None


def save_weights_dialog(parent: QWidget, weights: WeightsChoice, doc: Any,
                        settings: QSettings) -> str:
    """Ask where, copy the trained weights there; returns what happened, for the panel."""
    if weights.trained is None:
        return "There are no trained weights yet: train the graph first"
    name, _ = QFileDialog.getSaveFileName(parent, "Save trained weights",
                                          _suggested(doc, settings, ".pt"),
                                          "PyTorch weights (*.pt)")
    if not name:
        return ""
    text = save_weights_to(weights, Path(name))
    if text.startswith("Saved"):
        remember_export_folder(Path(name), settings)
    return text


def save_weights_to(weights: WeightsChoice, target: Path) -> str:
    if weights.trained is None:
        return "There are no trained weights yet: train the graph first"
    if not target.suffix:
        target = target.with_suffix(".pt")
    if not weights.trained.exists():
        return f"The weights of {weights.trained_from} are gone ({weights.trained} was deleted)"
    try:
        _copy_with_info(weights.trained, target)
    except OSError as err:
        return f"Cannot save the weights to {target}: {err.strerror or err}"
    return f"Saved the weights of {weights.trained_from} to {target}"


def export_with_weights_dialog(parent: QWidget, weights: WeightsChoice, doc: Any,
                               settings: QSettings) -> str:
    name, _ = QFileDialog.getSaveFileName(parent, "Export code with weights",
                                          _suggested(doc, settings, ".py"), "Python files (*.py)")
    if not name:
        return ""
    text = export_with_weights(doc.engine, weights, Path(name))
    if text.startswith("Wrote"):
        remember_export_folder(Path(name), settings)
    return text


def same_network(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two graph file dicts hold the same layers, settings and wires, their blocks'
    included (positions, names and training settings aside): then the same weights fit both."""
    def network(data: dict[str, Any]) -> tuple[list[Any], list[Any]]:
        nodes = [(n["id"], n["type"], n.get("params", {})) for n in data.get("nodes", [])]
        edges = [(e["from"], e["to"], e.get("to_port")) for e in data.get("edges", [])]
        return nodes, edges

    def blocks(data: dict[str, Any]) -> list[Any]:
        return [(b["name"], b.get("params", []), network(b)) for b in data.get("blocks", [])]
    return network(a) == network(b) and blocks(a) == blocks(b)


def export_with_weights(engine: InferenceEngine, weights: WeightsChoice, target: Path) -> str:
    """`model.py` with the class and the weights' preprocessing (`preprocess()`), and
    `model.pt` (+ `.pt.json`) beside it; its docstring says how they go together. Refused when
    the graph changed since the weights were trained (the pair would not load)."""
    if weights.trained is None:
        return "There are no trained weights yet: train the graph first"
    if weights.trained_graph is not None \
            and not same_network(weights.trained_graph, graph_to_dict(engine.graph)):
        return (f"Not exported: the graph changed since {weights.trained_from} was trained, so "
                "its weights no longer fit it. Train again, or open that run's graph from "
                "the Runs tab and export from there")
    if not target.suffix:
        target = target.with_suffix(".py")
    pt = target.with_suffix(".pt")
    try:
        plan = build_plan(engine)
    except CompileError as err:
        return f"Not exported: the graph has {len(err.diagnostics)} errors; fix them first"
    try:
        prep = read_preprocessing(weights.trained)
    except (OSError, ValueError) as err:
        return f"Not exported: {err}"
    try:
        write_atomic(target, code_with_weights(plan, CLASS_NAME, pt.name, prep))
        _copy_with_info(weights.trained, pt)
    except OSError as err:
        return f"Cannot export to {target}: {err.strerror or err}"
    if prep is None:
        return (f"Wrote {target} and its weights {pt.name}, without their preprocessing "
                f"({info_path(weights.trained).name} is missing): prepare inputs as for "
                "training")
    return f"Wrote {target} and its weights {pt.name}, with their preprocessing (preprocess())"
