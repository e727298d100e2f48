"""The training loop, as a generator of plain records (records.py) that can stop at any batch.

    trainer = Trainer(engine, data, settings, control=control)
    for record in trainer.run():      # RunStarted, BatchEnd..., EpochEnd, ..., RunFinished
        ...                           # (health=True: a HealthRecord after each EpochEnd)
    trainer.model                     # the best weights by then (see RunFinished)

The command line, the GUI's worker thread and the tests all drive this one loop. `plan_run`
says, before anything trains, every reason the graph, the settings and the data do not fit.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from dlbuilder.backend.augment import augment
from dlbuilder.backend.compiler import CompiledModel
from dlbuilder.backend.controls import TrainControl
from dlbuilder.backend.datasets import Dataset, load_dataset
from dlbuilder.backend.finetune import NothingTrains, base_lr, tune
from dlbuilder.backend.fit import fit_problems, result_node
from dlbuilder.backend.health import HealthCollector, stall_cause
from dlbuilder.backend.metrics import EarlyStopping, Scores, Task, evaluate, per_class_accuracy
from dlbuilder.backend.optim import make_optimizer, make_scheduler, step_scheduler
from dlbuilder.backend.plan import CompileError, ModelPlan, build_plan, loss_and_target
from dlbuilder.backend.prepare import PreparedData, prepare_data, save_preprocessing
from dlbuilder.backend.records import (
    BatchEnd,
    EpochEnd,
    HealthRecord,
    Record,
    RunFinished,
    RunStarted,
)
from dlbuilder.backend.settings import TrainSettings
from dlbuilder.backend.weights import load_starting_weights, save_state
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.tuning import Tuning
from dlbuilder.layers.io import CLASS_LOSSES

State = dict[str, torch.Tensor]
# a training loss within this share of its first batch's neither rose nor fell
LOSS_NOISE = 0.02


class TrainError(ValueError):
    """A run that cannot start; `problems` says every reason, each on its own."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class RunPlan:
    """A run that can start: the model plan, the prepared data, the settings, and which
    layers are frozen or learn at another rate."""

    plan: ModelPlan
    data: PreparedData
    settings: TrainSettings
    tuning: Tuning = Tuning()


def plan_run(engine: InferenceEngine, settings: TrainSettings, *, dataset: Dataset | None = None,
             progress: Callable[[str, int, int | None], None] | None = None) -> RunPlan:
    """Check the graph, load and check the data, and prepare it. TrainError lists how the
    graph, the settings and the data do not fit; DatasetError says the data cannot be read.

    `dataset` skips loading (tests and the GUI pass one they hold already).
    """
    try:
        plan = build_plan(engine)
    except CompileError as err:
        raise TrainError([str(d) for d in err.diagnostics]) from None
    if dataset is None:
        dataset = load_dataset(settings.dataset, settings.data_dir, progress=progress)
    problems = fit_problems(plan, dataset, result_node(engine))
    augmenting = settings.augment_shift > 0 or settings.augment_flip
    if augmenting and (dataset.kind != "image" or len(plan.input_shape) != 3):
        problems.append("augment_shift and augment_flip apply to images fed to an Input of "
                        f"shape [C, H, W]; {dataset.name} with an Input of "
                        f"{list(plan.input_shape)} cannot be augmented this way")
    if problems:
        raise TrainError(problems)
    _, target = loss_and_target(plan)
    data = prepare_data(dataset, val_split=settings.val_split, seed=settings.seed,
                        normalize=settings.resolved_normalize(target),
                        input_shape=tuple(plan.input_shape))
    if settings.resolved_monitor().startswith("val") and data.val_x is None:
        raise TrainError([(f"{dataset.name} has too few samples per class for a validation "
                           "split; set val_split to 0 (then train_loss is monitored)")])
    return RunPlan(plan, data, settings, Tuning.of(engine.graph))


