"""The command line. The first argument selects a subcommand; anything else opens the editor.

Exit status for every subcommand: 0 ok (or only warnings), 1 errors in the graph, 2 an
unreadable file or bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dlbuilder import __version__

if TYPE_CHECKING:
    from dlbuilder.backend.plan import ModelPlan
    from dlbuilder.core.inference import InferenceEngine

EXIT_OK, EXIT_GRAPH_ERRORS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line arguments (argparse would otherwise exit on its own)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _summary_parser() -> _Parser:
    parser = _Parser(prog="dlbuilder summary",
                     description="Print each layer's output shape, parameters and mult-adds.")
    parser.add_argument("file", metavar="FILE",
                        help="a graph file (.json), or the name of a shipped example")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object on stdout instead of a table")
    return parser


def cmd_summary(argv: Sequence[str]) -> int:
    as_json = "--json" in argv
    try:
        args = _summary_parser().parse_args(argv)
    except UsageError as err:
        return _fail(str(err), as_json, [])
    from dlbuilder.core.fileformat import GraphFileError
    from dlbuilder.core.summary import format_summary, summary_dict

    try:
        engine = _load_engine(args.file)
    except GraphFileError as err:
        return _fail(str(err), args.json, [str(p) for p in err.problems])
    if args.json:
        print(json.dumps(summary_dict(engine)))
    else:
        print(format_summary(engine))
    return EXIT_GRAPH_ERRORS if engine.has_errors() else EXIT_OK


def _export_parser() -> _Parser:
    parser = _Parser(prog="dlbuilder export",
                     description="Export a graph as a PyTorch Python file or an ONNX model.")
    parser.add_argument("file", metavar="FILE",
                        help="a graph file (.json), or the name of a shipped example")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="where to write (default for Python: stdout)")
    parser.add_argument("--format", choices=("python", "onnx"),
                        help="python or onnx (default: onnx for a .onnx output, else python)")
    parser.add_argument("--class-name", default="Net", metavar="NAME",
                        help="the nn.Module subclass in the Python file (default: Net)")
    parser.add_argument("--weights", metavar="W.pt",
                        help="trained weights (a .pt state_dict) for the ONNX model")
    return parser


def cmd_export(argv: Sequence[str]) -> int:
    try:
        args = _export_parser().parse_args(argv)
        fmt = args.format or ("onnx" if (args.output or "").endswith(".onnx") else "python")
        if fmt == "onnx" and not args.output:
            raise UsageError("dlbuilder export: ONNX needs an output file: -o model.onnx")
        if fmt == "python" and args.weights:
            raise UsageError("dlbuilder export: --weights applies to ONNX; the Python file "
                             "loads weights itself (see its docstring)")
    except UsageError as err:
        return _fail(str(err), False, [])
    from dlbuilder.backend.codegen import ClassNameError, check_class_name
    from dlbuilder.backend.plan import CompileError, build_plan
    from dlbuilder.core.fileformat import GraphFileError

    try:
        check_class_name(args.class_name)
        plan = build_plan(_load_engine(args.file))
    except ClassNameError as err:
        return _fail(f"dlbuilder export: --class-name: {err}", False, [])
    except GraphFileError as err:
        return _fail(str(err), False, [])
    except CompileError as err:
        print(f"dlbuilder export: {args.file}: {err}", file=sys.stderr)
        return EXIT_GRAPH_ERRORS
    if fmt == "python":
        return _export_python(plan, args.class_name, args.output)
    return _export_onnx(plan, args.output, args.weights)


def _export_python(plan: ModelPlan, class_name: str, output: str | None) -> int:
    from dlbuilder.backend.codegen import generate_code

    code = generate_code(plan, class_name)
    if output is None:
        print(code, end="")
        return EXIT_OK
    from dlbuilder.core.fileformat import write_atomic

    try:
        write_atomic(Path(output), code)
    except OSError as err:
        return _cannot_write(output, err)
    print(f"wrote {output}: class {class_name}, {plan.params:,} parameters", file=sys.stderr)
    return EXIT_OK


def _export_onnx(plan: ModelPlan, output: str, weights: str | None) -> int:
    from dlbuilder.backend.onnx_export import OnnxExportError, export_onnx, onnx_missing

    missing = onnx_missing()  # before torch loads: say it at once
    if missing:
        return _fail(f"dlbuilder export: {missing}", False, [])
    from dlbuilder.backend.compiler import CompiledModel
    from dlbuilder.backend.weights import WeightsError, load_weights

    model = CompiledModel(plan)
    try:
        if weights:
            load_weights(model, weights)
        export_onnx(model, output)
    except (WeightsError, OnnxExportError) as err:
        return _fail(f"dlbuilder export: {err}", False, [])
    except OSError as err:
        return _cannot_write(output, err)
    source = f"weights from {weights}" if weights else "untrained (random) weights"
    print(f"wrote {output}: ONNX with a dynamic batch size, {source}", file=sys.stderr)
    return EXIT_OK


def _cannot_write(output: str, err: OSError) -> int:
    return _fail(f"dlbuilder export: cannot write {output}: {err.strerror or err}", False, [])


def _load_engine(name: str) -> InferenceEngine:
    """The inference engine over a graph file or shipped example; raises GraphFileError."""
    from dlbuilder.core.fileformat import load_graph
    from dlbuilder.core.inference import InferenceEngine
    from dlbuilder.layers import REGISTRY
    from dlbuilder.resources import find_graph_file

    return InferenceEngine(load_graph(find_graph_file(name), REGISTRY), REGISTRY)


def _fail(message: str, as_json: bool, problems: list[str]) -> int:
    if as_json:
        print(json.dumps({"error": message, "problems": problems}))
    else:
        print(message, file=sys.stderr)
    return EXIT_USAGE


def cmd_gui(argv: Sequence[str]) -> int:
    print("dlbuilder: the desktop editor is not part of this version yet.\n"
          "Try `dlbuilder summary FILE` (for example `dlbuilder summary lenet5`).",
          file=sys.stderr)
    return EXIT_USAGE


SUBCOMMANDS: dict[str, tuple[Callable[[Sequence[str]], int], str]] = {
    "summary": (cmd_summary, "print a graph's shapes, parameter counts and problems"),
    "export": (cmd_export, "write a graph as PyTorch code (or ONNX with --format onnx)"),
}

USAGE = """usage: dlbuilder [FILE]
       dlbuilder SUBCOMMAND [ARGS...]

Design neural networks visually, with every layer's shape and parameter count live.

subcommands:
{commands}

Run `dlbuilder SUBCOMMAND --help` for a subcommand's options.
Shipped examples (usable by name): {examples}"""


def _usage() -> str:
    from dlbuilder.resources import example_names

    commands = "\n".join(f"  {name:<10} {text}" for name, (_, text) in SUBCOMMANDS.items())
    return USAGE.format(commands=commands, examples=", ".join(example_names()))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help", "help"):
        print(_usage())
        return EXIT_OK
    if args and args[0] == "--version":
        print(f"dlbuilder {__version__}")
        return EXIT_OK
    if args and args[0] in SUBCOMMANDS:
        command, _ = SUBCOMMANDS[args[0]]
        return command(args[1:])
    if args and args[0].startswith("-"):
        print(f"dlbuilder: unknown option {args[0]!r}\n\n{_usage()}", file=sys.stderr)
        return EXIT_USAGE
    return cmd_gui(args)
