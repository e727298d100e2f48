"""The layer-spec registry: one declaration per layer type drives everything else.

A `LayerSpec` says, for one type: its palette category and description, its fields, how many
inputs it takes, the pure shape rule, the parameter/buffer count, how to explain its numbers, and
the torch constructor (a class named as a string plus the arguments built from the inferred input
shapes), its `role` in a network, and the `examples` the shared per-layer test checks against
torch. The compiler and the code generator both build from `torch_args`, so they cannot drift;
by default these are every declared parameter as a keyword (after the `inferred` sizes, such as
in_channels), with `torch_names` renaming or leaving out the ones torch names differently.
A spec with an `op` (a name in core/ops.py's table) is written inline in forward rather than
kept as a submodule; its `torch_args` are then the arguments of that operation. An elementwise
activation gives its `curve` (value and derivative at x) so the inspector can plot it.

A layer with several outputs (Chunk) names the parameter that sets how many in `outputs_param`;
its shape rule then returns one shape per output, and wires say which output they carry
(`from_port`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, NamedTuple

from dlbuilder.core.diagnostics import ShapeProblem
from dlbuilder.core.ops import OPS
from dlbuilder.core.params import ParamSpec

Shape = tuple[int, ...]
Params = dict[str, Any]

CATEGORIES = ("io", "convolution", "pooling", "normalization", "dense", "activation", "merge")

# What a type is to the rest of the application, so no code outside layers/ names types:
# "input" brings the data in (exactly one per graph), "output" ends the network with its loss,
# "probabilities" turns scores into probabilities (a loss that applies softmax itself warns),
# "layer" is everything else.
ROLES = ("layer", "input", "output", "probabilities")

# What the design hints (core/hints.py) need to know of a type, declared with it:
# "convolution" a learned filter sliding over a map (Conv2d, ConvTranspose2d), "dense" a
# fully connected layer, "flatten" turns a map into a vector, "batch_norm" normalizes over the
# batch with a learned shift, "dropout" zeroes values while training, "saturating" an
# activation whose gradient vanishes at both ends (sigmoid, tanh), "rectifying" an activation
# that is exactly 0, with a zero gradient, for every input below a point (ReLU, ReLU6, and the
# hard gates of MobileNetV3): a unit kept there by every sample is dead (backend/health.py).
TRAITS = frozenset({"convolution", "dense", "flatten", "batch_norm", "dropout", "saturating",
                    "rectifying"})


class Example(NamedTuple):
    """One case the shared per-layer test runs: the input shapes and the raw parameters."""

    inputs: list[Shape]
    params: Params


def _no_counts(ins: list[Shape], p: Params) -> tuple[int, int]:
    return 0, 0


def torch_value(value: Any) -> Any:
    """A constructor argument as a person would write it: (3, 3) -> 3, (3, 5) stays."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
        return value[0]
    return value


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
    _: KW_ONLY
    examples: tuple[Example, ...] = field(default=(), compare=False)
    count: Callable[[list[Shape], Params], tuple[int, int]] = _no_counts
    explain: Callable[[list[Shape], Params, Shape], list[str]] = _same_explain
    torch_class: str | None = None
    # None: every declared parameter, renamed or left out (None) by torch_names, after inferred
    torch_args: Callable[[list[Shape], Params], dict[str, Any]] = None  # type: ignore[assignment]
    inferred: Callable[[list[Shape], Params], dict[str, Any]] | None = None
    torch_names: dict[str, str | None] = field(default_factory=dict, compare=False)
    op: str | None = None
    role: str = "layer"
    min_inputs: int = 1
    max_inputs: int | None = 1
    macs_per_position: bool = False
    key_params: Callable[[Params], str] = _no_key
    warnings: Callable[[list[Shape], Params], list[ShapeProblem]] = _no_warnings
    # an elementwise activation's f(x) and f'(x), for the inspector's plot (pure math)
    curve: Callable[[float, Params], tuple[float, float]] | None = None
    # for a layer with several outputs: the parameter that sets how many; `shape` then returns
    # one shape per output port
    outputs_param: str | None = None
    # the parameters that set the output's spatial size, in the order a designer would reach
    # for them: what core/solve.py may change to give a size the user asks for
    resizes: tuple[str, ...] = ()
    # how the layer maps a receptive field (core/receptive.py's Window): None for a layer
    # that keeps each position where it is (elementwise, normalization)
    receptive: Callable[[list[Shape], Params, Any], Any] | None = None
    traits: frozenset[str] = frozenset()  # words of TRAITS
    param_index: dict[str, ParamSpec] = field(init=False, repr=False, compare=False)
    defaults: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.type}: unknown category {self.category!r}")
        if self.role not in ROLES:
            raise ValueError(f"{self.type}: unknown role {self.role!r}; known: "
                             f"{', '.join(ROLES)}")
        if self.op is not None and self.op not in OPS:
            raise ValueError(f"{self.type}: unknown inline operation op={self.op!r}; "
                             f"core/ops.py's table has {', '.join(sorted(OPS))}: add an "
                             "entry there first")
        if self.traits - TRAITS:
            raise ValueError(f"{self.type}: unknown traits {sorted(self.traits - TRAITS)}; "
                             f"known: {', '.join(sorted(TRAITS))}")
        index = {p.name: p for p in self.params}
        if len(index) != len(self.params):
            raise ValueError(f"{self.type}: a parameter is declared twice")
        for name in self.torch_names:
            if name not in index:
                raise ValueError(f"{self.type}: torch_names renames {name!r}, which is not "
                                 "a declared parameter")
        examples = tuple(Example([tuple(s) for s in ins], dict(p)) for ins, p in self.examples)
        for example in examples:
            unknown = sorted(set(example.params) - set(index))
            if unknown:
                raise ValueError(f"{self.type}: an example sets {', '.join(unknown)}, which "
                                 "the spec does not declare")
        object.__setattr__(self, "examples", examples)
        object.__setattr__(self, "param_index", index)
        unknown = [name for name in self.resizes if name not in index]
        if unknown:
            raise ValueError(f"{self.type}: resizes names {', '.join(unknown)}, which the spec "
                             "does not declare")
        if self.outputs_param is not None and self.outputs_param not in index:
            raise ValueError(f"{self.type}: outputs_param {self.outputs_param!r} is not one of "
                             "its parameters")
        defaults = {p.name: p.check(p.default) for p in self.params if not p.required}
        object.__setattr__(self, "defaults", defaults)
        if self.torch_args is None:
            object.__setattr__(self, "torch_args", self._declared_args)

    def _declared_args(self, ins: list[Shape], p: Params) -> dict[str, Any]:
        """The default torch arguments: the inferred sizes, then every declared parameter
        (under its torch name; left out where that is None), as a person would write it.
        A type that is neither a torch class nor an inline operation (Input, Output) has none."""
        if self.torch_class is None and self.op is None:
            return {}
        args = dict(self.inferred(ins, p)) if self.inferred is not None else {}
        for param in self.params:
            name = self.torch_names.get(param.name, param.name)
            if name is not None:
                args[name] = torch_value(p[param.name])
        return args

    @property
    def multi_output(self) -> bool:
        """Whether the layer has several outputs (its shape rule returns one shape per port)."""
        return self.outputs_param is not None

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
        self._roles: dict[str, frozenset[str]] = {}

    def register(self, spec: LayerSpec) -> LayerSpec:
        if spec.type in self._specs:
            raise ValueError(f"layer type {spec.type!r} is already registered")
        self._specs[spec.type] = spec
        self._roles.clear()
        return spec

    def role_of(self, type_name: str) -> str | None:
        """The type's role, or None for a type the registry does not know."""
        spec = self._specs.get(type_name)
        return spec.role if spec is not None else None

    def has_trait(self, type_name: str, trait: str) -> bool:
        """Whether the type declares `trait` (False for a type the registry does not know)."""
        spec = self._specs.get(type_name)
        return spec is not None and trait in spec.traits

    def types_with_role(self, role: str) -> frozenset[str]:
        """The type names playing `role` (usually one: the Input, the Output)."""
        if role not in self._roles:
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
            self._roles[role] = frozenset(t for t, s in self._specs.items() if s.role == role)
        return self._roles[role]

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
