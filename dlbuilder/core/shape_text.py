"""Reading a shape typed as text (`3x224x224`, `3, 224, 224`, `784`): the inspector's shape
fields, the import dialog and `dlbuilder import --input` take shapes alike and say alike what
they cannot take."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dlbuilder.core.params import ParamError

SHAPE_SEPARATORS = ",x×*[("  # a shape ending in one of these is still being typed
_SPLIT = re.compile(r"[\s,x×*\[\]()]+")


@dataclass(frozen=True)
class ShapeWords:
    """How a field names what it takes, for its messages."""

    example: str = "1, 28, 28 (C, H, W) or 784 (F)"
    wanted: str = "1 to 3 positive whole numbers"
    what: str = "a shape"
    empty: str = "an empty shape"


class ShapeTextError(ValueError):
    """Text that is not (or not yet) a value; the message says why, with an example."""


def read_shape(text: str, make: Callable[[list[int]], Any], words: ShapeWords) -> Any:
    """`make(numbers)` for the whole numbers typed in `text`; `make` raises ValueError,
    ParamError or IndexError for numbers it cannot take. ShapeTextError otherwise."""
    text = text.strip()
    if text and text[-1] in SHAPE_SEPARATORS:
        raise ShapeTextError(f"{text!r} is not finished: type the number after "
                             f"{text[-1]!r}, like {words.example}")
    parts = [p for p in _SPLIT.split(text) if p]
    try:
        return make([int(p) for p in parts])
    except (ValueError, ParamError, IndexError):
        raise ShapeTextError(f"{text or words.empty!r} is not {words.what}: give "
                             f"{words.wanted}, like {words.example}") from None


SAMPLE_WORDS = ShapeWords(example="3x224x224 (C x H x W) or 784 (F)")


def read_sample_shape(text: str) -> tuple[int, ...]:
    """One sample's shape typed as `3x224x224` or `784` (1 to 3 positive whole numbers), as
    an import takes it; ShapeTextError says what is wrong with it."""
    def sample_shape(numbers: list[int]) -> tuple[int, ...]:
        if not 1 <= len(numbers) <= 3 or min(numbers) < 1:
            raise ValueError(numbers)
        return tuple(numbers)
    return read_shape(text, sample_shape, SAMPLE_WORDS)
