"""A big graph for tests of how large networks open: ResNet-50 drawn with the existing layer
types (177 nodes), without any `ui` positions, as a hand-written or generated file would be."""

from __future__ import annotations

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
