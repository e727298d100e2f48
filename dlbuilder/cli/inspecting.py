"""`dlbuilder inspect`: what a trained network sees in one sample, as a picture sheet for
papers and slides (-o out.png) or as numbers (--json): every layer's feature maps (or one
layer's), a convolution's filters, and saliency (input gradients and Grad-CAM) for a class.

The sample is an image file or an index into the dataset the graph trains on (its test split
by default, else its validation split). The weights' preprocessing comes from the file saved
beside them (`W.pt.json`), else it is fitted again on the graph's training data, as
`dlbuilder predict` does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dlbuilder.cli.common import EXIT_GRAPH_ERRORS, EXIT_OK, Parser, UsageError, fail, load_engine

SPLITS = ("test", "val", "train")
ALL_LAYERS_CHANNELS = 16  # tiles per layer on a sheet of every layer (one layer: all of them)


def _parser() -> Parser:
    p = Parser(prog="dlbuilder inspect",
               description="Show what a network sees in one sample: feature maps, filters, "
                           "saliency. Writes a picture sheet (-o) or prints the numbers.")
    p.add_argument("file", metavar="FILE", help="a graph file (.json), or a shipped example")
    p.add_argument("--weights", metavar="W.pt", help="trained weights (dlbuilder train "
                   "--save-weights, or the app's Save weights)")
    p.add_argument("--untrained", action="store_true",
                   help="look at random weights (seeded by --seed) instead of trained ones")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="the seed of --untrained's random weights (default 0)")
    p.add_argument("--sample", required=True, metavar="IMAGE|INDEX",
                   help="an image file (or .npz: its first sample), or a sample's index in "
                        "the graph's dataset")
    p.add_argument("--as-is", action="store_true",
                   help="look at an image file as it is (resized only); by default, where "
                        "the training samples are ink on a plain background, it is inverted "
                        "to their polarity if need be and centred like them")
    p.add_argument("--split", choices=SPLITS,
                   help="the split INDEX counts in (default test, else val where the dataset "
                        "has no test split)")
    p.add_argument("--dataset", metavar="NAME", help="the dataset (default: the graph's)")
    p.add_argument("--data-dir", metavar="DIR", help="a folder holding the dataset's files")
    p.add_argument("--layer", metavar="ID",
                   help="one layer's maps (all its channels); inside blocks the ids down to "
                        "it: layer1/conv1, a repeat's run after a dot: layer1.1/conv1. "
                        "Default: every layer")
    p.add_argument("--order", choices=("index", "mean"),
                   help="--layer's channel order: index (the default), or mean (strongest "
                        "first)")
    p.add_argument("--saliency", metavar="CLASS",
                   help="add what drove CLASS's score (a class name or index): input "
                        "gradients and Grad-CAM over the image")
    p.add_argument("--cam-layer", metavar="ID",
                   help="the layer for Grad-CAM (default: the last convolution)")
    p.add_argument("--filters", action="store_true",
                   help="add the convolution's filters (--layer's, else the first one's)")
    p.add_argument("--top", type=int, default=5, metavar="K", help="classes shown (default 5)")
    p.add_argument("-o", "--output", metavar="OUT.png", help="write the picture sheet")
    p.add_argument("--theme", choices=("light", "dark"), default="light",
                   help="the sheet's colours (default light: white, for paper)")
    p.add_argument("--json", action="store_true", help="print one JSON object of the numbers")
    return p


@dataclass(frozen=True)
class Sample:
    """The raw sample and what to call it: `test[12]`, its true class if known."""

    raw: Any
    name: str
    label: str | None = None
    index: int | None = None
    split: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "index": self.index, "split": self.split,
                "label": self.label}


def cmd_inspect(argv: Sequence[str]) -> int:
    as_json = "--json" in argv
    try:
        args = _parser().parse_args(argv)
        _check(args)
    except UsageError as err:
        return fail(str(err), as_json, [])
    from dlbuilder.backend.plan import CompileError, build_plan
    from dlbuilder.core.fileformat import GraphFileError

    try:
        engine = load_engine(args.file)
        build_plan(engine)
    except GraphFileError as err:
        return fail(str(err), args.json, [str(p) for p in err.problems])
    except CompileError as err:
        print(f"dlbuilder inspect: {args.file}: {err}", file=sys.stderr)
        return EXIT_GRAPH_ERRORS
    from dlbuilder.backend.datasets import DatasetError

    try:
        report = _inspect(engine, args)
    except (ValueError, OSError, DatasetError) as err:
        return fail(f"dlbuilder inspect: {_words(err)}", args.json, [])
    print(json.dumps(report) if args.json else _as_text(report))
    return EXIT_OK


def _check(args: argparse.Namespace) -> None:
    if args.weights is None and not args.untrained:
        raise UsageError("dlbuilder inspect: give the trained weights (--weights W.pt), or "
                         "--untrained to look at random weights")
    if args.weights is not None and args.untrained:
        raise UsageError("dlbuilder inspect: --weights and --untrained exclude each other")
    if args.top < 1:
        raise UsageError("dlbuilder inspect: --top must be at least 1")
    if args.output is not None and not args.output.lower().endswith(".png"):
        raise UsageError(f"dlbuilder inspect: {args.output} must end in .png")
    if args.split is not None and not args.sample.isdigit():
        raise UsageError("dlbuilder inspect: --split applies to a sample given by index")
    if args.sample.startswith("-") and args.sample[1:].isdigit():
        raise UsageError(f"dlbuilder inspect: --sample {args.sample}: a sample's index must be "
                         "0 or more")
    if args.order is not None and args.layer is None:
        raise UsageError("dlbuilder inspect: --order orders one layer's channels: give --layer")
    if args.cam_layer is not None and args.saliency is None:
        raise UsageError("dlbuilder inspect: --cam-layer is Grad-CAM's layer: give --saliency "
                         "CLASS too")
    args.order = args.order or "index"


def _words(err: BaseException) -> str:
    """A settings or data error's problems, one a line; any other error's message."""
    problems = getattr(err, "problems", None)
    if problems and all(isinstance(p, str) for p in problems):
        return "\n".join(problems)
    return str(err)


def _inspect(engine, args: argparse.Namespace) -> dict[str, Any]:
    """Load, look, and gather the numbers (and write the sheet when asked)."""
    import torch

    from dlbuilder.backend.inside.probe import Probe

    prep, dataset, settings = _preparation(engine, args)
    torch.manual_seed(args.seed)  # --untrained's weights; loaded weights replace them
    probe = Probe(engine, args.weights, prep)
    sample = _sample(args, probe.preprocessing, dataset, settings)
    look = probe.look(sample.raw)
    layers = _layers(probe, look, args.layer)
    saliency = None
    if args.saliency is not None:
        cam = probe.find(args.cam_layer) if args.cam_layer else None
        saliency = probe.saliency(sample.raw, _class_index(probe, args.saliency), cam)
    filters = probe.filters(_filters_node(probe, layers, args)) if args.filters else None
    report = _report(probe, look, sample, layers, args)
    if saliency is not None:
        report["saliency"] = _saliency_dict(probe, look, saliency)
    if filters is not None:
        report["filters"] = {"id": probe.text(filters.node), "node": list(filters.node),
                             "shape": list(filters.weights.shape), "rgb": filters.rgb,
                             "low": filters.low, "high": filters.high}
    if args.output is not None:
        _write_sheet(args, probe, look, report, layers, saliency, filters)
        report["output"] = args.output
    return report


def _write_sheet(args: argparse.Namespace, probe, look, report: dict[str, Any], layers: list,
                 saliency, filters) -> None:
    from dlbuilder.gui import app as gui_app

    gui_app.use_offscreen_if_headless()
    gui_app.application()
    from dlbuilder.gui.inside.sheet import sheet_parts, write_sheet

    channels = None if args.layer is not None else ALL_LAYERS_CHANNELS
    parts = sheet_parts(probe, look, report, layers, saliency, filters, args.order, channels)
    write_sheet(parts, args.output, args.theme)


def _class_index(probe, text: str) -> int:
    """A class name, else an index; a ProbeError (a ValueError) lists the classes."""
    from dlbuilder.backend.inside.probe import ProbeError

    if not probe.classifier:
        raise ProbeError(f"--saliency: {probe.plan.name} gives "
                         f"{list(probe.plan.output_shape)} (target {probe.target!r}), not class "
                         "scores: saliency needs a classifier")
    if text in probe.classes:
        return probe.classes.index(text)
    if text.isdigit() and int(text) < len(probe.classes):
        return int(text)
    names = ", ".join(probe.classes[:20]) + (" ..." if len(probe.classes) > 20 else "")
    raise ProbeError(f"--saliency {text}: no such class; give a class name or an index "
                     f"0 to {len(probe.classes) - 1}" + (f" ({names})" if names else ""))


def _filters_node(probe, layers: list, args: argparse.Namespace):
    """--layer's node (which must be a convolution), else the first convolution."""
    from dlbuilder.backend.inside.probe import ProbeError

    if args.layer is not None:
        return layers[0]
    convs = probe.convolutions()
    if not convs:
        raise ProbeError(f"{probe.plan.name} has no convolution, so no filters to show")
    return convs[0]


