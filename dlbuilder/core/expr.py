"""Small integer expressions over a block's parameters (`channels * 4`, `channels // 4`).

Parsed by our own code into a tree and evaluated by walking it: never `eval`. The grammar is
whole numbers, names, `+ - * // %`, parentheses and unary minus, with Python's precedence and
floor division, so an expression means in dlbuilder what it means in the exported code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Union

MAX_LENGTH = 200
_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_]\w*)|(//|[-+*%()/])|(\S))")
_BINARY = {"+": 1, "-": 1, "*": 2, "//": 2, "%": 2}


class ExprError(ValueError):
    """An expression that cannot be parsed or evaluated; the message says what and where."""


@dataclass(frozen=True)
class Num:
    value: int


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


Node = Union[Num, Name, Neg, BinOp]  # noqa: UP007 - a forward-referenced union


@dataclass(frozen=True)
class Expr:
    """A parsed expression: its text as written and its tree."""

    text: str
    tree: Node

    @property
    def names(self) -> frozenset[str]:
        return frozenset(_names(self.tree))

    def evaluate(self, env: Mapping[str, int]) -> int:
        """The value with `env`'s values for the names; ExprError for an unknown name or a
        division by zero."""
        return _evaluate(self.tree, env, self.text)


def _names(node: Node) -> set[str]:
    if isinstance(node, Name):
        return {node.name}
    if isinstance(node, Neg):
        return _names(node.operand)
    if isinstance(node, BinOp):
        return _names(node.left) | _names(node.right)
    return set()


def _evaluate(node: Node, env: Mapping[str, int], text: str) -> int:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Name):
        if node.name not in env:
            known = ", ".join(sorted(env)) or "none"
            raise ExprError(f"{text!r} uses {node.name!r}, which is not a parameter of the "
                            f"block (its parameters: {known})")
        return env[node.name]
    if isinstance(node, Neg):
        return -_evaluate(node.operand, env, text)
    left = _evaluate(node.left, env, text)
    right = _evaluate(node.right, env, text)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    if right == 0:
        raise ExprError(f"{text!r} divides by zero")
    return left // right if node.op == "//" else left % right


def parse_expr(text: str) -> Expr:
    """Parse `text`; ExprError says what is wrong and at which character."""
    if not isinstance(text, str):
        raise ExprError(f"an expression must be text, got {text!r}")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression is {len(text)} characters long; at most {MAX_LENGTH}")
    parser = _Parser(text)
    tree = parser.expression(0)
    if parser.peek() is not None:
        parser.fail(f"unexpected {parser.peek()!r}")
    return Expr(text, tree)


class _Parser:
    """Precedence climbing over the tokens of one expression."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, int]] = []
        for match in _TOKEN.finditer(text):
            if match.group(4):
                column = match.start(4) + 1
                raise ExprError(f"{text!r}: {match.group(4)!r} at character {column} is not "
                                "allowed; use whole numbers, parameter names, + - * // % "
                                "and parentheses")
            token = match.group(1) or match.group(2) or match.group(3)
            self.tokens.append((token, match.start() + len(match.group()) - len(token) + 1))
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def fail(self, what: str) -> None:
        column = self.tokens[self.at][1] if self.at < len(self.tokens) else len(self.text) + 1
        raise ExprError(f"{self.text!r}: {what} at character {column}")

    def take(self) -> str:
        token = self.peek()
        if token is None:
            self.fail("the expression ends too soon")
        self.at += 1
        return token  # type: ignore[return-value]

    def expression(self, level: int) -> Node:
        left = self.unary()
        while (op := self.peek()) in _BINARY and _BINARY[op] > level:  # type: ignore[operator]
            self.take()
            right = self.expression(_BINARY[op])  # type: ignore[index]
            left = BinOp(op, left, right)  # type: ignore[arg-type]
        if op == "/":
            self.fail("'/' gives a fraction; use '//' for whole-number division")
        return left

    def unary(self) -> Node:
        token = self.take()
        if token == "-":
            return Neg(self.unary())
        if token == "+":
            return self.unary()
        if token == "(":
            inner = self.expression(0)
            if self.peek() != ")":
                self.fail("a '(' is not closed")
            self.take()
            return inner
        if token.isdigit():
            return Num(int(token))
        if token[0].isalpha() or token[0] == "_":
            return Name(token)
        self.at -= 1
        self.fail(f"expected a number, a name or '(', got {token!r}")
        raise AssertionError  # fail always raises
