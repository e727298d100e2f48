"""DESIGN.md's import boundaries, checked on every module found by walking dlbuilder/ (a new
module is covered the day it is added): the core never imports Qt or torch, the layers import
only the core, the backend never imports Qt, the modules that must load without torch do, and
neither torch nor pyqtgraph loads before the window's first paint.

Each rule is checked twice: on the source (tests/import_graph.py: every import statement, with
the chain that loads a forbidden module) and in a fresh interpreter that imports every module
the rule covers (which also catches a third-party package that pulls torch or Qt in)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO
from import_graph import QT, STDLIB, ImportGraph

TORCH = frozenset({"torch"})


@dataclass(frozen=True)
class Rule:
    """What the modules in `prefix` (a package or one module) may import. `only`: the only
    imports allowed besides the standard library, anywhere in the source; `never`: imports
    refused anywhere in the source, even inside a function; `not_at_load`: modules that
    importing any of them must not load, directly or through other modules."""
    prefix: str
    why: str
    only: frozenset[str] | None = None
    never: frozenset[str] = frozenset()
    not_at_load: frozenset[str] = frozenset()

    def absent_after_import(self) -> frozenset[str]:
        """The modules a fresh interpreter must not hold after importing the rule's modules."""
        return self.never | self.not_at_load | (QT | TORCH if self.only is not None else set())


def _rule(prefix: str, why: str, **names: set[str] | frozenset[str]) -> Rule:
    return Rule(prefix, why, **{key: frozenset(value) for key, value in names.items()})


RULES = [
    _rule("dlbuilder.core", "the core is pure Python + networkx + numpy (no Qt, no torch)",
          only={"networkx", "numpy", "dlbuilder.core"}),
    _rule("dlbuilder.layers", "the layer declarations import only the core",
          only={"dlbuilder.core", "dlbuilder.layers"}),
    _rule("dlbuilder.backend", "the backend is headless: no Qt, nothing from the GUI or CLI",
          never=QT | {"dlbuilder.gui", "dlbuilder.cli"}),
    _rule("dlbuilder.backend.plan", "the editor shows generated code before torch loads",
          not_at_load=TORCH),
    _rule("dlbuilder.backend.codegen", "the editor shows generated code before torch loads",
          not_at_load=TORCH),
    _rule("dlbuilder.backend.names", "codegen's names, shown before torch loads",
          not_at_load=TORCH),
    _rule("dlbuilder.backend.datasets", "datasets are read as numpy arrays, without torch",
          not_at_load=TORCH),
    _rule("dlbuilder.backend.settings", "settings are checked before torch loads",
          not_at_load=TORCH),
    _rule("dlbuilder.backend.fit", "the editor asks live whether a run can start",
          not_at_load=TORCH),
    _rule("dlbuilder.backend.controls", "the GUI holds a run's controls before torch loads",
          not_at_load=TORCH),
    _rule("dlbuilder.backend.runs", "the runs kept are read and written without torch",
          not_at_load=TORCH),
    _rule("dlbuilder.backend.inside.tiles", "Look Inside's pictures are drawn from numpy",
          not_at_load=TORCH),
    _rule("dlbuilder.backend.inside.stats", "Look Inside's statistics need only numpy",
          not_at_load=TORCH),
    _rule("dlbuilder.cli", "summary and export run without torch; Qt only for the window",
          not_at_load=TORCH | QT),
    _rule("dlbuilder.gui.app", "the window paints before torch (~3 s) and pyqtgraph (~0.5 s)",
          not_at_load={"torch", "pyqtgraph"}),
]


def within(module: str, names: frozenset[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in names)


def violations(graph: ImportGraph, rule: Rule) -> list[str]:
    """Where the source breaks `rule`, each with its file and line or the chain of imports."""
    found = []
    for module in graph.under(rule.prefix):
        where = graph.files[module].relative_to(graph.files[graph.package].parent.parent)
        for imp in graph.imports[module]:
            ours = imp.top == graph.package
            if rule.only is not None and not ours and imp.top in STDLIB:
                continue
            refused = (within(imp.module, rule.never) if rule.only is None
                       else not within(imp.module, rule.only))
            if refused:
                found.append(f"{where}:{imp.line} imports {imp.module}: {rule.why}")
        loaded = graph.loaded_by(module)
        for name in sorted(rule.not_at_load & loaded.keys()):
            found.append(f"{where}: importing {module} loads {name} "
                         f"({' -> '.join(loaded[name])}): {rule.why}")
    return found


@pytest.fixture(scope="module")
def package() -> ImportGraph:
    return ImportGraph.of(REPO / "dlbuilder")


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.prefix)
def test_the_source_keeps_the_rule(package: ImportGraph, rule: Rule) -> None:
    assert package.under(rule.prefix), f"{rule.prefix} is gone: move its rule with it"
    assert not violations(package, rule)


def imported_after(modules: list[str], path: Path = REPO) -> set[str]:
    """Every module in sys.modules after a fresh interpreter imports `modules`."""
    code = f"import sys\nfor m in {modules!r}: __import__(m)\nprint(' '.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                            text=True, timeout=180, cwd=path,
                            env={**os.environ, "PYTHONPATH": str(path)})
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def loaded_in_a_fresh_interpreter(graph: ImportGraph, rule: Rule, path: Path) -> list[str]:
    modules = [m for m in graph.under(rule.prefix) if not m.endswith("__main__")]
    absent = rule.absent_after_import()
    return sorted(m for m in imported_after(modules, path) if within(m, absent))


