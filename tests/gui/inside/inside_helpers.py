"""Look Inside's tests: weights saved from a seeded network, and that network's numbers
computed here with torch alone (a fresh compiled model, forward hooks by module name)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PySide6.QtWidgets import QApplication

from dlbuilder.backend.compiler import CompiledModel
from dlbuilder.backend.module_names import module_names
from dlbuilder.backend.plan import build_plan
from dlbuilder.backend.preprocessing import Preprocessing, save_preprocessing
from dlbuilder.backend.weights import save_weights
from dlbuilder.core.fileformat import graph_from_dict
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY

WAIT_S = 30.0


def compiled(graph: dict[str, Any], weights: Path | None = None) -> CompiledModel:
    model = CompiledModel(build_plan(InferenceEngine(graph_from_dict(graph, REGISTRY),
                                                     REGISTRY)))
    if weights is not None:
        model.load_state_dict(torch.load(weights, weights_only=True))
    return model.eval()


def seeded_weights(graph: dict[str, Any], folder: Path, prep: Preprocessing | None = None,
                   seed: int = 0, name: str = "model.pt") -> Path:
    """A weights file (with its preprocessing, when given) of a seeded network for `graph`."""
    torch.manual_seed(seed)
    path = folder / name
    save_weights(compiled(graph), path)
    if prep is not None:
        save_preprocessing(path, prep)
    return path


def reference(model: CompiledModel, x: torch.Tensor) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The model's output for one prepared sample and every module's output by dotted module
    name, from forward hooks registered here."""
    found: dict[str, np.ndarray] = {}
    handles = []
    for name in module_names(model.plan).values():
        def hook(_module, _inputs, output, name=name):
            found[name] = output.detach()[0].numpy().copy()
        handles.append(model.get_submodule(name).register_forward_hook(hook))
    with torch.no_grad():
        out = model(x)
    for handle in handles:
        handle.remove()
    return out[0].numpy(), found


def softmax(logits: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.as_tensor(logits, dtype=torch.float64), 0).numpy()


def as_bytes(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """What a tile's pixels must be: values on low..high as 0..255 (written out here)."""
    return np.rint(np.clip((values - low) / (high - low), 0, 1) * 255).astype(np.uint8)


def image_pixels(image: Any) -> np.ndarray:
    """A QImage's pixels as uint8 (h, w) grey or (h, w, 3)."""
    from PySide6.QtGui import QImage

    if image.format() == QImage.Format.Format_Grayscale8:
        h, w, stride = image.height(), image.width(), image.bytesPerLine()
        data = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * h)
        return data.reshape(h, stride)[:, :w].copy()
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    data = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=stride * h)
    return data.reshape(h, stride)[:, :3 * w].reshape(h, w, 3).copy()


def wait_for(condition: Any, seconds: float = WAIT_S) -> bool:
    """Process events until `condition()` holds (True) or time runs out (False)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.005)
    return False


def answered(panel: Any, condition: Any = None, seconds: float = WAIT_S) -> Any:
    """The panel's answer once one arrives for the current request (and `condition` holds)."""
    def ready() -> bool:
        a = panel.answer
        return a is not None and (condition is None or condition(a))
    assert wait_for(ready, seconds), "Look Inside did not answer"
    return panel.answer


def loaded(panel: Any, seconds: float = WAIT_S) -> Any:
    assert wait_for(lambda: panel.session.info is not None, seconds), "the probe did not load"
    return panel.session.info


def strip_tiles(strip: Any) -> list[np.ndarray]:
    """The tiles a card's strip draws, read back from its one image (grey tiles side by side,
    gaps between them)."""
    from dlbuilder.gui.canvas import style
    from dlbuilder.gui.look.theme import current

    pixels = image_pixels(strip.picture(style.paints(current())))
    n = strip.shown
    h, w = strip.data.pixels.shape[1:3]
    gap = (pixels.shape[1] - n * w) // max(n - 1, 1)
    return [pixels[:, i * (w + gap):i * (w + gap) + w, 0] for i in range(n)]
