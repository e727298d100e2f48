"""Trained weights as a plain `state_dict` file (.pt): tensors only, keyed by layer attribute.

A plain state_dict is what `torch.load(path, weights_only=True)` reads anywhere, with or without
dlbuilder, and reading it never runs code from the file: torch refuses any pickle that asks for
a Python object other than tensors and containers. The keys are the plan's attribute names (the
node ids made legal), so the file fits the exported code's module as well as the compiled one.
Saving is atomic, so a crash never leaves half a file.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

from dlbuilder.core.fileformat import write_atomic

_SHOWN = 5  # problems of one kind listed before "and N more"
_BLOCKED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


class WeightsError(ValueError):
    """A weights file that cannot be read, or does not fit the model; the message names both."""


def save_weights(model: nn.Module, path: str | os.PathLike[str]) -> None:
    """Write the model's state_dict; a crash leaves the old file or the new one, never half."""
    save_state(model.state_dict(), path)


def save_state(state: Mapping[str, torch.Tensor], path: str | os.PathLike[str]) -> None:
    """Write a state_dict (a model's, or a copy kept aside, such as the best epoch's)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_atomic(Path(path), buffer.getvalue())


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The tensors in a weights file; anything else (or nothing readable) is a WeightsError."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            # a raw pickle (not torch's zip format) makes torch warn before refusing or reading it
            warnings.filterwarnings("ignore", message="Detected pickle protocol",
                                    category=UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch reports bad files with many types
        raise WeightsError(f"{path}: {_load_failure(err)}") from None
    _check_tensors(path, state)
    return state


def load_weights(model: nn.Module, path: str | os.PathLike[str]) -> None:
    """Load a weights file into the model, refusing (and listing) every key or size that differs.

    The check comes first, so a file that does not fit leaves the model untouched.
    """
    path = Path(path)
    load_state(model, read_state_dict(path), str(path), path.name)


def load_state(model: nn.Module, state: Mapping[str, torch.Tensor], where: str,
               file_name: str) -> None:
    """Load a state_dict already read (from `where`, called `file_name` in the listing) as
    `load_weights` does: every key or size that differs listed, the model untouched then."""
    problems = _mismatches(model.state_dict(), state, file_name)
    if problems:
        raise WeightsError(
            f"{where}: these weights do not fit this graph:\n"
            + "\n".join(f"  {p}" for p in problems)
            + "\nThe keys are the layers' attribute names (the node ids made legal): layers "
              "renamed, added, removed or resized since the weights were saved no longer match. "
              "Load weights saved from this graph, or train it again.")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise WeightsError(f"{where}: cannot be loaded into this graph: {err}") from None


def load_starting_weights(model: nn.Module, path: str | os.PathLike[str]) -> list[str]:
    """Start a run from a weights file that may fit the graph only in part (transfer learning:
    the head replaced for other classes). Every tensor whose key and shape match is kept; the
    layers whose shape changed, or that the file lacks, start from new weights. Returns one
    sentence per such layer (and one for what the file holds that the graph does not), so
    nothing is dropped silently. A file of which nothing fits is a WeightsError, as in
    `load_weights`."""
    path = Path(path)
    state = read_state_dict(path)
    own = model.state_dict()
    kept = {key: value for key, value in state.items()
            if key in own and own[key].shape == value.shape}
    if len(kept) == len(own) == len(state):
        model.load_state_dict(state, strict=True)
        return []
    if not kept:
        load_weights(model, path)  # raises, listing why nothing fits
    notes = []
    for layer, keys in _by_layer(key for key in own if key not in kept).items():
        resized = [key for key in keys if key in state]
        notes.append(f"{layer}: {_change_words(resized, state, own)}; it starts from new "
                     "weights" if resized else
                     f"{layer}: not in {path.name}; it starts from new weights")
    extra = [key for key in state if key not in own]
    if extra:
        notes.append(f"{path.name} also holds {_few(extra)}, which this graph does not have; "
                     "left out")
    model.load_state_dict({**own, **kept}, strict=True)
    return notes


def _by_layer(keys: Iterable[str]) -> dict[str, list[str]]:
    """State keys grouped by the layer they belong to (`fc.weight` -> `fc`)."""
    layers: dict[str, list[str]] = {}
    for key in keys:
        layers.setdefault(key.rpartition(".")[0] or key, []).append(key)
    return layers


def _change_words(keys: list[str], old: Mapping[str, torch.Tensor],
                  new: Mapping[str, torch.Tensor]) -> str:
    """`1000 -> 10 outputs changed the shape` when only the outputs changed (a new head),
    else each tensor's sizes before and after."""
    if all(old[key].dim() and new[key].dim() and old[key].shape[1:] == new[key].shape[1:]
           for key in keys):
        pairs = {(old[key].shape[0], new[key].shape[0]) for key in keys}
        if len(pairs) == 1:
            before, after = pairs.pop()
            return f"{before} -> {after} outputs changed the shape"
    sizes = ", ".join(f"{key.rpartition('.')[2]} {_size(old[key])} -> {_size(new[key])}"
                      for key in keys)
    return f"the shape changed ({sizes})"


