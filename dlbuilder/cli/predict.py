"""`dlbuilder predict`: the top classes of images or NPZ samples, with trained weights.

The preprocessing comes from the file saved beside the weights (`W.pt.json`, written by
`dlbuilder train --save-weights`); without it, it is fitted again on the graph's training data
with the graph's settings, which gives the same numbers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from dlbuilder.cli.common import EXIT_GRAPH_ERRORS, EXIT_OK, Parser, UsageError, fail, load_engine


def _parser() -> Parser:
    p = Parser(prog="dlbuilder predict",
               description="Classify images (.png, .jpg, ...) or NPZ files of samples.")
    p.add_argument("file", metavar="FILE", help="the graph file the weights were trained for")
    p.add_argument("inputs", metavar="INPUT", nargs="+", help="image files or .npz files")
    p.add_argument("--weights", required=True, metavar="W.pt", help="trained weights")
    p.add_argument("--top", type=int, default=3, metavar="K",
                   help="how many classes to show per sample (default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def cmd_predict(argv: Sequence[str]) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.top < 1:
            raise UsageError("dlbuilder predict: --top must be at least 1")
    except UsageError as err:
        return fail(str(err), False, [])
    from dlbuilder.backend.compiler import CompiledModel
    from dlbuilder.backend.datasets import DatasetError
    from dlbuilder.backend.plan import CompileError, build_plan, loss_and_target
    from dlbuilder.backend.predict import class_probabilities, read_samples, top_classes
    from dlbuilder.backend.weights import WeightsError, load_weights
    from dlbuilder.core.fileformat import GraphFileError

    try:
        engine = load_engine(args.file)
        plan = build_plan(engine)
    except GraphFileError as err:
        return fail(str(err), args.json, [str(p) for p in err.problems])
    except CompileError as err:
        print(f"dlbuilder predict: {args.file}: {err}", file=sys.stderr)
        return EXIT_GRAPH_ERRORS
    loss, target = loss_and_target(plan)
    if target == "input":
        return fail(f"dlbuilder predict: {args.file} reconstructs its input (an autoencoder); "
                    "predict shows classes, so it needs a classifier", args.json, [])
    try:
        model = CompiledModel(plan)
        load_weights(model, args.weights)
        prep = _preprocessing(engine, args.weights)
        names, raw, notes = read_samples(args.inputs, prep)
    except (WeightsError, DatasetError, ValueError) as err:
        return fail(f"dlbuilder predict: {err}", args.json, [])
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    probabilities = class_probabilities(model, prep, raw, loss)
    results = top_classes(names, probabilities, prep.classes, args.top)
    if args.json:
        print(json.dumps({"predictions": [
            {"input": r.name, "top": [{"class": c, "probability": p} for c, p in r.top]}
            for r in results]}))
    else:
        unit = "" if loss in ("CrossEntropyLoss", "NLLLoss") else " (scores)"
        for r in results:
            shown = ", ".join(f"{c} {p:.1%}" if not unit else f"{c} {p:.3f}" for c, p in r.top)
            print(f"{r.name}: {shown}{unit}")
    return EXIT_OK


def _preprocessing(engine, weights: str):
    """Saved beside the weights, or fitted again from the graph's training settings."""
    from dlbuilder.backend.preprocessing import read_preprocessing, refit_note
    from dlbuilder.backend.settings import resolve_settings
    from dlbuilder.backend.trainer import TrainError, plan_run

    saved = read_preprocessing(weights)
    if saved is not None:
        return saved
    settings = resolve_settings(engine.graph.training)
    print(refit_note(weights, settings.dataset), file=sys.stderr)
    try:
        return plan_run(engine, settings).data.preprocessing
    except TrainError as err:
        raise ValueError("\n".join(err.problems)) from None
