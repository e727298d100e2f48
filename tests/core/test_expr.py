"""Block parameter expressions: parsed by our own code, with Python's meaning, never eval'd."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlbuilder.core.expr import MAX_LENGTH, ExprError, parse_expr

ENV = {"channels": 64, "stride": 2, "k": 3}


@pytest.mark.parametrize(("text", "value"), [
    ("channels", 64), ("channels * 4", 256), ("channels // 4", 16), ("channels % 5", 4),
    ("channels - stride - k", 59), ("(channels + k) * 2", 134), ("-k // 2", -2),
    ("+k", 3), ("2 * k + 1", 7), ("channels*stride*k", 384), ("  7  ", 7),
])
def test_values_match_python(text: str, value: int) -> None:
    expr = parse_expr(text)
    assert expr.evaluate(ENV) == value == _python(text)
    assert expr.text == text


def _python(text: str) -> int:
    return eval(text, {"__builtins__": {}}, dict(ENV))  # the oracle only, in a test


def test_names_are_collected() -> None:
    assert parse_expr("channels * k + channels").names == {"channels", "k"}
    assert parse_expr("12").names == frozenset()


@pytest.mark.parametrize(("text", "words"), [
    ("channels / 2", "use '//'"),
    ("channels +", "ends too soon"),
    ("(channels", "not closed"),
    ("channels ** 2", "expected a number"),
    ("__import__('os')", "not allowed"),
    ("channels.real", "not allowed"),
    ("2 3", "unexpected '3' at character 3"),
    ("", "ends too soon"),
    ("channels[0]", "not allowed"),
])
def test_bad_text_says_what_and_where(text: str, words: str) -> None:
    with pytest.raises(ExprError) as caught:
        parse_expr(text)
    assert words in str(caught.value)


def test_unknown_name_lists_the_parameters() -> None:
    with pytest.raises(ExprError) as caught:
        parse_expr("width * 2").evaluate(ENV)
    assert "'width'" in str(caught.value) and "channels, k, stride" in str(caught.value)


def test_division_by_zero_is_a_message() -> None:
    with pytest.raises(ExprError, match="divides by zero"):
        parse_expr("channels // (k - 3)").evaluate(ENV)


def test_long_text_is_refused() -> None:
    with pytest.raises(ExprError, match=f"at most {MAX_LENGTH}"):
        parse_expr("1 + " * 100 + "1")


def test_not_text_is_refused() -> None:
    with pytest.raises(ExprError, match="must be text"):
        parse_expr(5)  # type: ignore[arg-type]


_ATOMS = st.one_of(st.integers(0, 50).map(str), st.sampled_from(sorted(ENV)))


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 3) -> str:
    if depth == 0 or draw(st.booleans()):
        return draw(_ATOMS)
    op = draw(st.sampled_from(["+", "-", "*", "//", "%"]))
    left, right = draw(_expressions(depth - 1)), draw(_expressions(depth - 1))
    text = f"({left}) {op} ({right})" if draw(st.booleans()) else f"{left} {op} {right}"
    return f"-{text}" if draw(st.booleans()) and op in "+-" else text


@given(_expressions())
def test_random_expressions_mean_what_python_means(text: str) -> None:
    try:
        expected = _python(text)
    except ZeroDivisionError:
        with pytest.raises(ExprError, match="divides by zero"):
            parse_expr(text).evaluate(ENV)
        return
    assert parse_expr(text).evaluate(ENV) == expected
