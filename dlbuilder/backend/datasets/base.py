"""The values every loader returns, the one error they raise, and where downloads are kept.

numpy and the standard library only: the datasets are read before torch is loaded, and the
command line checks a dataset against a graph without it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DatasetError(Exception):
    """Data that cannot be read; the message says what is wrong and where (file, line, field)."""


@dataclass(frozen=True, eq=False)
class Split:
    """Samples and their labels. eq=False: arrays have no single truth value to compare by."""

    x: np.ndarray  # (N, *sample_shape): uint8 raw pixels for images, float32 for features
    y: np.ndarray  # (N,) int64 class indices 0..K-1

    def __post_init__(self) -> None:
        if self.y.ndim != 1 or len(self.x) != len(self.y):
            raise ValueError(f"a split needs one label per sample: x has shape {self.x.shape}, "
                             f"y has shape {self.y.shape}")

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification dataset as raw arrays; `scale` is the raw value that means 1.0."""

    name: str
    sample_shape: tuple[int, ...]
    classes: tuple[str, ...]
    train: Split
    test: Split | None
    scale: float
    kind: str  # "image" or "features"
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def cache_dir() -> Path:
    """Where downloads go: $DLBUILDER_CACHE_DIR, else $XDG_CACHE_HOME/dlbuilder, else
    ~/.cache/dlbuilder. Nothing is created here; the downloader makes the folder it needs."""
    explicit = os.environ.get("DLBUILDER_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "dlbuilder"


def class_indices(labels: Sequence[str] | np.ndarray, where: str,
                  classes: Sequence[str] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Text labels -> (int64 indices, class names). Without `classes`, the names are the sorted
    unique labels, numerically when every label is an integer ("2" before "10")."""
    texts = np.asarray(labels).astype(str)
    if classes is None:
        unique = sorted(set(texts.tolist()))
        try:
            numbers = sorted({int(t) for t in unique})
        except ValueError:
            names = tuple(unique)
        else:
            names = tuple(str(n) for n in numbers)
            texts = np.array([str(int(t)) for t in texts.tolist()], dtype=str)
        classes = names
    lookup = {name: i for i, name in enumerate(classes)}
    unknown = sorted(set(texts.tolist()) - lookup.keys())
    if unknown:
        raise DatasetError(f"{where}: labels {unknown[:5]} are not among the classes "
                           f"{list(classes)}")
    indices = np.fromiter((lookup[t] for t in texts.tolist()), dtype=np.int64, count=len(texts))
    return indices, tuple(classes)


def check_labels(y: np.ndarray, num_classes: int, where: str) -> None:
    """Every label must name a class; say which one does not and at which sample."""
    if len(y) == 0:
        return
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if len(bad):
        i = int(bad[0])
        raise DatasetError(f"{where}: label {int(y[i])} at sample {i} is not a class index "
                           f"0..{num_classes - 1} ({num_classes} classes)")