@pytest.mark.slow
@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.prefix)
def test_importing_the_modules_keeps_the_rule(package: ImportGraph, rule: Rule) -> None:
    assert not loaded_in_a_fresh_interpreter(package, rule, REPO)


@pytest.mark.slow
@pytest.mark.parametrize("command", [["summary", "lenet5"], ["export", "lenet5"]])
def test_summary_and_python_export_do_not_load_torch(command: list[str]) -> None:
    code = (f"import sys; from dlbuilder.cli import main; main({command!r}); "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.strip().endswith("False")


# -- the walk finds a new module that breaks a rule -----------------------------------------
class PackageCopy:
    """A copy of dlbuilder/ to add modules to."""

    def __init__(self, root: Path, real: ImportGraph) -> None:
        shutil.copytree(REPO / "dlbuilder", root, ignore=shutil.ignore_patterns("__pycache__"))
        self.root = root
        self.app = real.files["dlbuilder.gui.app"].relative_to(REPO / "dlbuilder").as_posix()

    def write(self, relative: str, source: str, append: bool = False) -> None:
        path = self.root / relative
        before = path.read_text(encoding="utf-8") if append else ""
        path.write_text(before + source, encoding="utf-8")

    def broken_rules(self) -> dict[str, list[str]]:
        graph = ImportGraph.of(self.root)
        return {rule.prefix: found for rule in RULES if (found := violations(graph, rule))}


@pytest.fixture
def copy(tmp_path: Path, package: ImportGraph) -> PackageCopy:
    return PackageCopy(tmp_path / "dlbuilder", package)


NEW_MODULES = [
    ("core/shapes_extra.py", "def f():\n    import torch\n", "dlbuilder.core", "torch"),
    ("core/events.py", "from PySide6.QtCore import QObject\n", "dlbuilder.core", "PySide6"),
    ("layers/smart.py", "from dlbuilder.backend import plan\n", "dlbuilder.layers",
     "dlbuilder.backend.plan"),
    ("layers/relative.py", "from ..backend.codegen import x\n", "dlbuilder.layers",
     "dlbuilder.backend.codegen"),
    ("backend/viewer.py", "def show():\n    from PySide6 import QtWidgets\n",
     "dlbuilder.backend", "PySide6"),
    ("backend/report.py", "from dlbuilder.gui.theme import theme_manager\n",
     "dlbuilder.backend", "dlbuilder.gui"),
    ("backend/datasets/tensors.py", "import torch\n", "dlbuilder.backend.datasets", "torch"),
    ("cli/profile.py", "import torch.profiler\n", "dlbuilder.cli", "torch"),
]


def test_new_modules_that_break_a_rule_are_found(copy: PackageCopy) -> None:
    for relative, source, _rule, _culprit in NEW_MODULES:
        copy.write(relative, source)
    messages = [(prefix, message) for prefix, found in copy.broken_rules().items()
                for message in found]
    for relative, _source, rule, culprit in NEW_MODULES:
        about = [(prefix, message) for prefix, message in messages if relative in message]
        assert about, f"{relative} breaks {rule} unnoticed"
        assert {prefix for prefix, _ in about} == {rule}
        assert any(culprit in message for _, message in about)
    assert len({message for _, message in messages}) == len(messages)
    assert all(any(case[0] in message for case in NEW_MODULES) for _, message in messages)


def test_torch_loaded_before_the_first_paint_is_found_with_its_chain(copy: PackageCopy) -> None:
    copy.write("backend/heavy.py", "import torch\n")
    copy.write("gui/new_panel.py", "from dlbuilder.backend import heavy\n")
    copy.write(copy.app, "\nfrom dlbuilder.gui import new_panel\n", append=True)
    broken = copy.broken_rules()
    assert list(broken) == ["dlbuilder.gui.app"]
    assert ("dlbuilder.gui.app -> dlbuilder.gui.new_panel -> dlbuilder.backend.heavy -> torch"
            in broken["dlbuilder.gui.app"][0])


def test_deferred_imports_keep_the_rules(copy: PackageCopy) -> None:
    """Importing torch in a function, or for type checking only, is how the window and the
    codegen stay light: allowed where only loading is refused."""
    copy.write("backend/plan_types.py", "from typing import TYPE_CHECKING\n"
               "if TYPE_CHECKING:\n    import torch\n")
    copy.write("gui/lazy_panel.py", "def train():\n    import torch\n    import pyqtgraph\n")
    copy.write(copy.app, "\nfrom dlbuilder.gui import lazy_panel\n"
               "from dlbuilder.backend import plan_types\n", append=True)
    assert not copy.broken_rules()


@pytest.mark.slow
def test_a_fresh_interpreter_finds_what_a_new_module_loads(copy: PackageCopy) -> None:
    copy.write("core/numbers.py", "import numpy\nimport torch\n")
    core = next(rule for rule in RULES if rule.prefix == "dlbuilder.core")
    graph = ImportGraph.of(copy.root)
    assert loaded_in_a_fresh_interpreter(graph, core, copy.root.parent)[0] == "torch"
