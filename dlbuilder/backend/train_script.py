"""`dlbuilder export --with-training-script`: the model file plus a `main()` that trains it.

The script is plain torch a student can read and edit: the graph's resolved training settings
as constants, the optimizer and schedule written out as dlbuilder's trainer builds them
(optim.py), and a loop that runs on one device with `python model.py`, or with
DistributedDataParallel under `torchrun --standalone --nproc_per_node=N model.py`. Only the
data comes through dlbuilder (imported inside `load_data`, so the class needs only torch).

No torch here, like codegen: exporting never loads it. Values from the graph file reach the
text only as numbers, checked choices, or string literals made by `quoted`; every name is
fixed, and the class name may not take one of them.
"""

from __future__ import annotations

import textwrap
from pathlib import PurePath

from dlbuilder.backend import train_templates as templates
from dlbuilder.backend.codegen import (
    check_class_name,
    check_names_free,
    generate_code,
    py_literal,
    quoted,
    wrapped_call,
)
from dlbuilder.backend.module_names import module_names
from dlbuilder.backend.names import is_plain_identifier
from dlbuilder.backend.plan import ModelPlan, loss_and_target
from dlbuilder.backend.settings import PLATEAU_PATIENCE, TrainSettings
from dlbuilder.core.registry import format_shape
from dlbuilder.core.tuning import Tuning, fresh_frozen_warning
from dlbuilder.layers.io import CLASS_LOSSES

EVAL_BATCH_SIZE = 256

IMPORTS = ("import argparse", "import os", "import torch", "import torch.distributed as dist",
           "from torch import nn", "from torch.nn.parallel import DistributedDataParallel",
           "from torch.utils.data import DataLoader, TensorDataset",
           "from torch.utils.data.distributed import DistributedSampler")

# Every name the script binds at module level or uses in run() and main(); not for the class.
SCRIPT_NAMES = frozenset({
    "argparse", "os", "dist", "DataLoader", "TensorDataset", "DistributedSampler",
    "DistributedDataParallel", "DATASET", "DATA_DIR", "EPOCHS", "BATCH_SIZE", "LR", "MOMENTUM",
    "NESTEROV", "WEIGHT_DECAY", "STEP_SIZE", "GAMMA", "PLATEAU_PATIENCE", "PATIENCE",
    "VAL_SPLIT", "SEED", "NORMALIZE", "INPUT_SHAPE", "NUM_CLASSES", "AUGMENT_SHIFT",
    "AUGMENT_FLIP", "COMPILE", "DEVICE", "EVAL_BATCH_SIZE", "LOSS_FN", "load_data",
    "make_optimizer", "make_scheduler", "make_augment", "parse_args", "setup",
    "rank_and_world", "log", "all_sum", "make_loader", "train_epoch", "evaluate", "fit",
    "save_weights", "run", "main", "args",
    "device", "data", "net", "model", "ids", "group", "rank", "world", "test",
    "FROZEN", "LR_SCALES", "freeze", "lr_scale", "frozen_norms",
    "INIT_WEIGHTS", "load_starting_weights",
})

_USAGE = """\
Train it with the graph's settings (the data comes through dlbuilder's own loaders, so
dlbuilder must be installed to train; the class above needs only torch):

    python model.py [--epochs N] [--data-dir DIR] [--save-weights W.pt]
                    [--device auto|cpu|cuda|mps]
    torchrun --standalone --nproc_per_node=N model.py [same options]

Under torchrun, each of the N processes trains the same model on its share of each
epoch and DistributedDataParallel averages the gradients (gloo on the CPU, nccl on CUDA
with one GPU per process); torchrun also takes training beyond one machine. BATCH_SIZE
is per process."""


class ScriptError(ValueError):
    """The graph cannot be trained by the script as it stands (said before anything runs)."""


def training_script_code(plan: ModelPlan, settings: TrainSettings,
                         class_name: str = "Net", tuning: Tuning | None = None,
                         frozen_layers: int = 0) -> str:
    """The model class (as `generate_code` writes it) with the training script after it;
    `tuning` (the graph's frozen layers and multipliers) as the app's trainer applies it.
    The settings' `init_weights` is read from beside the script, by its file name (the
    exporter copies it there); without it, the script warns that the `frozen_layers`
    (core.tuning.frozen_layers) start from random weights."""
    check_class_name(class_name)
    check_names_free(plan, class_name, SCRIPT_NAMES, "the training script")
    script = _Script(plan, settings, class_name, _Tuned(plan, tuning or Tuning()))
    usage = _USAGE.splitlines() + _start_usage(settings.init_weights)
    return generate_code(plan, class_name, usage=usage, imports=IMPORTS,
                         appendix=script.lines(frozen_layers))


