"""`dlbuilder export`: a graph as a PyTorch Python file or an ONNX model."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dlbuilder.cli.common import (
    EXIT_GRAPH_ERRORS,
    EXIT_OK,
    Parser,
    UsageError,
    fail,
    load_engine,
)
from dlbuilder.core.tuning import Tuning, frozen_layers

if TYPE_CHECKING:
    from dlbuilder.backend.plan import ModelPlan
    from dlbuilder.backend.settings import TrainSettings


def _export_parser() -> Parser:
    parser = Parser(prog="dlbuilder export",
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
                        help="trained weights (a .pt state_dict): the ONNX model holds them; "
                             "the Python file names them and carries their preprocessing "
                             "(from W.pt.json) as preprocess()")
    parser.add_argument("--with-training-script", action="store_true",
                        help="add a main() that trains the model with the graph's training "
                             "settings, on one device or under torchrun (Python only)")
    return parser


def cmd_export(argv: Sequence[str]) -> int:
    try:
        args = _export_parser().parse_args(argv)
        fmt = args.format or ("onnx" if (args.output or "").endswith(".onnx") else "python")
        if fmt == "onnx" and not args.output:
            raise UsageError("dlbuilder export: ONNX needs an output file: -o model.onnx")
        if args.weights and args.with_training_script:
            raise UsageError("dlbuilder export: --weights and --with-training-script do not "
                             "go together: the training script prepares its own data")
        if fmt == "onnx" and args.with_training_script:
            raise UsageError("dlbuilder export: --with-training-script applies to Python "
                             "output, not ONNX")
    except UsageError as err:
        return fail(str(err), False, [])
    from dlbuilder.backend.codegen import ClassNameError, check_class_name
    from dlbuilder.backend.plan import CompileError, build_plan
    from dlbuilder.core.fileformat import GraphFileError

    try:
        check_class_name(args.class_name)
        engine = load_engine(args.file)
        plan = build_plan(engine)
    except ClassNameError as err:
        return fail(f"dlbuilder export: --class-name: {err}", False, [])
    except GraphFileError as err:
        return fail(str(err), False, [])
    except CompileError as err:
        print(f"dlbuilder export: {args.file}: {err}", file=sys.stderr)
        return EXIT_GRAPH_ERRORS
    if fmt == "onnx":
        return _export_onnx(plan, args.output, args.weights)
    if args.weights:
        return _export_with_weights(plan, args.class_name, args.output, args.weights)
    settings = None
    if args.with_training_script:
        from dlbuilder.backend.settings import SettingsError, resolve_settings

        try:
            settings = resolve_settings(engine.graph.training)
        except SettingsError as err:
            problems = "".join(f"\n  {problem}" for problem in err.problems)
            return fail(f"dlbuilder export: {args.file}: the training settings cannot be "
                        f"used for the training script:{problems}", False, err.problems)
        if settings.init_weights is not None:
            problem = _place_starting_weights(args.file, settings.init_weights, args.output)
            if problem:
                return fail(f"dlbuilder export: {args.file}: {problem}", False, [problem])
    return _export_python(plan, args.class_name, args.output, settings,
                          Tuning.of(engine.graph), frozen_layers(engine))


def _place_starting_weights(graph: str, init_weights: str, output: str | None) -> str:
    """The training script reads its starting weights from beside itself: copy them there
    (or say where they must go, for a script written to stdout). Returns the problem, if
    any."""
    import filecmp
    import shutil

    from dlbuilder.backend.settings import starting_weights_path
    from dlbuilder.backend.train_script import script_weights_name
    from dlbuilder.resources import find_graph_file

    source = starting_weights_path(init_weights, find_graph_file(graph))
    if not source.is_file():
        return (f"training.init_weights names {init_weights}, but there is no such file: "
                f"{source} (put the weights there, or remove the setting)")
    name = script_weights_name(init_weights)
    if output is None:
        print(f"note: the script starts from {name}: copy {source} beside it",
              file=sys.stderr)
        return ""
    target = Path(output).parent / name
    if target.exists() and filecmp.cmp(source, target, shallow=False):
        return ""
    if target.exists():
        return (f"the script starts from {name}, to be copied beside it, but {target} is "
                "another file; remove it or write the script elsewhere")
    try:
        shutil.copyfile(source, target)
    except OSError as err:
        return f"cannot copy the starting weights to {target}: {err.strerror or err}"
    print(f"copied the starting weights {source} to {target}", file=sys.stderr)
    return ""


def _export_python(plan: ModelPlan, class_name: str, output: str | None,
                   settings: TrainSettings | None = None, tuning: Tuning | None = None,
                   frozen: int = 0) -> int:
    """The model class, with the training script after it when there are settings (frozen
    layers and multipliers from `tuning`; `frozen` layers in all)."""
    from dlbuilder.backend.codegen import ClassNameError, generate_code

    if settings is None:
        try:
            code = generate_code(plan, class_name)
        except ClassNameError as err:
            return fail(f"dlbuilder export: --class-name: {err}", False, [])
    else:
        from dlbuilder.backend.train_script import ScriptError, training_script_code

        try:
            code = training_script_code(plan, settings, class_name, tuning, frozen)
        except ClassNameError as err:
            return fail(f"dlbuilder export: --class-name: {err}", False, [])
        except ScriptError as err:
            print(f"dlbuilder export: --with-training-script: {err}", file=sys.stderr)
            return EXIT_GRAPH_ERRORS
    script = " and a training script" if settings is not None else ""
    return _write_code(code, output, f"class {class_name}{script}, {plan.params:,} parameters")


def _export_onnx(plan: ModelPlan, output: str, weights: str | None) -> int:
    from dlbuilder.backend.onnx_export import (
        OnnxExportError,
        OnnxUnavailable,
        export_plan,
        onnx_missing,
    )

    missing = onnx_missing()  # before torch loads: say it at once
    if missing:
        return fail(f"dlbuilder export: {missing}", False, [])
    from dlbuilder.backend.weights import WeightsError

    try:
        export_plan(plan, output, weights or None)
    except (WeightsError, OnnxExportError, OnnxUnavailable) as err:
        return fail(f"dlbuilder export: {err}", False, [])
    except OSError as err:
        return _cannot_write(output, err)
    source = f"weights from {weights}" if weights else "untrained (random) weights"
    print(f"wrote {output}: ONNX with a dynamic batch size, {source}", file=sys.stderr)
    return EXIT_OK


def _export_with_weights(plan: ModelPlan, class_name: str, output: str | None,
                         weights: str) -> int:
    """The class with the preprocessing saved beside the weights, after checking they fit."""
    from dlbuilder.backend.codegen import ClassNameError
    from dlbuilder.backend.compiler import CompiledModel
    from dlbuilder.backend.preprocessing import info_path, read_preprocessing
    from dlbuilder.backend.weights import WeightsError, load_weights
    from dlbuilder.backend.weights_code import code_with_weights

    try:
        load_weights(CompiledModel(plan), weights)
        prep = read_preprocessing(weights)
    except (WeightsError, ValueError) as err:
        return fail(f"dlbuilder export: {err}", False, [])
    except OSError as err:
        return fail(f"dlbuilder export: cannot read {info_path(weights)}: "
                    f"{err.strerror or err}", False, [])
    name = Path(weights).name
    if prep is None:
        print(f"note: {info_path(weights)} (the preprocessing saved with the weights) is "
              "missing; the code has no preprocess(), so prepare inputs as for training",
              file=sys.stderr)
    if output is not None and Path(output).resolve().parent != Path(weights).resolve().parent:
        print(f"note: the code loads {name} from beside it: copy {name} beside {output}",
              file=sys.stderr)
    try:
        code = code_with_weights(plan, class_name, name, prep)
    except ClassNameError as err:
        return fail(f"dlbuilder export: --class-name: {err}", False, [])
    with_prep = f", with the preprocessing of {name} (preprocess())" if prep else ""
    return _write_code(code, output,
                       f"class {class_name}{with_prep}, {plan.params:,} parameters")


def _write_code(code: str, output: str | None, described: str) -> int:
    """Print `code` (no output named) or write it atomically and say what was written."""
    if output is None:
        print(code, end="")
        return EXIT_OK
    from dlbuilder.core.fileformat import write_atomic

    try:
        write_atomic(Path(output), code)
    except OSError as err:
        return _cannot_write(output, err)
    print(f"wrote {output}: {described}", file=sys.stderr)
    return EXIT_OK


def _cannot_write(output: str, err: OSError) -> int:
    return fail(f"dlbuilder export: cannot write {output}: {err.strerror or err}", False, [])


