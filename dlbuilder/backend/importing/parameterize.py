"""One block type for several instances of a class that differ only in whole numbers.

torchvision's ResNet-50 builds sixteen Bottlenecks whose convolutions differ only in width
and stride; a graph with a type per width would be unreadable. `parameterize` is given every
instance of one structure (its layers' stored values by (node id, parameter), and the integer
constructor arguments the importer recorded while the model was built) and finds, for each
value that differs between instances, what it follows: the channels coming in (`in_channels`),
a constructor argument (`planes`), a multiple or a fraction of one (`planes * 4`,
`channels // 4`), or, where nothing the code said explains it, a parameter of its own named
after the value (`out_channels`). A value that is the same everywhere stays a number, unless
an argument of the same name (`stride`, `groups`) holds it: then the reference keeps what the
code meant, so a graph exported by dlbuilder and imported back gets its parameters back.
Before any of that, what the code itself wrote for a value (`written`: `2 * k + 1`, read from
its source by written.py) is taken where it gives every instance's value.

Pure Python over plain values: the fx importer calls it while grouping instances into types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dlbuilder.core.blocks import INPUT_CHANNELS, BlockParam, param_name_problem, ref
from dlbuilder.core.expr import Expr, ExprError, parse_expr

Key = tuple[str, str]  # (node id inside the block, layer parameter)
_FACTORS = range(2, 65)
# values that are never a channel count, however equal to one they happen to be
NOT_WIDTHS = frozenset({"repeat", "dim", "start_dim", "end_dim", "chunks", "kernel_size",
                        "stride", "padding", "dilation", "output_padding", "output_size"})


@dataclass(frozen=True)
class Sample:
    """One instance: `args` are its integer constructor arguments in signature order,
    `in_channels` the channels coming into its first input (None for a vector input), `values`
    every stored layer value by (node id, parameter)."""

    args: Mapping[str, int]
    in_channels: int | None
    values: Mapping[Key, Any]


@dataclass(frozen=True)
class Shared:
    """The block type's parameters, each layer value as a number or a reference, and each
    instance's arguments (in the order the samples were given)."""

    params: tuple[BlockParam, ...]
    values: dict[Key, Any]
    args: tuple[dict[str, int], ...]


def parameterize(samples: Sequence[Sample], defaults: Mapping[str, int] | None = None,
                 written: Mapping[Key, str] | None = None) -> Shared | None:
    """One type for all `samples`, or None when they cannot share one: a value that is not a
    whole number differs, or the samples do not have the same values at all. `defaults` are
    the constructor's own defaults (a parameter's default where the code gives one, else the
    first sample's value); `written` the expressions the code wrote for values, by key."""
    if not samples or any(set(s.values) != set(samples[0].values) for s in samples):
        return None
    fitter = _Fitter(samples, written or {})
    values: dict[Key, Any] = {}
    for key in samples[0].values:
        column = [s.values[key] for s in samples]
        value = fitter.fit(key, column)
        if value is None:
            return None
        values[key] = value
    used = fitter.parameters()
    params = tuple(BlockParam(name, _default(name, column, defaults))
                   for name, column in used.items())
    args = tuple({name: column[i] for name, column in used.items()}
                 for i in range(len(samples)))
    return Shared(params, values, args)


