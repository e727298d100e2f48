"""`dlbuilder import`: a PyTorch model (or an ONNX file) as a graph file, with its weights."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlbuilder.cli.common import EXIT_GRAPH_ERRORS, EXIT_OK, Parser, UsageError, fail

if TYPE_CHECKING:
    from dlbuilder.backend.importing.result import Imported

EXIT_REFUSED = EXIT_GRAPH_ERRORS  # the model has parts the graph cannot hold: 1, as the issue says


def _import_parser() -> Parser:
    parser = Parser(prog="dlbuilder import",
                    description="Import a PyTorch model (path/to/file.py:NAME or "
                                "package.module:NAME; this runs that Python code) or an ONNX "
                                "file (only read) as a graph, with its weights.")
    parser.add_argument("source", metavar="SOURCE",
                        help="path/to/file.py:NAME or package.module:NAME, where NAME is an "
                             "nn.Module class that takes no required arguments or a function "
                             "that returns a module; or a .onnx file")
    parser.add_argument("-o", "--output", required=True, metavar="GRAPH.json",
                        help="the graph file to write")
    parser.add_argument("--input", metavar="CxHxW",
                        help="one sample's shape, e.g. 3x224x224 or 784 (needed for PyTorch "
                             "models, which do not say it, and ONNX files that do not fix it)")
    parser.add_argument("--weights", metavar="W.pt",
                        help="also write the weights, a state_dict of the exported class")
    parser.add_argument("--name", metavar="NAME",
                        help="the graph's name (default: NAME from the spec, or the file's)")
    return parser


def parse_shape(text: str) -> tuple[int, ...]:
    """`3x224x224` -> (3, 224, 224); UsageError for anything but 1 to 3 positive numbers."""
    from dlbuilder.core.shape_text import ShapeTextError, read_sample_shape

    try:
        return read_sample_shape(text)
    except ShapeTextError as err:
        raise UsageError(f"dlbuilder import: --input {err}") from None


def _early_problem(args: Any) -> str | None:
    """What is wrong before anything runs: a missing --input for PyTorch code (which does
    not say its input's shape), a folder to write into that does not exist."""
    if args.input is None and not args.source.lower().endswith(".onnx"):
        return ("dlbuilder import: a PyTorch model does not say the shape of its input: give "
                "one sample's with --input, e.g. --input 3x224x224 (or 784 for vectors)")
    for flag, target in (("-o", args.output), ("--weights", args.weights)):
        if target is not None and not Path(target).resolve().parent.is_dir():
            return (f"dlbuilder import: {flag} {target}: the folder "
                    f"{Path(target).resolve().parent} does not exist")
    return None


def cmd_import(argv: Sequence[str]) -> int:
    try:
        args = _import_parser().parse_args(argv)
        shape = parse_shape(args.input) if args.input else None
    except UsageError as err:
        return fail(str(err), False, [])
    problem = _early_problem(args)
    if problem is not None:
        return fail(problem, False, [])
    from dlbuilder.backend.importing.report import ImportFailed, ImportRefused

    try:
        imported = _import(args.source, shape)
    except ImportRefused as err:
        print(err.report(), file=sys.stderr)
        return EXIT_REFUSED
    except ImportFailed as err:
        return fail(f"dlbuilder import: {err}", False, [])
    if args.name:
        imported.graph.name = args.name
    from dlbuilder.backend.importing.result import write_imported
    from dlbuilder.backend.settings import weights_reference

    if args.weights:  # the graph's runs start from them (`dlbuilder train`, the app, the script)
        imported.graph.training["init_weights"] = weights_reference(args.weights, args.output)
    try:
        write_imported(imported, args.output, args.weights)
    except OSError as err:
        return fail(f"dlbuilder import: cannot write {err.filename}: {err.strerror}", False, [])
    for note in imported.notes:
        print(f"note: {note}", file=sys.stderr)
    print(_written(imported, args.output, args.weights))
    return EXIT_OK


def _import(source: str, shape: tuple[int, ...] | None) -> Imported:
    if source.lower().endswith(".onnx"):
        from dlbuilder.backend.importing.onnx_import import import_onnx

        return import_onnx(source, shape)
    where = source.rpartition(":")[0]
    if not where.endswith(".py") or Path(where).is_file():
        print(f"dlbuilder import: running the Python code of {source} to build the model "
              "(your own code; a graph file is never executed)", file=sys.stderr)
    from dlbuilder.backend.importing.torch_import import import_module

    return import_module(source, shape)


def _written(imported: Imported, output: str, weights: str | None) -> str:
    from dlbuilder.core.inference import InferenceEngine
    from dlbuilder.layers import REGISTRY

    graph = imported.graph
    params = InferenceEngine(graph, REGISTRY).totals().params
    types = len(graph.blocks)
    line = (f"wrote {Path(output)}: {len(graph)} top-level nodes, {types} block "
            f"{'type' if types == 1 else 'types'}, {params:,} parameters")
    return line + (f" (weights: {Path(weights)})" if weights else "")
