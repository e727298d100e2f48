"""How resources/datasets/digits was made: the UCI digits as a CSV (64 pixel values 0..16 and the
label per row, as found in scikit-learn's wheel at sklearn/datasets/data/digits.csv.gz) turned
into two gzip IDX files. Run once by hand; the files are checked in, this is the record:

    PYTHONPATH=. python tests/backend/datasets/digits_source.py digits.csv.gz \
        resources/datasets/digits
"""

from __future__ import annotations

import csv
import gzip
import sys
from pathlib import Path

import numpy as np

from dlbuilder.backend.datasets.idx import write_idx

IMAGES = "digits-images-idx3-ubyte.gz"
LABELS = "digits-labels-idx1-ubyte.gz"


def convert_digits_csv(source: Path, out: Path) -> tuple[Path, Path]:
    """CSV (optionally gzip-compressed) -> images (N, 8, 8) and labels (N,) IDX files."""
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", newline="") as handle:
        rows = np.array([[int(cell) for cell in row] for row in csv.reader(handle) if row])
    if rows.ndim != 2 or rows.shape[1] != 65:
        raise ValueError(f"{source}: expected 65 columns (64 pixels, then the label)")
    if rows[:, :64].min() < 0 or rows[:, :64].max() > 16 or not set(rows[:, 64]) <= set(range(10)):
        raise ValueError(f"{source}: pixels must be 0..16 and labels 0..9")
    out.mkdir(parents=True, exist_ok=True)
    images = write_idx(out / IMAGES, rows[:, :64].astype(np.uint8).reshape(-1, 8, 8))
    labels = write_idx(out / LABELS, rows[:, 64].astype(np.uint8))
    return images, labels


if __name__ == "__main__":
    for written in convert_digits_csv(Path(sys.argv[1]), Path(sys.argv[2])):
        print(written)
