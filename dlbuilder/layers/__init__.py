"""The layer declarations, registered explicitly: one LayerSpec per torch.nn-style type."""

from __future__ import annotations

from dlbuilder.core.registry import Registry
from dlbuilder.layers import activation, conv, dense, io, merge, norm, pool, resize

REGISTRY = Registry()
for _module in (io, conv, pool, resize, norm, dense, activation, merge):
    for _spec in _module.SPECS:
        REGISTRY.register(_spec)

__all__ = ["REGISTRY"]
