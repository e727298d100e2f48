"""Design hints: advice that explains itself, quieter than a warning and never an error.

Each hint is a `Diagnostic` of severity "hint" with its reason and the user's numbers, and a
one-click `Fix` where an honest one exists. They are computed graph-wide when an engine gathers
its diagnostics (once per change), so an edit pays nothing until the views ask, and a block's
run computes its own, which the instance then reports (`inside`), as for any other problem.

A user can dismiss a hint on its node; the codes are kept in the file with the node
(`"dismissed": ["dense_holds_most"]`), and `dismiss` is an undoable command.

The hints:
- `dense_holds_most`: a dense layer right after a Flatten of a spatial map that came out of
  convolutions holds at least half the parameters. On the shipped examples it fires on
  lenet5's f5 (78%, true to the 1998 design the example reproduces) and digits_cnn's fc1 (86%):
  both really have it, and keep it, as the classic designs they teach.
- `bias_before_batchnorm`: a convolution or dense layer with a bias whose only consumer is a
  BatchNorm: the normalization subtracts the batch mean, so a constant per channel is removed
  again (digits_cnn's conv1 and mlp_mnist's fc1 have it: torch's default bias=True).
- `dropout_before_batchnorm`: Dropout feeding BatchNorm directly.
- `deep_plain_stack`: more than PLAIN_LIMIT convolutions in a row with no node where paths
  join (a skip connection: Add, Concat...).
- `saturating_activation`: a sigmoid or tanh on a feature map with at least DEEP convolutions
  before it and one after; one that only feeds nodes joining paths (an attention gate into
  Mul) is left alone, and so is a network's last activation (an autoencoder's sigmoid).
- `small_receptive_field`: the receptive field (core/receptive.py) of the last convolution
  (no convolution after it; a block instance that holds convolutions counts) spans less than
  half the input on a side: one of its values cannot see an object of half the image. Only at
  the top level, where fields are measured in input pixels (inside a block's run they are in
  the block's input), and only where a dense layer or global pooling later looks at the whole
  image (a classifier; an autoencoder's output maps are left alone). No shipped example has
  it (lenet5's c3 sees 14x14 of 28x28: half).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlbuilder.core.blocks import BLOCK, BLOCK_INPUT, placed_definition
from dlbuilder.core.diagnostics import (
    Bypass,
    ChangeParams,
    Diagnostic,
    Fix,
    InsertBefore,
    Retype,
)
from dlbuilder.core.graph import Graph, GraphError
from dlbuilder.core.registry import format_shape, prod

EngineBase = Any  # core/engine_base.EngineBase, which gathers its diagnostics from here

HINT_CODES = ("dense_holds_most", "bias_before_batchnorm", "dropout_before_batchnorm",
              "deep_plain_stack", "saturating_activation", "small_receptive_field")
MOST = 0.5          # share of all parameters a dense layer "holds most" from
PLAIN_LIMIT = 20    # convolutions in a row without a skip connection that train poorly
DEEP = 3            # convolutions before an activation for it to sit "deep" in the stack
GLOBAL_POOL = "AdaptiveAvgPool2d"   # the fixes' layer types (named, never compared)
NON_SATURATING = "ReLU"


def hints(engine: EngineBase) -> list[Diagnostic]:
    """Every hint on the engine's graph, in topological order, less those dismissed."""
    graph, registry = engine.graph, engine.registry
    infos = engine.infos()
    # a block's run does not know what came before its instance: its input is taken to come
    # from a convolution (the usual block of a CNN), so a block of Flatten and Linear advises
    # as the same layers do outside it
    depth, plain = conv_counts(engine, start_depth=1 if engine.env is not None else 0)
    found: list[Diagnostic] = []
    total = sum(i.params for i in infos)
    after, reach = _downstream(engine, [i.node for i in infos], depth, plain)
    image = _input_image(engine) if engine.env is None else None
    pooled = _pooled_later(engine, infos) if image is not None else set()
    for info in infos:
        node, kind = info.node, info.type
        if info.output_shape is None:
            continue
        if registry.has_trait(kind, "dense"):
            found += _dense_holds_most(engine, node, total, depth)
        elif registry.has_trait(kind, "batch_norm"):
            found += _bias_before_batchnorm(engine, node)
        elif registry.has_trait(kind, "dropout"):
            found += _dropout_before_batchnorm(engine, node)
        elif registry.has_trait(kind, "saturating"):
            found += _saturating(engine, node, depth, after)
        found += _deep_plain(engine, node, plain, reach)
        if node in pooled and after[node] == 0 and info.receptive is not None:
            found += _small_receptive_field(engine, node, depth, image)
    return [d for d in found if d.code not in graph.dismissed(d.node)]


