"""What `dlbuilder train` prints: a progress bar that redraws in place on a terminal (and stays
silent in a pipe or a log), one line per epoch, and the final summary."""

from __future__ import annotations

import time
from typing import TextIO

_WIDTH = 24
_REDRAW_S = 0.1  # a bar redrawn on every batch would cost more than small batches do


def _interactive(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


class EpochBar:
    """`epoch 2/10 [#########...............] 310/844  loss 0.3123  acc 91.2%  2,345/s`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = _interactive(stream)
        self._last = 0.0
        self._drawn = False

    def update(self, record) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < _REDRAW_S and record.batch < record.batches):
            return
        self._last = now
        filled = _WIDTH * record.batch // record.batches
        text = (f"epoch {record.epoch} [{'#' * filled}{'.' * (_WIDTH - filled)}] "
                f"{record.batch}/{record.batches}  loss {record.loss:.4f}")
        if record.accuracy is not None:
            text += f"  acc {record.accuracy:.1%}"
        text += f"  {record.samples_per_s:,.0f}/s"
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False


class DownloadProgress:
    """The datasets' progress callback: a redrawn line on a terminal, start and end otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.interactive = _interactive(stream)
        self._current: str | None = None
        self._last = 0.0

    def __call__(self, name: str, done: int, total: int | None) -> None:
        finished = total is not None and done >= total
        if name != self._current:
            self._current = name
            if not self.interactive:
                size = f" ({total / 1e6:.1f} MB)" if total else ""
                self.stream.write(f"downloading {name}{size}\n")
        now = time.monotonic()
        if self.interactive and (finished or now - self._last >= _REDRAW_S):
            self._last = now
            of = f" of {total / 1e6:.1f}" if total else ""
            self.stream.write(f"\rdownloading {name}: {done / 1e6:.1f}{of} MB\x1b[K")
            if finished:
                self.stream.write("\n")
        self.stream.flush()


def format_epoch(r) -> str:
    """`epoch  3/10  train loss 0.1234 acc 96.10%  val loss 0.1012 acc 96.90%  lr 0.001  4.2 s`"""
    width = len(str(r.epochs))
    parts = [f"epoch {r.epoch:>{width}}/{r.epochs}", "train " + _metrics(r, "train")]
    if r.val_loss is not None:
        parts.append("val " + _metrics(r, "val"))
    parts.append(f"lr {r.lr:.3g}")
    parts.append(f"{r.seconds:.1f} s")
    if r.improved:
        parts.append("(best)")
    elif r.patience_left is not None:
        parts.append(f"(patience {r.patience_left} left)")
    return "  ".join(parts)


def _metrics(r, split: str) -> str:
    text = f"loss {getattr(r, f'{split}_loss'):.4f}"
    accuracy = getattr(r, f"{split}_accuracy")
    if accuracy is not None:
        text += f" acc {accuracy:.2%}"
    mae = getattr(r, f"{split}_mae")
    if mae is not None:
        text += f" mae {mae:.4f}"
    return text


def format_final(r) -> str:
    """The reason the run ended, the best epoch's figures, test accuracy, per-class accuracy."""
    lines = [f"{r.reason.replace('_', ' ')}: {r.message} ({r.seconds:.1f} s)"]
    if r.best_epoch is not None:
        best = f"best epoch {r.best_epoch} by {r.monitor}"
        if r.val_accuracy is not None:
            best += f": val accuracy {r.val_accuracy:.2%}"
        elif r.val_loss is not None:
            best += f": val loss {r.val_loss:.4f}"
        lines.append(best)
    if r.test_accuracy is not None:
        lines.append(f"test accuracy {r.test_accuracy:.2%} (best weights)")
    elif r.test_loss is not None:
        lines.append(f"test loss {r.test_loss:.4f} (best weights)")
    if r.per_class_accuracy is not None and len(r.classes) <= 20:
        shown = ", ".join(f"{name} {acc:.0%}" if acc is not None else f"{name} -"
                          for name, acc in zip(r.classes, r.per_class_accuracy, strict=True))
        lines.append(f"per class ({r.confusion_split}): {shown}")
    return "\n".join(lines)