def script_weights_name(init_weights: str) -> str:
    """The file name the script reads its starting weights by, beside itself."""
    return PurePath(init_weights).name


def _start_usage(init_weights: str | None) -> list[str]:
    if init_weights is None:
        return []
    name = script_weights_name(init_weights)
    text = (f"Training starts from the weights in {name} (INIT_WEIGHTS), which must sit "
            "beside this file (`dlbuilder export -o` copies it there); set INIT_WEIGHTS to "
            "None to start from new random weights.")
    return ["", *textwrap.wrap(text, 88)]


class _Script:
    """The pieces of the script for one graph and its settings."""

    def __init__(self, plan: ModelPlan, settings: TrainSettings, class_name: str,
                 tuned: _Tuned) -> None:
        self.plan, self.s, self.class_name, self.tuned = plan, settings, class_name, tuned
        self.loss, self.target = loss_and_target(plan)
        if not is_plain_identifier(self.loss):  # the declaration allows only torch's names
            raise ScriptError(f"the loss {self.loss!r} is not a torch.nn loss")
        self.labels = self.target == "label"  # a classifier: accuracy is measured
        self.one_hot = self.labels and self.loss not in CLASS_LOSSES
        if self.one_hot and len(plan.output_shape) != 1:
            raise ScriptError(f"nn.{self.loss} compares the output with one-hot labels, so the "
                              "network must give one value per class, not "
                              f"{format_shape(plan.output_shape)}")
        self.augmenting = (settings.augment_shift > 0 or settings.augment_flip) \
            and len(plan.input_shape) == 3
        self.monitor = settings.resolved_monitor()
        self.validating = settings.val_split > 0

    def lines(self, frozen_layers: int = 0) -> list[str]:
        frozen = bool(self.tuned.frozen)
        starting = self.s.init_weights is not None
        main = templates.MAIN.substitute(
            cls=self.class_name, test_text=self._scores_text("test"),
            start=self._start(frozen_layers),
            compile=templates.COMPILE if self.s.compile else "",
            freeze="\n    frozen_norms = freeze(net)  # before DDP sees the parameters"
            if frozen else "", frozen_arg=", frozen_norms" if frozen else "")
        parts = [self._constants(), self.tuned.constants(), templates.LOAD_DATA,
                 *([templates.LOAD_START] if starting else []),
                 *([templates.FREEZE] if frozen else []),
                 *([templates.LR_SCALE] if self.tuned.scales else []),
                 self._optimizer(), self._scheduler(),
                 *([templates.AUGMENT] if self.augmenting else []), templates.SETUP,
                 self._train_epoch(), self._evaluate(), self._fit(), templates.SAVE, main,
                 'if __name__ == "__main__":\n    main()']
        return "\n\n\n".join(part.strip("\n") for part in parts if part).splitlines()

    def _start(self, frozen_layers: int) -> str:
        """run()'s line after building the model: load the starting weights, or warn that
        frozen layers have none."""
        if self.s.init_weights is not None:
            return "\n    if INIT_WEIGHTS is not None:\n        load_starting_weights(net)"
        if not frozen_layers:
            return ""
        head, _, tail = fresh_frozen_warning(frozen_layers).partition(": ")
        return (f"\n    log(\n        {quoted(f'warning: {head}:')}\n        {quoted(' ' + tail)}"
                "\n    )")

    # -- the settings ----------------------------------------------------------------------
    def _constants(self) -> str:
        rows = self._data_rows() + self._optimizer_rows() + self._run_rows()
        head = ["# Training settings, from the graph's training section."]
        if (self.s.augment_shift > 0 or self.s.augment_flip) and not self.augmenting:
            head.append("# (augment_shift and augment_flip apply to [C, H, W] inputs only.)")
        return "\n".join(head + [f"{name} = {value}" + (f"  # {note}" if note else "")
                                 for name, value, note in rows])

    def _data_rows(self) -> list[tuple[str, str, str]]:
        s = self.s
        rows = [
            ("DATASET", quoted(s.dataset), ""),
            ("DATA_DIR", quoted(s.data_dir) if s.data_dir else "None",
             "" if s.data_dir else "None: dlbuilder's download folder"),
            ("VAL_SPLIT", py_literal(s.val_split), "share of the training set kept aside"),
            ("SEED", py_literal(s.seed), ""),
            ("NORMALIZE", py_literal(self._normalize()),
             "by the training split's mean and std" if self._normalize()
             else "no: only scaled to [0, 1]"),
            ("INPUT_SHAPE", py_literal(tuple(self.plan.input_shape)), "of one sample"),
        ]
        if self.one_hot:
            rows.append(("NUM_CLASSES", py_literal(self.plan.output_shape[0]), ""))
        if self.augmenting:
            rows += [("AUGMENT_SHIFT", py_literal(s.augment_shift), "pixels, at most"),
                     ("AUGMENT_FLIP", py_literal(s.augment_flip), "left-right, half of them")]
        return rows

    def _optimizer_rows(self) -> list[tuple[str, str, str]]:
        s = self.s
        rows = [("EPOCHS", py_literal(s.epochs), ""),
                ("BATCH_SIZE", py_literal(s.batch_size), "per process under torchrun"),
                ("LR", py_literal(s.lr), "the learning rate")]
        if s.optimizer in ("sgd", "rmsprop"):
            rows.append(("MOMENTUM", py_literal(s.momentum), ""))
        if s.optimizer == "sgd":
            rows.append(("NESTEROV", py_literal(s.nesterov), ""))
        rows.append(("WEIGHT_DECAY", py_literal(s.weight_decay),
                     "decoupled from the gradient (AdamW)" if s.optimizer == "adamw"
                     else "L2 penalty"))
        if s.schedule == "step" and s.step_size is not None:
            rows.append(("STEP_SIZE", py_literal(s.step_size), "epochs between rate drops"))
        if s.schedule in ("step", "plateau"):
            rows.append(("GAMMA", py_literal(s.gamma), "the factor that lowers the rate"))
        if s.schedule == "plateau":
            rows.append(("PLATEAU_PATIENCE", py_literal(PLATEAU_PATIENCE),
                         "epochs without improvement before it does"))
        return rows

    def _run_rows(self) -> list[tuple[str, str, str]]:
        rows = []
        if self.s.patience is not None:
            rows.append(("PATIENCE", py_literal(self.s.patience),
                         f"early stopping: epochs without a better {self.monitor}"))
        if self.s.compile:
            rows.append(("COMPILE", "True", "train through torch.compile(model)"))
        if self.s.init_weights is not None:
            rows.append(("INIT_WEIGHTS", quoted(script_weights_name(self.s.init_weights)),
                         "beside this file; None: new random weights"))
        return rows + [
            ("DEVICE", quoted(self.s.device), "auto picks CUDA if there is one, else the CPU"),
            ("EVAL_BATCH_SIZE", py_literal(EVAL_BATCH_SIZE), ""),
            ("LOSS_FN", f"nn.{self.loss}()", self._loss_comment()),
        ]

    def _normalize(self) -> bool:
        return self.s.resolved_normalize(self.target)

    def _loss_comment(self) -> str:
        what = ("the input itself" if self.target == "input" else
                "the one-hot labels" if self.one_hot else "the class labels")
        return f"compares the output with {what}"

    def _optimizer(self) -> str:
        name = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
        args = ["model.parameters()", "lr=LR",
                *{"sgd": ["momentum=MOMENTUM", "nesterov=NESTEROV"],
                  "rmsprop": ["momentum=MOMENTUM"]}.get(self.s.optimizer, []),
                "weight_decay=WEIGHT_DECAY"]
        if not self.tuned.usual:
            args[0] = "params"
        call = wrapped_call(f"    return torch.optim.{name[self.s.optimizer]}(", args)
        template = (templates.SCALED_OPTIMIZER if self.tuned.scales
                    else templates.FROZEN_OPTIMIZER if self.tuned.frozen
                    else templates.OPTIMIZER)
        return template.substitute(name=name[self.s.optimizer], call="\n".join(call))

    def _scheduler(self) -> str:
        kind = self.s.schedule
        if kind == "none":
            return ""
        if kind == "cosine":
            return templates.COSINE
        if kind == "plateau":
            mode = "max" if self.monitor.endswith("accuracy") else "min"
            return templates.PLATEAU.substitute(mode=mode, monitor=self.monitor)
        step = ("STEP_SIZE" if self.s.step_size is not None
                else "max(1, epochs // 3)  # a third of the epochs")
        return templates.STEP.substitute(step=step)

    # -- the loop --------------------------------------------------------------------------
    def _target(self) -> str:
        return "x" if self.target == "input" else \
            "nn.functional.one_hot(y, NUM_CLASSES).float()" if self.one_hot else "y"

    def _loop_fields(self, indent: str) -> dict[str, str]:
        """What train_epoch and evaluate write only for a classifier (or differently)."""
        labels = self.labels
        return {"what": "loss and accuracy" if labels else "loss", "target": self._target(),
                "correct": ", correct" if labels else "",
                "correct_init": "correct = " if labels else "",
                "correct_step": (f"\n{indent}correct += (out.argmax(1) == y).sum().item()"
                                 if labels else "")}

    def _train_epoch(self) -> str:
        frozen = bool(self.tuned.frozen)
        return templates.TRAIN_EPOCH.substitute(
            self._loop_fields(" " * 8), args=", augment" if self.augmenting else "",
            frozen_arg=", frozen_norms" if frozen else "",
            keep_frozen=templates.KEEP_FROZEN if frozen else "",
            augment="\n        x = augment(x)" if self.augmenting else "",
            accuracy='\n        "accuracy": correct / count,' if self.labels else "")

    def _evaluate(self) -> str:
        return templates.EVALUATE.substitute(
            self._loop_fields(" " * 12),
            accuracy=', "accuracy": correct / count' if self.labels else "")

    def _scores_text(self, split: str, sep: str = " ") -> str:
        text = f"{split} loss {{{split}['loss']:.4f}}"
        return text + (f"{sep}accuracy {{{split}['accuracy']:.4f}}" if self.labels else "")

    def _fit(self) -> str:
        source, metric = self.monitor.split("_")
        better = ">" if metric == "accuracy" else "<"
        step = {"none": "", "plateau": "\n        scheduler.step(monitored)"}.get(
            self.s.schedule, "\n        scheduler.step()")
        stop = ("" if self.s.patience is None
                else templates.EARLY_STOP.substitute(monitor=self.monitor))
        val = (f'\n            f"; {self._scores_text("val")}"' if self.validating else "")
        return templates.FIT.substitute(
            augment=templates.FIT_AUGMENT if self.augmenting else "",
            augment_arg=", augment" if self.augmenting else "",
            validate=(templates.FIT_VALIDATE if self.validating else ""),
            train_text=self._scores_text("train", '"\n            f" '), val_text=val,
            monitored=f'{source}["{metric}"]', better=better, step=step, stop=stop,
            monitor=self.monitor, frozen_arg=", frozen_norms" if self.tuned.frozen else "",
            optimized="net" if self.tuned.scales else "model",
            scheduler="" if self.s.schedule == "none" else
            "\n    scheduler = make_scheduler(optimizer, epochs)")


