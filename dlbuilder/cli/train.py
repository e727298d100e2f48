"""`dlbuilder train`: train a graph on a dataset, with a progress bar and one line per epoch.

Settings come from the graph file's `training` section, then the flags. Ctrl+C stops after the
current batch, still saves what was asked for, and exits 130; a second Ctrl+C quits at once.

The run is kept where the app keeps the graph's runs (lenet.json -> lenet.runs/, see
backend/runs/store.py), with its curves and best weights, so the app's Runs tab lists it.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from dlbuilder.cli.common import (
    EXIT_GRAPH_ERRORS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Parser,
    UsageError,
    fail,
    load_engine,
)
from dlbuilder.cli.progress import DownloadProgress, EpochBar, format_epoch, format_final
from dlbuilder.core.tuning import params_words

_SETTING_FLAGS = ("dataset", "data_dir", "epochs", "batch_size", "optimizer", "lr", "momentum",
                  "weight_decay", "schedule", "step_size", "gamma", "patience", "monitor",
                  "val_split", "seed", "device", "augment_shift")


def _parser() -> Parser:
    from dlbuilder.backend.settings import DEVICES, MONITORS, OPTIMIZERS, SCHEDULES

    p = Parser(prog="dlbuilder train",
               description="Train a graph. Settings come from the file's `training` section; "
                           "flags override them.")
    p.add_argument("file", metavar="FILE", help="a graph file (.json), or a shipped example")
    data = p.add_argument_group("data")
    data.add_argument("--dataset", metavar="NAME",
                      help="digits (built in), mnist, fashion-mnist, cifar10, or a path to an "
                           "image folder, a .csv or a .npz")
    data.add_argument("--data-dir", metavar="DIR",
                      help="a folder holding the dataset's files (else the download cache)")
    data.add_argument("--val-split", type=float, metavar="F",
                      help="fraction of the training data held out for validation (default "
                           "0.1; 0 for none)")
    data.add_argument("--augment-shift", type=int, metavar="N",
                      help="shift images randomly by up to N pixels")
    data.add_argument("--augment-flip", action="store_true", default=None,
                      help="mirror half of the images left to right")
    opt = p.add_argument_group("optimization")
    opt.add_argument("--epochs", type=int, metavar="N", help="passes over the data (default 10)")
    opt.add_argument("--batch-size", type=int, metavar="B", help="samples a step (default 64)")
    opt.add_argument("--optimizer", choices=OPTIMIZERS, help="default adam")
    opt.add_argument("--lr", type=float, metavar="X", help="learning rate (default 0.001)")
    opt.add_argument("--momentum", type=float, metavar="X", help="for sgd and rmsprop")
    opt.add_argument("--nesterov", action="store_true", default=None, help="for sgd")
    opt.add_argument("--weight-decay", type=float, metavar="X", help="L2 penalty (default 0)")
    opt.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    opt.add_argument("--step-size", type=int, metavar="N", help="epochs between step drops")
    opt.add_argument("--gamma", type=float, metavar="X", help="step/plateau factor (0.1)")
    opt.add_argument("--patience", type=int, metavar="N",
                     help="stop after N epochs without improvement (default: never)")
    opt.add_argument("--monitor", choices=MONITORS,
                     help="the metric for early stopping and the best weights")
    opt.add_argument("--seed", type=int, metavar="S", help="same seed, same numbers on CPU")
    opt.add_argument("--device", choices=DEVICES, help="auto picks CUDA, then MPS, then CPU")
    opt.add_argument("--compile", action="store_true", default=None,
                     help="torch.compile the model: for long runs (the first batches wait "
                          "for the compiler; needs a C++ compiler on the CPU)")
    out = p.add_argument_group("files")
    out.add_argument("--init-weights", metavar="IN.pt",
                     help="start from these weights (default: the file's "
                          "training.init_weights, if it names any; else new random weights)")
    out.add_argument("--save-weights", metavar="OUT.pt",
                     help="save the best weights (and OUT.pt.json, their preprocessing)")
    out.add_argument("--checkpoint-dir", metavar="DIR",
                     help="write best.pt and last.pt there after every epoch")
    out.add_argument("--metrics-json", metavar="OUT", help="write every epoch's metrics")
    out.add_argument("--health", action="store_true",
                     help="measure each layer's training health every epoch (gradient norm, "
                          "update size, dead ReLUs, activation mean and spread); print the "
                          "layers that look unhealthy and add it all to --metrics-json")
    out.add_argument("--no-runs", action="store_true",
                     help="do not keep this run beside the graph (FILE.runs/, which the "
                          "app's Runs tab lists)")
    return p


def cmd_train(argv: Sequence[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except UsageError as err:
        return fail(str(err), False, [])
    from dlbuilder.backend.settings import SettingsError, resolve_settings
    from dlbuilder.core.fileformat import GraphFileError

    try:
        engine = load_engine(args.file)
        flags = {key: getattr(args, key) for key in _SETTING_FLAGS}
        flags.update(nesterov=args.nesterov, augment_flip=args.augment_flip,
                     compile=args.compile)
        settings = resolve_settings(engine.graph.training, flags)
    except GraphFileError as err:
        return fail(str(err), False, [])
    except SettingsError as err:
        return fail(f"dlbuilder train: {args.file}: the training settings cannot be used:\n"
                    + "\n".join(f"  {p}" for p in err.problems), False, [])
    return _run(engine, settings, args)


def _run(engine, settings, args) -> int:
    """Load and check everything, train, then save what was asked for."""
    from dlbuilder.backend.datasets import DatasetError
    from dlbuilder.backend.trainer import TrainControl, Trainer, TrainError, plan_run
    from dlbuilder.backend.weights import WeightsError

    name = args.file
    start, source = _starting_weights(args, settings)
    if start is not None and source != "--init-weights" and not Path(start).is_file():
        return fail(f"dlbuilder train: {name}: training.init_weights names "
                    f"{settings.init_weights}, but there is no such file: {start} (put the "
                    "weights there, give --init-weights, or remove the setting to start from "
                    "new random weights)", False, [])
    try:
        run = plan_run(engine, settings, progress=DownloadProgress(sys.stderr))
        control = TrainControl()
        trainer = Trainer(run, control=control, init_weights=start,
                          checkpoint_dir=args.checkpoint_dir, health=args.health)
    except TrainError as err:
        print(f"dlbuilder train: {name}: cannot train:\n"
              + "\n".join(f"  {p}" for p in err.problems), file=sys.stderr)
        return EXIT_GRAPH_ERRORS
    except DatasetError as err:
        return fail(f"dlbuilder train: cannot read the data: {err}", False, [])
    except WeightsError as err:
        return fail(f"dlbuilder train: {source}: {err}", False, [])
    except OSError as err:
        return fail(f"dlbuilder train: --checkpoint-dir: cannot use {err.filename}: "
                    f"{err.strerror or err}", False, [])
    _say_start(engine, start, source)
    from dlbuilder.backend.runs.history import RunHistory

    epochs: list[dict[str, Any]] = []
    history = RunHistory()
    started = datetime.now().isoformat(timespec="seconds")
    try:
        with _CtrlC(control) as interrupted:
            final = _train(trainer, run, epochs, history, source)
    except OSError as err:  # a checkpoint that could not be written (disk full...)
        return fail(f"dlbuilder train: training stopped: cannot write {err.filename}: "
                    f"{err.strerror or err}", False, [])
    if not args.no_runs:
        _keep_run(trainer, run, engine, history, started, args.file)
    code = _save(trainer, run, final, epochs, args, history.health)
    if code != EXIT_OK:
        return code
    if interrupted.pressed:
        return EXIT_INTERRUPTED
    return EXIT_GRAPH_ERRORS if final.reason == "diverged" else EXIT_OK


def _starting_weights(args, settings) -> tuple[str | None, str]:
    """The weights file the run starts from (--init-weights, else the graph file's
    training.init_weights, relative to its folder), and which of the two named it."""
    if args.init_weights:
        return args.init_weights, "--init-weights"
    if settings.init_weights is None:
        return None, ""
    from dlbuilder.backend.settings import starting_weights_path
    from dlbuilder.resources import find_graph_file

    path = starting_weights_path(settings.init_weights, find_graph_file(args.file))
    return str(path), "training.init_weights"


def _say_start(engine, start: str | None, source: str) -> None:
    """Which weights the run starts from; a warning when frozen layers have none (they would
    keep their random weights for good)."""
    from dlbuilder.core.tuning import fresh_frozen_warning, frozen_layers

    if start is not None:
        print(f"starting from the weights of {start} ({source})", file=sys.stderr, flush=True)
        return
    frozen = frozen_layers(engine)
    if frozen:
        print(f"warning: {fresh_frozen_warning(frozen)}", file=sys.stderr, flush=True)


def _train(trainer, run, epochs: list[dict[str, Any]], history, source: str):
    """Drive the loop, printing and adding every record to `history`; returns the RunFinished
    record."""
    bar = EpochBar(sys.stderr)
    final = None
    for record in trainer.run():
        history.add(record)
        if record.kind == "started":
            counts = (record.train_samples, record.val_samples, record.test_samples)
            named = zip(counts, ("train", "val", "test"), strict=True)
            sizes = " / ".join(f"{n:,} {split}" for n, split in named if n or split == "train")
            s = run.settings
            counted = params_words(record.params, record.frozen_params or 0)
            print(f"training {run.plan.name} on {run.data.preprocessing.dataset} ({sizes}) "
                  f"on {record.device}: {counted}, {s.optimizer} "
                  f"lr {s.lr:g}, batch {s.batch_size}, {s.epochs} epochs", flush=True)
            for note in record.notes or ():
                print(f"{source}: {note}", file=sys.stderr, flush=True)
        elif record.kind == "batch":
            bar.update(record)
        elif record.kind == "epoch":
            bar.clear()
            epochs.append(record.as_dict())
            print(format_epoch(record), flush=True)
        elif record.kind == "health":
            _say_health(history.health[-1])
        else:
            bar.clear()
            final = record
    print(format_final(final), flush=True)
    return final


def _say_health(record: dict[str, Any]) -> None:
    """The layers an epoch's health flags, in one short line (nothing when none is)."""
    from dlbuilder.backend.health import flagged_line

    line = flagged_line(record)
    if line:
        print(f"  health: {line}", flush=True)


