"""What an importer cannot map, said once for the whole model: every place, not the first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Unmapped:
    """One place the importer cannot map: `place` is the module path (`layer1.0.lstm`) or
    the ONNX node's name, `operation` what is there (`nn.LSTM`, `torch.sort`, `ONNX Loop`),
    `reason` why it cannot be a graph node, `line` the source line where torch gives it."""

    place: str
    operation: str
    reason: str
    line: str | None = None

    def __str__(self) -> str:
        text = f"{self.place or '(the model itself)'}: {self.operation}: {self.reason}"
        return f"{text}\n    at {self.line}" if self.line else text


class ImportRefused(ValueError):
    """The model has parts the graph cannot hold; nothing was written. `problems` lists them
    all, in the model's order."""

    def __init__(self, source: str, problems: Sequence[Unmapped]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(self.report())

    def report(self) -> str:
        count = len(self.problems)
        head = (f"{self.source} cannot be imported: {count} "
                f"{'place' if count == 1 else 'places'} the graph cannot hold")
        return "\n".join([head, *(f"  {problem}" for problem in self.problems)])


class ImportFailed(ValueError):
    """The model could not be read at all (a missing file or NAME, a model that fails to
    build, an input shape that does not fit): one message saying what and where."""
