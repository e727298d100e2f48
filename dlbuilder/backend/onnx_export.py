"""The compiled model as an ONNX file, for inference outside Python (onnxruntime and others).

ONNX export needs the optional packages onnx and onnxscript (`pip install "dlbuilder[onnx]"`);
importing this module imports neither, nor torch, so a caller can ask `onnx_missing()` first
and say what to install. The batch dimension of the file's input is symbolic ("batch"), so one
file serves any batch size. torch's exporter reports progress and its own deprecations on
stdout, through logging and as warnings; none of that concerns the user, so it is kept quiet
here, and a failure comes back as one exception with one clear message.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import itertools
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dlbuilder.core.fileformat import write_atomic

if TYPE_CHECKING:
    import torch

    from dlbuilder.backend.compiler import CompiledModel
    from dlbuilder.backend.plan import ModelPlan

INSTALL_HINT = 'pip install "dlbuilder[onnx]"'
BATCH_DIM = "batch"
_REQUIRED = ("onnx", "onnxscript")
# "torch" rather than "torch.onnx": torch.export's shape solver logs on its own loggers too.
_CHATTY_LOGGERS = ("torch", "onnxscript")
# Deprecation notices raised by torch's and onnxscript's own code while exporting.
_INTERNAL_MODULES = r"(torch|onnxscript|onnx_ir)(\.|$)"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # torch colours parts of its error messages
# torch.utils._pytree warns about torch.export's own use of LeafSpec; the stack level points
# the warning at copyreg, so only its text identifies it.
_LEAFSPEC = r"`isinstance\(treespec, LeafSpec\)` is deprecated"


class OnnxUnavailable(RuntimeError):
    """The optional ONNX packages are not installed; the message says what to install."""


class OnnxExportError(RuntimeError):
    """torch's exporter could not turn the model into ONNX; the original error is __cause__."""


def onnx_missing() -> str | None:
    """None when ONNX export can work, else which packages are missing and how to get them."""
    missing = [name for name in _REQUIRED if not _importable(name)]
    if not missing:
        return None
    many = len(missing) > 1
    return (f"ONNX export needs the package{'s' * many} {' and '.join(missing)}, which "
            f"{'are' if many else 'is'} not installed; install {'them' if many else 'it'} "
            f"with: {INSTALL_HINT}")


def export_onnx(model: CompiledModel, path: str | os.PathLike[str],
                opset: int | None = None) -> None:
    """Write the model (in eval mode) as ONNX with a dynamic batch; atomic, like every save.

    `opset` None takes the exporter's default. Raises OnnxUnavailable without the optional
    packages, OnnxExportError when torch cannot export the model or reach the opset.
    """
    missing = onnx_missing()
    if missing:
        raise OnnxUnavailable(missing)
    path = Path(path)
    data = _exported_bytes(model, path, opset)
    write_atomic(path, data)


def export_plan(plan: ModelPlan, path: str | os.PathLike[str],
                weights: str | os.PathLike[str] | None = None) -> None:
    """The planned model, with `weights` loaded (else its initial weights), as ONNX at `path`.

    What `dlbuilder export --format onnx` and File ▸ Export ▸ ONNX both run. Raises
    OnnxUnavailable before torch loads, WeightsError for weights that do not fit the graph,
    OnnxExportError, or OSError when the file cannot be written.
    """
    missing = onnx_missing()
    if missing:
        raise OnnxUnavailable(missing)
    from dlbuilder.backend.compiler import CompiledModel
    from dlbuilder.backend.weights import load_weights

    model = CompiledModel(plan)
    if weights is not None:
        load_weights(model, weights)
    export_onnx(model, path)


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ValueError:  # in sys.modules without a spec: imported some other way
        return True


def _exported_bytes(model: CompiledModel, path: Path, opset: int | None) -> bytes:
    """The ONNX file's bytes; the model's train/eval flags are as before afterwards."""
    import torch

    flags = {module: module.training for module in model.modules()}
    model.eval()
    # a batch of 2: torch.export would fix a dimension of size 1 as a constant
    example = torch.randn(2, *model.plan.input_shape, device=_device(model))
    try:
        with tempfile.TemporaryDirectory(prefix="dlbuilder-onnx-") as folder, _quiet_exporter():
            scratch = Path(folder) / "model.onnx"
            try:
                torch.onnx.export(
                    model, (example,), scratch, input_names=["input"],
                    output_names=["output"],
                    dynamic_shapes=({0: torch.export.Dim(BATCH_DIM)},),
                    opset_version=opset, external_data=False, verbose=False, dynamo=True)
            except Exception as err:
                raise OnnxExportError(
                    f"cannot export the graph {model.plan.name!r} to ONNX ({path}): torch's "
                    f"exporter failed ({_root_reason(err)}). The model "
                    "runs in PyTorch, so a layer or setting is probably not supported by the "
                    "ONNX exporter" + (f" at opset {opset}" if opset is not None else "")
                    + "; export the PyTorch code instead, or try another opset.") from err
            data = scratch.read_bytes()
    finally:
        for module, training in flags.items():
            module.training = training
    if opset is not None:
        _check_opset(data, opset, path)
    return data


def _device(model: CompiledModel) -> torch.device:
    """Where the model's tensors are (a model trained on a GPU may still be there)."""
    import torch

    for tensor in itertools.chain(model.parameters(), model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _check_opset(data: bytes, opset: int, path: Path) -> None:
    """The exporter keeps its own opset, with only a logged warning, when it cannot convert."""
    import onnx

    written = next((entry.version for entry in onnx.load_from_string(data).opset_import
                    if entry.domain in ("", "ai.onnx")), None)
    if written != opset:
        raise OnnxExportError(
            f"cannot export to ONNX opset {opset} ({path}): torch's exporter could only write "
            f"opset {written}, and the installed onnx converts up to opset "
            f"{onnx.defs.onnx_opset_version()}; choose an opset it can reach, or leave the "
            "opset unset for the exporter's default")


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's progress lines, log notices and internal deprecation warnings.

    stderr too: when torch.export fails it prints the traced graph there before raising, and
    the exception we raise already carries that error as its cause.
    """
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.filterwarnings("ignore", message=_LEAFSPEC, category=FutureWarning)
        for category in (FutureWarning, DeprecationWarning):
            warnings.filterwarnings("ignore", category=category, module=_INTERNAL_MODULES)
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def _root_reason(err: BaseException) -> str:
    """The innermost cause's type and first line: torch's outer errors are generic advice."""
    while err.__cause__ is not None:
        err = err.__cause__
    text = _ANSI.sub("", str(err))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0].rstrip('.')}" if lines else type(err).__name__