def _keep_run(trainer, run, engine, history, started: str, name: str) -> None:
    """Keep the run in the graph's runs store, as the app does: its graph, settings and
    curves, and its best weights (with their preprocessing) once a batch has been learned.
    A shipped example's runs are the app's to keep; a failure to keep is said, and the
    training's own outcome stands."""
    from dlbuilder.backend.prepare import save_preprocessing
    from dlbuilder.backend.runs.store import RunStore, RunStoreError, runs_beside
    from dlbuilder.backend.weights import save_weights
    from dlbuilder.core.fileformat import graph_to_dict
    from dlbuilder.resources import find_graph_file, is_example

    path = find_graph_file(name)
    if is_example(path):
        print(f"(runs of the shipped example {path.stem} are kept by the app only; save it "
              "as a file to keep them from here)", file=sys.stderr)
        return
    store = RunStore(runs_beside(path))
    try:
        run_id = store.add(graph_to_dict(engine.graph), dataclasses.asdict(run.settings),
                           history, started)
    except RunStoreError as err:
        print(f"dlbuilder train: the run was not kept: {err}", file=sys.stderr)
        return
    kept = f"kept as run {run_id} in {store.folder} (the app's Runs tab lists it)"
    if len(history.series["batch_loss"]):
        weights = store.weights_path(run_id)
        try:
            save_weights(trainer.model, weights)
            save_preprocessing(weights, run.data.preprocessing)
        except OSError as err:
            kept += f"; its weights were not kept: {err.strerror or err}"
    print(kept, file=sys.stderr)


