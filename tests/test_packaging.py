"""What a new user meets: the README's commands, CI running exactly them, a wheel that ships
the examples and resources."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", text, re.DOTALL)
    assert block, "README.md must start with a code block of commands"
    return [line.strip() for line in block.group(1).splitlines()
            if line.strip() and not line.strip().startswith("#")]


def test_readme_starts_with_the_two_commands() -> None:
    run_app, run_tests = readme_commands()[:2]
    assert "dlbuilder" in run_app and "pip install" in run_app
    assert "pytest" in run_tests and ".[test]" in run_tests


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    test_command = readme_commands()[1]
    assert test_command in [line.strip() for line in ci]
    torch_line = next(i for i, line in enumerate(ci) if "torch==2.13.0" in line)
    assert torch_line < ci.index(test_command), "torch must be installed before the project"


def test_ci_runs_every_test_at_full_counts_then_lints() -> None:
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    test_line = ci.index(readme_commands()[1])
    assert ci.index("export HYPOTHESIS_PROFILE=full") < test_line
    assert not any(" -m " in line and "slow" in line for line in ci), "CI runs the slow tests"
    assert ci.index("python -m ruff check dlbuilder tests benchmarks") > test_line


@pytest.mark.slow
def test_wheel_ships_examples_and_resources(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), "-q"], check=False, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("dlbuilder-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for example in (REPO / "examples").glob("*.json"):
        assert f"dlbuilder/examples/{example.name}" in names
    assert "dlbuilder/resources/icons/dlbuilder.svg" in names
    assert "dlbuilder/layers/conv.py" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "dlbuilder = dlbuilder.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
