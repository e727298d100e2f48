"""Small datasets written in the real formats (IDX, CIFAR-10 binary), for the loader tests."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np

from dlbuilder.backend.datasets.builtin import IDX_FILES
from dlbuilder.backend.datasets.cifar import RECORD, TEST_BATCH, TRAIN_BATCHES
from dlbuilder.backend.datasets.idx import write_idx


def idx_arrays(count: int, rows: int = 28, cols: int = 28, seed: int = 0,
               classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, rows, cols), dtype=np.uint8)
    labels = (np.arange(count) % classes).astype(np.uint8)
    return images, labels


def write_mnist_like(folder: Path, train: int = 12, test: int = 5, gz: bool = True,
                     rows: int = 28, cols: int = 28) -> dict[str, np.ndarray]:
    """The four MNIST files with random pixels; returns the arrays by file stem."""
    folder.mkdir(parents=True, exist_ok=True)
    train_x, train_y = idx_arrays(train, rows, cols, seed=1)
    test_x, test_y = idx_arrays(test, rows, cols, seed=2)
    arrays = dict(zip(IDX_FILES, (train_x, train_y, test_x, test_y), strict=True))
    for stem, array in arrays.items():
        write_idx(folder / (f"{stem}.gz" if gz else stem), array)
    return arrays


def cifar_batch(count: int, seed: int) -> bytes:
    """`count` records: a label byte then 3072 pixel bytes, red plane first."""
    rng = np.random.default_rng(seed)
    records = rng.integers(0, 256, size=(count, RECORD), dtype=np.uint8)
    records[:, 0] = np.arange(count) % 10
    return records.tobytes()


def cifar_blobs(per_batch: int = 4) -> dict[str, bytes]:
    names = (*TRAIN_BATCHES, TEST_BATCH)
    return {name: cifar_batch(per_batch, seed) for seed, name in enumerate(names)}


def write_cifar_files(folder: Path, blobs: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in blobs.items():
        (folder / name).write_bytes(data)
    return folder


def write_cifar_tar(path: Path, blobs: dict[str, bytes], prefix: str = "cifar-10-batches-bin/",
                    extra: dict[str, bytes] | None = None) -> Path:
    """A .tar.gz laid out like cifar-10-binary.tar.gz (files under cifar-10-batches-bin/)."""
    members = {f"{prefix}{name}": data for name, data in blobs.items()}
    members.update(extra or {})
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path
