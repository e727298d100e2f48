"""Sizes that remember how they were computed, to write a block's class in its own terms.

A block type becomes one class whatever instance it runs in, so a size that follows from the
block's input or parameters (a Conv2d's in_channels, `channels * 4` out_channels) must be
written as an expression of the constructor's parameters. `Sym` is an int that carries such an
expression: tracing a definition's shape rules and `torch_args` with the input's channel count
and the block's parameters as Syms makes every derived size a Sym whose tree says how it came
about. Arithmetic outside + - * // % (and `int()`) gives a plain int: the expression is lost,
and the caller falls back to the value. Sizes from the spatial dimensions are `loose`: they are
carried as values only, since a class written with `in_channels * 56 * 56` would read as magic.

Trees are core/expr.py's nodes, so an expression evaluates (and prints) without `eval`.
"""

from __future__ import annotations

from typing import Any

from dlbuilder.core.expr import BinOp, Name, Neg, Num
from dlbuilder.core.expr import Node as Tree

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "//": 2, "%": 2}
_INT_OPS = {"+": int.__add__, "-": int.__sub__, "*": int.__mul__, "//": int.__floordiv__,
            "%": int.__mod__}


class Sym(int):
    """An int with the expression (`tree`) it was computed by; `loose` when a spatial size
    went into it (then only its value counts)."""

    tree: Tree
    loose: bool

    def __new__(cls, value: int, tree: Tree, loose: bool = False) -> Sym:
        self = int.__new__(cls, value)
        self.tree = tree
        self.loose = loose
        return self

    def _op(self, op: str, other: Any, swap: bool) -> Any:
        if not isinstance(other, int):
            return NotImplemented
        left, right = (other, self) if swap else (self, other)
        if op in ("//", "%") and int(right) == 0:
            raise ZeroDivisionError("integer division or modulo by zero")
        value = _INT_OPS[op](int(left), int(right))
        loose = _is_loose(left) or _is_loose(right)
        return Sym(value, simplified(BinOp(op, tree_of(left), tree_of(right))), loose)

    def __add__(self, other: Any) -> Any:
        return self._op("+", other, False)

    def __radd__(self, other: Any) -> Any:
        return self._op("+", other, True)

    def __sub__(self, other: Any) -> Any:
        return self._op("-", other, False)

    def __rsub__(self, other: Any) -> Any:
        return self._op("-", other, True)

    def __mul__(self, other: Any) -> Any:
        return self._op("*", other, False)

    def __rmul__(self, other: Any) -> Any:
        return self._op("*", other, True)

    def __floordiv__(self, other: Any) -> Any:
        return self._op("//", other, False)

    def __rfloordiv__(self, other: Any) -> Any:
        return self._op("//", other, True)

    def __mod__(self, other: Any) -> Any:
        return self._op("%", other, False)

    def __rmod__(self, other: Any) -> Any:
        return self._op("%", other, True)

    def __neg__(self) -> Any:
        return Sym(-int(self), simplified(Neg(self.tree)), self.loose)

    def __pos__(self) -> Any:
        return self


def _is_loose(value: int) -> bool:
    return isinstance(value, Sym) and value.loose


def tree_of(value: int) -> Tree:
    """The expression of a Sym, or the number itself."""
    return value.tree if isinstance(value, Sym) else Num(int(value))


def simplified(tree: Tree) -> Tree:
    """Numbers folded, `x * 1`, `x + 0`, `x // 1` dropped: the expression as one writes it."""
    if isinstance(tree, Neg) and isinstance(tree.operand, Num):
        return Num(-tree.operand.value)
    if not isinstance(tree, BinOp):
        return tree
    left, right, op = tree.left, tree.right, tree.op
    if isinstance(left, Num) and isinstance(right, Num):
        if op in ("//", "%") and right.value == 0:
            return tree
        return Num(_INT_OPS[op](left.value, right.value))
    if isinstance(right, Num) and ((right.value == 0 and op in "+-")
                                   or (right.value == 1 and op in ("*", "//"))):
        return left
    if isinstance(left, Num) and ((left.value == 0 and op == "+")
                                  or (left.value == 1 and op == "*")):
        return right
    return tree


def expression_text(tree: Tree) -> str:
    """The tree as Python source with only the parentheses it needs."""
    if isinstance(tree, Name):
        return tree.name
    if isinstance(tree, Num):
        return str(tree.value) if tree.value >= 0 else f"-{-tree.value}"
    if isinstance(tree, Neg):
        inner = expression_text(tree.operand)
        return f"-{inner}" if _level(tree.operand) >= 3 else f"-({inner})"
    level = _PRECEDENCE[tree.op]
    left = expression_text(tree.left)
    right = expression_text(tree.right)
    if _level(tree.left) < level:
        left = f"({left})"
    if _level(tree.right) <= level:
        right = f"({right})"
    return f"{left} {tree.op} {right}"


def _level(tree: Tree) -> int:
    if isinstance(tree, BinOp):
        return _PRECEDENCE[tree.op]
    if isinstance(tree, Neg) or (isinstance(tree, Num) and tree.value < 0):
        return 3
    return 4
