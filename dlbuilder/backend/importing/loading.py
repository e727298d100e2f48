"""Building the model a spec names (`path/to/file.py:NAME` or `package.module:NAME`), with
each module's constructor arguments recorded on the way.

The arguments are recorded by watching Python's function calls while the model is built
(`sys.setprofile`): when an `__init__` starts whose `self` is an nn.Module seen for the first
time (the most derived class's `__init__` runs first), the frame's arguments are read from
its locals, which at the `call` event hold exactly what was passed (defaults filled in).
Grouping reads them to tell repeated blocks apart and to find the integers a block type
takes (`planes=64`). Only the time the model is being built is watched.

Importing runs the Python code the spec names: it is the user's own model code.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import itertools
import sys
import traceback
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from torch import nn

from dlbuilder.backend.importing.report import ImportFailed

_RECORDED: weakref.WeakKeyDictionary[nn.Module, dict[str, Any]] = weakref.WeakKeyDictionary()
_FILE_MODULES = itertools.count()
_FILE_PREFIX = "_dlbuilder_import_"


def constructor_args(module: nn.Module) -> dict[str, Any]:
    """The arguments `module`'s constructor received, where it was built while recording
    (`recording_constructors`); {} otherwise."""
    return _RECORDED.get(module, {})


@contextmanager
def recording_constructors() -> Iterator[None]:
    """Record the constructor arguments of every nn.Module built inside the block."""
    seen: set[int] = set()

    def watch(frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" or frame.f_code.co_name != "__init__":
            return
        module = frame.f_locals.get("self")
        if not isinstance(module, nn.Module) or id(module) in seen:
            return
        seen.add(id(module))
        code = frame.f_code
        count = code.co_argcount + code.co_kwonlyargcount
        count += bool(code.co_flags & inspect.CO_VARARGS) + bool(
            code.co_flags & inspect.CO_VARKEYWORDS)
        names = code.co_varnames[1:count]
        values = frame.f_locals
        with contextlib.suppress(TypeError):  # a class without weak references: left out
            _RECORDED[module] = {name: values[name] for name in names if name in values}

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        yield
    finally:
        sys.setprofile(previous)


def split_spec(spec: str) -> tuple[str, str]:
    """(`path/to/file.py` or `package.module`, NAME); ImportFailed when there is no NAME."""
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise ImportFailed(f"{spec!r} is not a model spec: write path/to/file.py:NAME or "
                           "package.module:NAME, where NAME is an nn.Module class or a "
                           "function that returns a module")
    return where, name


def build_model(spec: str) -> nn.Module:
    """The module `spec` names, built with its constructor arguments recorded."""
    where, name = split_spec(spec)
    source = _load_source(where)
    if not hasattr(source, name):
        found = sorted(n for n, v in vars(source).items()
                       if not n.startswith("_") and _is_model_maker(v))
        hint = f"; it defines {', '.join(found)}" if found else ""
        raise ImportFailed(f"{where} has no {name!r}{hint}")
    maker = getattr(source, name)
    if not callable(maker):
        raise ImportFailed(f"{where}:{name} is a {type(maker).__name__}, not an nn.Module "
                           "class or a function that returns a module")
    _check_no_required_args(maker, f"{where}:{name}")
    with recording_constructors():
        try:
            model = maker()
        except Exception as err:  # noqa: BLE001 - the user's constructor: say what and where
            raise ImportFailed(f"building {where}:{name}() failed: {type(err).__name__}: "
                               f"{err}{_user_line(err)}") from None
    if not isinstance(model, nn.Module):
        raise ImportFailed(f"{where}:{name}() returned a {type(model).__name__}, not an "
                           "nn.Module")
    return model


def _is_model_maker(value: Any) -> bool:
    return (isinstance(value, type) and issubclass(value, nn.Module)) or inspect.isfunction(value)


def _load_source(where: str) -> ModuleType:
    if where.endswith(".py") or "/" in where or "\\" in where:
        return _load_file(Path(where))
    try:
        return importlib.import_module(where)
    except ImportError as err:
        raise ImportFailed(f"cannot import {where}: {err}") from None
    except Exception as err:  # noqa: BLE001 - the user's module: say what and where
        raise ImportFailed(f"importing {where} failed: {type(err).__name__}: {err}"
                           f"{_user_line(err)}") from None


def defined_in(cls: type) -> str:
    """Where a class comes from, as the user knows it: `models.py` for a file imported by
    path (not its unique module name), else the dotted module (`torchvision.models.resnet`)."""
    module = sys.modules.get(cls.__module__)
    if cls.__module__.startswith(_FILE_PREFIX) and getattr(module, "__file__", None):
        return Path(module.__file__).name
    return cls.__module__


def _load_file(path: Path) -> ModuleType:
    """The file imported as a module of its own (a fresh, unique name each time), with its
    folder importable while it runs, so it can import its sibling files."""
    if not path.is_file():
        raise ImportFailed(f"there is no file {str(path)!r}")
    name = f"{_FILE_PREFIX}{next(_FILE_MODULES)}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportFailed(f"{path} cannot be imported as Python code")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 - the user's file: say what and where
        del sys.modules[name]
        raise ImportFailed(f"running {path} failed: {type(err).__name__}: {err}"
                           f"{_user_line(err)}") from None
    finally:
        sys.path.remove(folder)
    return module


def _check_no_required_args(maker: Any, where: str) -> None:
    try:
        signature = inspect.signature(maker)
    except (TypeError, ValueError):
        return
    required = [p.name for p in signature.parameters.values()
                if p.default is inspect.Parameter.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if required:
        raise ImportFailed(f"{where} needs arguments ({', '.join(required)}); import a "
                           "class or function that builds the model without arguments "
                           "(a small function in your file that calls it with yours)")


def _user_line(err: BaseException) -> str:
    """`\n    at file:line: code` for the innermost frame of `err` outside torch (for a
    syntax error: its own place), or ""."""
    if isinstance(err, SyntaxError) and err.filename:
        return f"\n    at {err.filename}:{err.lineno}: {(err.text or '').strip()}"
    frames = [f for f in traceback.extract_tb(err.__traceback__) if not _in_torch(f.filename)]
    if not frames:
        return ""
    return "\n    at " + source_line(frames[-1])


def source_line(frame: traceback.FrameSummary) -> str:
    return f"{frame.filename}:{frame.lineno}: {(frame.line or '').strip()}"


def _in_torch(filename: str) -> bool:
    parts = Path(filename).parts
    return "torch" in parts or filename == __file__
