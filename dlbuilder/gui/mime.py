"""MIME types the editor's drags and clipboard use."""

LAYER_MIME = "application/x-dlbuilder-layer"   # a palette drag: the layer type name, UTF-8
NODES_MIME = "application/x-dlbuilder-nodes"   # copied nodes: a JSON fragment (see core/fragment)
BLOCK_MIME = "application/x-dlbuilder-block"   # a palette drag of a block: {"source", "name"}
