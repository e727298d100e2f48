"""Training health: per layer and per epoch, the figures that tell whether each layer learns.

What the lecture says of deep networks, measured on the user's own graph while it trains:
gradients that vanish on their way back through a deep plain net (and flow through residual
shortcuts), ReLUs that die, activations that drift. Per layer (every module node, top-level or
inside a block instance, by `compiler.NodePath`) and per epoch:

- `grad_norm`: the L2 norm of the gradient of all the layer's trainable parameters together,
  after the backward pass and before the optimizer's step;
- `update_ratio`: ||W after the step - W before|| / ||W before||, the same parameters: how much
  one optimizer step changes the layer (momentum, Adam's scaling and weight decay included);
- `dead_share`, rectifying activations only (the registry's "rectifying" trait: ReLU, ReLU6,
  the hard gates): the share of the output's units that are exactly 0 for every sample of the
  batch. A unit is one value of a sample's output (each of C x H x W for a map); a unit that no
  sample switches on passes no gradient back, so what feeds it stops learning through it;
- `act_mean`, `act_std`: the mean and the (population) standard deviation of every value of
  the layer's output over the batch.

Each figure is the mean over a few batches of the epoch (MEASURED_BATCHES, evenly spaced):
the hooks are attached for those batches only and every number of a batch comes back from the
device in one transfer, so a run that collects health trains at nearly full speed
(benchmarks/health_overhead.py measures it). A figure that does not apply is None: no gradient
for a layer without weights or a frozen one, no dead share but for rectifying layers.

Importing this module does not import torch (the app's plots read the thresholds and words);
the collector imports it when it is made.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from dlbuilder.backend.module_names import NodePath, module_names, path_text
from dlbuilder.backend.records import HealthRecord, LayerHealth

if TYPE_CHECKING:
    import torch
    from torch import nn

    from dlbuilder.backend.compiler import CompiledModel
    from dlbuilder.backend.plan import ModelPlan
    from dlbuilder.core.registry import Registry
    from dlbuilder.core.tuning import Tuning

MEASURED_BATCHES = 4  # per epoch, evenly spaced
BATCHES_PER_MEASURED = 10  # at most one batch in this many is measured (short epochs: fewer)

# -- when a layer is flagged: the one place these lines are drawn ------------------------------
# Gradients are compared per weight, as the root mean square (grad_norm / sqrt(weights)), so a
# dense layer of 50,000 weights and a convolution of 150 compare; and against the trainable
# layer nearest the output (the last in forward order), not against a fixed number. The
# absolute size of a gradient depends on the loss, the batch size and the scale of the data;
# the head's gradient comes straight from the loss, and every layer further back gets it
# multiplied through the layers in between: the ratio to the head's is what the depth did to
# it, which is the lecture's story (a plain deep net's first layers get orders of magnitude
# less than its head; a residual net's shortcuts keep them close). A median would not do: in
# a plain deep net most layers vanish, so the median is itself vanished, and the healthy last
# layers would look exploding beside it.
VANISHING = 1e-2  # RMS gradient below this share of the head's
EXPLODING = 1e2  # RMS gradient above this many times the head's
# One absolute line, on the step itself: a healthy step changes a layer by about a thousandth
# of its weights (the rule of thumb of Karpathy's cs231n notes); a step of more than half the
# weights rewrites the layer within a couple of steps, whatever the other layers do. It
# catches what the relative test cannot: the head itself, and every layer blowing up at once
# (a learning rate far too high).
UPDATE_EXPLODING = 0.5
DEAD = 0.5  # more than half a rectifying layer's units dead
# Frozen layers (core/tuning) get no gradient and take no step, by the user's choice: they are
# never flagged for it, and are never the reference.

FLAGS = ("exploding", "vanishing", "dead")  # worst first: what a card shows of several

FIGURES = ("grad_norm", "update_ratio", "dead_share", "act_mean", "act_std")
FIGURE_NAMES = {"grad_norm": "gradient norm", "update_ratio": "update / weight",
                "dead_share": "dead units", "act_mean": "activation mean",
                "act_std": "activation spread (std)"}


def flag_rules() -> str:
    """The thresholds in words, one flag a line, for tooltips and help."""
    return "\n".join((
        f"vanishing: a layer's gradient per weight is below {VANISHING:g} of the last layer's",
        f"exploding: above {EXPLODING:g}x the last layer's, or one step changes the weights "
        f"by more than {UPDATE_EXPLODING:.0%}",
        f"dead: more than {DEAD:.0%} of a ReLU's units are 0 for a whole batch"))


def layer_flags(figures: list[dict[str, Any]], sizes: list[int],
                frozen: list[bool]) -> list[tuple[str, ...]]:
    """The flags of each layer of one epoch, in forward order: `figures` are the layers'
    measured values (FIGURES keys, None where a figure does not apply), `sizes` their
    trainable parameter counts, `frozen` whether each is frozen."""
    rms = [None if f["grad_norm"] is None or not size or cold
           else f["grad_norm"] / math.sqrt(size)
           for f, size, cold in zip(figures, sizes, frozen, strict=True)]
    head = next((r for r in reversed(rms) if r is not None), None)
    if head is not None and not (math.isfinite(head) and head > 0):
        head = None  # nothing to measure against: only the absolute line holds
    out = []
    for f, r in zip(figures, rms, strict=True):
        flags = []
        ratio = f["update_ratio"]
        relative = r is not None and head is not None
        if r is not None and ((relative and not r <= EXPLODING * head)  # so nan explodes
                              or (ratio is not None and not ratio <= UPDATE_EXPLODING)):
            flags.append("exploding")
        elif relative and r < VANISHING * head:
            flags.append("vanishing")
        if f["dead_share"] is not None and f["dead_share"] > DEAD:
            flags.append("dead")
        out.append(tuple(flags))
    return out


# -- words the CLI and the app share ----------------------------------------------------------
def flag_words(layer: dict[str, Any]) -> str:
    """A layer's flags as a card or a line says them: "vanishing", "dead 62%"; "" for none."""
    words = []
    for flag in FLAGS:
        if flag in layer.get("flags", ()):
            share = layer.get("dead_share")
            words.append(f"dead {share:.0%}" if flag == "dead" and share is not None else flag)
    return ", ".join(words)