def _report(probe, look, sample: Sample, layers: list, args: argparse.Namespace
            ) -> dict[str, Any]:
    from dlbuilder.backend.inside.stats import output_stats

    weights = (f"weights {args.weights}" if args.weights else
               f"untrained: random weights (seed {args.seed})")
    return {
        "graph": probe.plan.name, "sample": sample.as_dict(), "weights": args.weights,
        "untrained": bool(args.untrained), "seed": args.seed if args.untrained else None,
        "weights_note": weights,
        "top": [{"class": c, "probability": p} for c, p in look.top(args.top)],
        "result": probe.text(look.result),
        "layers": [{"id": probe.text(path), "type": probe.node_type(path),
                    **output_stats(path, look.outputs[path]).as_dict()} for path in layers]}


def _saliency_dict(probe, look, saliency) -> dict[str, Any]:
    """Where each map peaks (row, column of the input; Grad-CAM's also on its own grid)."""
    import numpy as np

    def peak(values) -> list[int]:
        return [int(i) for i in np.unravel_index(int(np.argmax(values)), values.shape)]

    result = look.outputs[look.result]
    out: dict[str, Any] = {
        "class": probe.classes[saliency.class_index], "class_index": saliency.class_index,
        "score": float(result[saliency.class_index]),
        "gradient_peak": peak(saliency.gradient), "cam_layer": None}
    if saliency.cam_layer is not None:
        out.update(cam_layer=probe.text(saliency.cam_layer), cam_peak=peak(saliency.cam),
                   cam_size=list(saliency.cam_raw.shape), cam_raw_peak=peak(saliency.cam_raw),
                   cam_raw_high=float(saliency.cam_raw.max()))
    return out


