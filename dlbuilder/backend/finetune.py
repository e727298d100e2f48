"""Frozen layers and learning-rate multipliers in a run (the graph's `train` options,
core/tuning.py), applied to a built model.

A frozen layer's parameters get `requires_grad` False and stay out of the optimizer, so they
come out of training bit for bit as they went in (no update, no weight decay); its BatchNorm
layers stay in eval mode while the rest trains, so they normalise with, and keep, their running
statistics. The others are grouped by multiplier into optimizer parameter groups, each at the
run's rate times its factor; the schedules scale every group alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from dlbuilder.backend.compiler import CompiledModel, node_modules
from dlbuilder.core.tuning import USUAL, TrainOptions, Tuning

LR_SCALE = "lr_scale"  # the factor each parameter group keeps beside its lr


class NothingTrains(ValueError):
    """Every layer with weights is frozen."""


@dataclass
class Tuned:
    """The optimizer's parameter groups, the BatchNorm layers kept in eval mode, and how many
    parameters train and how many are frozen."""

    groups: list[dict] = field(default_factory=list)
    frozen_norms: list[nn.Module] = field(default_factory=list)
    trainable: int = 0
    frozen: int = 0

    def train_mode(self, model: nn.Module) -> None:
        """Training mode, but the frozen BatchNorm layers keep their running statistics."""
        model.train()
        for norm in self.frozen_norms:
            norm.eval()


def tune(model: CompiledModel, tuning: Tuning, lr: float) -> Tuned:
    """Freeze what the options freeze and group the rest by multiplier (the rate's own group
    first). NothingTrains when the model has weights and every one of them is frozen."""
    modules = node_modules(model)
    options: dict[int, TrainOptions] = {}
    for path in sorted(modules, key=len):  # a layer's options win over its instance's
        here = tuning.at(path)
        for param in modules[path].parameters():
            options[id(param)] = here
    tuned = Tuned()
    by_scale: dict[float, list[nn.Parameter]] = {}
    for param in model.parameters():
        chosen = options.get(id(param), USUAL)
        if chosen.frozen:
            param.requires_grad_(False)
            tuned.frozen += param.numel()
        else:
            by_scale.setdefault(chosen.lr_scale, []).append(param)
            tuned.trainable += param.numel()
    if tuned.frozen and not by_scale:
        raise NothingTrains("every layer with weights is frozen, so nothing would train; "
                            "unfreeze at least one (the new head, for transfer learning)")
    for scale in sorted(by_scale, key=lambda s: s != 1.0):
        tuned.groups.append({"params": by_scale[scale], "lr": lr * scale, LR_SCALE: scale})
    tuned.frozen_norms = [module for path, module in modules.items()
                          if isinstance(module, nn.modules.batchnorm._BatchNorm)
                          and tuning.at(path).frozen]
    return tuned


def base_lr(optimizer: torch.optim.Optimizer) -> float:
    """The run's learning rate now (as scheduled), whatever the groups' multipliers."""
    group = optimizer.param_groups[0]
    return group["lr"] / group.get(LR_SCALE, 1.0)
