"""Where the editor is: the top-level graph, or a block definition opened from an instance.

The canvas shows one graph at a time. Opening an instance (double-click) shows its block's
definition, with the shapes and counts of the run of that very instance (its first repeat);
opening an instance inside that goes one level deeper. A `Scope` is what the views read: the
graph shown, the engine to read its numbers from, the definition's name and the trail of
instances that led there (the breadcrumb). The Document keeps only the instance ids of the
trail and rebuilds the Scope after every edit, because runs are evaluated anew when a
definition changes. Without Qt: plain data and a walk down the engines.
"""

from __future__ import annotations

from dataclasses import dataclass

from dlbuilder.core.blocks import BLOCK, BlockDef, instance_definition
from dlbuilder.core.engine_base import EngineBase
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine


@dataclass(frozen=True)
class Crumb:
    """One step of the trail: the instance opened and the block it places."""

    node: str
    block: str


@dataclass(frozen=True, eq=False)
class Scope:
    """What the canvas shows. `block` is None at the top level."""

    graph: Graph
    engine: EngineBase
    block: str | None
    trail: tuple[Crumb, ...]

    @property
    def path(self) -> tuple[str, ...]:
        """The instance ids from the top level down to the one opened."""
        return tuple(crumb.node for crumb in self.trail)

    def words(self, top_name: str) -> str:
        """`model > layer1 (Stage) > b0 (Basic)`: where this is, as the breadcrumb reads."""
        return " > ".join([top_name, *(f"{c.node} ({c.block})" for c in self.trail)])


def opened_block(graph: Graph, node: str) -> BlockDef | None:
    """The definition instance `node` of `graph` places, or None (not an instance, or an
    unknown block)."""
    if node not in graph or graph.type_of(node) != BLOCK:
        return None
    return instance_definition(graph, node)


def walk(top: InferenceEngine, path: tuple[str, ...]) -> Scope:
    """The scope at the end of `path` (instance ids, outermost first), as far as it still
    leads: a step whose instance is gone or no longer places a block ends the trail there.

    Each level reads the first run of the instance it came from; where that instance has no
    run (its inputs are not wired, or a problem stops it), the definition is evaluated on its
    own with its parameters' defaults and unknown input shapes, so it still shows and edits.
    """
    graph: Graph = top.graph
    engine: EngineBase = top
    trail: list[Crumb] = []
    for node in path:
        defn = opened_block(graph, node)
        if defn is None:
            break
        trail.append(Crumb(node, defn.name))
        runs = engine.runs(node) if node in engine.graph else []
        run = runs[0] if runs and getattr(runs[0], "defn", None) is defn else None
        engine = run if run is not None else _on_its_own(top, defn)
        graph = defn.graph
    block = trail[-1].block if trail else None
    return Scope(graph, engine, block, tuple(trail))


def _on_its_own(top: InferenceEngine, defn: BlockDef) -> EngineBase:
    """The definition evaluated without an instance: defaults, no input shapes."""
    run = top.blocks.run(defn, (), defn.defaults)
    if run is None:  # being evaluated: only while it contains itself, which loading refuses
        raise RuntimeError(f"block {defn.name} contains itself")
    return run
