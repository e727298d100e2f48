"""What every subcommand shares: argument errors without argparse's exit, exit statuses,
loading a graph by file or example name, and reporting failures."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dlbuilder.core.inference import InferenceEngine

EXIT_OK, EXIT_GRAPH_ERRORS, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # the shell's code for a run ended by Ctrl+C (128 + SIGINT)


class UsageError(Exception):
    """Bad command-line arguments (argparse would otherwise exit on its own)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def load_engine(name: str) -> InferenceEngine:
    """The inference engine over a graph file or shipped example; raises GraphFileError."""
    from dlbuilder.core.fileformat import load_graph
    from dlbuilder.core.inference import InferenceEngine
    from dlbuilder.layers import REGISTRY
    from dlbuilder.resources import find_graph_file

    return InferenceEngine(load_graph(find_graph_file(name), REGISTRY), REGISTRY)


def args_and_engine(parser: Parser, argv: Sequence[str]
                    ) -> tuple[argparse.Namespace, InferenceEngine] | int:
    """Parse `argv` (which has FILE and --json) and load FILE: the arguments and the engine,
    or the exit status once what is wrong has been said (as JSON with --json)."""
    as_json = "--json" in argv
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        return fail(str(err), as_json, [])
    from dlbuilder.core.fileformat import GraphFileError

    try:
        return args, load_engine(args.file)
    except GraphFileError as err:
        return fail(str(err), args.json, [str(p) for p in err.problems])


def fail(message: str, as_json: bool, problems: list[str]) -> int:
    if as_json:
        print(json.dumps({"error": message, "problems": problems}))
    else:
        print(message, file=sys.stderr)
    return EXIT_USAGE


