"""What the import dialog reads before anything runs: the NAMEs a model file offers (found by
reading it with `ast`, never by running it), and how a typed source splits into the file or
module and the NAME. Plain Python: no Qt, no torch."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_SOURCE_BYTES = 4_000_000  # a model file larger than this is not read for its names
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_TORCH_BASES = ("Module", "Sequential", "ModuleList", "ModuleDict")


@dataclass(frozen=True)
class Names:
    """The NAMEs a file offers: nn.Module subclasses first, then public functions (which may
    return a module); `suggested` is the one most likely meant (the last model class that no
    other class uses, as tutorials write the blocks first and the network last); `problem`
    says why the file could not be read, if it could not."""

    classes: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    suggested: str | None = None
    problem: str = ""
    all: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "all", self.classes + self.functions)


def split_spec(text: str) -> tuple[str, str]:
    """`path/model.py:Net` -> ("path/model.py", "Net"); a source without `:NAME` (or a
    Windows drive's colon) keeps its whole text, with no NAME."""
    text = text.strip()
    source, colon, name = text.rpartition(":")
    if colon and source and name.isidentifier() and ("/" not in name and "\\" not in name):
        return source, name
    return text, ""


def is_module_spec(text: str) -> bool:
    """A dotted module name (`torchvision.models`) rather than a file path."""
    return bool(_MODULE.fullmatch(text.strip())) and not text.strip().endswith(".py")


def model_names(path: Path) -> Names:
    """The NAMEs `path` offers, read from its text; never imported or run."""
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return Names(problem=f"{path.name} is too large to list its names; type the NAME")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        return Names(problem=f"{path.name} cannot be read: {reason}")
    return names_in(text, path.name)


def names_in(text: str, filename: str = "the file") -> Names:
    try:
        tree = ast.parse(text, filename)
    except (SyntaxError, ValueError) as err:  # ValueError: a NUL byte in the text
        where = f" line {err.lineno}" if isinstance(err, SyntaxError) and err.lineno else ""
        reason = err.msg if isinstance(err, SyntaxError) else str(err)
        return Names(problem=f"{filename}{where}: {reason}; fix it, or type the NAME")
    torch_names = _torch_imports(tree)
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    modules = _module_classes(classes, torch_names)
    functions = tuple(n.name for n in tree.body
                      if isinstance(n, ast.FunctionDef) and not n.name.startswith("_"))
    ordered = tuple(c.name for c in classes if c.name in modules)
    return Names(ordered, functions, _suggested(classes, modules) or
                 (functions[-1] if functions else None))


def _torch_imports(tree: ast.Module) -> set[str]:
    """Names bound by importing from torch (`nn`, `torch`, `Module`...) or torchvision."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names
                         if a.name.split(".")[0] in ("torch", "torchvision"))
        elif isinstance(node, ast.ImportFrom) and node.module \
                and node.module.split(".")[0] in ("torch", "torchvision"):
            names.update(a.asname or a.name for a in node.names)
    return names


def _module_classes(classes: list[ast.ClassDef], torch_names: set[str]) -> set[str]:
    """The classes that derive, directly or through the file's other classes, from a torch
    class (`nn.Module`, `torch.nn.Sequential`, an imported `ResNet`...)."""
    found: set[str] = set()
    grew = True
    while grew:
        grew = False
        for cls in classes:
            if cls.name not in found and any(_is_module_base(b, torch_names, found)
                                             for b in cls.bases):
                found.add(cls.name)
                grew = True
    return found


def _is_module_base(base: ast.expr, torch_names: set[str], found: set[str]) -> bool:
    if isinstance(base, ast.Name):
        return base.id in found or base.id in torch_names or base.id in _TORCH_BASES
    if isinstance(base, ast.Attribute):
        root = base
        while isinstance(root, ast.Attribute):
            root = root.value
        return isinstance(root, ast.Name) and root.id in torch_names | {"nn", "torch"}
    return False


def _suggested(classes: list[ast.ClassDef], modules: set[str]) -> str | None:
    """Of the model classes no other class uses, the one built of most of the file's other
    classes (a network of its blocks), the last written on a tie."""
    def used_in(cls: ast.ClassDef) -> set[str]:
        return {n.id for stmt in cls.body for n in ast.walk(stmt)
                if isinstance(n, ast.Name) and n.id in modules and n.id != cls.name}
    model_classes = [c for c in classes if c.name in modules]
    used = set().union(*(used_in(c) for c in model_classes)) if model_classes else set()
    for cls in model_classes:  # a subclass uses its base too
        used.update(b.id for b in cls.bases if isinstance(b, ast.Name) and b.id in modules)
    tops = [c for c in model_classes if c.name not in used]
    if not tops:
        return None
    return max(reversed(tops), key=lambda c: len(used_in(c))).name