def flagged_line(record: dict[str, Any], most: int = 3) -> str:
    """The flagged layers of one epoch's record, in a short line ("" when none is flagged):
    per flag its first `most` layers in forward order (the dead ones most dead first) and how
    many more: "vanishing: stem, conv0, conv1 and 12 more · dead: relu3 99%"."""
    parts = []
    for flag in FLAGS:
        layers = [layer for layer in record["layers"] if flag in (layer.get("flags") or ())]
        if flag == "dead":
            layers.sort(key=lambda layer: -(layer.get("dead_share") or 0.0))
        if not layers:
            continue
        names = [layer["node"] + (f" {layer['dead_share']:.0%}" if flag == "dead" else "")
                 for layer in layers[:most]]
        more = f" and {len(layers) - most} more" if len(layers) > most else ""
        parts.append(f"{flag}: {', '.join(names)}{more}")
    return " · ".join(parts)


def stall_cause(record: dict[str, Any], most: int = 2) -> str:
    """Why a run whose loss did not fall may not have learned, as its last health record
    tells ("" when it does not): most learning layers vanishing, or most rectifying layers
    dead. Said at the end of a run instead of blaming the learning rate."""
    layers = record["layers"]
    learning = [layer for layer in layers if layer.get("grad_norm") is not None]
    rectifying = [layer for layer in layers if layer.get("dead_share") is not None]
    vanishing = [layer for layer in learning if "vanishing" in (layer.get("flags") or ())]
    dead = [layer for layer in rectifying if "dead" in (layer.get("flags") or ())]
    if learning and len(vanishing) * 2 > len(learning):
        return (f"{len(vanishing)} of {len(learning)} layers get vanishing gradients "
                f"({_first_names(vanishing, most)}): a deep plain stack learns slowly; skip "
                f"connections (residual blocks) or BatchNorm help")
    if rectifying and len(dead) * 2 > len(rectifying):
        return (f"{len(dead)} of {len(rectifying)} ReLU layers are mostly dead "
                f"({_first_names(dead, most)}): a lower learning rate, LeakyReLU or "
                f"BatchNorm help")
    return ""


def _first_names(layers: list[dict[str, Any]], most: int) -> str:
    return ", ".join(layer["node"] for layer in layers[:most]) + (" ..." * (len(layers) > most))


