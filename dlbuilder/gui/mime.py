"""MIME types the editor's drags and clipboard use."""

from __future__ import annotations

import json

from PySide6.QtCore import QMimeData

LAYER_MIME = "application/x-dlbuilder-layer"   # a palette drag: the layer type name, UTF-8
NODES_MIME = "application/x-dlbuilder-nodes"   # copied nodes: a JSON fragment (see core/fragment)
BLOCK_MIME = "application/x-dlbuilder-block"   # a palette drag of a block: {"source", "name"}


def read_block_drag(data: QMimeData) -> tuple[str, str] | None:
    """(shelf, block name) of a palette drag of a block, or None when it carries none (or
    something unreadable)."""
    if not data.hasFormat(BLOCK_MIME):
        return None
    try:
        entry = json.loads(bytes(data.data(BLOCK_MIME).data()).decode("utf-8"))
        source, name = entry["source"], entry["name"]
    except (ValueError, TypeError, KeyError):
        return None
    return (source, name) if isinstance(source, str) and isinstance(name, str) else None