# -- counting convolutions -----------------------------------------------------------------
def conv_counts(engine: EngineBase, start_depth: int = 0, start_plain: int = 0
                ) -> tuple[dict[str, int], dict[str, int]]:
    """For each node: the most convolutions on a path from the input to it (`depth`), and
    the most since the last node where paths join (`plain`). A block instance counts the
    convolutions of its runs, a BlockInput starts from the given counts."""
    graph, registry = engine.graph, engine.registry
    pred = graph.nx.pred  # the order of a node's inputs does not matter here
    depth: dict[str, int] = {}
    plain: dict[str, int] = {}
    for info in engine.infos():
        node = info.node
        sources = list(pred[node])
        d = max((depth[s] for s in sources), default=0)
        p = plain[sources[0]] if len(sources) == 1 else 0
        if info.type == BLOCK_INPUT:
            d, p = start_depth, start_plain
        elif info.type == BLOCK:
            for run in engine.runs(node):
                d, p = _through_run(run, d, p)
        elif registry.has_trait(info.type, "convolution"):
            d, p = d + 1, p + 1
        depth[node], plain[node] = d, p
    return depth, plain


def _through_run(run: EngineBase, d: int, p: int) -> tuple[int, int]:
    """The counts leaving one run of a block that they entered with."""
    inner_depth, inner_plain = conv_counts(run, d, p)
    outs = run.defn.ports()[1]  # type: ignore[attr-defined]
    return (max((inner_depth[n] for n in outs), default=d),
            max((inner_plain[n] for n in outs), default=0))