def pick_device(name: str) -> torch.device:
    """auto: CUDA if there is one, else Apple's MPS, else the CPU."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        available = ", ".join(["cpu"] + (["cuda"] if cuda else []) + (["mps"] if mps else []))
        raise TrainError([(f"device {name} is not available on this machine (available: "
                           f"{available}; auto picks the fastest)")])
    return torch.device(name)


@dataclass(frozen=True)
class _Halt:
    """An epoch that ended the run early."""

    reason: str
    message: str


def copy_state(model: nn.Module) -> State:
    return {key: value.detach().to("cpu", copy=True) for key, value in model.state_dict().items()}


class Trainer:
    """One run. The model is built (seeded) on construction and can be read at any time."""

    def __init__(self, run: RunPlan, *, control: TrainControl | None = None,
                 init_weights: str | os.PathLike[str] | None = None,
                 checkpoint_dir: str | os.PathLike[str] | None = None,
                 health: bool = False) -> None:
        self.settings = s = run.settings
        self.data = run.data
        self.control = control or TrainControl()
        self.device = pick_device(s.device)
        torch.manual_seed(s.seed)
        self.model = CompiledModel(run.plan)
        # what the starting weights could not give (a replaced head), said at the start
        self.weight_notes: tuple[str, ...] = ()
        if init_weights is not None:
            self.weight_notes = tuple(load_starting_weights(self.model, init_weights))
        self.model.to(self.device)
        try:
            self.tuned = tune(self.model, run.tuning, s.lr)
        except NothingTrains as err:
            raise TrainError([str(err)]) from None
        # the compiled wrapper shares the model's parameters; evaluation uses the plain model,
        # whose eval mode would otherwise cost a second compilation
        self._train_forward = torch.compile(self.model) if s.compile else self.model
        loss, target = loss_and_target(run.plan)
        self.task = Task(loss, target, len(self.data.classes), loss in CLASS_LOSSES)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        if self.checkpoint_dir is not None:  # an unusable folder is said before training
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        self.best_state: State | None = None
        self._last_good: State = copy_state(self.model)
        self.tensors = {name: (x.to(self.device), y.to(self.device))
                        for name, (x, y) in self.data.splits().items()}
        self.eval_batch = max(s.batch_size, 256)
        # health: per layer and epoch, a HealthRecord after the EpochEnd (backend/health.py)
        self.health = HealthCollector(self.model, run.tuning) if health else None
        self.last_health: HealthRecord | None = None  # the newest, to explain a stalled loss

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> Iterator[Record]:
        s, started = self.settings, time.perf_counter()
        self.first_loss: float | None = None  # the run's first batch, to tell a loss that rose
        optimizer = make_optimizer(self.tuned.groups, s)
        scheduler = make_scheduler(optimizer, s)
        stopping = EarlyStopping(s.resolved_monitor(), s.patience)
        generator = torch.Generator().manual_seed(s.seed)
        train_x, _ = self.tensors["train"]
        batches = math.ceil(len(train_x) / s.batch_size)
        yield RunStarted(s.epochs, batches, len(train_x), self._count("val"),
                         self._count("test"), str(self.device), self.param_count(),
                         self.task.name, self.data.classes, stopping.monitor,
                         self.tuned.frozen or None, self.weight_notes or None)
        reason, message, epoch_done, last_train = "completed", "", 0, None
        for epoch in range(1, s.epochs + 1):
            outcome = yield from self._epoch(epoch, batches, optimizer, generator)
            if isinstance(outcome, _Halt):  # stopped or diverged mid-epoch
                reason, message = outcome.reason, outcome.message
                break
            train_scores, seconds, rate = outcome
            last_train = train_scores.loss
            val = self._scores("val")
            monitored = self._monitored(stopping.monitor, train_scores, val)
            improved = stopping.update(epoch, monitored)
            self._last_good = copy_state(self.model)
            if improved:
                self.best_state = self._last_good
            self._checkpoint(improved)
            lr = base_lr(optimizer)
            yield self._epoch_record(epoch, train_scores, val, lr, seconds, rate, stopping,
                                     improved)
            if self.health is not None:
                self.last_health = self.health.epoch_record(epoch)
                yield self.last_health
            epoch_done = epoch
            step_scheduler(scheduler, monitored)
            if stopping.should_stop:
                reason = "early_stopped"
                message = (f"{stopping.monitor} did not improve for {s.patience} epochs; "
                           f"the best was epoch {stopping.best_epoch}")
                break
            if self.control.stop_requested and epoch < s.epochs:
                reason, message = "stopped", f"stopped after epoch {epoch}"
                break
        yield self._finish(reason, message, epoch_done, stopping, last_train,
                           time.perf_counter() - started)

    def _loss_note(self, first: float, last: float) -> str:
        """What the message adds when the training loss did not fall (finite, so not caught as
        diverged): the cause the last health record shows, else, for a rise, the learning
        rate; "" when the loss fell."""
        if last < first - LOSS_NOISE * abs(first):
            return ""
        rose = last > first + LOSS_NOISE * abs(first)
        said = (f"; the training loss rose from {first:.3g} to {last:.3g}" if rose
                else f"; the training loss did not fall ({first:.3g} to {last:.3g})")
        cause = stall_cause(self.last_health.as_dict()) if self.last_health else ""
        if cause:
            return f"{said}: {cause}"
        return f"{said}: a learning rate of {self.settings.lr:g} may be too high" if rose else said

    def _epoch(self, epoch: int, batches: int, optimizer: torch.optim.Optimizer,
               generator: torch.Generator):
        """Train one epoch, yielding a BatchEnd per step; returns (scores, seconds, samples/s),
        or a _Halt when a stop request or a nan/inf loss ends the run."""
        s, task, model = self.settings, self.task, self.model
        train_x, train_y = self.tensors["train"]
        order = torch.randperm(len(train_x), generator=generator).to(self.device)
        fill = self.data.preprocessing.blank().to(self.device) if s.augment_shift else None
        self.tuned.train_mode(model)
        sums, seen, paused = [0.0] * 4, 0, 0.0  # loss, hits, abs and squared errors
        health = self.health
        measured = health.measured(batches) if health is not None else frozenset()
        start = time.perf_counter()
        for batch in range(batches):
            paused += self.control.wait_while_paused()
            if self.control.stop_requested:
                return _Halt("stopped", f"stopped during epoch {epoch}, after {batch} batches")
            index = order[batch * s.batch_size:(batch + 1) * s.batch_size]
            xb, yb = train_x.index_select(0, index), train_y.index_select(0, index)
            if s.augment_shift or s.augment_flip:
                xb = augment(xb, s.augment_shift, s.augment_flip, generator, fill)
            measuring = batch in measured
            if measuring:  # the plain model: hooks on a compiled one would recompile it
                health.watch()
                out = model(xb)
                health.after_forward()
            else:
                out = self._train_forward(xb)
            target = task.targets(xb, yb, out)
            loss = task.loss_fn(out, target)
            tallies = task.tallies(out, target, yb)
            loss_value, *batch_sums = torch.cat([loss.detach().double().view(1),
                                                 tallies]).tolist()
            if not math.isfinite(loss_value):
                return _Halt("diverged", self._diverged(loss_value, epoch, batch + 1, optimizer))
            if self.first_loss is None:
                self.first_loss = loss_value
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if measuring:
                health.after_backward()
            optimizer.step()
            if measuring:
                health.after_step()
            step = [loss_value * len(index), *batch_sums]
            sums = [a + b for a, b in zip(sums, step, strict=True)]
            seen += len(index)
            rate = seen / max(time.perf_counter() - start - paused, 1e-9)
            yield BatchEnd(epoch, batch + 1, batches, (epoch - 1) * batches + batch + 1,
                           loss_value, sums[1] / seen if task.has_accuracy else None, rate)
        seconds = time.perf_counter() - start - paused
        scores = task.scores(*sums, seen)  # running means over the epoch, as Keras reports
        return scores, seconds, seen / max(seconds, 1e-9)

    # -- pieces ----------------------------------------------------------------------------
    def _count(self, split: str) -> int:
        return len(self.tensors[split][1]) if split in self.tensors else 0

    def param_count(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def _scores(self, split: str, confusion: bool = False) -> Scores | None:
        if split not in self.tensors:
            return None
        x, y = self.tensors[split]
        return evaluate(self.model, self.task, x, y, self.eval_batch, confusion)

    @staticmethod
    def _monitored(monitor: str, train: Scores, val: Scores | None) -> float:
        scores = val if monitor.startswith("val") else train
        value = scores.accuracy if monitor.endswith("accuracy") else scores.loss
        if value is None:
            raise TrainError([f"monitor {monitor}: this run has no such metric"])
        return value

    def _epoch_record(self, epoch: int, train: Scores, val: Scores | None, lr: float,
                      seconds: float, rate: float, stopping: EarlyStopping,
                      improved: bool) -> EpochEnd:
        return EpochEnd(epoch, self.settings.epochs, train.loss, val and val.loss,
                        train.accuracy, val and val.accuracy, train.mae, val and val.mae,
                        train.mse, val and val.mse, lr, seconds, rate,
                        stopping.best_epoch or epoch, improved, stopping.patience_left)

    def _diverged(self, value: float, epoch: int, batch: int,
                  optimizer: torch.optim.Optimizer) -> str:
        """Keep the last good weights: those before this batch, or the last epoch's end."""
        finite = all(bool(torch.isfinite(p).all()) for p in self.model.parameters())
        if not finite:
            self.model.load_state_dict(self._last_good)
        lr = base_lr(optimizer)
        kept = ("the weights from before that batch" if finite
                else "the weights from the end of the last complete epoch")
        return (f"the loss became {value} in epoch {epoch}, batch {batch}, so training stopped "
                f"and kept {kept}. A learning rate of {lr:g} may be too high; try a lower one")

    def _checkpoint(self, improved: bool) -> None:
        if self.checkpoint_dir is None:
            return
        targets = ["last.pt"] + (["best.pt"] if improved else [])
        for name in targets:
            save_state(self._last_good, self.checkpoint_dir / name)
            save_preprocessing(self.checkpoint_dir / name, self.data.preprocessing)

    def _finish(self, reason: str, message: str, epochs_run: int, stopping: EarlyStopping,
                train_loss: float | None, seconds: float) -> RunFinished:
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        matrix_split = next((s for s in ("test", "val") if s in self.tensors), None)
        val = self._scores("val", confusion=matrix_split == "val")
        test = self._scores("test", confusion=True)
        matrix = (test or val).confusion if matrix_split else None
        per_class = per_class_accuracy(matrix) if matrix else None
        if not message:
            message = f"finished {epochs_run} epoch{'s' * (epochs_run != 1)}"
        if train_loss is not None and self.first_loss is not None:
            message += self._loss_note(self.first_loss, train_loss)
        return RunFinished(
            reason, message, epochs_run, stopping.best_epoch, stopping.monitor,
            stopping.best_value, train_loss, val and val.loss, val and val.accuracy,
            val and val.mae, test and test.loss, test and test.accuracy, test and test.mae,
            matrix, matrix_split if matrix else None, per_class, self.data.classes, seconds)
