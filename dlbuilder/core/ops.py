"""Inline operations: the layers forward writes as an expression instead of a submodule call.

One entry per operation says everything the backend needs, so the plan, the code generator,
the compiler and the reference modules read the same definition:
- `write`: forward's expression, from the input variables and the arguments (the spec's
  `torch_args`), with `literal` turning each argument into Python source;
- `function`: the callable that computes it, named by dotted path (core never imports torch);
- `takes`: how the inputs reach that callable: "fold" applies it pairwise left to right
  (`x + a + b`), "list" passes them as one list (`torch.cat([x, a], dim=1)`), "first" passes the
  one input (`torch.flatten(x, 1)`); the arguments follow as keywords ("fold" takes none);
- `fork_name`: the local name the plan gives a copy a fork keeps for this operation
  (`shortcut` for a residual sum), or None to name it after what comes later;
- `symmetric`: the inputs may be reordered, so the running value goes first (`x = x + s`).

A layer spec names its operation with `op=`; LayerSpec refuses a name missing here when it is
declared, so an unknown operation fails at import, never at export. The callable may return a
tuple (a split such as torch.chunk): one value per output port.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Literalize = Callable[[Any], str]


@dataclass(frozen=True)
class InlineOp:
    name: str
    write: Callable[[Sequence[str], dict[str, Any], Literalize], str]
    function: str
    takes: Literal["fold", "list", "first"]
    fork_name: str | None = None
    symmetric: bool = False

    @property
    def imports_torch(self) -> bool:
        """Whether forward's text names `torch` (and the generated file must import it)."""
        return self.function.split(".")[0] == "torch"


def _write_sum(sources: Sequence[str], args: dict[str, Any], literal: Literalize) -> str:
    return " + ".join(sources)


def _write_product(sources: Sequence[str], args: dict[str, Any], literal: Literalize) -> str:
    return " * ".join(sources)


def _write_cat(sources: Sequence[str], args: dict[str, Any], literal: Literalize) -> str:
    return f"torch.cat([{', '.join(sources)}], dim={literal(args['dim'])})"


def _write_chunk(sources: Sequence[str], args: dict[str, Any], literal: Literalize) -> str:
    return f"torch.chunk({sources[0]}, {literal(args['chunks'])}, dim={literal(args['dim'])})"


def _write_flatten(sources: Sequence[str], args: dict[str, Any], literal: Literalize) -> str:
    dims = [args["start_dim"]] + ([args["end_dim"]] if args["end_dim"] != -1 else [])
    return f"torch.flatten({sources[0]}, {', '.join(literal(d) for d in dims)})"


OPS: dict[str, InlineOp] = {op.name: op for op in (
    InlineOp("add", _write_sum, "operator.add", "fold", fork_name="shortcut", symmetric=True),
    InlineOp("cat", _write_cat, "torch.cat", "list", fork_name="branch"),
    InlineOp("mul", _write_product, "operator.mul", "fold", symmetric=True),
    InlineOp("flatten", _write_flatten, "torch.flatten", "first"),
    InlineOp("chunk", _write_chunk, "torch.chunk", "first"),
)}


def inline_op(name: str) -> InlineOp:
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"unknown inline operation {name!r}; known: "
                       f"{', '.join(sorted(OPS))}") from None
