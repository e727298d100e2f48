"""The dotted module name (`layer1.0.conv1`) of each node path, from the plan alone.

`compiler.node_modules` finds the module of each node path in a built model; the training
script needs the same places as names it can print (`net.get_submodule("layer1.0")`) without
torch. Both read the plan the same way: a block instance's runs are `attr.0`, `attr.1`... when
it repeats (an nn.Sequential), `attr` when it does not; a sequential class numbers its items,
a repeat spliced in among them. A test holds the two to the same answer on every example.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
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
