"""Fine-tuning options of a node: frozen (its weights do not train) and a learning-rate
multiplier, as the file keeps them in a node's `"train"` object beside its `params`:

    {"id": "fc", "type": "Linear", "params": {...}, "train": {"lr_scale": 10}}
    {"id": "layer1", "type": "Block", "params": {...}, "train": {"frozen": true}}

They are not layer parameters (so the registry's unknown-parameter check keeps its meaning),
and they change no shape or count. Only values that differ from training as usual are kept
(`frozen` true, `lr_scale` other than 1), so a graph nobody froze saves as before.

A block instance's options hold for everything inside it: freezing an instance freezes all its
layers, and multipliers multiply down the nesting (an instance at 0.1 holding a layer at 0.5
trains that layer at 0.05 x the rate). Options on a layer inside a block definition hold in
every instance of that block. A node path is what `compiler.node_modules` keys: node ids from
the top, each instance's id followed by its run index (`("layer1", 0, "conv1")`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from dlbuilder.core.blocks import BLOCK
from dlbuilder.core.commands import Macro
from dlbuilder.core.engine_base import EngineBase
from dlbuilder.core.graph import Graph, GraphError

TRAIN_KEYS = ("frozen", "lr_scale")
NodePath = tuple[str | int, ...]


@dataclass(frozen=True)
class TrainOptions:
    """How a node trains: `frozen` (no gradient, left out of the optimizer, BatchNorm keeps
    its running statistics) and `lr_scale` (its learning rate is the run's times this)."""

    frozen: bool = False
    lr_scale: float = 1.0

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> TrainOptions:
        """From a node's checked `train` object."""
        return cls(bool(raw.get("frozen", False)), float(raw.get("lr_scale", 1.0)))

    def inside(self, outer: TrainOptions) -> TrainOptions:
        """These options for a node inside an instance that has `outer`."""
        return TrainOptions(self.frozen or outer.frozen, self.lr_scale * outer.lr_scale)

    @property
    def usual(self) -> bool:
        return not self.frozen and self.lr_scale == 1.0


USUAL = TrainOptions()


def train_problems(raw: Any) -> list[str]:
    """What is wrong with a node's `train` object, one sentence each (empty when fine)."""
    if not isinstance(raw, dict):
        return [f"must be an object like {{\"frozen\": true, \"lr_scale\": 0.1}}, got {raw!r}"]
    problems = [f"unknown key {key!r} (known: {', '.join(TRAIN_KEYS)})"
                for key in sorted(set(raw) - set(TRAIN_KEYS))]
    if "frozen" in raw and not isinstance(raw["frozen"], bool):
        problems.append(f"frozen must be true or false, got {raw['frozen']!r}")
    if "lr_scale" in raw:
        problem = lr_scale_problem(raw["lr_scale"])
        if problem:
            problems.append(f"lr_scale {problem}")
    return problems


def lr_scale_problem(value: Any) -> str | None:
    """Why `value` cannot be a learning-rate multiplier, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number, got {value!r}"
    if not math.isfinite(value) or value <= 0:
        return (f"must be a number above 0, got {value!r} (to stop a layer learning, "
                "freeze it)")
    return None


def normalized(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The options worth keeping: `frozen` only when true, `lr_scale` only when not 1."""
    out: dict[str, Any] = {}
    if raw.get("frozen") is True:
        out["frozen"] = True
    scale = raw.get("lr_scale")
    if scale is not None and scale != 1:
        out["lr_scale"] = scale
    return out


def node_options(graph: Graph, node: str) -> TrainOptions:
    return TrainOptions.of(graph.train(node))


def options_at(graph: Graph, path: NodePath) -> TrainOptions:
    """The options that hold for the node at `path` (its own, within every enclosing
    instance's)."""
    options, scope = USUAL, graph
    for part in path:
        if isinstance(part, int):
            continue
        options = node_options(scope, part).inside(options)
        if scope.type_of(part) == BLOCK:
            scope = graph.block(scope.raw_params(part)["block"]).graph
    return options


@dataclass(frozen=True)
class Tuning:
    """A graph's options as plain values, to read where the graph is not at hand (the trainer,
    the training script): each scope's nodes with options (scope None is the top level, else
    a block's name) and which block each instance places."""

    own: Mapping[tuple[str | None, str], TrainOptions] = field(default_factory=dict)
    places: Mapping[tuple[str | None, str], str] = field(default_factory=dict)

    @classmethod
    def of(cls, graph: Graph) -> Tuning:
        own: dict[tuple[str | None, str], TrainOptions] = {}
        places: dict[tuple[str | None, str], str] = {}
        scopes: list[tuple[str | None, Graph]] = [(None, graph)]
        scopes += [(name, defn.graph) for name, defn in graph.blocks.items()]
        for scope, g in scopes:
            for node in g.nodes():
                options = node_options(g, node)
                if not options.usual:
                    own[(scope, node)] = options
                if g.type_of(node) == BLOCK:
                    block = g.raw_params(node).get("block")
                    if isinstance(block, str):
                        places[(scope, node)] = block
        return cls(own, places)

    @property
    def usual(self) -> bool:
        """Nothing is frozen or scaled: the run trains every weight at the one rate."""
        return not self.own

    def at(self, path: NodePath) -> TrainOptions:
        """The options that hold for the node at `path`, as `options_at` says."""
        options, scope = USUAL, None
        for part in path:
            if isinstance(part, int):
                continue
            options = self.own.get((scope, part), USUAL).inside(options)
            scope = self.places.get((scope, part), scope)
        return options


@dataclass
class SetTrain:
    """Change a node's training options; a value of None returns that option to the usual
    (not frozen, multiplier 1)."""

    node: str
    changes: dict[str, Any]
    _old: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return f"{_verb(self.changes)} {self.node}"

    def apply(self, graph: Graph) -> None:
        problems = train_problems({k: v for k, v in self.changes.items() if v is not None})
        if problems:
            raise GraphError(f"{self.node}: {'; '.join(problems)}")
        self._old = graph.train(self.node)
        new = {**self._old, **self.changes}
        graph.set_train(self.node, normalized({k: v for k, v in new.items() if v is not None}))

    def revert(self, graph: Graph) -> None:
        assert self._old is not None, "SetTrain reverted before it was applied"
        graph.set_train(self.node, self._old)


def _verb(changes: Mapping[str, Any]) -> str:
    if "frozen" in changes and len(changes) == 1:
        return "Freeze" if changes["frozen"] else "Unfreeze"
    return "Set the learning-rate multiplier of" if "lr_scale" in changes else "Change"


def set_train(nodes: Iterable[str], changes: dict[str, Any], text: str | None = None
              ) -> SetTrain | Macro:
    """One undo step setting the same options on every node of `nodes`."""
    chosen = list(nodes)
    commands = [SetTrain(node, dict(changes)) for node in chosen]
    if len(commands) == 1:
        return commands[0]
    return Macro(text or f"{_verb(changes)} {len(chosen)} nodes", commands)


def tuning_lines(options: TrainOptions, instance: bool) -> list[str]:
    """What a card's tooltip says about its options (nothing when it trains as usual)."""
    lines = []
    if options.frozen:
        lines.append("frozen: its weights do not train" if not instance else
                     "frozen: no weight inside it trains")
    if options.lr_scale != 1.0:
        lines.append(f"learning rate \u00d7{options.lr_scale:g}")
    return lines


def params_words(total: int, frozen: int) -> str:
    """`11,181,642 parameters`, or with some frozen `1,290 of 11,181,642 parameters train;
    11,180,352 frozen`."""
    if not frozen:
        return f"{total:,} parameter{'s' * (total != 1)}"
    return f"{total - frozen:,} of {total:,} parameters train; {frozen:,} frozen"


def upstream_with_weights(graph: Graph, node: str, has_weights: Callable[[str], bool]
                          ) -> list[str]:
    """The nodes before `node` (every path into it) that hold weights, in graph order: what
    "Freeze everything before this" freezes."""
    before = nx.ancestors(graph.nx, node)
    return [n for n in graph.nodes() if n in before and has_weights(n)]


def has_weights(graph: Graph, info_params: int, info_buffers: int, node: str) -> bool:
    """Whether freezing `node` means something: it holds weights or running statistics, or
    it is a block instance (whose inside may)."""
    return graph.type_of(node) == BLOCK or info_params > 0 or info_buffers > 0


def frozen_params(engine: EngineBase, outer: TrainOptions = USUAL) -> int:
    """How many of the engine's parameters are frozen (inside instances too, as each run of
    each instance has them); the rest train."""
    return _frozen(engine, outer)[0]


def frozen_layers(engine: EngineBase, outer: TrainOptions = USUAL) -> int:
    """How many layers with parameters are frozen (each run of each instance counted)."""
    return _frozen(engine, outer)[1]


def _frozen(engine: EngineBase, outer: TrainOptions) -> tuple[int, int]:
    """(frozen parameters, frozen layers holding parameters)."""
    params = layers = 0
    for info in engine.infos():
        options = node_options(engine.graph, info.node).inside(outer)
        if info.type == BLOCK:
            for run in engine.runs(info.node):
                inner = _frozen(run, options)
                params, layers = params + inner[0], layers + inner[1]
        elif options.frozen and info.params:
            params, layers = params + info.params, layers + 1
    return params, layers


def fresh_frozen_warning(layers: int) -> str:
    """What a run with frozen layers and no starting weights is told: they would keep
    their random weights for good."""
    what = "1 frozen layer starts" if layers == 1 else f"{layers:,} frozen layers start"
    return (f"{what} from new random weights: nothing of theirs will be learned; load "
            "starting weights or unfreeze them")
