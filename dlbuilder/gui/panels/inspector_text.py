"""The inspector's words: a node's explanation as rich text (formulas muted, each above the
same with the user's numbers), its output line, the field groups, what several selected say."""

from __future__ import annotations

import html

from dlbuilder.core.params import ParamSpec
from dlbuilder.core.registry import LayerSpec, format_shape
from dlbuilder.gui.look.theme import Theme

WRAP_AT = 34                        # explain lines longer than this are split at their formula
OPTION_KINDS = ("bool", "choice")   # switches come after the numbers that shape the output


def many_selected(count: int) -> str:
    return f"{count} layers are selected.\n\nSelect a single layer to edit its parameters."


def split_formula(line: str) -> tuple[str, str] | None:
    """("H = (H1 - F + 2P)/S + 1", "H = (28 - 5 + 2*2)/1 + 1 = 28") for an explain line that
    states a formula and then its numbers, so each can have a line of its own in a narrow dock;
    None for a line that is better left whole."""
    formula, sep, numbers = line.partition(": ")
    if sep and "=" in numbers and any(c in formula for c in "=>"):
        return formula, numbers
    parts = line.split(" = ")  # "params = (F*F*D1)*K + K = (5*5*1)*6 + 6 = 156"
    if len(line) > WRAP_AT and len(parts) >= 3 and any(op in parts[1] for op in "*+/-"):
        return " = ".join(parts[:2]), "= " + " = ".join(parts[2:])
    return None


def explain_html(lines: list[str], theme: Theme) -> str:
    """Explain lines as rich text: formulas muted, the same with the user's numbers below."""
    out = []
    for line in lines:
        split = split_formula(line)
        if split is None:
            out.append(html.escape(line))
        else:
            out.append(f'<span style="color:{theme.muted}">{html.escape(split[0])}</span>')
            out.append("  " + html.escape(split[1]))
    return '<div style="white-space:pre-wrap">' + "<br>".join(out) + "</div>"


def result_text(shape: tuple[int, ...] | None, params: int, buffers: int,
                ports: tuple[tuple[int, ...], ...] = ()) -> str:
    """`Output 16x8x8 · 448 parameters`; a layer with several outputs names each by number."""
    if shape is None:
        return "Output: not known yet"
    shown = f"Output {format_shape(shape)}"
    if ports:
        shown = "Outputs " + ", ".join(f"{i}: {format_shape(s)}" for i, s in enumerate(ports))
    text = f"{shown}  ·  {params:,} parameter{'s' if params != 1 else ''}"
    if buffers:
        text += f"  ·  {buffers:,} buffers"
    return text


def field_groups(spec: LayerSpec) -> list[tuple[str, list[ParamSpec]]]:
    """The declaration's fields in two groups: numbers (which shape the output) first, then
    switches and choices. Declaration order is kept inside each group."""
    numbers = [p for p in spec.params if p.kind not in OPTION_KINDS]
    options = [p for p in spec.params if p.kind in OPTION_KINDS]
    groups = (("Parameters", numbers), ("Options", options))
    return [(title, group) for title, group in groups if group]
