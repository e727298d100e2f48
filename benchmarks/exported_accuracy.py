"""Accuracy of code exported with trained weights, used as its docstring says, against the same
weights fed inputs only scaled to 0..1 (what a user did before the export carried its
preprocessing: issue 19 measured 98.9% against 78.7% for LeNet-5 on MNIST).

As a user would: `dlbuilder train lenet5 --save-weights`, then `dlbuilder export --weights`,
then the exported file is imported and fed the raw MNIST test images, once through its
`preprocess()` and once divided by 255. The trainer's own test accuracy is the baseline.

    python benchmarks/exported_accuracy.py [--epochs 2] [--data-dir DIR]

Last line: trained_test_accuracy=... exported_preprocessed=... exported_scaled_only=...
ratio_preprocessed_vs_trained=... (fractions).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from dlbuilder.backend.datasets import load_dataset

ROOT = Path(__file__).resolve().parent.parent
MNIST = ROOT.parent / "shared" / "datasets" / "mnist"


def dlbuilder(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "dlbuilder", *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


def import_file(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def accuracy(model: torch.nn.Module, inputs: torch.Tensor, labels: np.ndarray) -> float:
    with torch.no_grad():
        predicted = torch.cat([model(batch).argmax(1) for batch in inputs.split(1000)])
    return float(np.mean(predicted.numpy() == labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=MNIST)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        weights, metrics = folder / "lenet5.pt", folder / "metrics.json"
        dlbuilder("train", "lenet5", "--data-dir", str(args.data_dir), "--epochs",
                  str(args.epochs), "--device", "cpu", "--save-weights", str(weights),
                  "--metrics-json", str(metrics))
        dlbuilder("export", "lenet5", "--weights", str(weights), "-o", str(folder / "net.py"))
        trained = json.loads(metrics.read_text())["final"]["test_accuracy"]
        module = import_file(folder / "net.py")
        model = module.Net()
        model.load_state_dict(torch.load(weights, weights_only=True))
        model.eval()
    test = load_dataset("mnist", args.data_dir).test
    raw, labels = test.x, test.y
    prepared = accuracy(model, module.preprocess(raw), labels)
    scaled = accuracy(model, torch.as_tensor(raw, dtype=torch.float32) / 255, labels)
    print(f"LeNet-5, {args.epochs} epochs on MNIST: trainer {trained:.2%}, exported with "
          f"preprocess() {prepared:.2%}, exported fed 0..1 only {scaled:.2%}")
    print(f"trained_test_accuracy={trained:.4f} exported_preprocessed={prepared:.4f} "
          f"exported_scaled_only={scaled:.4f} "
          f"ratio_preprocessed_vs_trained={prepared / trained:.4f}")


if __name__ == "__main__":
    main()
