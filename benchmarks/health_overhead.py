"""How much does collecting training health (backend/health.py) slow training down?

The same run (same graph, data, seed and torch thread count) trains in this process with and
without health collection, taking turns (without, with, with, without, ...), so that a machine
that warms up or gets busy meanwhile weighs on both alike. The figure compared is the
trainer's own training samples/s (EpochEnd.samples_per_s: the training pass only, the
measured batches' hooks, norms and weight copies included), the median over every epoch of
every round. The issue asks for at least 0.95x.

Graphs: digits_cnn on the built-in digits, and lenet5 on MNIST when ../shared/datasets/mnist
(or --data-dir) holds it (a subset of --samples images).

    python benchmarks/health_overhead.py [--rounds 3] [--epochs 4] [--samples 12000]
                                         [--threads 1] [--data-dir DIR]

Last line: digits_cnn=<x> [lenet5=<x>] health_ratio=<the lowest of them>
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = Path("/work/shared/datasets/mnist")


def mnist_folder(given: Path | None) -> Path | None:
    for folder in (given, ROOT.parent / "shared" / "datasets" / "mnist", SHARED_MNIST):
        if folder is not None and (folder / "train-images-idx3-ubyte.gz").exists():
            return folder
    return None


def cases(args: argparse.Namespace) -> list[tuple[str, object]]:
    """(graph name, dataset) pairs to measure."""
    import numpy as np

    from dlbuilder.backend.datasets import Split, load_dataset

    out: list[tuple[str, object]] = [("digits_cnn", load_dataset("digits"))]
    folder = mnist_folder(args.data_dir)
    if folder is None:
        print("MNIST not found: lenet5 is left out", file=sys.stderr)
        return out
    data = load_dataset("mnist", folder)
    keep = np.sort(np.random.default_rng(0).choice(len(data.train), args.samples,
                                                   replace=False))
    out.append(("lenet5", replace(data, train=Split(data.train.x[keep], data.train.y[keep]),
                                  test=None)))
    return out


def rates(name: str, dataset: object, epochs: int, health: bool) -> list[float]:
    """Training samples/s of each epoch of one run."""
    from dlbuilder.backend.settings import resolve_settings
    from dlbuilder.backend.trainer import Trainer, plan_run
    from dlbuilder.core.fileformat import load_graph
    from dlbuilder.core.inference import InferenceEngine
    from dlbuilder.layers import REGISTRY
    from dlbuilder.resources import examples_dir

    graph = load_graph(examples_dir() / f"{name}.json", REGISTRY)
    settings = resolve_settings({**graph.training, "dataset": dataset.name, "epochs": epochs,
                                 "device": "cpu", "val_split": 0.1})
    run = plan_run(InferenceEngine(graph, REGISTRY), settings, dataset=dataset)
    trainer = Trainer(run, health=health)
    return [r.samples_per_s for r in trainer.run() if r.kind == "epoch"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--samples", type=int, default=12000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    ratios = {}
    for name, dataset in cases(args):
        rates(name, dataset, 1, True)  # warm up: first-call costs fall on neither side
        measured: dict[bool, list[float]] = {False: [], True: []}
        for round_ in range(args.rounds):
            for health in ((False, True) if round_ % 2 == 0 else (True, False)):
                measured[health] += rates(name, dataset, args.epochs, health)
        without = statistics.median(measured[False])
        with_health = statistics.median(measured[True])
        ratios[name] = with_health / without
        print(f"{name} on {dataset.name} ({len(dataset.train.y):,} images, {args.threads} "
              f"torch thread(s)): without health {without:,.0f} samples/s, with "
              f"{with_health:,.0f} samples/s: {ratios[name]:.3f}x "
              f"({len(measured[True])} epochs each)")
    pairs = " ".join(f"{name}={ratio:.3f}" for name, ratio in ratios.items())
    print(f"{pairs} health_ratio={min(ratios.values()):.3f}")


if __name__ == "__main__":
    main()
