"""ResNet-18 built from blocks, with torchvision's names, as the graph file's data (format
version 2), the file a user of blocks would save: a stem, `layer1` (BasicBlock repeated twice),
`layer2`...`layer4` (Stage instances) and the head. The block types: BasicBlock, BasicBlockDown
(with a `downsample` instance of Downsample, a Sequential-like block whose layers are `0` and
`1`) and Stage (BasicBlockDown as `0`, then BasicBlock repeated `blocks - 1` times as `1`).
Exported, its state_dict keys are torchvision's. (ResNet-50 from blocks: tests/big_graphs.py.)
"""

from __future__ import annotations

from typing import Any

from dlbuilder.core.blocks import BLOCK, BLOCK_INPUT, BLOCK_OUTPUT, BlockDef, ref
from dlbuilder.core.fileformat import graph_from_dict
from dlbuilder.core.graph import Graph
from dlbuilder.layers import REGISTRY

RESNET18_STAGES = (2, 2, 2, 2)
WIDTHS = (64, 128, 256, 512)


def _node(node: str, type_name: str, **params: Any) -> dict[str, Any]:
    return {"id": node, "type": type_name, **({"params": params} if params else {})}


def _conv(node: str, out: Any, kernel: int, stride: Any = 1) -> dict[str, Any]:
    return _node(node, "Conv2d", out_channels=out, kernel_size=kernel, stride=stride,
                 padding=kernel // 2, bias=False)


def _chain(ids: list[str]) -> list[dict[str, Any]]:
    return [{"from": a, "to": b} for a, b in zip(ids, ids[1:], strict=False)]


def _residual(name: str, project: bool) -> dict[str, Any]:
    convs = [_conv("conv1", ref("channels"), 3, ref("stride")),
             _conv("conv2", ref("channels"), 3)]
    path: list[dict[str, Any]] = []
    for i, conv in enumerate(convs, start=1):
        path += [conv, _node(f"bn{i}", "BatchNorm2d")]
        if i < len(convs):
            path.append(_node("relu" if i == 1 else f"relu{i}", "ReLU"))
    ids = ["x", *(n["id"] for n in path), "add", "out_relu", "y"]
    nodes = [_node("x", "BlockInput"), *path, _node("add", "Add"), _node("out_relu", "ReLU"),
             _node("y", "BlockOutput")]
    edges = _chain(ids)
    edges[len(path)]["to_port"] = 0
    shortcut = "x"
    if project:
        nodes.insert(-1, _node("downsample", "Block", block="Downsample",
                               channels=ref("channels"), stride=ref("stride")))
        edges.append({"from": "x", "to": "downsample"})
        shortcut = "downsample"
    edges.append({"from": shortcut, "to": "add", "to_port": 1})
    return {"name": name, "params": [{"name": "channels", "default": 64, "min": 1},
                                     {"name": "stride", "default": 1, "min": 1}],
            "nodes": nodes, "edges": edges}


def resnet18_blocks() -> dict[str, Any]:
    """The graph file's data (224x224 images, 1000 classes)."""
    plain = "BasicBlock"
    blocks = [
        _residual(plain, False), _residual(f"{plain}Down", True),
        {"name": "Downsample", "params": [{"name": "channels", "default": 64},
                                          {"name": "stride", "default": 1}],
         "nodes": [_node("x", "BlockInput"), _conv("0", ref("channels"), 1, ref("stride")),
                   _node("1", "BatchNorm2d"), _node("y", "BlockOutput")],
         "edges": _chain(["x", "0", "1", "y"])},
        {"name": "Stage", "params": [{"name": "channels", "default": 64},
                                     {"name": "stride", "default": 2},
                                     {"name": "blocks", "default": 2, "min": 2}],
         "nodes": [_node("x", "BlockInput"),
                   _node("0", "Block", block=f"{plain}Down", channels=ref("channels"),
                         stride=ref("stride")),
                   _node("1", "Block", block=plain, channels=ref("channels"),
                         repeat=ref("blocks - 1")),
                   _node("y", "BlockOutput")],
         "edges": _chain(["x", "0", "1", "y"])},
    ]
    nodes = [_node("input", "Input", shape=[3, 224, 224]), _conv("conv1", 64, 7, 2),
             _node("bn1", "BatchNorm2d"), _node("relu", "ReLU"),
             _node("maxpool", "MaxPool2d", kernel_size=3, stride=2, padding=1)]
    for i, (count, width) in enumerate(zip(RESNET18_STAGES, WIDTHS, strict=True), start=1):
        if i == 1:  # 64 channels in and out: no projection
            nodes.append(_node("layer1", "Block", block=plain, channels=width, repeat=count))
        else:
            nodes.append(_node(f"layer{i}", "Block", block="Stage", channels=width,
                               stride=2, blocks=count))
    nodes += [_node("avgpool", "AdaptiveAvgPool2d", output_size=1),
              _node("flatten", "Flatten"), _node("fc", "Linear", out_features=1000),
              _node("output", "Output")]
    return {"format": "dlbuilder.graph", "version": 2, "name": "resnet18", "blocks": blocks,
            "nodes": nodes, "edges": _chain([n["id"] for n in nodes])}


def resnet18_blocks_graph() -> Graph:
    return graph_from_dict(resnet18_blocks(), REGISTRY)


def depthwise_graph() -> Graph:
    """Two instances of a depthwise block (groups = the input's channels) on 4 and 8 channels."""
    inner = Graph("Depthwise")
    for node, type_name, params in (
            ("x", BLOCK_INPUT, {}),
            ("dw", "Conv2d", {"out_channels": ref("in_channels"), "kernel_size": 3,
                              "padding": 1, "groups": ref("in_channels")}),
            ("pw", "Conv2d", {"out_channels": ref("in_channels * 2"), "kernel_size": 1}),
            ("y", BLOCK_OUTPUT, {})):
        inner.add_node(node, type_name, params)
    for src, dst in (("x", "dw"), ("dw", "pw"), ("pw", "y")):
        inner.add_edge(src, dst)
    graph = Graph("depthwise")
    graph.add_block(BlockDef("Depthwise", (), inner))
    graph.add_node("in", "Input", {"shape": [4, 8, 8]})
    graph.add_node("a", BLOCK, {"block": "Depthwise"})
    graph.add_node("b", BLOCK, {"block": "Depthwise"})
    graph.add_edge("in", "a")
    graph.add_edge("a", "b")
    return graph
