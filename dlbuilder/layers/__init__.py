"""The layer declarations, registered explicitly: one LayerSpec per torch.nn-style type."""

from __future__ import annotations

from dlbuilder.core.registry import LayerSpec, Registry
from dlbuilder.layers import activation, conv, dense, io, merge, norm, pool, resize, split


def build_registry(*more: LayerSpec) -> Registry:
    """A registry of every declaration here, in palette order, then `more` (for tests that
    add a type the way a contributor would)."""
    registry = Registry()
    for module in (io, conv, pool, resize, norm, dense, activation, merge, split):
        for spec in module.SPECS:
            registry.register(spec)
    for spec in more:
        registry.register(spec)
    return registry


REGISTRY = build_registry()

__all__ = ["REGISTRY", "build_registry"]
