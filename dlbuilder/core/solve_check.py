"""A solver's proposal tried on the whole file before it is shown.

The solver reads the layers between the Input and the node; a change there can still break
what lies elsewhere: the Add a convolution's output meets (its shortcut keeps the old size), or
another instance of the block the change goes into. `WholeFileCheck` applies a proposal to a
copy of the file, lets inference follow, and names the errors that were not there before.
"""

from __future__ import annotations

from dlbuilder.core.block_commands import InBlock
from dlbuilder.core.diagnostics import Diagnostic
from dlbuilder.core.fileformat import graph_from_dict, graph_to_dict
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.registry import Registry
from dlbuilder.core.solve_layer import Proposal, proposal_command


class WholeFileCheck:
    """Callable on a proposal: the errors it would add anywhere in the file ([] when none).
    `block` is the definition the proposal's nodes are in (None: the top-level graph)."""

    def __init__(self, top: Graph, registry: Registry, block: str | None = None) -> None:
        self.copy = graph_from_dict(graph_to_dict(top), registry)
        self.engine = InferenceEngine(self.copy, registry)
        self.block = block
        self.before = {_key(d) for d in self._errors()}

    def __call__(self, proposal: Proposal) -> list[Diagnostic]:
        command = proposal_command(proposal)
        if self.block is not None:
            command = InBlock(self.block, command)
        command.apply(self.copy)
        try:
            return [d for d in self._errors() if _key(d) not in self.before]
        finally:
            command.revert(self.copy)

    def _errors(self) -> list[Diagnostic]:
        return [d for d in self.engine.diagnostics() if d.severity == "error"]


def _key(diagnostic: Diagnostic) -> tuple:
    return diagnostic.node, diagnostic.code, diagnostic.inside