def _save(trainer, run, final, epochs: list[dict[str, Any]], args,
          health: list[dict[str, Any]]) -> int:
    from dlbuilder.backend.prepare import info_path, save_preprocessing
    from dlbuilder.backend.weights import save_weights
    from dlbuilder.core.fileformat import write_atomic

    try:
        if args.save_weights:
            save_weights(trainer.model, args.save_weights)
            save_preprocessing(args.save_weights, run.data.preprocessing)
            print(f"saved weights to {args.save_weights} (preprocessing in "
                  f"{info_path(args.save_weights)})", file=sys.stderr)
        if args.metrics_json:
            summary = {"epochs": epochs, "final": final.as_dict(),
                       "settings": run.settings.as_dict()}
            if args.health:  # one record per epoch: {"epoch": 3, "layers": [...]}
                summary["health"] = health
            write_atomic(Path(args.metrics_json), json.dumps(summary, indent=1) + "\n")
    except OSError as err:
        return fail(f"dlbuilder train: cannot write {err.filename}: {err.strerror or err}",
                    False, [])
    return EXIT_OK


class _CtrlC:
    """The first Ctrl+C asks the loop to stop after the batch; the second quits at once."""

    def __init__(self, control) -> None:
        self.control = control
        self.pressed = False
        self._previous: Any = None

    def __enter__(self) -> _CtrlC:  # not typing.Self: that needs Python 3.11
        self._previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _on_interrupt(self, signum: int, frame: object) -> None:
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True
        self.control.stop()
        print("\nstopping after this batch (Ctrl+C again to quit at once)", file=sys.stderr,
              flush=True)
