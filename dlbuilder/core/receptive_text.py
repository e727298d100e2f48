"""Receptive fields in words: the summary column and the inspector's recursion with the
user's numbers (the math is in receptive.py)."""

from __future__ import annotations

from typing import Any

from dlbuilder.core.blocks import BLOCK
from dlbuilder.core.engine_base import EngineBase
from dlbuilder.core.receptive import Receptive, Window, compose_block, merged, number

AXIS_NAMES = ("H", "W")

def describe(field: Receptive | None) -> str:
    """A few words for the summary column: `9x9 (jump 4)`, `whole input`, `-`."""
    if field is None:
        return "-"
    if field.whole:
        return "whole input"
    if not field.size:
        return "-"
    size = _axes_text(field.size)
    jumps = tuple(number(j) for j in field.jump)
    jump = str(jumps[0]) if len(set(jumps)) == 1 else "x".join(map(str, jumps))
    return f"{size} (jump {jump})"


def field_words(field: Receptive | None) -> str:
    """The field in a sentence, for a tooltip."""
    if field is None:
        return "no receptive field: not an image, or not known until the problems are fixed"
    if field.whole:
        return "every output value sees the whole input"
    if not field.size:
        return "each value sees the input pixel it came from"
    size, jump = _axes_text(field.size), "x".join(str(number(j)) for j in field.jump)
    start = ", ".join(str(number(c)) for c in field.start)
    words = (f"each output value sees {size} input pixels; neighbouring outputs' regions are "
             f"{jump} pixels apart; output 0's region is centred at ({start})")
    if not field.exact:
        words += " (the most any output sees: after upsampling they differ from one to the next)"
    return words


def field_text(data: dict[str, Any] | None) -> str:
    """describe() for a field as `summary --json` writes it (Receptive.as_dict)."""
    if data is None:
        return "-"
    return describe(Receptive(tuple(data["size"]), tuple(data["jump"]), tuple(data["start"]),
                              data["whole"]))


def _axes_text(values: tuple) -> str:
    if len(set(values)) == 1 and len(values) > 1:
        return f"{values[0]}x{values[0]}"
    return "x".join(str(v) for v in values)


def explain(engine: EngineBase, node: str) -> list[str]:
    """The recursion with the user's numbers, one line per axis (one for a square layer)."""
    lines = _explain(engine, node)
    if lines and engine.env is not None:  # a block's graph: counted from the block's input
        lines[0] += " (counted from the block's input; the summary counts from the image)"
    return lines


def _explain(engine: EngineBase, node: str) -> list[str]:
    info = engine.info(node)
    field = info.receptive
    if field is None:
        return []
    sources = engine.graph.input_sources(node)
    fields = [engine.info(src).receptive for src, _ in sources]
    if info.type == BLOCK:
        return _block_lines(engine, node, merged(fields))
    if not sources:
        return [f"receptive field: each output value sees itself: 1 input pixel "
                f"(jump 1, start 0) on {', '.join(AXIS_NAMES[-len(field.size):])}"]
    if field.whole:
        return ["receptive field: every output value sees the whole input"]
    window = _window_of(engine, node)
    if len(fields) > 1 or window is None or not window.span or fields[0] is None:
        prefix = "the hull of its inputs' regions: " if len(fields) > 1 else ""
        return [f"receptive field: {prefix}{describe(field)}, as its input"
                if not prefix else f"receptive field: {prefix}{describe(field)}"]
    return _recursion_lines(fields[0], window, field)


def _block_lines(engine: EngineBase, node: str, entry: Receptive | None) -> list[str]:
    """An instance: each repeat's own field (from its BlockInput) applied after the field at
    its input."""
    lines = [f"receptive field: at its input {describe(entry)}; each repeat's own field "
             "(counted from the block's input) widens it:"]
    for i, run in enumerate(engine.runs(node)):
        own = run.output_receptive()
        before, entry = entry, compose_block(entry, own)
        if own is not None and entry is not None and before is not None and own.size \
                and entry.size:
            axes = list(zip(before.spans, own.spans, before.jump, entry.size, strict=False))
            if len(set(axes)) == 1:
                axes = axes[:1]
            sizes = ", ".join(f"RF = {number(s)} + ({number(k)} - 1)*{number(j)} = {n}"
                              for s, k, j, n in axes)
            lines.append(f"repeat {i}, its own {describe(own)}: {sizes}")
        else:
            lines.append(f"repeat {i}: own {describe(own)} -> {describe(entry)}")
    return lines


def _window_of(engine: EngineBase, node: str) -> Window | None:
    info = engine.info(node)
    spec = engine.registry.get(info.type) if info.type in engine.registry else None
    params = engine.checked_params(node)
    if spec is None or spec.receptive is None or params is None or info.output_shape is None:
        return None
    ins = [s for s in engine.input_shapes(node) if s is not None]
    return spec.receptive(ins, params, info.output_shape)


def _recursion_lines(before: Receptive, window: Window, after: Receptive) -> list[str]:
    """RF = RF1 + (F - 1)*J1, J = J1*S, start = start1 + ((F - 1)/2 - P)*J1 with the numbers,
    per axis (once for a square layer); F is the kernel's span (dilation counted)."""
    lines = ["receptive field: RF input pixels seen by one output value, J pixels between "
             "neighbouring outputs, start the centre of output 0's region; RF1, J1, start1 "
             "are the previous layer's"]
    axes = AXIS_NAMES[-len(after.size):] if len(after.size) <= 2 else \
        tuple(str(i) for i in range(len(after.size)))
    rows = list(zip(axes, before.spans, before.jump, before.start, window.span,
                    window.stride, window.offset, after.size, after.jump, after.start,
                    strict=False))
    if len(rows) == 2 and rows[0][1:] == rows[1][1:]:
        rows = [("", *rows[0][1:])]
    n = number
    for name, s_in, j_in, c_in, k, st, off, size, jump, start in rows:
        axis = f" ({name})" if name else ""
        lines += [f"RF = RF1 + (F - 1)*J1{axis}: RF = {n(s_in)} + ({n(k)} - 1)*{n(j_in)} = "
                  f"{size}",
                  f"J = J1*S{axis}: J = {n(j_in)}*{n(st)} = {n(jump)}",
                  f"start = start1 + ((F - 1)/2 - P)*J1{axis}: start = {n(c_in)} + "
                  f"(({n(k)} - 1)/2 - {n(-off)})*{n(j_in)} = {n(start)}"]
    return lines
