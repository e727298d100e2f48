"""Python identifiers from untrusted text: legal, unique, and never shadowing anything.

Node ids come from graph files that people share, so they may hold anything: quotes, newlines,
`__import__('os')`, keywords, non-ASCII letters. Every name the compiler and the code generator
use goes through a `Namespace`, which turns such text into a plain identifier and keeps it apart
from the names already taken. Nothing from a file ever reaches the code except through here.
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata

# Public attributes of torch.nn.Module (torch 2.13), written out because this module must not
# import torch. A submodule stored under one of these names would break the model; a test checks
# the list against the installed torch, and the compiler double-checks at run time.
MODULE_ATTRIBUTES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init",
    "children", "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr",
    "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule",
    "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers", "named_children",
    "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook",
    "register_state_dict_pre_hook", "requires_grad_", "set_extra_state", "set_submodule",
    "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "xpu",
    "zero_grad",
})

KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
# Names the generated file itself defines or imports.
MODULE_GLOBALS = frozenset({"torch", "nn", "F", "self", "cls"})
BUILTINS = frozenset(dir(builtins))

ATTRIBUTE_RESERVED = KEYWORDS | MODULE_ATTRIBUTES | MODULE_GLOBALS
LOCAL_RESERVED = KEYWORDS | BUILTINS | MODULE_GLOBALS

MAX_LENGTH = 48
_NOT_WORD = re.compile(r"[^0-9A-Za-z]+")


def is_plain_identifier(text: str) -> bool:
    """An ASCII identifier that is not a keyword and does not start with an underscore."""
    return (text.isascii() and text.isidentifier() and not text.startswith("_")
            and not keyword.iskeyword(text) and len(text) <= MAX_LENGTH)


def identifier_from(text: str, fallback: str) -> str:
    """A plain identifier derived from any text: `conv 1` -> `conv_1`, `Größe` -> `Grosse`.

    Accents are dropped (NFKD), every run of other characters becomes one underscore, and a
    name that would start with a digit or come out empty is prefixed with or replaced by
    `fallback` (itself a plain identifier, such as the layer type).
    """
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    name = _NOT_WORD.sub("_", folded.encode("ascii", "ignore").decode("ascii")).strip("_")
    name = name[:MAX_LENGTH].rstrip("_")
    if not name:
        return fallback
    if name[0].isdigit():
        return f"{fallback}_{name}"[:MAX_LENGTH].rstrip("_")
    return name


class Namespace:
    """Hands out unique identifiers, never one in `reserved` or already taken.

    `claim("conv")` gives `conv`, then `conv_2`, `conv_3`...; `release` frees a name so a later
    claim may reuse it (local variables whose value is no longer needed).
    """

    def __init__(self, reserved: frozenset[str]) -> None:
        self._reserved = reserved
        self._taken: set[str] = set()

    def is_free(self, name: str) -> bool:
        return name not in self._reserved and name not in self._taken

    def claim(self, text: str, fallback: str = "layer") -> str:
        base = text if is_plain_identifier(text) else identifier_from(text, fallback)
        if base in self._reserved:
            base = f"{base}_"
        name, n = base, 2
        while not self.is_free(name):
            name = f"{base}_{n}"
            n += 1
        self._taken.add(name)
        return name

    def release(self, name: str) -> None:
        self._taken.discard(name)


def comment_text(text: str, limit: int = 40) -> str:
    """Any text made safe for a `#` comment: printable ASCII only, one line, shortened."""
    shown = ascii(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


MODEL_CLASS = "Net"  # the generated model's class unless the user names another
