"""The dotted module name (`layer1.0.conv1`) of each node path, from the plan alone; and node
paths as the user reads and writes them (`layer1.1/conv1`), at the end.

`compiler.node_modules` finds the module of each node path in a built model; the training
script needs the same places as names it can print (`net.get_submodule("layer1.0")`) without
torch. Both read the plan the same way: a block instance's runs are `attr.0`, `attr.1`... when
it repeats (an nn.Sequential), `attr` when it does not; a sequential class numbers its items,
a repeat spliced in among them. A test holds the two to the same answer on every example.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import count, product
from typing import Any

from dlbuilder.backend.block_plan import evaluate
from dlbuilder.backend.plan import ClassPlan, Layer, ModelPlan

NodePath = tuple[str | int, ...]


def module_names(plan: ModelPlan) -> dict[NodePath, str]:
    """Node path (as `compiler.node_modules` keys it) -> the module's name in the model."""
    out: dict[NodePath, str] = {}
    classes = {cls.name: cls for cls in plan.classes}
    for layer in plan.layers:
        _name_layer(layer, iter([layer.attr]), {}, (), classes, out)
    return out


def _runs(layer: Layer, env: dict[str, Any]) -> Iterator[tuple[ClassPlan | str, dict]]:
    """(class name, constructor values) of each run of an instance layer, in order."""
    for call in layer.calls:
        values = {name: evaluate(value, env) for name, value in call.args}
        for _ in range(evaluate(call.times, env)):
            yield call.cls, values


def _name_layer(layer: Layer, names: Iterator[str], env: dict[str, Any], prefix: NodePath,
                classes: dict[str, ClassPlan], out: dict[NodePath, str]) -> None:
    """Name the module(s) `layer` built, taking names from `names`: one, or one per run
    where a sequential class spliced a repeat in (`spliced`)."""
    if not layer.calls:
        out[prefix + (layer.node,)] = next(names)
        return
    spliced = isinstance(names, _Items)
    if layer.sequence and not spliced:
        own = next(names)
        names = (f"{own}.{i}" for i in count())
    for run, (cls_name, values) in enumerate(_runs(layer, env)):
        name, path = next(names), prefix + (layer.node, run)
        out[path] = name
        cls = classes[cls_name]
        inner_env = {**{n: d for n, d in cls.signature if d is not None}, **values}
        _name_block(cls, name, inner_env, path, classes, out)


class _Items:
    """A sequential block's item names, `name.0`, `name.1`..., handed out in order."""

    def __init__(self, name: str) -> None:
        self._next = (f"{name}.{i}" for i in count())

    def __iter__(self) -> _Items:
        return self

    def __next__(self) -> str:
        return next(self._next)


def _name_block(cls: ClassPlan, name: str, env: dict[str, Any], path: NodePath,
                classes: dict[str, ClassPlan], out: dict[NodePath, str]) -> None:
    if cls.sequential:
        items = _Items(name)
        for layer in cls.layers:
            _name_layer(layer, items, env, path, classes, out)
        return
    for layer in cls.layers:
        _name_layer(layer, iter([f"{name}.{layer.attr}"]), env, path, classes, out)


# -- node paths as text ---------------------------------------------------------------
# A path's text names the block instances down to the node with `/`: `layer1/conv1`; a
# repeated instance's run follows its id after a dot, as in the problems list and the
# state_dict's keys: `layer1.1/conv1` is the first convolution of layer1's second run. Reading
# text back accepts that form, the run as a part of its own (`layer1/1/conv1`), and a run left
# out when it is the first (`layer1/conv1`, as `dlbuilder solve --node` takes it).
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
