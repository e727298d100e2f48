"""How the Training tab writes numbers, said once: the progress line, the runs table and the
plots' read-out all use these (no Qt, no torch)."""

from __future__ import annotations

import math

MISSING = "–"  # a value the run does not have


def clock(seconds: float) -> str:
    """0:42, 12:05, 1:02:09."""
    whole = max(round(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(fraction: float | None) -> str:
    """A fraction as 98.7%; MISSING for none (or not a number)."""
    if fraction is None or not math.isfinite(fraction):
        return MISSING
    return f"{100 * fraction:.1f}%"