class _Tuned:
    """The graph's fine-tuning as the script writes it: the frozen layers' module names (the
    outermost of each frozen part) and the multipliers where they change."""

    def __init__(self, plan: ModelPlan, tuning: Tuning) -> None:
        self.frozen: list[str] = []
        self.scales: dict[str, float] = {}
        if tuning.usual:
            return
        names = module_names(plan)
        for path, name in names.items():
            options = tuning.at(path)
            parent = next((tuning.at(path[:i]) for i in range(len(path) - 1, 0, -1)
                           if path[:i] in names), None)
            if options.frozen:
                if parent is None or not parent.frozen:
                    self.frozen.append(name)
            elif options.lr_scale != (parent.lr_scale if parent else 1.0):
                self.scales[name] = options.lr_scale

    @property
    def usual(self) -> bool:
        return not (self.frozen or self.scales)

    def constants(self) -> str:
        if self.usual:
            return ""
        lines = [templates.TUNING_NOTE]
        if self.frozen:
            lines += _listed("FROZEN", [quoted(name) for name in self.frozen], "[", "]")
        if self.scales:
            lines += _listed("LR_SCALES", [f"{quoted(name)}: {py_literal(float(scale))}"
                                           for name, scale in self.scales.items()], "{", "}")
        return "\n".join(lines)


def _listed(name: str, items: list[str], opening: str, closing: str) -> list[str]:
    """`NAME = [a, b]` on one line when it fits, else one item a line (as ruff formats it)."""
    line = f"{name} = {opening}{', '.join(items)}{closing}"
    if len(line) <= 99:
        return [line]
    return [f"{name} = {opening}", *(f"    {item}," for item in items), closing]