def _load_failure(err: Exception) -> str:
    """What is wrong with a file torch.load refused, in the user's words."""
    if isinstance(err, FileNotFoundError):
        return "no such file"
    if isinstance(err, IsADirectoryError):
        return "is a folder, not a weights file"
    if isinstance(err, OSError):
        return f"cannot be read: {err.strerror or err}"
    if isinstance(err, EOFError):
        return "is empty or cut short; it is not a complete weights file"
    blocked = _BLOCKED_GLOBAL.search(str(err))
    if blocked:
        return (f"refused: it asks for the Python object {blocked.group(1)}, and a weights file "
                "holds only tensors (loading it could run code from the file). Save weights "
                "with dlbuilder or torch.save(model.state_dict(), path)")
    return "is not a PyTorch weights file, or it is damaged"


def _check_tensors(path: Path, state: object) -> None:
    """A state_dict is a dict from names to tensors; torch.load also accepts lists, numbers..."""
    if not isinstance(state, Mapping):
        raise WeightsError(f"{path}: holds a {type(state).__name__}, not a state_dict "
                           "(a dict from layer names to tensors)")
    wrong = [f"{key!r} is a {type(key).__name__}, not a name" for key in state
             if not isinstance(key, str)]
    wrong += [f"{key} holds a {type(value).__name__}, not a tensor"
              for key, value in state.items()
              if isinstance(key, str) and not isinstance(value, torch.Tensor)]
    if wrong:
        raise WeightsError(f"{path}: not a state_dict of tensors: {_few(wrong, '; ')}")


def _mismatches(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor],
                file_name: str) -> list[str]:
    """Missing keys, unexpected keys and size differences, a few of each."""
    missing = [key for key in expected if key not in found]
    unexpected = [key for key in found if key not in expected]
    resized = [f"{key} is {_size(found[key])} in {file_name} but {_size(value)} in this graph"
               for key, value in expected.items()
               if key in found and found[key].shape != value.shape]
    problems = []
    if missing:
        problems.append(f"missing from {file_name} (in this graph only): {_few(missing)}")
    if unexpected:
        problems.append(f"unexpected in {file_name} (not in this graph): {_few(unexpected)}")
    if resized:
        problems.append(f"different sizes: {_few(resized, '; ')}")
    return problems


def _size(tensor: torch.Tensor) -> str:
    return "x".join(str(n) for n in tensor.shape) if tensor.dim() else "a single number"


def _few(items: Iterable[str], sep: str = ", ") -> str:
    """The first few items, then how many more there are: a long list hides the point."""
    items = list(items)
    rest = len(items) - _SHOWN
    return sep.join(items[:_SHOWN]) + (f" and {rest} more" if rest > 0 else "")
