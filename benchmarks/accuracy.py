"""Accuracy the trainer reaches on the standard small tasks, with the time it takes here.

- digits: examples/digits_cnn.json with its own training settings; goal >= 97% validation
  accuracy in under 60 s.
- lenet5: examples/lenet5.json on MNIST with its settings (SGD, lr 0.05, momentum 0.9, cosine
  schedule) for 2 epochs; goal >= 98.5% test accuracy.
- bn_cnn: a small CNN with BatchNorm (built below) on MNIST for 3 epochs; goal >= 99.0% test
  accuracy (the Keras and Flax MNIST examples report about 99%).

    python benchmarks/accuracy.py [--only digits,lenet5,bn_cnn] [--seed 0] [--data-dir DIR]

Last line: digits_val_accuracy=... digits_s=... lenet5_test_accuracy=... ... (fractions, s).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch

from dlbuilder.backend.settings import resolve_settings
from dlbuilder.backend.trainer import Trainer, plan_run
from dlbuilder.cli.common import load_engine
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY

ROOT = Path(__file__).resolve().parent.parent


def bn_cnn() -> InferenceEngine:
    """Two conv blocks (5x5 conv, BatchNorm, ReLU, 2x2 max pool), then a 128-unit dense layer."""
    graph = Graph("bn_cnn")
    layers: list[tuple[str, dict[str, Any]]] = [
        ("Conv2d", {"out_channels": 32, "kernel_size": 5, "padding": 2}),
        ("BatchNorm2d", {}), ("ReLU", {}), ("MaxPool2d", {"kernel_size": 2}),
        ("Conv2d", {"out_channels": 64, "kernel_size": 5, "padding": 2}),
        ("BatchNorm2d", {}), ("ReLU", {}), ("MaxPool2d", {"kernel_size": 2}),
        ("Flatten", {}), ("Linear", {"out_features": 128}), ("BatchNorm1d", {}), ("ReLU", {}),
        ("Dropout", {"p": 0.3}), ("Linear", {"out_features": 10}), ("Output", {})]
    graph.add_node("input", "Input", {"shape": [1, 28, 28]})
    previous = "input"
    for i, (kind, params) in enumerate(layers):
        node = f"{kind.lower()}{i}"
        graph.add_node(node, kind, params)
        graph.add_edge(previous, node)
        previous = node
    return InferenceEngine(graph, REGISTRY)


def train(name: str, engine: InferenceEngine, overrides: dict[str, Any]) -> dict[str, float]:
    settings = resolve_settings(engine.graph.training, {**overrides, "device": "cpu"})
    start = time.perf_counter()
    run = plan_run(engine, settings)
    final = None
    for record in Trainer(run).run():
        if record.kind == "epoch":
            val = f"val {record.val_accuracy:.2%}" if record.val_accuracy is not None else ""
            print(f"  {name} epoch {record.epoch}/{record.epochs}: train loss "
                  f"{record.train_loss:.4f} {val} ({record.seconds:.1f} s)", flush=True)
        elif record.kind == "finished":
            final = record
    seconds = time.perf_counter() - start
    test = f", test {final.test_accuracy:.2%}" if final.test_accuracy is not None else ""
    print(f"{name}: best epoch {final.best_epoch}, val {final.val_accuracy:.2%}{test}, "
          f"{seconds:.1f} s in all ({settings.optimizer} lr {settings.lr:g}, batch "
          f"{settings.batch_size}, {settings.epochs} epochs)", flush=True)
    return {"val_accuracy": final.val_accuracy, "test_accuracy": final.test_accuracy,
            "s": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="digits,lenet5,bn_cnn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "datasets" / "mnist"))
    args = parser.parse_args()
    mnist = {"dataset": "mnist", "data_dir": args.data_dir, "seed": args.seed}
    tasks = {
        "digits": lambda: train("digits", load_engine("digits_cnn"), {"seed": args.seed}),
        "lenet5": lambda: train("lenet5", load_engine("lenet5"), {**mnist, "epochs": 2}),
        "bn_cnn": lambda: train("bn_cnn", bn_cnn(), {**mnist, "epochs": 3, "batch_size": 64,
                                                     "optimizer": "adam", "lr": 2e-3,
                                                     "schedule": "cosine"}),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    figures = []
    for name in args.only.split(","):
        result = tasks[name]()
        metric = "val_accuracy" if name == "digits" else "test_accuracy"
        figures += [f"{name}_{metric}={result[metric]:.4f}", f"{name}_s={result['s']:.1f}"]
    print(" ".join(figures))


if __name__ == "__main__":
    main()
