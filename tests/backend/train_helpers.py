"""Small datasets and runs for the trainer's tests: fast enough to train many times a second."""

from __future__ import annotations

from typing import Any

import numpy as np
from helpers import chain, engine_for

from dlbuilder.backend.datasets import Dataset, Split
from dlbuilder.backend.records import Record
from dlbuilder.backend.settings import resolve_settings
from dlbuilder.backend.trainer import TrainControl, Trainer, plan_run


def blobs(n_per_class: int = 60, classes: int = 3, features: int = 4, seed: int = 0,
          test: bool = True) -> Dataset:
    """Gaussian clusters, one per class: easy to learn, so loss falls in a few steps."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (classes, features))

    def draw(n: int) -> Split:
        y = np.repeat(np.arange(classes), n)
        x = centres[y] + rng.normal(0, 1, (len(y), features))
        return Split(x.astype(np.float32), y.astype(np.int64))

    return Dataset("blobs", (features,), tuple(f"c{i}" for i in range(classes)),
                   draw(n_per_class), draw(n_per_class // 3) if test else None, 1.0,
                   "features", "test")


def tiny_images(n_per_class: int = 40, classes: int = 2, size: int = 6, seed: int = 0) -> Dataset:
    """Byte images: class 0 is bright on the left half, class 1 on the right half."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    x = rng.integers(0, 60, (len(y), 1, size, size)).astype(np.uint8)
    for i, label in enumerate(y):
        half = slice(0, size // 2) if label == 0 else slice(size // 2, size)
        x[i, 0, :, half] += 150
    return Dataset("tiny", (1, size, size), tuple(str(c) for c in range(classes)),
                   Split(x, y), None, 255.0, "image", "test")


def mlp(features: int = 4, classes: int = 3, hidden: int = 16, **output: Any):
    graph = chain(("Linear", {"out_features": hidden}), ("ReLU", {}),
                  ("Linear", {"out_features": classes}), shape=[features])
    if output:
        graph.set_params("out", output)
    return engine_for(graph)


def trainer_for(engine, dataset: Dataset, control: TrainControl | None = None,
                checkpoint_dir=None, **settings: Any) -> Trainer:
    """A run with small defaults (3 epochs, batches of 16, on the CPU)."""
    settings = {"epochs": 3, "batch_size": 16, "device": "cpu", **settings}
    run = plan_run(engine, resolve_settings({}, settings), dataset=dataset)
    return Trainer(run, control=control, checkpoint_dir=checkpoint_dir)


def records(trainer: Trainer) -> list[Record]:
    return list(trainer.run())


def of_kind(items: list[Record], kind: str) -> list[Any]:
    return [r for r in items if r.kind == kind]
