"""What a module class's constructor wrote for its layers' arguments, as expression texts.

Tracing gives every value as a number; the code often says more: `kernel_size=2 * k + 1`,
`out_channels=in_channels * expand_ratio`, `*[Inner(w) for _ in range(blocks - 1)]`. This
reads the class's own `__init__` (its source, parsed with `ast`; nothing is run) and gives,
per node id (the attribute, or the position inside an nn.Sequential subclass), each
argument's expression text, and a repeat count where the code writes one. They are only
candidates: parameterize takes one where it gives every instance's actual value, and falls
back to fitting the numbers otherwise. Arguments the code passes positionally are named by
the called class's signature.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
import textwrap
from typing import Any

from torch import nn

Hints = dict[str, dict[str, str]]  # node id -> parameter -> expression text


def written_args(cls: type) -> Hints:
    """Hints for the nodes `cls.__init__` builds; {} where its source cannot be read."""
    return {node: dict(hints) for node, hints in _read_class(cls).items()}


@functools.lru_cache(maxsize=256)
def _read_class(cls: type) -> Hints:
    """Read once per class: ResNet-50 builds 160 modules of a handful of classes."""
    init = cls.__dict__.get("__init__")
    if init is None:
        return {}
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    except (OSError, TypeError, SyntaxError):
        return {}
    scope = vars(sys.modules[cls.__module__]) if cls.__module__ in sys.modules else {}
    reader = _Reader(scope)
    for statement in ast.walk(tree):
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            reader.assignment(statement.targets[0], statement.value)
        elif isinstance(statement, ast.Expr) and _is_super_init(statement.value) \
                and issubclass(cls, nn.Sequential):
            reader.sequence(statement.value.args, first=0)
    return reader.hints


class _Reader:
    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope
        self.hints: Hints = {}

    def assignment(self, target: ast.expr, value: ast.expr) -> None:
        """`self.NAME = Class(...)`, or `self.NAME = nn.Sequential(...)` of one class
        (a repeated instance)."""
        if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                and target.value.id == "self" and isinstance(value, ast.Call)):
            return
        called = self._resolve(value.func)
        if called is nn.Sequential:
            repeated = self._repeated(value.args)
            if repeated is not None:
                self.hints[target.attr] = repeated
        elif isinstance(called, type):
            self.hints[target.attr] = self._bound(called, value)

    def sequence(self, items: list[ast.expr], first: int) -> None:
        """The items of an nn.Sequential subclass's `super().__init__(...)`, nodes `0`,
        `1`... until the first `*[...]`, whose module count the code leaves to run time.
        Where it follows a call of its class, the two are one repeated node (the importer
        merges them), else a node of its own: both are offered."""
        previous: tuple[type, ast.Call] | None = None
        for index, item in enumerate(items, start=first):
            loop = _loop(item)
            if loop is not None:
                called = self._resolve(loop[0].func)
                hints = self._bound(called, loop[0]) if isinstance(called, type) else {}
                self.hints[str(index)] = {**hints, "repeat": loop[1]}
                if previous is not None and previous[0] is called:
                    self.hints[str(index - 1)]["repeat"] = _plus_one(loop[1])
                return
            if not isinstance(item, ast.Call):
                return
            called = self._resolve(item.func)
            if not isinstance(called, type):
                return
            self.hints[str(index)] = self._bound(called, item)
            previous = (called, item)

    def _repeated(self, items: list[ast.expr]) -> dict[str, str] | None:
        """An nn.Sequential of calls of one class: the first's arguments and the count."""
        calls = [_loop(i)[0] if _loop(i) else i for i in items]
        if not calls or not all(isinstance(c, ast.Call) for c in calls):
            return None
        classes = {self._resolve(c.func) for c in calls}
        if len(classes) != 1 or not isinstance(next(iter(classes)), type):
            return None
        hints = self._bound(next(iter(classes)), calls[0])
        loops = [_loop(i)[1] for i in items if _loop(i)]
        plain = len(items) - len(loops)
        if len(loops) == 1 and plain == 1:
            hints["repeat"] = _plus_one(loops[0])
        elif len(loops) == 1 and plain == 0:
            hints["repeat"] = loops[0]
        elif not loops:
            hints["repeat"] = str(plain)
        return hints

    def _resolve(self, func: ast.expr) -> Any:
        """What a called name (`nn.Conv2d`, `Inner`) is in the class's module; None where
        it is not a plain dotted name of it."""
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name) or func.id not in self.scope:
            return None
        value = self.scope[func.id]
        for part in reversed(parts):
            value = getattr(value, part, None)
        return value

    def _bound(self, called: type, call: ast.Call) -> dict[str, str]:
        """Each argument's text, named by the called class's signature."""
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
                k.arg is None for k in call.keywords):
            return {}
        try:
            bound = inspect.signature(called).bind_partial(
                *call.args, **{k.arg: k.value for k in call.keywords})
        except (TypeError, ValueError):
            return {}
        return {name: ast.unparse(value) for name, value in bound.arguments.items()
                if isinstance(value, ast.expr)}


def _is_super_init(value: ast.expr) -> bool:
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and value.func.attr == "__init__" and isinstance(value.func.value, ast.Call)
            and isinstance(value.func.value.func, ast.Name)
            and value.func.value.func.id == "super")


def _loop(item: ast.expr) -> tuple[ast.Call, str] | None:
    """`*[Call(...) for _ in range(COUNT)]` as (the call, COUNT's text)."""
    if not (isinstance(item, ast.Starred) and isinstance(item.value, ast.ListComp)):
        return None
    comp = item.value
    if len(comp.generators) != 1 or not isinstance(comp.elt, ast.Call):
        return None
    source = comp.generators[0].iter
    if not (isinstance(source, ast.Call) and isinstance(source.func, ast.Name)
            and source.func.id == "range" and len(source.args) == 1):
        return None
    return comp.elt, ast.unparse(source.args[0])


def _plus_one(count: str) -> str:
    """The count of a first call and `range(count)` more: `n - 1` gives back `n`."""
    tree = ast.parse(count, mode="eval").body
    if isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.Sub) \
            and isinstance(tree.right, ast.Constant) and tree.right.value == 1:
        return ast.unparse(tree.left)
    return f"{count} + 1"  # + binds loosest and from the left: any count stays whole
