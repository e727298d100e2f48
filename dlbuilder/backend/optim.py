"""The optimizer and learning-rate schedule a run's settings name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from dlbuilder.backend.settings import PLATEAU_PATIENCE, TrainSettings


def make_optimizer(params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
                   s: TrainSettings) -> torch.optim.Optimizer:
    """SGD (with momentum and Nesterov), Adam, AdamW or RMSprop. weight_decay is L2 for all but
    AdamW, where it is decoupled from the gradient (that being AdamW's point). `params` are
    parameters, or parameter groups (finetune.py's, each with its own lr)."""
    params = list(params)
    if s.optimizer == "sgd":
        return torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, nesterov=s.nesterov,
                               weight_decay=s.weight_decay)
    if s.optimizer == "adam":
        return torch.optim.Adam(params, lr=s.lr, weight_decay=s.weight_decay)
    if s.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay)
    if s.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=s.lr, momentum=s.momentum,
                                   weight_decay=s.weight_decay)
    raise ValueError(f"unknown optimizer {s.optimizer!r}")  # settings.py refuses it earlier


def make_scheduler(optimizer: torch.optim.Optimizer, s: TrainSettings):
    """None, or a schedule stepped once per epoch (see step_scheduler)."""
    if s.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, s.resolved_step_size(), s.gamma)
    if s.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=s.epochs)
    if s.schedule == "plateau":
        mode = "max" if s.resolved_monitor().endswith("accuracy") else "min"
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, factor=s.gamma, patience=PLATEAU_PATIENCE, eps=0.0)
    return None


def step_scheduler(scheduler, monitored: float) -> None:
    """Advance the schedule at an epoch's end; the plateau schedule watches the monitored value."""
    if scheduler is None:
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(monitored)
    else:
        scheduler.step()