def _downstream(engine: EngineBase, order: list[str], depth: dict[str, int],
                plain: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """For each node: how many convolutions follow it on the longest path (`after`), and the
    most `plain` any node reaches that continues its run without a join (`reach`)."""
    succs, pred = engine.graph.nx.succ, engine.graph.nx.pred
    after: dict[str, int] = {}
    reach: dict[str, int] = {}
    for node in reversed(order):
        best_after, best_reach = 0, plain[node]
        for succ in succs[node]:
            if succ not in depth:
                continue
            best_after = max(best_after, depth[succ] - depth[node] + after[succ])
            if len(pred[succ]) == 1:
                best_reach = max(best_reach, reach[succ])
        after[node], reach[node] = best_after, best_reach
    return after, reach


# -- the hints -----------------------------------------------------------------------------
def _hint(node: str, code: str, message: str, fix: Fix | None = None) -> Diagnostic:
    return Diagnostic(node, None, "hint", code, message, fix)


def _only_input(engine: EngineBase, node: str) -> str | None:
    sources = engine.graph.nx.pred[node]
    return next(iter(sources)) if len(sources) == 1 else None


def _dense_holds_most(engine: EngineBase, node: str, total: int, depth: dict[str, int]
                      ) -> list[Diagnostic]:
    flatten = _only_input(engine, node)
    if flatten is None or not engine.registry.has_trait(engine.graph.type_of(flatten),
                                                       "flatten"):
        return []
    source = _only_input(engine, flatten)
    shapes = engine.input_shapes(flatten)
    info = engine.info(node)
    if (source is None or not shapes or shapes[0] is None or len(shapes[0]) != 3
            or prod(shapes[0][1:]) == 1 or depth.get(source, 0) == 0 or total == 0
            or info.params < MOST * total):
        return []
    shape, out = shapes[0], info.output_shape
    p = engine.checked_params(node) or {}
    pooled = shape[0] * out[0] + (out[0] if p.get("bias", True) else 0)
    share = info.params / total
    message = (
        f"{node} holds {share:.0%} of the parameters ({info.params:,} of {total:,}): it joins "
        f"all {prod(shape):,} values of the flattened {format_shape(shape)} map to each of its "
        f"{out[0]:,} outputs. Global average pooling first ({format_shape(shape)} -> "
        f"{shape[0]}) would leave it {pooled:,}, and the network would not care where in the "
        "image a feature is")
    fix = Fix(f"Average-pool to 1x1 before {flatten} ({node}: {info.params:,} -> "
              f"{pooled:,} parameters)", flatten,
              InsertBefore(0, GLOBAL_POOL, {"output_size": [1, 1]}))
    return [_hint(node, "dense_holds_most", message, fix)]


def _bias_before_batchnorm(engine: EngineBase, node: str) -> list[Diagnostic]:
    graph, registry = engine.graph, engine.registry
    source = _only_input(engine, node)
    if source is None or graph.outputs(source) != [node]:
        return []
    kind = graph.type_of(source)
    p = engine.checked_params(source)
    if not (registry.has_trait(kind, "convolution") or registry.has_trait(kind, "dense")) \
            or p is None or not p.get("bias"):
        return []
    channels = (engine.info(source).output_shape or (0,))[0]
    unit = "channel" if registry.has_trait(kind, "convolution") else "feature"
    message = (
        f"{source}'s bias is wasted: {node} right after it subtracts each {unit}'s mean over "
        f"the batch, which removes any constant {source} adds, then adds its own learned shift; "
        f"bias=False saves {channels:,} parameters and changes nothing else")
    fix = Fix(f"Set bias = False on {source}", source, ChangeParams({"bias": False}))
    return [_hint(source, "bias_before_batchnorm", message, fix)]


def _dropout_before_batchnorm(engine: EngineBase, node: str) -> list[Diagnostic]:
    graph = engine.graph
    targets = graph.outputs(node)
    if len(targets) != 1 or not engine.registry.has_trait(graph.type_of(targets[0]),
                                                         "batch_norm"):
        return []
    norm = targets[0]
    message = (
        f"{node} feeds {norm} directly: while training, {norm} learns its statistics from "
        "values with some zeroed (and the rest scaled up), but at test time dropout is off and "
        f"the values differ from what it learned (a variance shift). Put dropout after {norm} "
        "(just before the dense layers is the usual place), or drop it: BatchNorm regularizes "
        "on its own")
    return [_hint(node, "dropout_before_batchnorm", message,
                  Fix(f"Remove {node}", node, Bypass(node)))]


def _deep_plain(engine: EngineBase, node: str, plain: dict[str, int], reach: dict[str, int]
                ) -> list[Diagnostic]:
    count = plain[node]
    if count <= PLAIN_LIMIT:
        return []
    before = max((plain[s] for s in engine.graph.nx.pred[node]), default=0)
    if count <= PLAIN_LIMIT or count <= before or reach[node] > count:
        return []
    message = (
        f"{count} convolutions in a row end at {node}, with no skip connection between them: "
        f"plain stacks deeper than about {PLAIN_LIMIT} train worse than shallower ones, even on "
        "the training data (the degradation problem). Residual shortcuts (add each few layers' "
        "input to their output, as ResNet does) let the gradient through")
    return [_hint(node, "deep_plain_stack", message)]


def _saturating(engine: EngineBase, node: str, depth: dict[str, int], after: dict[str, int]
                ) -> list[Diagnostic]:
    graph = engine.graph
    shapes = engine.input_shapes(node)
    targets = graph.outputs(node)
    gate = bool(targets) and all(len(graph.inputs(t)) > 1 for t in targets)
    if (not shapes or shapes[0] is None or len(shapes[0]) != 3 or depth[node] < DEEP
            or after[node] == 0 or gate):
        return []
    kind = graph.type_of(node)
    spec, p = engine.registry.get(kind), engine.checked_params(node) or {}
    slope = spec.curve(0.0, p)[1] if spec.curve is not None else 1.0  # steepest at 0
    message = (
        f"{node} ({kind}) sits deep in the convolutional stack ({depth[node]} convolutions "
        f"before it, {after[node]} after): its slope is at most {slope:g} and nearly 0 for "
        "large inputs, so the "
        "gradient shrinks on its way back to the layers before it (vanishing gradients). "
        "ReLU keeps slope 1 for every positive input")
    fix = Fix(f"Make {node} a {NON_SATURATING}", node, Retype(NON_SATURATING))
    return [_hint(node, "saturating_activation", message, fix)]


def _input_image(engine: EngineBase) -> tuple[int, ...] | None:
    """The spatial size of the graph's one Input (None: none, several, or not spatial)."""
    inputs = [i for i in engine.infos()
              if engine.registry.role_of(i.type) == "input" and i.output_shape is not None]
    if len(inputs) != 1 or len(inputs[0].output_shape) < 2:
        return None
    return tuple(inputs[0].output_shape[1:])


def _pooled_later(engine: EngineBase, infos: list) -> set[str]:
    """The nodes after which the network looks at the whole image at once (a dense layer or
    a global pooling later sees every pixel): a classifier's maps, not an autoencoder's."""
    succ = engine.graph.nx.succ
    pooled: set[str] = set()
    for info in reversed(infos):
        field = info.receptive
        if (field is not None and field.whole) or any(s in pooled for s in succ[info.node]):
            pooled.add(info.node)
    return pooled


def _small_receptive_field(engine: EngineBase, node: str, depth: dict[str, int],
                           image: tuple[int, ...]) -> list[Diagnostic]:
    field = engine.info(node).receptive
    before = max((depth[s] for s in engine.graph.nx.pred[node]), default=0)
    if (depth[node] <= before or field.whole or len(field.size) != len(image)
            or all(2 * size >= side for size, side in zip(field.size, image, strict=True))):
        return []
    seen, whole = format_shape(field.size), format_shape(image)
    message = (
        f"{node} is the last convolution, and one of its outputs sees {seen} pixels of the "
        f"{whole} input (its receptive field), less than half of it: an object that fills "
        "half the image never lies inside what one value sees, so the layers after it must "
        "piece it together from parts. More depth, or stride (a stride-2 layer doubles what "
        "every later kernel adds), widens it")
    return [_hint(node, "small_receptive_field", message)]


# -- dismissal -----------------------------------------------------------------------------
@dataclass
class SetDismissed:
    """Dismiss (or, with `dismiss` False, show again) the hint `code` on `node`."""

    node: str
    code: str
    dismiss: bool = True
    _old: tuple[str, ...] | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return f"{'Dismiss' if self.dismiss else 'Show'} the hint {self.code} on {self.node}"

    def apply(self, graph: Graph) -> None:
        self._old = graph.dismissed(self.node)
        kept = tuple(c for c in self._old if c != self.code)
        graph.set_dismissed(self.node, (*kept, self.code) if self.dismiss else kept)

    def revert(self, graph: Graph) -> None:
        assert self._old is not None, "SetDismissed reverted before it was applied"
        graph.set_dismissed(self.node, self._old)


def dismiss(graph: Graph, diagnostic: Diagnostic, show: bool = False) -> Any:
    """The command that dismisses `diagnostic` (a hint) where it lives: on its node, or for
    one inside a block (`inside`), on the layer in the block's definition, for every instance
    (core.block_commands.InBlock). With `show`, the command that shows it again."""
    from dlbuilder.core.block_commands import InBlock  # it builds on commands, as we do

    if diagnostic.node is None:
        raise GraphError("only a hint on a node can be dismissed")
    command = SetDismissed((diagnostic.inside or (diagnostic.node,))[-1], diagnostic.code,
                           not show)
    container: str | None = None
    current = graph
    for step in diagnostic.inside[:-1]:
        defn = placed_definition(current.blocks, current.raw_params(step))
        if defn is None:
            raise GraphError(f"{step} places no block this file defines")
        container, current = defn.name, defn.graph
    return command if container is None else InBlock(container, command)


def dismissed_hints(graph: Graph) -> list[tuple[str, str]]:
    """(node, code) of every hint dismissed in `graph` (the top level, not inside blocks)."""
    return [(node, code) for node in graph.nodes() for code in graph.dismissed(node)]
