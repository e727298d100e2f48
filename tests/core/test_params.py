"""What a parameter accepts, in words: the text tooltips and refusals quote."""

from __future__ import annotations

from dlbuilder.layers import REGISTRY


def describe(type_name: str, name: str) -> str:
    return REGISTRY.get(type_name).param_index[name].describe()


def test_numbers_are_whole_only_where_the_declaration_says_so() -> None:
    assert describe("Dropout", "p") == "a number from 0 to 1"
    assert describe("LeakyReLU", "negative_slope") == "a number"
    assert describe("Conv2d", "out_channels") == "a whole number of at least 1"
    assert describe("Conv2d", "kernel_size").startswith("a whole number of at least 1, or a pair")
    assert describe("Upsample", "scale_factor").startswith("a number")
