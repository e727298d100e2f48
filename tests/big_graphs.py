"""Big graphs for tests of how large networks open: ResNet-50 drawn with the existing layer
types (177 nodes), without any `ui` positions, as a hand-written or generated file would be; and
the same network from blocks (13 top-level cards)."""

from __future__ import annotations

from dlbuilder.core.blocks import BLOCK, BLOCK_INPUT, BLOCK_OUTPUT, BlockDef, BlockParam, ref
from dlbuilder.core.graph import Graph

# torchvision's ResNet-50: bottleneck blocks per stage and each stage's inner width.
STAGES = ((3, 64), (4, 128), (6, 256), (3, 512))
EXPANSION = 4
RESNET50_NODES = 177


class _Builder:
    def __init__(self) -> None:
        self.graph = Graph("resnet50")
        self.counts: dict[str, int] = {}

    def add(self, type_name: str, params: dict, *inputs: str) -> str:
        prefix = type_name.lower()
        self.counts[prefix] = self.counts.get(prefix, 0) + 1
        node = f"{prefix}{self.counts[prefix]}"
        self.graph.add_node(node, type_name, params)
        for src in inputs:
            self.graph.add_edge(src, node)
        return node

    def conv_bn(self, x: str, channels: int, kernel: int, stride: int = 1) -> str:
        conv = self.add("Conv2d", {"out_channels": channels, "kernel_size": kernel,
                                   "stride": stride, "padding": kernel // 2, "bias": False}, x)
        return self.add("BatchNorm2d", {}, conv)

    def bottleneck(self, x: str, width: int, stride: int, project: bool) -> str:
        y = self.add("ReLU", {}, self.conv_bn(x, width, 1))
        y = self.add("ReLU", {}, self.conv_bn(y, width, 3, stride))
        y = self.conv_bn(y, width * EXPANSION, 1)
        shortcut = self.conv_bn(x, width * EXPANSION, 1, stride) if project else x
        return self.add("ReLU", {}, self.add("Add", {}, y, shortcut))


def resnet50_graph() -> Graph:
    """ResNet-50 for 3x224x224 images and 1000 classes, no node holding a position."""
    b = _Builder()
    x = b.add("Input", {"shape": [3, 224, 224]})
    x = b.add("ReLU", {}, b.conv_bn(x, 64, 7, 2))
    x = b.add("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, x)
    for stage, (blocks, width) in enumerate(STAGES):
        for block in range(blocks):
            stride = 2 if block == 0 and stage > 0 else 1
            x = b.bottleneck(x, width, stride, project=block == 0)
    x = b.add("Flatten", {}, b.add("AdaptiveAvgPool2d", {"output_size": 1}, x))
    b.add("Output", {}, b.add("Linear", {"out_features": 1000}, x))
    return b.graph


# -- the same network from blocks -------------------------------------------------------------
def _conv(width: str, kernel: int, stride: str | int = 1) -> dict:
    return {"out_channels": ref(width), "kernel_size": kernel, "padding": kernel // 2,
            "stride": ref(stride) if isinstance(stride, str) else stride, "bias": False}


def _block(graph: Graph, name: str, params: tuple[BlockParam, ...],
           layers: list[tuple[str, str, dict, tuple[str, ...]]]) -> None:
    """Add a definition: `layers` are (id, type, params, inputs); "x" is its BlockInput and
    the last layer feeds its BlockOutput."""
    inner = Graph(name)
    inner.add_node("x", BLOCK_INPUT)
    for node, type_name, p, inputs in layers:
        inner.add_node(node, type_name, p)
        for src in inputs:
            inner.add_edge(src, node)
    inner.add_node("y", BLOCK_OUTPUT)
    inner.add_edge(layers[-1][0], "y")
    graph.add_block(BlockDef(name, params, inner))


def _bottleneck_layers(shortcut: str) -> list[tuple[str, str, dict, tuple[str, ...]]]:
    return [
        ("conv1", "Conv2d", _conv("channels", 1), ("x",)),
        ("bn1", "BatchNorm2d", {}, ("conv1",)), ("relu1", "ReLU", {}, ("bn1",)),
        ("conv2", "Conv2d", _conv("channels", 3, "stride"), ("relu1",)),
        ("bn2", "BatchNorm2d", {}, ("conv2",)), ("relu2", "ReLU", {}, ("bn2",)),
        ("conv3", "Conv2d", _conv(f"channels * {EXPANSION}", 1), ("relu2",)),
        ("bn3", "BatchNorm2d", {}, ("conv3",)),
        ("add", "Add", {}, ("bn3", shortcut)), ("relu", "ReLU", {}, ("add",)),
    ]


def resnet50_blocks_graph() -> Graph:
    """ResNet-50 from blocks with torchvision's module names: Bottleneck (identity shortcut),
    BottleneckDown (projected shortcut, a `downsample` Projection of layers "0" and "1") and a
    Stage of one BottleneckDown ("0") then Bottleneck repeated ("1"); 13 top-level cards."""
    channels, stride = BlockParam("channels", 64, 1), BlockParam("stride", 1, 1, 4)
    graph = Graph("resnet50_blocks")
    _block(graph, "Projection", (channels, stride), [
        ("0", "Conv2d", _conv(f"channels * {EXPANSION}", 1, "stride") | {"padding": 0},
         ("x",)),
        ("1", "BatchNorm2d", {}, ("0",))])
    _block(graph, "Bottleneck", (channels,), [
        (n, t, {k: v for k, v in p.items() if k != "stride"}, i)
        for n, t, p, i in _bottleneck_layers("x")])
    _block(graph, "BottleneckDown", (channels, stride), [
        ("downsample", BLOCK, {"block": "Projection", "channels": ref("channels"),
                               "stride": ref("stride")}, ("x",)),
        *_bottleneck_layers("downsample")])
    _block(graph, "Stage", (channels, stride, BlockParam("blocks", 2, 2)), [
        ("0", BLOCK, {"block": "BottleneckDown", "channels": ref("channels"),
                      "stride": ref("stride")}, ("x",)),
        ("1", BLOCK, {"block": "Bottleneck", "channels": ref("channels"),
                      "repeat": ref("blocks - 1")}, ("0",))])
    g = graph
    chain = [("in", "Input", {"shape": [3, 224, 224]}),
             ("conv1", "Conv2d", {"out_channels": 64, "kernel_size": 7, "stride": 2,
                                  "padding": 3, "bias": False}),
             ("bn1", "BatchNorm2d", {}), ("relu", "ReLU", {}),
             ("maxpool", "MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1})]
    chain += [(f"layer{i + 1}", BLOCK, {"block": "Stage", "channels": width,
                                        "stride": 1 if i == 0 else 2, "blocks": blocks})
              for i, (blocks, width) in enumerate(STAGES)]
    chain += [("avgpool", "AdaptiveAvgPool2d", {"output_size": 1}), ("flatten", "Flatten", {}),
              ("fc", "Linear", {"out_features": 1000}), ("out", "Output", {})]
    for i, (node, type_name, p) in enumerate(chain):
        g.add_node(node, type_name, p)
        if i:
            g.add_edge(chain[i - 1][0], node)
    return g
