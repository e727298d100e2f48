"""Patterns of several ONNX nodes that are one layer of ours, found before the nodes are read:
x * sigmoid(x) is SiLU, x * tanh(softplus(x)) is Mish, MatMul + Add of a stored bias is a
Linear, and Reshape -> Transpose -> Reshape that swaps the two halves of (g, C/g) is
ShuffleNet's ChannelShuffle. The inner results must be used only inside the pattern.

Only the structure is checked here; the converter of the pattern's node reads its constants
(the Reshape targets, folded by then) and refuses it when they are not what it needs.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from dlbuilder.backend.importing.onnx_fold import attributes
from dlbuilder.backend.importing.onnx_nodes import Node

_SWAP_GROUPS = [0, 2, 1, 3, 4]  # (batch, g, C/g, H, W) -> (batch, C/g, g, H, W)

Found = tuple[Node, Any]  # a node as the importer reads it, and its ONNX proto


class _Graph:
    """The nodes with who makes each tensor and how often it is read."""

    def __init__(self, proto: Any) -> None:
        self.pairs = [(Node(p.name, p.op_type, list(p.input), list(p.output), attributes(p)), p)
                      for p in proto.node]
        self.producer = {out: pair for pair in self.pairs for out in pair[0].outputs}
        self.uses = Counter(name for node, _ in self.pairs for name in node.inputs)
        self.uses.update(o.name for o in proto.output)

    def inner(self, name: str, op: str) -> Found | None:
        """The node of type `op` that makes `name`, if only the pattern reads it."""
        found = self.producer.get(name)
        return found if found and found[0].op == op and self.uses[name] == 1 else None


def fused(proto: Any, consts: dict[str, Any]) -> list[Found]:
    """The graph's nodes in order, each pattern as one node in the place of its last."""
    graph = _Graph(proto)
    dropped: set[int] = set()
    out: list[Found] = []
    for node, p in graph.pairs:
        found = None
        if node.op == "Mul" and len(node.inputs) == 2:
            found = _gated(graph, node)
        elif node.op == "Add" and len(node.inputs) == 2:
            found = _linear(graph, node, consts)
        elif node.op == "Reshape":
            found = _shuffle(graph, node)
        if found:
            replacement, parts = found
            dropped.update(id(part[0]) for part in parts)
            out.append(replacement)
        else:
            out.append((node, p))
    return [(node, p) for node, p in out if id(node) not in dropped]


def _gated(graph: _Graph, node: Node) -> tuple[Found, list[Found]] | None:
    """x * sigmoid(x) as SiLU, x * tanh(softplus(x)) as Mish."""
    for x, gate in (node.inputs, node.inputs[::-1]):
        sig, tanh = graph.inner(gate, "Sigmoid"), graph.inner(gate, "Tanh")
        soft = graph.inner(tanh[0].inputs[0], "Softplus") if tanh else None
        if sig and sig[0].inputs[0] == x:
            return (Node(sig[0].name, "SiLU", [x], node.outputs, {}), sig[1]), [sig]
        if tanh and soft and soft[0].inputs[0] == x:
            return (Node(soft[0].name, "Mish", [x], node.outputs, {}), soft[1]), [tanh, soft]
    return None


def _linear(graph: _Graph, node: Node, consts: dict[str, Any]
            ) -> tuple[Found, list[Found]] | None:
    """MatMul by a stored matrix, then the Add of a stored bias, as one Gemm."""
    for x, bias in (node.inputs, node.inputs[::-1]):
        mm = graph.inner(x, "MatMul")
        if mm and bias in consts and mm[0].inputs[1] in consts:
            gemm = Node(mm[0].name, "Gemm", [mm[0].inputs[0], mm[0].inputs[1], bias],
                        node.outputs, {})
            return (gemm, mm[1]), [mm]
    return None


def _shuffle(graph: _Graph, node: Node) -> tuple[Found, list[Found]] | None:
    """Reshape to 5-D, swap dimensions 1 and 2, Reshape back: a ChannelShuffle whose inputs
    are the tensor and both Reshape targets."""
    swap = graph.inner(node.inputs[0], "Transpose")
    if not swap or list(swap[0].attrs.get("perm", [])) != _SWAP_GROUPS:
        return None
    grouped = graph.inner(swap[0].inputs[0], "Reshape")
    if not grouped or len(grouped[0].inputs) < 2 or len(node.inputs) < 2:
        return None
    shuffle = Node(grouped[0].name, "ChannelShuffle",
                   [grouped[0].inputs[0], grouped[0].inputs[1], node.inputs[1]], node.outputs,
                   {})
    return (shuffle, grouped[1]), [swap, grouped]