def worst(layers: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The layer that looks worst (by FLAGS' order; the most dead among the dead), or None
    when none is flagged."""
    def rank(layer: dict[str, Any]) -> tuple[int, float]:
        flags = layer.get("flags") or ()
        first = min((FLAGS.index(f) for f in flags if f in FLAGS), default=len(FLAGS))
        return first, -(layer.get("dead_share") or 0.0)
    ranked = sorted((layer for layer in layers if layer.get("flags")), key=rank)
    return ranked[0] if ranked else None


def by_top_node(record: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """An epoch's layers grouped by the top-level node they belong to (a layer by its own id,
    the layers inside a block instance by the instance's)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for layer in record["layers"]:
        out.setdefault(str(layer["path"][0]), []).append(layer)
    return out


def layer_series(records: list[dict[str, Any]], figure: str
                 ) -> list[tuple[dict[str, Any], list[int], list[float]]]:
    """Per layer (in the last record's forward order) that has `figure` in some epoch: the
    layer's last entry, the epochs and the values (nan where an epoch lacks it)."""
    if not records:
        return []
    epochs = [record["epoch"] for record in records]
    values: dict[str, list[float]] = {}
    last: dict[str, dict[str, Any]] = {}
    for index, record in enumerate(records):
        for layer in record["layers"]:
            name = layer["node"]
            if layer.get(figure) is None:
                continue
            values.setdefault(name, [math.nan] * len(records))[index] = float(layer[figure])
            last[name] = layer
    order = [layer["node"] for layer in records[-1]["layers"]]
    order += [name for name in values if name not in order]
    return [(last[name], epochs, values[name]) for name in order if name in values]


def is_normalization(type_name: str) -> bool:
    """Whether a layer type normalizes (BatchNorm, LayerNorm...): its few weights (a scale and
    a shift per channel) get gradients on another scale than a convolution's, so plots of
    weight figures leave it out unless asked."""
    from dlbuilder.layers import REGISTRY

    return type_name in REGISTRY and REGISTRY.get(type_name).category == "normalization"


def depth_profile(record: dict[str, Any], figure: str) -> list[dict[str, Any]]:
    """An epoch's layers that have `figure`, first layer first: the figure against depth."""
    return [layer for layer in record["layers"] if layer.get(figure) is not None]


# -- the collector ------------------------------------------------------------------------------
def layer_types(plan: ModelPlan) -> dict[NodePath, str]:
    """The layer type of every module node the plan builds (block instance runs left out)."""
    classes = {cls.name: cls for cls in plan.classes}
    top = {layer.node: layer for layer in plan.layers}
    out: dict[NodePath, str] = {}
    for path in module_names(plan):
        if isinstance(path[-1], int):
            continue
        layers = top
        for part in path[:-1]:
            if isinstance(part, str):
                layers = {inner.node: inner for call in layers[part].calls
                          for inner in classes[call.cls].layers}
        out[path] = layers[path[-1]].type
    return out


@dataclass
class _Layer:
    path: NodePath
    type: str
    module: nn.Module
    params: list[nn.Parameter]  # the trainable ones
    size: int
    rectifying: bool
    frozen: bool
    sums: dict[str, float] = field(default_factory=dict)  # figure -> sum over batches
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, figure: str, value: float) -> None:
        self.sums[figure] = self.sums.get(figure, 0.0) + value
        self.counts[figure] = self.counts.get(figure, 0) + 1

    def mean(self, figure: str) -> float | None:
        count = self.counts.get(figure, 0)
        return self.sums[figure] / count if count else None


class HealthCollector:
    """Measures a model's layers on the batches `measured` names. The trainer calls, for such
    a batch: `watch()` before the forward pass, `after_forward()`, `after_backward()` before
    the optimizer's step, `after_step()`; and `epoch_record(epoch)` at the epoch's end."""

    def __init__(self, model: CompiledModel, tuning: Tuning | None = None,
                 registry: Registry | None = None) -> None:
        from dlbuilder.backend.compiler import node_modules

        if registry is None:
            from dlbuilder.layers import REGISTRY as registry
        types = layer_types(model.plan)
        self._known = frozenset(module_names(model.plan))  # whether instances repeat
        self.layers: list[_Layer] = []
        for path, module in node_modules(model).items():
            if path not in types:
                continue
            params = [p for p in module.parameters() if p.requires_grad]
            frozen = tuning is not None and tuning.at(path).frozen
            self.layers.append(_Layer(path, types[path], module, params,
                                      sum(p.numel() for p in params),
                                      registry.has_trait(types[path], "rectifying"), frozen))
        self._hooks: list[Any] = []
        self._acts: dict[int, torch.Tensor] = {}
        self._grads: list[torch.Tensor] = []
        self._before: list[torch.Tensor] = []

    @staticmethod
    def measured(batches: int) -> frozenset[int]:
        """The 0-based batches of an epoch of `batches` that are measured, evenly spaced
        (each in the middle of its share of the epoch): MEASURED_BATCHES, but at most one in
        BATCHES_PER_MEASURED, and at least one."""
        count = max(1, min(MEASURED_BATCHES, batches // BATCHES_PER_MEASURED))
        return frozenset((2 * i + 1) * batches // (2 * count) for i in range(count))

    # -- one measured batch -----------------------------------------------------------------
    def watch(self) -> None:
        """Attach the forward hooks, for this batch's forward pass only."""
        self._acts.clear()
        for index, layer in enumerate(self.layers):
            self._hooks.append(layer.module.register_forward_hook(partial(self._on_output,
                                                                          index)))

    def after_forward(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()

    def _on_output(self, index: int, _module: nn.Module, _inputs: Any, output: Any) -> None:
        """The output's mean, its root mean square (the spread follows from the two), and for
        a rectifying layer the share of units 0 for every sample. Chosen for speed: one pass
        each, where torch.std_mean took ten times as long on the CPU."""
        import torch

        if not isinstance(output, torch.Tensor) or not output.is_floating_point() \
                or output.dim() == 0 or output.numel() == 0:
            return
        with torch.no_grad():
            values = output.detach()
            figures = [values.mean(), torch.linalg.vector_norm(values)
                       / math.sqrt(values.numel())]
            if self.layers[index].rectifying:
                units = values.reshape(len(values), -1)
                dead = units.amax(dim=0).eq(0) & units.amin(dim=0).eq(0)
                figures.append(dead.float().mean())
            self._acts[index] = torch.stack(figures).float()

    def after_backward(self) -> None:
        """The gradients' norms, and a copy of the weights the step is about to change."""
        import torch

        self._grads, self._before = [], []
        for layer in self.layers:
            grads = [p.grad for p in layer.params if p.grad is not None]
            self._grads.append(_norm(torch, grads) if grads else None)
            self._before.append([p.detach().clone() for p in layer.params]
                                if grads else None)

    def after_step(self) -> None:
        """The step's size against the weights', then every figure of the batch added in."""
        import torch

        parts, slots = [], []  # tensors to bring back at once, and (layer, figure) of each
        for index, layer in enumerate(self.layers):
            grad, before = self._grads[index], self._before[index]
            if grad is not None:
                change = [p.detach() - b for p, b in zip(layer.params, before, strict=True)]
                parts += [grad.view(1), _norm(torch, change).view(1),
                          _norm(torch, before).view(1)]
                slots += [(layer, "grad_norm"), (layer, "change"), (layer, "weight")]
            acts = self._acts.get(index)
            if acts is not None:
                parts.append(acts)
                slots += [(layer, name) for name in ("act_mean", "act_rms", "dead_share")
                          [:len(acts)]]
        self._grads, self._before = [], []
        self._acts.clear()
        if not parts:
            return
        values = torch.cat([p.float() for p in parts]).tolist()  # the one transfer
        held: dict[tuple[int, str], float] = {}  # the first of a pair, till the second
        for (layer, figure), value in zip(slots, values, strict=True):
            if figure in ("change", "act_mean"):
                held[(id(layer), figure)] = value
            if figure == "weight":
                change = held.pop((id(layer), "change"))
                if value > 0:  # all-zero weights (a zero-initialised norm) have no ratio
                    layer.add("update_ratio", change / value)
            elif figure == "act_rms":
                mean = held.pop((id(layer), "act_mean"))
                layer.add("act_mean", mean)
                layer.add("act_std", math.sqrt(max(value * value - mean * mean, 0.0)))
            elif figure != "change" and figure != "act_mean":
                layer.add(figure, value)

    # -- the epoch ---------------------------------------------------------------------------
    def epoch_record(self, epoch: int) -> HealthRecord:
        """The epoch's figures (means over its measured batches) and flags; starts the next
        epoch's sums."""
        figures = [{name: layer.mean(name) for name in FIGURES} for layer in self.layers]
        flags = layer_flags(figures, [layer.size for layer in self.layers],
                            [layer.frozen for layer in self.layers])
        out = tuple(LayerHealth(layer.path, path_text(layer.path, self._known), layer.type,
                                values["grad_norm"], values["update_ratio"],
                                values["dead_share"], values["act_mean"], values["act_std"],
                                marks)
                    for layer, values, marks in zip(self.layers, figures, flags, strict=True))
        for layer in self.layers:
            layer.sums.clear()
            layer.counts.clear()
        return HealthRecord(epoch, out)


def _norm(torch: Any, tensors: list[torch.Tensor]) -> torch.Tensor:
    """The L2 norm of several tensors taken as one vector."""
    norms = torch.stack([torch.linalg.vector_norm(t.float()) for t in tensors])
    return torch.linalg.vector_norm(norms)
