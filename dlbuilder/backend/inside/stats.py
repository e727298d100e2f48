"""Each node's output for one sample, summed up in numbers: what `dlbuilder inspect --json`
prints and the maps panel labels its grid with. numpy only (no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dlbuilder.backend.module_names import NodePath

if TYPE_CHECKING:  # the probe loads torch; statistics need only its numpy Look
    from dlbuilder.backend.inside.probe import Look


@dataclass(frozen=True)
class MapStats:
    """One node's output: its size, the spread of its values, the share that are exactly 0
    (after a ReLU: units that are off for this sample), and each channel's mean for (C, H, W)
    outputs (empty otherwise)."""

    node: NodePath
    shape: tuple[int, ...]
    mean: float
    std: float
    low: float
    high: float
    zero_share: float
    channel_means: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"node": list(self.node), "shape": list(self.shape), "mean": self.mean,
                "std": self.std, "low": self.low, "high": self.high,
                "zero_share": self.zero_share, "channel_means": list(self.channel_means)}


def output_stats(node: NodePath, output: np.ndarray) -> MapStats:
    """The statistics of one output (float64 sums, so a large map's mean is exact)."""
    values = np.asarray(output, dtype=np.float64)
    if values.size == 0:
        return MapStats(node, tuple(values.shape), 0.0, 0.0, 0.0, 0.0, 0.0, ())
    channels = tuple(float(m) for m in values.reshape(len(values), -1).mean(axis=1)) \
        if values.ndim == 3 else ()
    return MapStats(node=node, shape=tuple(values.shape), mean=float(values.mean()),
                    std=float(values.std()), low=float(values.min()), high=float(values.max()),
                    zero_share=float(np.count_nonzero(values == 0) / values.size),
                    channel_means=channels)


def map_stats(look: Look) -> list[MapStats]:
    """Every node's statistics, in forward order (the Look's)."""
    return [output_stats(node, output) for node, output in look.outputs.items()]
