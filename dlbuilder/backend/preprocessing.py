"""What turns a raw sample into the network's input, and the small JSON file that keeps it
beside trained weights (`model.pt` -> `model.pt.json`), so prediction and exported code prepare
their inputs exactly as training did.

Reading and writing it needs no torch (the editor and `dlbuilder export` read it before torch
is loaded); only `apply` and `blank`, which make tensors, import torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dlbuilder.core.fileformat import write_atomic

if TYPE_CHECKING:  # apply() imports both: the editor reads .pt.json files before either loads
    import numpy as np
    import torch

INFO_FORMAT = "dlbuilder.preprocessing"


@dataclass(frozen=True)
class Preprocessing:
    """What turns a raw sample into the network's input: x / scale, then (x - mean) / std per
    channel (images) or per feature, then a reshape to the Input's shape."""

    dataset: str
    sample_shape: tuple[int, ...]
    input_shape: tuple[int, ...]
    classes: tuple[str, ...]
    scale: float
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    def apply(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Raw samples (N, *sample_shape) -> float32 network input (N, *input_shape)."""
        import numpy as np
        import torch

        t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
        t = t.to(torch.float32).reshape(len(t), *self.sample_shape) / self.scale
        if self.mean:
            view = (1, len(self.mean)) + (1,) * (len(self.sample_shape) - 1)
            mean = torch.tensor(self.mean).view(view)
            std = torch.tensor(self.std).view(view)
            t = (t - mean) / std
        return t.reshape(len(t), *self.input_shape)

    def blank(self) -> torch.Tensor:
        """Per channel, the value a blank (zero) raw pixel has after preprocessing: what
        augmentation fills the edge of a shifted image with."""
        import torch

        return self.apply(torch.zeros((1, *self.sample_shape)))[0, :, 0, 0]

    def to_json(self) -> str:
        data = {"format": INFO_FORMAT, "version": 1, **asdict(self)}
        return json.dumps(data, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str) -> Preprocessing:
        try:
            data = json.loads(text)
            if data.get("format") != INFO_FORMAT or data.get("version") != 1:
                raise ValueError("not a dlbuilder preprocessing file (version 1)")
            return cls(dataset=str(data["dataset"]),
                       sample_shape=tuple(int(n) for n in data["sample_shape"]),
                       input_shape=tuple(int(n) for n in data["input_shape"]),
                       classes=tuple(str(c) for c in data["classes"]),
                       scale=float(data["scale"]),
                       mean=tuple(float(v) for v in data["mean"]),
                       std=tuple(float(v) for v in data["std"]))
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"{where}: cannot be read as preprocessing settings: {err}") from None


def info_path(weights: str | os.PathLike[str]) -> Path:
    """Where the preprocessing of a weights file is kept: `model.pt` -> `model.pt.json`."""
    return Path(f"{os.fspath(weights)}.json")


def save_preprocessing(weights: str | os.PathLike[str], prep: Preprocessing) -> None:
    write_atomic(info_path(weights), prep.to_json())


def read_preprocessing(weights: str | os.PathLike[str]) -> Preprocessing | None:
    """The preprocessing saved beside a weights file, or None if there is none."""
    path = info_path(weights)
    if not path.exists():
        return None
    return Preprocessing.from_json(path.read_text(encoding="utf-8"), str(path))


def refit_note(weights: str | os.PathLike[str], dataset: str) -> str:
    """What the command line says when the preprocessing beside `weights` is missing and is
    fitted again on `dataset` (`predict` and `inspect` both do)."""
    return (f"note: {info_path(weights)} (the preprocessing saved with the weights) is missing; "
            f"fitting it again on {dataset} with the graph's training settings")