def _preparation(engine, args: argparse.Namespace):
    """(preprocessing or None, dataset or None, settings). The dataset is loaded (downloaded
    if need be) when the sample is an index or the preprocessing must be fitted again for
    weights; for an image file it is only read where it is at hand, to fit random weights'
    preprocessing and to prepare the image like it. None: the Input's shape, scaled 0..1."""
    from dlbuilder.backend.datasets import DatasetError, load_dataset
    from dlbuilder.backend.preprocessing import read_preprocessing, refit_note
    from dlbuilder.backend.settings import resolve_settings
    from dlbuilder.backend.trainer import plan_run
    from dlbuilder.cli.progress import DownloadProgress

    settings = resolve_settings(engine.graph.training,
                                {"dataset": args.dataset, "data_dir": args.data_dir})
    if args.weights and not os.path.isfile(args.weights):
        raise FileNotFoundError(f"{args.weights}: no such weights file")
    prep = read_preprocessing(args.weights) if args.weights else None
    dataset = None
    if args.sample.isdigit() or (prep is None and args.weights):
        dataset = load_dataset(settings.dataset, settings.data_dir,
                               progress=DownloadProgress(sys.stderr))
    elif prep is None or not args.as_is:
        try:
            dataset = load_dataset(settings.dataset, settings.data_dir, download=False)
        except DatasetError:
            dataset = None
    if prep is None and args.weights:
        print(refit_note(args.weights, settings.dataset), file=sys.stderr)
    if prep is None and dataset is not None:
        prep = plan_run(engine, settings, dataset=dataset).data.preprocessing
    elif prep is None:
        print(f"note: {settings.dataset} is not at hand: {args.sample} is used as it is, "
              "scaled to 0..1 on the Input's shape", file=sys.stderr)
    return prep, dataset, settings


