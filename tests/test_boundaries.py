"""DESIGN.md's import boundaries: the core, the layers and the backend never import Qt; the
core, the layers and code generation never import torch. Checked in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys

import pytest

NO_TORCH = ["dlbuilder.core", "dlbuilder.core.inference", "dlbuilder.core.fileformat",
            "dlbuilder.core.summary", "dlbuilder.core.commands", "dlbuilder.layers",
            "dlbuilder.backend", "dlbuilder.backend.names", "dlbuilder.backend.plan",
            "dlbuilder.backend.codegen", "dlbuilder.cli", "dlbuilder.backend.datasets",
            "dlbuilder.backend.datasets.download", "dlbuilder.backend.settings",
            "dlbuilder.backend.fit", "dlbuilder.backend.controls",
            "dlbuilder.core.wiring", "dlbuilder.core.layout", "dlbuilder.core.fragment"]
NO_QT = [*NO_TORCH, "dlbuilder.backend.modules", "dlbuilder.backend.compiler",
         "dlbuilder.backend.weights", "dlbuilder.backend.onnx_export",
         "dlbuilder.backend.trainer", "dlbuilder.backend.predict"]


def imported_after(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return {name.split(".")[0] for name in result.stdout.split()}


# The window paints before torch (~3 s) and pyqtgraph (~0.5 s) load.
GUI_LIGHT = ["dlbuilder.gui", "dlbuilder.gui.app", "dlbuilder.gui.window.main_window",
             "dlbuilder.cli.gui"]


@pytest.mark.parametrize("module", GUI_LIGHT)
def test_gui_modules_load_neither_torch_nor_pyqtgraph(module: str) -> None:
    assert not {"torch", "pyqtgraph"} & imported_after(module)


@pytest.mark.parametrize("module", NO_QT)
def test_no_qt(module: str) -> None:
    assert not {"PySide6", "shiboken6", "pyqtgraph"} & imported_after(module)


@pytest.mark.parametrize("module", NO_TORCH)
def test_no_torch(module: str) -> None:
    assert "torch" not in imported_after(module)


@pytest.mark.parametrize("command", [["summary", "lenet5"], ["export", "lenet5"]])
def test_summary_and_python_export_do_not_load_torch(command: list[str]) -> None:
    code = (f"import sys; from dlbuilder.cli import main; main({command!r}); "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip().endswith("False")