def _default(name: str, column: list[int], defaults: Mapping[str, int] | None) -> int:
    given = (defaults or {}).get(name)
    return given if isinstance(given, int) and not isinstance(given, bool) else column[0]


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Fitter:
    """Explains columns of values (one value per sample) by the samples' arguments, and
    remembers which arguments (and new parameters) the explanations use."""

    def __init__(self, samples: Sequence[Sample], written: Mapping[Key, str]) -> None:
        self.count = len(samples)
        self.written = written
        channels = [s.in_channels for s in samples]
        self.channels = channels if all(_whole(c) for c in channels) else None
        columns = {name: [s.args.get(name) for s in samples] for name in samples[0].args}
        columns = {name: c for name, c in columns.items() if all(_whole(v) for v in c)}
        # an argument that is always the incoming channels (torchvision's `inplanes`) is
        # read as in_channels, which the instance's input gives; with one, a value equal to
        # the incoming channels everywhere is written as in_channels even where it does not vary
        self.takes_channels = self.channels is not None and channels in columns.values()
        # where the code names one `in_channels`, only that one is the incoming channels:
        # another argument that happens to be equal to them here stays an argument
        taken = [name for name, c in columns.items() if c == channels]
        if INPUT_CHANNELS in taken:
            taken = [INPUT_CHANNELS]
        self.args = {name: c for name, c in columns.items()
                     if name not in taken and param_name_problem(name) is None}
        self.used: dict[str, list[int]] = {}

    def fit(self, key: Key, column: list[Any]) -> Any:
        """A number, a reference or None (cannot be one type)."""
        same = all(v == column[0] for v in column)
        if not all(_whole(v) for v in column):
            return column[0] if same else None
        written = self._written(key, column)
        if written is not None:
            return ref(written.text) if written.names else column[0]
        if key[1] in self.args and self.args[key[1]] == column:
            return self._use(key[1])
        if same and not (self.takes_channels and column == self.channels
                         and key[1] not in NOT_WIDTHS):
            return column[0]
        return self._reference(column) or self._new_param(key, column)

    def _written(self, key: Key, column: list[int]) -> Expr | None:
        """The code's own expression for `key`, where it names only arguments (and the
        incoming channels) and gives each sample's value (a plain number the code wrote
        stays one, even where an argument of the same name holds it too)."""
        text = self.written.get(key)
        try:
            expr = parse_expr(text) if isinstance(text, str) else None
        except ExprError:
            return None
        if expr is None or not expr.names <= {*self.args, INPUT_CHANNELS} \
                or (INPUT_CHANNELS in expr.names and self.channels is None):
            return None
        for i, value in enumerate(column):
            env = {name: values[i] for name, values in self.args.items()}
            if self.channels is not None:
                env[INPUT_CHANNELS] = self.channels[i]
            try:
                if expr.evaluate(env) != value:
                    return None
            except ExprError:
                return None
        for name in sorted(expr.names - {INPUT_CHANNELS}):
            self._use(name)
        return expr

    def _reference(self, column: list[int]) -> dict[str, str] | None:
        if column == self.channels:
            return ref(INPUT_CHANNELS)
        for name, values in [*self.used.items(), *self.args.items()]:
            if values == column:
                return self._use(name)
        bases = [(INPUT_CHANNELS, self.channels)] if self.channels else []
        bases += [*self.used.items(), *self.args.items()]
        for name, values in bases:
            text = _scaled(name, values, column)
            if text is not None:
                if name != INPUT_CHANNELS:
                    self._use(name)
                return ref(text)
        return None

    def parameters(self) -> dict[str, list[int]]:
        """The parameters the references use: the constructor's, in its order, then new ones."""
        ordered = {name: self.used[name] for name in self.args if name in self.used}
        return {**ordered, **self.used}

    def _use(self, name: str) -> dict[str, str]:
        if name not in self.used:
            self.used[name] = self.args[name]
        return ref(name)

    def _new_param(self, key: Key, column: list[int]) -> dict[str, str]:
        taken = set(self.args) | set(self.used) | {INPUT_CHANNELS}
        candidates = [key[1], f"{key[0]}_{key[1]}",
                      *(f"{key[1]}_{n}" for n in range(2, len(taken) + 3))]
        name = next(c for c in candidates if c not in taken and param_name_problem(c) is None)
        self.used[name] = list(column)
        return ref(name)


def _scaled(name: str, base: list[int], column: list[int]) -> str | None:
    """`name * k` or `name // k` when that gives the column for every sample."""
    if 0 in base:
        return None
    if column[0] % base[0] == 0:
        k = column[0] // base[0]
        if k in _FACTORS and all(v == b * k for b, v in zip(base, column, strict=True)):
            return f"{name} * {k}"
    if column[0] and base[0] % column[0] == 0:
        k = base[0] // column[0]
        if k in _FACTORS and all(v == b // k for b, v in zip(base, column, strict=True)):
            return f"{name} // {k}"
    return None
