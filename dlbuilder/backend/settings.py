"""Training settings: the graph file's `training` section, then overrides (command-line flags,
the GUI's form), checked together so that every problem is reported at once with where it is.

No torch here: the settings are read and checked before torch is loaded, and the exported
training script is written from them.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "step", "cosine", "plateau")
DEVICES = ("auto", "cpu", "cuda", "mps")
MONITORS = ("val_loss", "val_accuracy", "train_loss", "train_accuracy")
PLATEAU_PATIENCE = 2  # epochs without improvement before the plateau schedule lowers the rate


class SettingsError(ValueError):
    """Training settings that cannot be used; `problems` lists each one with where it is."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class TrainSettings:
    """Everything a training run needs besides the graph and the data.

    `patience` None means no early stopping; `monitor` None means val_loss where there is a
    validation split, else train_loss. `normalize` None means: normalize with the training
    split's mean/std when the network classifies, only scale to [0, 1] for an autoencoder
    (whose output, often after a Sigmoid, must match the unnormalized input).
    """

    dataset: str = "digits"
    data_dir: str | None = None
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "none"
    step_size: int | None = None  # step schedule: epochs between drops (default: a third)
    gamma: float = 0.1  # step and plateau schedules: the factor applied to the learning rate
    patience: int | None = None
    monitor: str | None = None
    val_split: float = 0.1
    seed: int = 0
    device: str = "auto"
    normalize: bool | None = None
    augment_shift: int = 0  # random shift of images by up to this many pixels
    augment_flip: bool = False  # random horizontal flip of images
    compile: bool = False  # torch.compile the model: faster batches after a long first one
    # the weights a run starts from (a state_dict, relative to the graph file's folder); None:
    # new random weights. Kept with the graph, so an imported model's weights stay its own.
    init_weights: str | None = None

    def resolved_monitor(self) -> str:
        if self.monitor is not None:
            return self.monitor
        return "val_loss" if self.val_split > 0 else "train_loss"

    def resolved_normalize(self, target: str) -> bool:
        """`normalize`, or by default: yes for class labels, no for an autoencoder."""
        return self.normalize if self.normalize is not None else target == "label"

    def resolved_step_size(self) -> int:
        return self.step_size if self.step_size is not None else max(1, self.epochs // 3)

    def as_dict(self) -> dict[str, Any]:
        """The settings that differ from the defaults, as a `training` section would hold them."""
        default = TrainSettings()
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) != getattr(default, f.name)}


_NAMES = tuple(f.name for f in fields(TrainSettings))
_FLOATS = frozenset(f.name for f in fields(TrainSettings) if isinstance(f.default, float))


def _positive_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be a whole number"
    return None if value >= 1 else "must be at least 1"


def _non_negative_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be a whole number"
    return None if value >= 0 else "must be 0 or more"


def _number(low: float, high: float | None = None, *, low_open: bool = False,
            high_open: bool = False):
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "must be a number"
        if not math.isfinite(value):
            return "must be a finite number"
        if value < low or (low_open and value == low):
            return f"must be {'more than' if low_open else 'at least'} {low:g}"
        if high is not None and (value > high or (high_open and value == high)):
            return f"must be {'less than' if high_open else 'at most'} {high:g}"
        return None
    return check


def _choice(choices: tuple[str, ...], optional: bool = False):
    def check(value: Any) -> str | None:
        if optional and value is None:
            return None
        if isinstance(value, str) and value in choices:
            return None
        return f"must be one of {', '.join(choices)}"
    return check


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _text(optional: bool):
    def check(value: Any) -> str | None:
        if optional and value is None:
            return None
        return None if isinstance(value, str) and value else "must be a non-empty text"
    return check


def _optional(check):
    return lambda value: None if value is None else check(value)


