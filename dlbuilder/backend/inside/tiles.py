"""The pixels of the Look Inside pictures, shared by `dlbuilder inspect`'s sheet and the app:
a layer's channels as grey tiles on one common range (so channels compare: a dim tile is a
weak channel, not a rescaled one), a heat colormap, a heat map over a picture, a convolution's
filters. numpy only; drawing them (scaled up, labelled) is the GUI's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the probe loads torch; tiles need only its numpy Filters
    from dlbuilder.backend.inside.probe import Filters

ORDERS = ("index", "mean")

# The heat ramp's control colours, dark to bright, evenly spaced: black, violet, red, orange,
# pale yellow (close to matplotlib's inferno). Lightness rises steadily along it, so it reads
# in grey print and to colour-blind eyes, and a dark picture under it stays visible.
HEAT_STOPS = np.array([(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66),
                       (245, 125, 21), (250, 193, 39), (252, 255, 164)], dtype=np.float64)
_RAMP = np.stack([np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(HEAT_STOPS)),
                            HEAT_STOPS[:, c]) for c in range(3)], axis=1)
HEAT_LUT = np.rint(_RAMP).astype(np.uint8)  # (256, 3): value 0..1 -> colour


@dataclass(frozen=True, eq=False)
class Tiles:
    """One layer's output as pictures: `pixels` (n, h, w) uint8, one tile per channel in
    `order` (channel indices), each on the layer's common range `low`..`high`; `means` the
    channels' means in that order. A vector (Linear, Softmax) has no tiles: `bars` holds its
    values over the largest magnitude (-1..1), `pixels` is empty."""

    pixels: np.ndarray
    order: tuple[int, ...]
    low: float
    high: float
    means: tuple[float, ...]
    bars: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class FilterTiles:
    """A convolution's kernels as pictures on the weight range `low`..`high`: (out, kh, kw, 3)
    colour images when `rgb` (a first layer on colour images: each filter is the colour
    pattern it answers to), else (out, in_per_group, kh, kw), one grey tile per input
    channel."""

    pixels: np.ndarray
    rgb: bool
    low: float
    high: float


def to_bytes(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values on low..high as 0..255 (clipped; a flat range gives 0)."""
    values = np.asarray(values, dtype=np.float64)
    span = high - low
    if not np.isfinite(span) or span <= 0:
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = np.nan_to_num((values - low) / span, nan=0.0)
    return np.rint(np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8)


def map_tiles(output: np.ndarray, order: str = "index") -> Tiles:
    """(C, H, W) -> one tile per channel; (H, W) is one channel; anything else is a vector
    (bars). `order` "mean" puts the strongest channel (highest mean) first."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    values = np.asarray(output, dtype=np.float64)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if values.ndim not in (2, 3):
        flat = values.reshape(-1)
        peak = max(abs(low), abs(high))
        bars = (flat / peak if peak > 0 else np.zeros_like(flat)).astype(np.float32)
        return Tiles(np.zeros((0, 1, 1), dtype=np.uint8), (), low, high, (), bars)
    maps = values if values.ndim == 3 else values[None]
    means = maps.reshape(len(maps), -1).mean(axis=1) if maps.size else np.zeros(len(maps))
    index = np.argsort(-means, kind="stable") if order == "mean" else np.arange(len(maps))
    return Tiles(to_bytes(maps[index], low, high), tuple(int(i) for i in index), low, high,
                 tuple(float(means[i]) for i in index))


def heat(values01: np.ndarray) -> np.ndarray:
    """(H, W) values in 0..1 -> (H, W, 3) uint8 colours of the heat ramp (NaN as 0)."""
    return HEAT_LUT[to_bytes(values01, 0.0, 1.0)]


def as_rgb(picture: np.ndarray) -> np.ndarray:
    """A grey (H, W) or colour (H, W, 3) uint8 picture as (H, W, 3)."""
    picture = np.asarray(picture, dtype=np.uint8)
    return np.repeat(picture[..., None], 3, axis=2) if picture.ndim == 2 else picture


def overlay(picture: np.ndarray, values01: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The heat of `values01` (H, W) over `picture` (same H, W): alpha 0 is the picture, 1 the
    heat alone. Returns (H, W, 3) uint8."""
    base = as_rgb(picture)
    if base.shape[:2] != np.shape(values01):
        raise ValueError(f"the picture is {base.shape[1]}x{base.shape[0]} but the map is "
                         f"{np.shape(values01)[1]}x{np.shape(values01)[0]}")
    alpha = float(np.clip(alpha, 0.0, 1.0))
    mixed = (1 - alpha) * base.astype(np.float64) + alpha * heat(values01).astype(np.float64)
    return np.rint(mixed).astype(np.uint8)


def filter_tiles(filters: Filters) -> FilterTiles:
    """The kernels as pictures, all on the common weight range (so filters compare)."""
    pixels = to_bytes(filters.weights, filters.low, filters.high)
    if filters.rgb:
        pixels = np.ascontiguousarray(pixels.transpose(0, 2, 3, 1))
    return FilterTiles(pixels, filters.rgb, filters.low, filters.high)


def mosaic(tiles: np.ndarray, columns: int, gap: int = 1, fill: int = 0) -> np.ndarray:
    """Tiles (n, h, w) or (n, h, w, 3) laid out in rows of `columns`, `gap` pixels apart, the
    gaps and the empty places of the last row filled with `fill`."""
    tiles = np.asarray(tiles)
    n, h, w = tiles.shape[:3]
    columns = max(1, min(columns, n))
    rows = -(-n // columns) if n else 0
    out = np.full((rows * (h + gap) - gap if rows else 0, columns * (w + gap) - gap,
                   *tiles.shape[3:]), fill, dtype=tiles.dtype)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tile
    return out
