"""The layer-spec registry: one declaration per layer type drives everything else.

A `LayerSpec` says, for one type: its palette category and description, its fields, how many
inputs it takes, the pure shape rule, the parameter/buffer count, how to explain its numbers, and
the torch constructor (a class named as a string plus the arguments built from the inferred input
shapes). The compiler and the code generator both build from `torch_args`, so they cannot drift.
A spec with an `op` ("add", "cat", "flatten") is written inline in forward rather than kept as a
submodule; its `torch_args` are then the arguments of that operation. An elementwise activation
may give its `curve` (value and derivative at x) so the inspector can plot it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dlbuilder.core.diagnostics import ShapeProblem
from dlbuilder.core.params import ParamSpec

Shape = tuple[int, ...]
Params = dict[str, Any]

CATEGORIES = ("io", "convolution", "pooling", "normalization", "dense", "activation", "merge")


def _no_counts(ins: list[Shape], p: Params) -> tuple[int, int]:
    return 0, 0


def _no_args(ins: list[Shape], p: Params) -> dict[str, Any]:
    return {}


def _same_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    return [f"output = input = {format_shape(out)}"]


def _no_key(p: Params) -> str:
    return ""


def _no_warnings(ins: list[Shape], p: Params) -> list[ShapeProblem]:
    return []


@dataclass(frozen=True)
class LayerSpec:
    """Everything the application knows about one layer type."""

    type: str
    category: str
    summary: str
    params: tuple[ParamSpec, ...]
    shape: Callable[[list[Shape], Params], Shape]
    count: Callable[[list[Shape], Params], tuple[int, int]] = _no_counts
    explain: Callable[[list[Shape], Params, Shape], list[str]] = _same_explain
    torch_class: str | None = None
    torch_args: Callable[[list[Shape], Params], dict[str, Any]] = _no_args
    op: str | None = None
    min_inputs: int = 1
    max_inputs: int | None = 1
    macs_per_position: bool = False
    key_params: Callable[[Params], str] = _no_key
    warnings: Callable[[list[Shape], Params], list[ShapeProblem]] = _no_warnings
    # an elementwise activation's f(x) and f'(x), for the inspector's plot (pure math)
    curve: Callable[[float, Params], tuple[float, float]] | None = None
    param_index: dict[str, ParamSpec] = field(init=False, repr=False, compare=False)
    defaults: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.type}: unknown category {self.category!r}")
        index = {p.name: p for p in self.params}
        if len(index) != len(self.params):
            raise ValueError(f"{self.type}: a parameter is declared twice")
        object.__setattr__(self, "param_index", index)
        defaults = {p.name: p.check(p.default) for p in self.params if not p.required}
        object.__setattr__(self, "defaults", defaults)

    def macs(self, params: int, out: Shape) -> int:
        """Multiply-adds per sample, counted as torchinfo counts them.

        torchinfo charges a convolution its weight and bias once per output position, and any
        other layer its parameters once per sample; layers without parameters cost nothing.
        """
        if self.macs_per_position:
            return params * prod(out[1:])
        return params

    def start_params(self) -> Params:
        """The parameters a newly placed node of this type gets (required ones filled in)."""
        return {p.name: p.start_value for p in self.params if p.initial is not None}


class Registry:
    """Layer specs keyed by type name; refuses a second declaration of the same type."""

    def __init__(self) -> None:
        self._specs: dict[str, LayerSpec] = {}

    def register(self, spec: LayerSpec) -> LayerSpec:
        if spec.type in self._specs:
            raise ValueError(f"layer type {spec.type!r} is already registered")
        self._specs[spec.type] = spec
        return spec

    def get(self, type_name: str) -> LayerSpec:
        try:
            return self._specs[type_name]
        except KeyError:
            raise KeyError(f"unknown layer type {type_name!r}") from None

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._specs

    def __iter__(self) -> Iterator[LayerSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def types(self) -> list[str]:
        return list(self._specs)

    def by_category(self) -> dict[str, list[LayerSpec]]:
        groups: dict[str, list[LayerSpec]] = {c: [] for c in CATEGORIES}
        for spec in self._specs.values():
            groups[spec.category].append(spec)
        return groups


def prod(values: tuple[int, ...] | list[int]) -> int:
    result = 1
    for v in values:
        result *= v
    return result


def format_shape(shape: Shape | None) -> str:
    """`16x8x8` for a C x H x W tensor, `120` for a vector, `?` when unknown."""
    if shape is None:
        return "?"
    return "x".join(str(d) for d in shape)