_CHECKS = {
    "dataset": _text(False),
    "data_dir": _text(True),
    "epochs": _positive_int,
    "batch_size": _positive_int,
    "optimizer": _choice(OPTIMIZERS),
    "lr": _number(0, low_open=True),
    "momentum": _number(0, 1, high_open=True),
    "nesterov": _flag,
    "weight_decay": _number(0),
    "schedule": _choice(SCHEDULES),
    "step_size": _optional(_positive_int),
    "gamma": _number(0, 1, low_open=True, high_open=True),
    "patience": _optional(_positive_int),
    "monitor": _choice(MONITORS, optional=True),
    "val_split": _number(0, 1, high_open=True),
    "seed": _non_negative_int,
    "device": _choice(DEVICES),
    "normalize": _optional(_flag),
    "augment_shift": _non_negative_int,
    "augment_flip": _flag,
    "compile": _flag,
    "init_weights": _text(True),
}
assert set(_CHECKS) == set(_NAMES), "every setting needs a check"


def resolve_settings(training: Mapping[str, Any] | None = None,
                     overrides: Mapping[str, Any] | None = None,
                     *, override_label: str = "--{}") -> TrainSettings:
    """The graph's `training` section, then `overrides` on top (None values are ignored).

    Raises SettingsError naming every bad value as `training.lr` (from the file) or `--lr`
    (from the overrides, per `override_label`), and every unknown key with the closest known
    one, since a misspelled setting silently ignored would train something else.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    sources = (("training.{}", training or {}), (override_label, overrides or {}))
    for label, section in sources:
        for key, value in section.items():
            where = label.format(key.replace("_", "-") if label.startswith("--") else key)
            if key not in _CHECKS:
                problems.append(f"{where}: unknown training setting{_did_you_mean(key)}")
                continue
            if value is None and label is override_label:
                continue
            problem = _CHECKS[key](value)
            if problem:
                problems.append(f"{where}: {problem}, not {value!r}")
            else:
                values[key] = float(value) if key in _FLOATS else value
    settings = replace(TrainSettings(), **values)
    problems += _combination_problems(settings)
    if problems:
        raise SettingsError(problems)
    return settings


def starting_weights_path(value: str, graph_file: str | os.PathLike[str] | None) -> Path:
    """Where `init_weights` points: relative paths start at the graph file's folder (the
    working folder for a graph that has no file yet)."""
    path = Path(value).expanduser()
    if path.is_absolute() or graph_file is None:
        return path
    return Path(graph_file).parent / path


def weights_reference(weights: str | os.PathLike[str], graph_file: str | os.PathLike[str]
                      ) -> str:
    """What `init_weights` holds for `weights`: its name when it sits beside the graph file
    (so the pair moves together), else its absolute path."""
    weights, graph_file = Path(weights).resolve(), Path(graph_file).resolve()
    if weights.parent == graph_file.parent:
        return weights.name
    return str(weights)


def moved_training(training: Mapping[str, Any], old_file: str | os.PathLike[str] | None,
                   new_file: str | os.PathLike[str]) -> dict[str, Any]:
    """The training section for a graph saved from `old_file` to `new_file` (Save As): a
    relative `init_weights` re-pointed from the new folder at the same weights, so the
    graph keeps its starting weights wherever it is saved."""
    value = training.get("init_weights")
    if old_file is None or not isinstance(value, str) or Path(value).expanduser().is_absolute():
        return dict(training)
    weights = starting_weights_path(value, old_file)
    return {**training, "init_weights": weights_reference(weights, new_file)}


def _did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key, _NAMES, n=1, cutoff=0.6)
    aliases = {"learning_rate": "lr", "batch": "batch_size", "optim": "optimizer",
               "early_stopping": "patience", "l2": "weight_decay", "validation_split": "val_split"}
    hint = aliases.get(key) or (close[0] if close else None)
    return f" (did you mean {hint!r}?)" if hint else f"; known settings: {', '.join(_NAMES)}"


def _combination_problems(s: TrainSettings) -> list[str]:
    problems = []
    if s.nesterov and (s.optimizer != "sgd" or s.momentum == 0):
        problems.append("nesterov: needs optimizer sgd with a momentum above 0")
    if s.monitor in ("val_loss", "val_accuracy") and s.val_split == 0:
        problems.append(f"monitor: {s.monitor} needs a validation split (val_split above 0)")
    return problems
