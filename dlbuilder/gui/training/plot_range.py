"""A y range for live curves that moves seldom: changing a plot's range redraws its axis and
the grid the axis draws across the plot, which took most of a repaint while a run trains.

The range widens at once, with room to spare, when a point falls outside it, and fits all the
points snugly again when an epoch ends, so a falling loss is not left squeezed for long.
"""

from __future__ import annotations

import numpy as np

MARGIN = 0.05  # of the span, above and below, when the range fits the points
HEADROOM = 0.3  # of the span, beyond a point that left the range: room for the next ones


class SteadyRange:
    """The y range of one plot, from the arrays it shows (which only ever grow)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.shown: tuple[float, float] | None = None
        self._low = np.inf
        self._high = -np.inf
        self._seen: dict[int, int] = {}

    def update(self, arrays: list[np.ndarray], refit: bool) -> tuple[float, float] | None:
        """The range to set now, or None to keep the one shown. `refit`: an epoch ended."""
        if refit:
            self._low, self._high, self._seen = np.inf, -np.inf, {}
        for index, values in enumerate(arrays):
            new = values[self._seen.get(index, 0):]
            self._seen[index] = len(values)
            finite = new[np.isfinite(new)]
            if len(finite):
                self._low = min(self._low, float(finite.min()))
                self._high = max(self._high, float(finite.max()))
        if not np.isfinite(self._low):
            return None
        inside = self.shown is not None and self.shown[0] <= self._low \
            and self._high <= self.shown[1]
        if inside and not refit:
            return None
        span = max(self._high - self._low, abs(self._high) * 1e-3, 1e-12)
        below = MARGIN if refit or self.shown is None or self._low >= self.shown[0] else HEADROOM
        above = MARGIN if refit or self.shown is None or self._high <= self.shown[1] else HEADROOM
        wanted = (self._low - below * span, self._high + above * span)
        if self.shown is not None and not refit:  # move only the side that was left
            wanted = (wanted[0] if self._low < self.shown[0] else self.shown[0],
                      wanted[1] if self._high > self.shown[1] else self.shown[1])
        if wanted == self.shown:
            return None
        self.shown = wanted
        return wanted
