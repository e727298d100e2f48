"""numpy pictures as QImages, for every view that shows arrays: uint8 (h, w) grey or
(h, w, 3) colour, copied so the array may go."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def array_image(pixels: np.ndarray) -> QImage:
    """A uint8 (h, w) grey or (h, w, 3) RGB array as a QImage of its own."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape[:2]
    if pixels.ndim == 2:
        return QImage(pixels.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        return QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    raise ValueError(f"a picture is (h, w) or (h, w, 3), got shape {list(pixels.shape)}")


def image_array(image: QImage) -> np.ndarray:
    """A QImage's grey levels as a float32 (h, w) array in 0..1."""
    grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
    h, w, stride = grey.height(), grey.width(), grey.bytesPerLine()
    data = np.frombuffer(grey.constBits(), dtype=np.uint8, count=stride * h)
    return data.reshape(h, stride)[:, :w].astype(np.float32) / 255.0
