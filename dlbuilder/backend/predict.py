"""Classify new samples with trained weights, prepared exactly as the training data was."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from dlbuilder.backend.datasets import DatasetError
from dlbuilder.backend.prepare import Preprocessing

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


@dataclass(frozen=True)
class Prediction:
    """One sample's top classes, best first, as (class name, probability) pairs."""

    name: str
    top: tuple[tuple[str, float], ...]


def read_samples(paths: Sequence[str | os.PathLike[str]],
                 prep: Preprocessing) -> tuple[list[str], np.ndarray, list[str]]:
    """Raw samples from image files and NPZ files (their `x` array, or their only array).

    Returns names (file, or file[i] for NPZ rows), the samples (N, *sample_shape) in the
    dataset's raw units, and notes about what was changed to fit (an image resized to the
    training size).
    """
    names: list[str] = []
    chunks: list[np.ndarray] = []
    notes: list[str] = []
    shape = prep.sample_shape
    for raw in paths:
        path = Path(raw)
        if path.suffix.lower() == ".npz":
            x = _npz_samples(path, shape)
            names += [f"{path.name}[{i}]" for i in range(len(x))]
            chunks.append(x)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            if len(shape) != 3 or shape[0] not in (1, 3):
                raise DatasetError(f"{path}: the network was trained on samples of shape "
                                   f"{list(shape)}, not images; give an NPZ of samples")
            from dlbuilder.backend.datasets.images import read_image

            image, original = read_image(path, channels=shape[0], size=(shape[2], shape[1]))
            if original != (shape[2], shape[1]):
                notes.append(f"{path.name}: resized from {original[0]}x{original[1]} to "
                             f"{shape[2]}x{shape[1]}, the training images' size")
            names.append(path.name)
            # an image file's 0..255 means 0..1; the dataset's raw values mean that at `scale`
            chunks.append(image[None].astype(np.float32) * (prep.scale / 255.0))
        else:
            raise DatasetError(f"{path}: not an image ({', '.join(IMAGE_SUFFIXES)}) or .npz")
    return names, np.concatenate(chunks) if chunks else np.zeros((0, *shape)), notes


def _npz_samples(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            key = "x" if "x" in keys else keys[0] if len(keys) == 1 else None
            if key is None:
                raise DatasetError(f"{path}: holds {', '.join(keys)}; name the samples `x`")
            x = archive[key]
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path}: cannot be read as NPZ: {err}") from None
    size = int(np.prod(shape))
    if x.ndim < 1 or int(np.prod(x.shape[1:])) != size:
        raise DatasetError(f"{path}: `{key}` has shape {list(x.shape)}, but each sample must "
                           f"hold {size} values ({'x'.join(map(str, shape))})")
    return x.reshape(len(x), *shape)


def class_probabilities(model: nn.Module, prep: Preprocessing, raw: np.ndarray,
                        loss: str) -> torch.Tensor:
    """(N, classes) probabilities: softmax of the scores a CrossEntropyLoss was trained on,
    exp of log-probabilities for NLLLoss, the scores as they are for other losses."""
    device = next(model.parameters(), torch.zeros(())).device
    model.eval()
    with torch.inference_mode():
        out = model(prep.apply(raw).to(device)).float().cpu()
    return to_probabilities(out, loss)


def to_probabilities(out: torch.Tensor, loss: str) -> torch.Tensor:
    """Network outputs as class probabilities, by the loss they were trained with."""
    if loss == "CrossEntropyLoss":
        return out.softmax(dim=1)
    if loss == "NLLLoss":
        return out.exp()
    return out


def top_classes(names: Sequence[str], probabilities: torch.Tensor, classes: Sequence[str],
                k: int) -> list[Prediction]:
    k = min(k, probabilities.shape[1])
    values, indices = probabilities.topk(k, dim=1)
    return [Prediction(name, tuple((classes[i], float(v)) for v, i in zip(vs, ix, strict=True)))
            for name, vs, ix in zip(names, values.tolist(), indices.tolist(), strict=True)]
