"""Samples to look at, named the same way by `dlbuilder inspect` and the app.

The splits are the run's: the dataset's test split where it has one, the validation split the
trainer holds out of the training data (its val_split and seed), and the rest of the training
data; `val[5]` is the sixth validation sample in both. An image file is read as the training
data's samples look: where they are ink on a plain background (the digits, MNIST), the file's
ink is inverted to the data's polarity where its paper is not, then boxed and centred as a
drawing is; other images (photos) are only resized.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlbuilder.backend.inside.drawing import InkStyle, ink_style, picture_to_sample

SPLIT_NAMES = ("test", "val", "train")
PREPARED = "prepared like the training data"


@dataclass(frozen=True, eq=False)
class SplitRows:
    """One split: sample i is row `rows[i]` of the dataset array `x` (rows None: row i)."""

    name: str
    x: np.ndarray
    y: np.ndarray
    rows: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y) if self.rows is None else len(self.rows)

    def row(self, index: int) -> int:
        return int(index) if self.rows is None else int(self.rows[index])

    def sample(self, index: int) -> tuple[np.ndarray, int]:
        """Sample `index`'s raw values and true class."""
        row = self.row(index)
        return self.x[row], int(self.y[row])

    def position(self, row: int) -> int | None:
        """Where dataset row `row` is in this split, or None."""
        if self.rows is None:
            return int(row) if 0 <= row < len(self.y) else None
        at = int(np.searchsorted(self.rows, row))
        return at if at < len(self.rows) and int(self.rows[at]) == row else None


def data_splits(dataset: Any, val_split: float, seed: int) -> dict[str, SplitRows]:
    """The dataset's non-empty splits, in SPLIT_NAMES' order (the first is the default)."""
    from dlbuilder.backend.prepare import stratified_split

    out: dict[str, SplitRows] = {}
    test = dataset.test
    if test is not None and len(test):
        out["test"] = SplitRows("test", test.x, test.y)
    train_rows, val_rows = stratified_split(dataset.train.y, val_split, seed)
    for name, rows in (("val", val_rows), ("train", train_rows)):
        if len(rows):
            out[name] = SplitRows(name, dataset.train.x, dataset.train.y, np.asarray(rows))
    return out


def find_row(splits: dict[str, SplitRows], array: str, row: int) -> tuple[str, int] | None:
    """Where row `row` of the dataset's `array` ("test", or "train": the training array the
    validation split is drawn from) is: (split, index), or None."""
    names = ("test",) if array == "test" else ("val", "train")
    for name in names:
        split = splits.get(name)
        at = split.position(row) if split is not None else None
        if at is not None:
            return name, at
    return None


def data_style(dataset: Any, sample_shape: tuple[int, ...]) -> InkStyle | None:
    """The training data's ink style, where its samples are pictures of `sample_shape`."""
    if dataset is None or tuple(dataset.sample_shape) != tuple(sample_shape) \
            or len(sample_shape) != 3:
        return None
    try:
        return ink_style(dataset.train.x, dataset.scale)
    except ValueError:
        return None


def read_image_sample(path: str | Path, prep: Any, style: InkStyle | None,
                      prepare: bool = True) -> tuple[np.ndarray, list[str]]:
    """An image file as one raw sample for `prep`'s network, and notes on what was done to
    it: prepared like the training data (`prepare`, `style` ink-like), else only resized."""
    from dlbuilder.backend.datasets.images import read_image
    from dlbuilder.backend.predict import read_samples

    path = Path(path)
    if not (prepare and style is not None and style.ink_like):
        _, raw, notes = read_samples([path], prep)
        return raw[0], list(notes)
    image, _ = read_image(path, channels=1, size=None)
    sample, inverted = picture_to_sample(image[0].astype(np.float32) / 255.0, style)
    done = "inverted, centred" if inverted else "centred"
    return sample, [f"{path.name}: {PREPARED}: {done}"]