def _sample(args: argparse.Namespace, prep, dataset, settings) -> Sample:
    if not args.sample.isdigit():
        return _file_sample(args, prep, dataset)
    from dlbuilder.backend.inside.samples import data_splits

    splits = data_splits(dataset, settings.val_split, settings.seed)
    split = args.split or next(iter(splits), "train")
    if split not in splits:
        raise ValueError(f"{dataset.name} has no {split} split" + (
            " (val_split is 0)" if split == "val" else "") + "; use --split "
            + " or ".join(splits))
    rows, index = splits[split], int(args.sample)
    if index >= len(rows):
        raise ValueError(f"sample {index} is out of range: the {split} split of "
                         f"{dataset.name} has {len(rows)} samples (0 to {len(rows) - 1})")
    raw, label = rows.sample(index)
    return Sample(raw, f"{split}[{index}]", dataset.classes[label], index, split)


def _file_sample(args: argparse.Namespace, prep, dataset) -> Sample:
    """An image file (prepared like the training data unless --as-is) or an NPZ's first."""
    from pathlib import Path

    from dlbuilder.backend.datasets.images import IMAGE_SUFFIXES
    from dlbuilder.backend.inside.samples import data_style, read_image_sample
    from dlbuilder.backend.predict import read_samples

    if Path(args.sample).suffix.lower() in IMAGE_SUFFIXES and prep.sample_shape:
        style = None if args.as_is else data_style(dataset, prep.sample_shape)
        if not args.as_is and dataset is None and args.weights:
            print(f"note: the training data is not at hand to compare {args.sample} with, so "
                  "it is used as it is", file=sys.stderr)
        raw, notes = read_image_sample(args.sample, prep, style, not args.as_is)
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        return Sample(raw, Path(args.sample).name)
    names, raws, notes = read_samples([args.sample], prep)
    if len(raws) == 0:
        raise ValueError(f"{args.sample} holds no samples")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if len(raws) > 1:
        print(f"note: {args.sample} holds {len(raws)} samples; looking at the first",
              file=sys.stderr)
    return Sample(raws[0], names[0])


def _layers(probe, look, layer: str | None) -> list:
    """The paths to show: --layer's, else every layer's (the Input and block instances as a
    whole left out: an instance's output is its last layer's)."""
    if layer is not None:
        return [probe.find(layer)]
    paths = list(look.outputs)
    inner = {path[:i] for path in paths for i in range(1, len(path))}
    return [path for path in paths if path != probe.input_path and path not in inner]


def _as_text(report: dict[str, Any]) -> str:
    sample = report["sample"]
    label = f" (true class {sample['label']})" if sample["label"] is not None else ""
    lines = [f"{report['graph']}: {sample['name']}{label}, {report['weights_note']}"]
    if report["top"]:
        lines.append("top: " + ", ".join(f"{t['class']} {t['probability']:.1%}"
                                         for t in report["top"]))
    width = max((len(layer["id"]) for layer in report["layers"]), default=4)
    for layer in report["layers"]:
        shape = "x".join(str(n) for n in layer["shape"])
        lines.append(f"  {layer['id']:<{width}}  {layer['type']:<12} {shape:<10} "
                     f"mean {layer['mean']:+.3f}  std {layer['std']:.3f}  "
                     f"range {layer['low']:+.3f} .. {layer['high']:+.3f}  "
                     f"zeros {layer['zero_share']:.0%}")
    if report.get("saliency"):
        lines.append(_saliency_text(report["saliency"]))
    if report.get("filters"):
        f = report["filters"]
        lines.append(f"filters of {f['id']}: {'x'.join(map(str, f['shape']))}, weights "
                     f"{f['low']:+.3f} .. {f['high']:+.3f}")
    if report.get("output"):
        lines.append(f"saved {report['output']}")
    return "\n".join(lines)


def _saliency_text(s: dict[str, Any]) -> str:
    text = (f"saliency for {s['class']} (score {s['score']:.3f}): input gradient peaks at "
            f"row {s['gradient_peak'][0]}, column {s['gradient_peak'][1]}")
    if s["cam_layer"] is not None:
        text += (f"; Grad-CAM on {s['cam_layer']} peaks at row {s['cam_peak'][0]}, column "
                 f"{s['cam_peak'][1]}")
    return text
