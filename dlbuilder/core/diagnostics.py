"""Problems found in a graph, and the remedies a shape rule can propose.

Shape rules are pure functions; when one cannot apply it raises `ShapeProblem` with a message
that quotes the numbers it received and, where a remedy exists, a `Remedy` (plain data). The
inference engine turns the problem into a `Diagnostic` bound to a node, and the remedy into a
`Fix` (plain data); fixes.py turns a fix into the core commands that apply it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

# "hint": advice (core/hints.py), quieter than a warning, never an error; a graph with only
# hints and warnings is fine to train and export.
Severity = Literal["error", "warning", "hint"]

# Stable codes: tools and tests key on these, so they never change meaning.
CODES = {
    "param_unknown": "a parameter the layer does not have",
    "param_missing": "a required parameter is not set",
    "param_type": "a parameter of the wrong type",
    "param_range": "a parameter out of its range",
    "param_choice": "a parameter that is not one of its choices",
    "param_conflict": "parameters that cannot be used together",
    "unknown_type": "a layer type the registry does not know",
    "no_input": "a node with no input connected",
    "too_few_inputs": "fewer inputs than the layer needs",
    "too_many_inputs": "more inputs than the layer takes",
    "unreachable": "a node not connected to the Input",
    "no_input_node": "the graph has no Input",
    "multiple_input_nodes": "the graph has more than one Input",
    "multiple_output_nodes": "the graph has more than one Output",
    "multiple_sinks": "several ends without an Output",
    "no_output": "no Output: the single end is the result",
    "unused_result": "a branch whose result nothing uses",
    "output_has_successors": "an Output that feeds other nodes",
    "wrong_rank": "an input of the wrong number of dimensions",
    "kernel_too_large": "a kernel larger than the padded input",
    "output_too_small": "a layer whose output would have no elements",
    "channels_groups": "channels not divisible by groups",
    "channels_mismatch": "a per-channel size that is not the input's channel count",
    "channels_upscale": "channels not divisible by the square of the upscale factor",
    "norm_shape_mismatch": "a normalized_shape that is not the input's trailing dimensions",
    "too_few_values": "a normalization over a single value",
    "mul_shape_mismatch": "Mul inputs whose shapes do not broadcast",
    "uneven_same_padding": "padding 'same' with an even kernel: uneven padding",
    "add_shape_mismatch": "Add inputs of different shapes",
    "concat_shape_mismatch": "Concat inputs that differ outside the joined dimension",
    "bad_dim": "a dimension index outside the tensor",
    "missing_output": "a wire from an output the layer does not have (Chunk gives fewer)",
    "softmax_before_cross_entropy": "Softmax right before a CrossEntropyLoss Output",
    "loss_shape": "an Output whose loss does not fit its input",
    "target_shape": "an autoencoder Output whose shape differs from the Input",
    "bad_reference": "a reference to block parameters that cannot be evaluated",
    "unknown_block": "an instance of a block the file does not define",
    "block_arguments": "an instance argument or repeat count that does not fit the block",
    "block_contains_itself": "a block that contains itself, directly or through others",
    "block_ports": "an instance wired to ports its block does not have",
    "block_repeat": "a repeated instance whose block does not chain (one input, one output)",
    "port_outside_block": "a BlockInput or BlockOutput outside any block",
    "block_no_ports": "a block without a BlockInput or without a BlockOutput",
    "layer_not_in_block": "an Input or Output inside a block, where ports belong",
    "internal_error": "a layer rule failed unexpectedly (a bug in dlbuilder)",
    # hints (severity "hint"): advice with its reason, each dismissable per node
    "dense_holds_most": "a Linear after Flatten that holds most of the parameters",
    "bias_before_batchnorm": "a bias right before BatchNorm, which cancels it",
    "dropout_before_batchnorm": "Dropout right before BatchNorm",
    "deep_plain_stack": "more than 20 convolutions in a row without a skip connection",
    "saturating_activation": "a sigmoid or tanh deep in a convolutional stack",
    "small_receptive_field": "a last convolution that sees less than half the input",
}


# Errors that only say a node waits for a wire (a half-built graph): views draw them calmly.
WAITING_CODES = frozenset({"no_input", "too_few_inputs", "unreachable"})


def shown_severity(problems: Iterable[tuple[str, str]]) -> str | None:
    """How a node's (severity, code) problems are shown: "error", "pending" (its only errors
    say it waits for a wire), "warning", "hint" (it has nothing but hints), or None. The
    diagnostics themselves stay errors."""
    severities: dict[str, set[str]] = {}
    for severity, code in problems:
        severities.setdefault(severity, set()).add(code)
    errors = severities.get("error", set())
    if errors - WAITING_CODES:
        return "error"
    if errors:
        return "pending"
    if "warning" in severities:
        return "warning"
    return "hint" if severities else None


@dataclass(frozen=True)
class ChangeParams:
    """Remedy: set (or with value None, remove) parameters of the node. (The command that
    does it is core/commands.SetParams; a remedy is only what a rule proposes.)"""

    changes: dict[str, Any]


@dataclass(frozen=True)
class InsertBefore:
    """Remedy: insert a new node of `type` between input `port` and the node, followed by the
    (type, params) pairs of `then` (a projection's BatchNorm)."""

    port: int
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    then: tuple[tuple[str, dict[str, Any]], ...] = ()


@dataclass(frozen=True)
class Bypass:
    """Remedy: remove `node` and connect its input straight to its successors."""

    node: str


@dataclass(frozen=True)
class Disconnect:
    """Remedy: remove the wire from the node to `dst`."""

    dst: str


@dataclass(frozen=True)
class Retype:
    """Remedy: make the node a `type` with `params`, keeping its id and wires (Sigmoid -> ReLU)."""

    type: str
    params: dict[str, Any] = field(default_factory=dict)


Remedy = ChangeParams | InsertBefore | Bypass | Disconnect | Retype


class ShapeProblem(Exception):
    """Raised by a shape rule that cannot apply to the shapes and parameters it received."""

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        remedy: Remedy | None = None,
        fix_label: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.remedy = remedy
        self.fix_label = fix_label


@dataclass(frozen=True)
class Fix:
    """A one-click remedy for `node`: a label for the button; plain data, so fixes compare equal.

    `fixes.fix_commands` builds its commands when it is applied, so new node ids are fresh.
    """

    label: str
    node: str
    remedy: Remedy
    block: str | None = None  # the definition `node` lives in (None: the top-level graph)


@dataclass(frozen=True)
class Diagnostic:
    node: str | None
    field: str | None
    severity: Severity
    code: str
    message: str
    fix: Fix | None = None
    # for a problem inside a block instance: the node ids from `node` (the instance in this
    # graph) down to the inner node that has the problem
    inside: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        entry = {
            "node": self.node,
            "field": self.field,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "fix": self.fix.label if self.fix else None,
        }
        if self.inside:
            entry["inside"] = list(self.inside)
        return entry

    def __str__(self) -> str:
        where = f"{self.node}" if self.node is not None else "graph"
        if self.field:
            where += f".{self.field}"
        return f"{self.severity}: {where}: {self.message} [{self.code}]"
