"""From a dataset's raw arrays to the tensors a run trains on: the validation split and the
declared preprocessing (whether the data fits the graph at all is fit.py's question).

The whole split is converted once into one float tensor, so a batch is a single gather by index
with no per-sample Python work. The preprocessing is stored beside trained weights (a small JSON
file, `<weights>.json`), so prediction prepares its inputs exactly as training did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dlbuilder.backend.datasets import Dataset
from dlbuilder.backend.preprocessing import (  # noqa: F401 - their home before; kept for callers
    INFO_FORMAT,
    Preprocessing,
    info_path,
    read_preprocessing,
    save_preprocessing,
)

_EPS = 1e-8


@dataclass(frozen=True)
class PreparedData:
    """Float inputs (N, *input_shape) and int64 labels per split; val/test may be None."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor | None
    val_y: torch.Tensor | None
    test_x: torch.Tensor | None
    test_y: torch.Tensor | None
    preprocessing: Preprocessing
    kind: str
    val_index: np.ndarray | None = None  # each validation sample's index in the training split

    @property
    def classes(self) -> tuple[str, ...]:
        return self.preprocessing.classes

    def splits(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """The splits that exist, by name ("train", "val", "test")."""
        found = {"train": (self.train_x, self.train_y)}
        if self.val_x is not None and self.val_y is not None:
            found["val"] = (self.val_x, self.val_y)
        if self.test_x is not None and self.test_y is not None:
            found["test"] = (self.test_x, self.test_y)
        return found


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """(train indices, validation indices): `fraction` of each class, chosen by a seeded shuffle,
    so every class is represented as in the whole set. The class shares are rounded so that the
    total is round(N * fraction) (60,000 at 0.1 gives exactly 6,000). Indices come back sorted."""
    if fraction <= 0:
        return np.arange(len(labels)), np.arange(0)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quotas = counts * fraction
    takes = np.floor(quotas).astype(int)
    short = round(len(labels) * fraction) - int(takes.sum())
    takes[np.argsort(-(quotas - takes), kind="stable")[:max(short, 0)]] += 1
    takes = np.where(counts > 1, np.clip(takes, 1, counts - 1), 0)
    val = []
    for cls, take in zip(classes, takes, strict=True):
        members = np.flatnonzero(labels == cls)
        rng.shuffle(members)
        val.append(members[:take])
    val_idx = np.sort(np.concatenate(val)) if val else np.arange(0)
    train_mask = np.ones(len(labels), dtype=bool)
    train_mask[val_idx] = False
    return np.flatnonzero(train_mask), val_idx


def fit_preprocessing(dataset: Dataset, train_x: np.ndarray, input_shape: tuple[int, ...],
                      normalize: bool) -> Preprocessing:
    """Scale, and where asked the training split's mean and std per channel or feature."""
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    if normalize and len(train_x):
        channels = dataset.sample_shape[0]
        x = train_x.reshape(len(train_x), channels, -1)
        sums = np.zeros(channels)
        squares = np.zeros(channels)
        for start in range(0, len(x), 4096):  # float64 sums in chunks: exact and small
            chunk = x[start:start + 4096].astype(np.float64) / dataset.scale
            sums += chunk.sum(axis=(0, 2))
            squares += (chunk ** 2).sum(axis=(0, 2))
        count = x.shape[0] * x.shape[2]
        mean_arr = sums / count
        std_arr = np.sqrt(np.maximum(squares / count - mean_arr ** 2, 0.0))
        mean = tuple(float(v) for v in mean_arr)
        std = tuple(float(v) if v > _EPS else 1.0 for v in std_arr)
    return Preprocessing(dataset=dataset.name, sample_shape=tuple(dataset.sample_shape),
                         input_shape=tuple(input_shape), classes=tuple(dataset.classes),
                         scale=float(dataset.scale), mean=mean, std=std)


def prepare_data(dataset: Dataset, *, val_split: float, seed: int, normalize: bool,
                 input_shape: tuple[int, ...] | None = None) -> PreparedData:
    """Split, fit the preprocessing on the training part only, and convert every split once."""
    shape = tuple(input_shape or dataset.sample_shape)
    train_idx, val_idx = stratified_split(dataset.train.y, val_split, seed)
    train_raw = dataset.train.x[train_idx]
    prep = fit_preprocessing(dataset, train_raw, shape, normalize)

    def convert(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return prep.apply(x), torch.as_tensor(np.asarray(y, dtype=np.int64))

    train_x, train_y = convert(train_raw, dataset.train.y[train_idx])
    val_x = val_y = test_x = test_y = None
    if len(val_idx):
        val_x, val_y = convert(dataset.train.x[val_idx], dataset.train.y[val_idx])
    if dataset.test is not None and len(dataset.test.y):
        test_x, test_y = convert(dataset.test.x, dataset.test.y)
    return PreparedData(train_x, train_y, val_x, val_y, test_x, test_y, prep, dataset.kind,
                        val_idx if len(val_idx) else None)
