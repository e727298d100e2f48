"""Tracing a module with torch.fx, keeping its module hierarchy.

torch.fx's symbolic tracing records what forward computes as a flat graph; leaves are the
modules of torch.nn (our layer types among them; containers such as nn.Sequential are traced
through). Each node carries `meta["nn_module_stack"]`, the keys of the module calls it was
made in (`layer1.0`, a second call of one module `relu@1`), outermost first. The tracer here
also keeps one `Call` per call of a non-leaf module, under the same key, with the arguments it
received and what it returned: those are the ports of the block instance the call becomes.

Python control flow on a traced value (`if x.sum() > 0:`) cannot be traced; instead of
stopping at the first one, the tracer notes each (module path and the user's source line) and
follows the `True` branch, so one report lists them all. The shapes of every value come from
running the graph on fake tensors (no memory, no arithmetic) for a batch of two samples.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import linecache
import logging
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from dlbuilder.backend.importing.loading import constructor_args, source_line
from dlbuilder.backend.importing.report import ImportFailed, Unmapped

BATCH = 2  # a batch of two tells `x.view(-1, 400)` (any batch) from `x.view(1, -1)`


@dataclass
class Call:
    """One call of a non-leaf module: where it is, what it got and gave."""

    key: str                 # the nn_module_stack key: `layer1.0`, `relu@1` for a second call
    path: str                # the module's qualified name
    module: nn.Module
    parent: Call | None
    args: list[tuple[str, Any]] = field(default_factory=list)  # forward's names and values
    result: Any = None
    ctor: dict[str, Any] = field(default_factory=dict)


@dataclass
class Traced:
    """A traced model: the fx graph (with shapes), its calls by key, and the problems met."""

    module: fx.GraphModule
    calls: dict[str, Call]
    problems: list[Unmapped]
    model_class: type = nn.Module  # the traced model's own class (fx gives a GraphModule)


class _Tracer(fx.Tracer):
    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, Call] = {}
        self.problems: list[Unmapped] = []
        self._open: list[Call] = []

    def call_module(self, m: nn.Module, forward: Any, args: tuple, kwargs: dict) -> Any:
        path = self.path_of_module(m)
        if self.is_leaf_module(m, path):
            return super().call_module(m, forward, args, kwargs)
        call = Call("", path, m, self._open[-1] if self._open else None,
                    _named_args(m, args, kwargs), ctor=constructor_args(m))

        def run(*a: Any, **k: Any) -> Any:
            call.key = next(reversed(self.module_stack))
            self.calls[call.key] = call
            self._open.append(call)
            try:
                call.result = forward(*a, **k)
            finally:
                self._open.pop()
            return call.result

        return super().call_module(m, run, args, kwargs)

    def create_node(self, kind: str, target: Any, args: Any, kwargs: Any, name: str | None = None,
                    type_expr: Any = None) -> fx.Node:
        """fx's node, with where in the user's code it was made (file and line: cheap to
        take; the report reads the line's text only for a place it lists)."""
        node = super().create_node(kind, target, args, kwargs, name, type_expr)
        node.meta["user_at"] = _user_frame()
        return node

    def to_bool(self, obj: fx.Proxy) -> bool:
        self.problems.append(Unmapped(
            self.place(), "Python control flow on a tensor (if/while/and/or)",
            "the graph has no branches that depend on the data; this import followed the "
            "True branch to find any other problems", user_line()))
        return True

    def iter(self, obj: fx.Proxy) -> Any:
        self.problems.append(Unmapped(
            self.place(), "iterating over a tensor",
            "a loop over a tensor's values depends on the data", user_line()))
        raise _Stop

    def place(self) -> str:
        return next(reversed(self.module_stack.values()))[0] if self.module_stack else ""


class _Stop(Exception):
    """Tracing cannot go on; the problem is already noted."""


def _named_args(m: nn.Module, args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
    try:
        bound = inspect.signature(m.forward).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return [(f"x{i}" if i else "x", _frozen(a)) for i, a in enumerate(args)]
    return [(name, _frozen(value)) for name, value in bound.arguments.items()]


def _frozen(value: Any) -> Any:
    """A list argument as it was at the call (DenseNet appends to it afterwards)."""
    return tuple(value) if isinstance(value, list) else value


def user_line(err: BaseException | None = None) -> str | None:
    """The innermost frame of the user's code (outside torch and this package), as
    `file:line: code`: from `err`'s traceback, or where the caller is now."""
    if err is None:
        return line_at(_user_frame())
    frames = [f for f in traceback.extract_tb(err.__traceback__) if not _library(f.filename)]
    return source_line(frames[-1]) if frames else None


def line_at(place: tuple[str, int] | None) -> str | None:
    if place is None:
        return None
    filename, lineno = place
    return f"{filename}:{lineno}: {linecache.getline(filename, lineno).strip()}"


def _user_frame() -> tuple[str, int] | None:
    frame = sys._getframe(1)
    while frame is not None and _library(frame.f_code.co_filename):
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame is not None else None


@functools.cache
def _library(filename: str) -> bool:
    parts = set(filename.replace("\\", "/").split("/"))
    return "torch" in parts or "importing" in parts and "dlbuilder" in parts


def trace(model: nn.Module, input_shape: tuple[int, ...]) -> Traced:
    """Trace `model` (in eval mode, so training-only branches are left out) and give every
    value its shape for `input_shape` (one sample's); problems are returned, not raised."""
    model.eval()
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except _Stop:
        return Traced(fx.GraphModule(model, fx.Graph()), tracer.calls, tracer.problems)
    except Exception as err:  # noqa: BLE001 - the user's forward failed: say where
        tracer.problems.append(Unmapped(
            tracer.place(), f"{type(err).__name__} while tracing",
            f"{err}".splitlines()[0] if str(err) else "forward cannot be traced",
            user_line(err)))
        return Traced(fx.GraphModule(model, fx.Graph()), tracer.calls, tracer.problems)
    module = fx.GraphModule(model, graph)
    module.graph.eliminate_dead_code()  # what only fed a refused `if` is not the model's
    if not tracer.problems:
        _propagate_shapes(module, input_shape)
    return Traced(module, tracer.calls, tracer.problems, type(model))


class _ShapeProp(ShapeProp):
    """torch's ShapeProp, remembering the node it runs (to say where a shape does not fit)."""

    node: fx.Node | None = None

    def run_node(self, n: fx.Node) -> Any:
        self.node = n
        return super().run_node(n)


def _propagate_shapes(module: fx.GraphModule, input_shape: tuple[int, ...]) -> None:
    from torch._subclasses.fake_tensor import FakeTensorMode

    mode = FakeTensorMode(allow_non_fake_inputs=True)
    sample = mode.from_tensor(torch.zeros(BATCH, *input_shape))
    prop = _ShapeProp(module, fake_mode=mode)
    try:
        # ShapeProp prints the traceback of a failing node and fake tensors log it; the
        # message below says what matters
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()), _quiet(
                "torch._subclasses.fake_tensor"):
            prop.propagate(sample)
    except Exception as err:  # noqa: BLE001 - the model does not run on this shape
        cause = err.__cause__ or err
        shape = "x".join(map(str, input_shape))
        where = _node_place(prop.node)
        raise ImportFailed(f"the model does not run on an input of {shape}{where}: "
                           f"{str(cause).splitlines()[0].rstrip('.')}; give the shape one "
                           "sample has "
                           f"(C x H x W or F, e.g. 3x224x224){_at(cause)}") from None


@contextlib.contextmanager
def _quiet(logger_name: str):
    """The logger silenced for the duration (torch logs a failed fake run at ERROR)."""
    logger = logging.getLogger(logger_name)
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


def _node_place(node: fx.Node | None) -> str:
    """` (at layer1.0.conv1)` for the node a shape failed at, where it is a module's."""
    if node is None or node.op != "call_module":
        return ""
    return f" (at {node.target})"


def _at(err: BaseException) -> str:
    line = user_line(err)
    return f"\n    at {line}" if line else ""
