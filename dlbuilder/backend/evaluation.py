"""After a run: every sample of the evaluated split with its true class, the predicted
probabilities and (for images) the picture, as plain numpy arrays the GUI's confusion matrix
and predictions grid are drawn from. Made in the worker thread; nothing of torch crosses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dlbuilder.backend.predict import to_probabilities
from dlbuilder.backend.prepare import Preprocessing


@dataclass(frozen=True, eq=False)
class Evaluation:
    """`images` is (N, H, W) or (N, H, W, 3) uint8 for image data, None for features.
    `indices`: each sample's index in the dataset split it came from, `source` (the test
    split for "test"; the training split, which the validation samples are drawn from, for
    "val"); None: in order, 0..N-1."""

    split: str  # "test" or "val"
    classes: tuple[str, ...]
    labels: np.ndarray  # (N,) int64 true classes
    probabilities: np.ndarray  # (N, K) float32
    images: np.ndarray | None
    indices: np.ndarray | None = None

    @property
    def source(self) -> str:
        """The dataset split the samples are from: "test", or "train" for validation."""
        return "test" if self.split == "test" else "train"

    def dataset_index(self, sample: int) -> int:
        """Sample `sample`'s index in the dataset's `source` split."""
        return int(self.indices[sample]) if self.indices is not None else int(sample)

    @property
    def predicted(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def accuracy(self) -> float:
        return float((self.predicted == self.labels).mean()) if len(self.labels) else 0.0

    def confusion(self) -> np.ndarray:
        """(K, K) counts, rows the true class, columns the predicted one."""
        k = len(self.classes)
        flat = np.bincount(self.labels * k + self.predicted, minlength=k * k)
        return flat.reshape(k, k)

    def wrong_first(self, true: int | None = None, predicted: int | None = None) -> np.ndarray:
        """Sample indices, the wrong ones first (the most confidently wrong leading), then the
        right ones (the least sure leading); only one confusion cell's when both are given."""
        predicted_all = self.predicted
        chosen = np.arange(len(self.labels))
        if true is not None and predicted is not None:
            chosen = chosen[(self.labels == true) & (predicted_all == predicted)]
        confidence = self.probabilities[chosen, predicted_all[chosen]]
        wrong = predicted_all[chosen] != self.labels[chosen]
        # wrong: most confident first; right: least confident first
        key = np.where(wrong, -confidence, 1.0 + confidence)
        return chosen[np.argsort(key, kind="stable")]


def display_images(x: torch.Tensor, prep: Preprocessing) -> np.ndarray:
    """Network inputs back to uint8 pictures: undo the reshape, the normalization, the scale."""
    t = x.detach().to("cpu", torch.float32).reshape(len(x), *prep.sample_shape)
    if prep.mean:
        view = (1, len(prep.mean)) + (1,) * (len(prep.sample_shape) - 1)
        t = t * torch.tensor(prep.std).view(view) + torch.tensor(prep.mean).view(view)
    pixels = (t.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    pixels = np.moveaxis(pixels, 1, -1)  # (N, H, W, C)
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels


def evaluate_samples(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, split: str,
                     prep: Preprocessing, loss: str, kind: str,
                     batch_size: int = 512, indices: np.ndarray | None = None) -> Evaluation:
    """Run `model` over one prepared split (in eval mode, without autograd); `indices` as
    Evaluation keeps them."""
    was_training = model.training
    model.eval()
    outputs = []
    try:
        with torch.inference_mode():
            for start in range(0, len(x), batch_size):
                outputs.append(model(x[start:start + batch_size]).float().cpu())
    finally:
        model.train(was_training)
    out = torch.cat(outputs) if outputs else torch.zeros((0, len(prep.classes)))
    probabilities = to_probabilities(out, loss).numpy().astype(np.float32)
    images = (display_images(x, prep)
              if kind == "image" and len(prep.sample_shape) == 3 else None)
    return Evaluation(split, tuple(prep.classes), y.cpu().numpy().astype(np.int64),
                      probabilities, images, indices)
