"""Node paths as text, the way the problems list and `dlbuilder solve --node` write them.

A path's text names the block instances down to the node with `/`: `layer1/conv1`; a repeated
instance's run follows its id after a dot, as in the problems list and the state_dict's keys:
`layer1.1/conv1` is the first convolution of layer1's second run. Reading text back accepts
that form, the run as a part of its own (`layer1/1/conv1`), and a run left out when it is the
first (`layer1/conv1`, as `dlbuilder solve --node` takes it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import product

from dlbuilder.backend.module_names import NodePath


def _steps(path: NodePath) -> list[tuple[str, int | None]]:
    """(id, run or None) per level: `("layer1", 1, "conv1")` -> [("layer1", 1), ("conv1", None)]."""
    steps: list[tuple[str, int | None]] = []
    for part in path:
        if isinstance(part, int):
            steps[-1] = (steps[-1][0], part)
        else:
            steps.append((part, None))
    return steps


def _repeated(path: NodePath, known: frozenset[NodePath]) -> list[bool]:
    """Per level of `path`, whether that block instance has more than one run."""
    flags = []
    for i, part in enumerate(path):
        if isinstance(part, int):
            flags.append(path[:i] + (1,) in known)
    return flags


def path_text(path: NodePath, known: Iterable[NodePath]) -> str:
    """`layer1.1/conv1` (a repeated instance) or `layer1/conv1` (one run); `known` holds every
    path of the network (whether an instance repeats is read from it)."""
    known = known if isinstance(known, frozenset) else frozenset(known)
    repeats = iter(_repeated(path, known))
    parts = []
    for node, run in _steps(path):
        parts.append(node if run is None or not next(repeats) else f"{node}.{run}")
    return "/".join(parts)


def _spellings(path: NodePath) -> Iterator[str]:
    """Every text that names `path`, the canonical ones among them."""
    choices = []
    for node, run in _steps(path):
        if run is None:
            choices.append((node,))
        else:
            choices.append((f"{node}.{run}", f"{node}/{run}") + ((node,) if run == 0 else ()))
    for parts in product(*choices):
        yield "/".join(parts)


def find_path(text: str, known: Iterable[NodePath]) -> NodePath | None:
    """The path `text` names among `known`, or None. Where a text names two paths (a block
    instance and its only run, which give the same output), the canonical spelling wins,
    then the shorter path."""
    known = frozenset(known)
    text = text.strip().strip("/")
    canonical = [path for path in known if path_text(path, known) == text]
    if canonical:
        return min(canonical, key=len)
    spelled = [path for path in known if text in set(_spellings(path))]
    return min(spelled, key=len) if spelled else None
