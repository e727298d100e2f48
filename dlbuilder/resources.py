"""Where the shipped files live: examples/ and resources/ sit at the repository's top level and
are copied into the wheel as dlbuilder/examples and dlbuilder/resources (pyproject.toml)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _shipped(folder: str) -> Path:
    inside = Path(str(resources.files("dlbuilder"))) / folder
    if inside.is_dir():
        return inside
    return Path(__file__).resolve().parent.parent / folder  # a source checkout


def examples_dir() -> Path:
    return _shipped("examples")


def resources_dir() -> Path:
    return _shipped("resources")


def builtin_blocks_file() -> Path:
    """The built-in block library (read with core.block_library.read_library)."""
    return resources_dir() / "blocks" / "builtin.json"


def is_example(path: Path) -> bool:
    """A shipped example: read-only in an installed package, so it is saved elsewhere and
    its runs are kept in the user's data folder."""
    return Path(path).resolve().parent == examples_dir().resolve()


def example_names() -> list[str]:
    return sorted(p.stem for p in examples_dir().glob("*.json"))


def find_graph_file(name: str) -> Path:
    """`name` as a path if it exists, else a shipped example by name (`lenet5`)."""
    path = Path(name)
    if path.exists():
        return path
    example = examples_dir() / (name if name.endswith(".json") else f"{name}.json")
    return example if example.exists() else path
