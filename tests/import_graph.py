"""The package's imports as its source states them: every module found by walking the folder
(pkgutil, nothing imported), every import statement in it (ast), and which of them run when
the module loads. tests/test_boundaries.py checks DESIGN.md's layering rules on this."""

from __future__ import annotations

import ast
import pkgutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

QT = frozenset({"PySide6", "shiboken6", "pyqtgraph"})
STDLIB = frozenset(sys.stdlib_module_names)


@dataclass(frozen=True)
class Import:
    """One imported module. `at_load`: it runs when the importing module loads (not inside a
    function, not under `if TYPE_CHECKING:`)."""
    module: str
    line: int
    at_load: bool

    @property
    def top(self) -> str:
        return self.module.partition(".")[0]


def _walk(folder: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for info in pkgutil.iter_modules([str(folder)]):
        name = prefix + info.name
        if info.ispkg:
            yield name, folder / info.name / "__init__.py"
            yield from _walk(folder / info.name, name + ".")
        else:
            yield name, folder / f"{info.name}.py"


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


class _Collector(ast.NodeVisitor):
    """Import statements of one module, absolute, with whether each runs at load."""

    def __init__(self, name: str, is_package: bool, known: set[str]) -> None:
        self.package = name if is_package else name.rpartition(".")[0]
        self.known = known
        self.deferred = 0  # > 0 inside a function body or a TYPE_CHECKING block
        self.found: list[Import] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:  # defaults and decorators run at load
                self.visit(default)
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.deferred += 1
        for statement in node.body:
            self.visit(statement)
        self.deferred -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.deferred += 1
        for statement in node.body:
            self.visit(statement)
        self.deferred -= 1
        for statement in node.orelse:
            self.visit(statement)

    def _add(self, module: str, node: ast.stmt) -> None:
        self.found.append(Import(module, node.lineno, self.deferred == 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            parts = self.package.split(".")
            base = ".".join(parts[:len(parts) - node.level + 1])
            module = f"{base}.{node.module}" if node.module else base
        else:
            module = node.module or ""
        self._add(module, node)
        for alias in node.names:  # `from package import module` imports the module too
            if f"{module}.{alias.name}" in self.known:
                self._add(f"{module}.{alias.name}", node)


@dataclass
class ImportGraph:
    """What each module of a package imports (`imports`), and what loading one loads."""
    package: str
    files: dict[str, Path]
    imports: dict[str, list[Import]]

    @classmethod
    def of(cls, folder: Path) -> ImportGraph:
        """Walk the package in `folder` (its name is the folder's name)."""
        package = folder.name
        files = {package: folder / "__init__.py", **dict(_walk(folder, package + "."))}
        graph = cls(package, files, {})
        for name, path in files.items():
            collector = _Collector(name, path.name == "__init__.py", set(files))
            collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
            graph.imports[name] = collector.found
        return graph

    def under(self, prefix: str) -> list[str]:
        """The modules in `prefix` (a package or a module), the package itself included."""
        return sorted(name for name in self.files
                      if name == prefix or name.startswith(prefix + "."))

    def loaded_by(self, module: str) -> dict[str, list[str]]:
        """Every module (ours or not) that importing `module` loads, each with the chain of
        imports that loads it; importing a.b.c loads the packages a and a.b first."""
        chains: dict[str, list[str]] = {}
        todo = [[module]]
        while todo:
            chain = todo.pop()
            for name in self._parents(chain[-1]):
                if name in chains:
                    continue
                chains[name] = chain
                for imp in self.imports.get(name, []):
                    if imp.at_load and imp.module not in chains:
                        todo.append([*chain, imp.module])
        return chains

    @staticmethod
    def _parents(name: str) -> list[str]:
        parts = name.split(".")
        return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
