"""torchvision's vision networks drawn with dlbuilder's layers, node by node.

Each builder returns a Graph whose parameter count equals torchvision's published `num_params`
(the architecture facts: channels, kernels, strides, block counts; no torchvision code). Nodes
are added in the order torchvision registers its modules, so weights can be copied across one
layer at a time (tests/zoo_torchvision.py). `mobilenet_v2()` is the flat twin of the shipped
example examples/mobilenet_v2.json, which is built from blocks: both have the same numbers.
Write a builder's graph to a file (its name picks the builder) with

    PYTHONPATH=. python tests/zoo.py /tmp/mobilenet_v3_small.json
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from dlbuilder.core.fileformat import save_graph
from dlbuilder.core.graph import Graph
from dlbuilder.core.layout import layout_for_view

# torchvision's published parameter counts (the `num_params` of each model's weights)
PUBLISHED = {
    "mobilenet_v2": 3_504_872,
    "mobilenet_v3_small": 2_542_856,
    "mobilenet_v3_large": 5_483_032,
    "efficientnet_b0": 5_288_548,
    "regnet_y_400mf": 4_344_144,
    "shufflenet_v2_x1_0": 2_278_604,
}
VIEW = (1000, 640)  # the layout suits the canvas of a 1600x1000 window

# MobileNetV3 keeps BatchNorm's running statistics slower than the default
_BN_V3 = {"eps": 0.001, "momentum": 0.01}


def make_divisible(value: float, divisor: int = 8) -> int:
    """A channel count rounded to a multiple of `divisor`, never more than 10% below."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class Net:
    """A graph grown from its Input: `add` wires a node after the last one (or after the given
    sources); `channels` follows the image's channel count. `last` may name an output port:
    (a Chunk, 1) is its second piece."""

    def __init__(self, name: str, shape: tuple[int, int, int] = (3, 224, 224)) -> None:
        self.graph = Graph(name)
        self.graph.add_node("input", "Input", {"shape": list(shape)})
        self.last: str | tuple[str, int] = "input"
        self.channels = shape[0]

    def add(self, node: str, type_name: str, params: dict[str, Any] | None = None,
            *sources: str | tuple[str, int]) -> str:
        """Add `node` after `sources` (default: the last node); a source (node, n) is that
        node's output port n (a piece of a Chunk)."""
        self.graph.add_node(node, type_name, params or {})
        for src in sources or (self.last,):
            name, port = src if isinstance(src, tuple) else (src, 0)
            self.graph.add_edge(name, node, from_port=port)
        self.last = node
        return node

    def conv_bn(self, prefix: str, out: int, kernel: int = 1, stride: int = 1,
                groups: int = 1, act: str | None = "ReLU", bn: dict[str, Any] | None = None
                ) -> str:
        """Conv2d (no bias, 'same'-style padding) -> BatchNorm2d -> the activation, if any."""
        params: dict[str, Any] = {"out_channels": out, "kernel_size": kernel}
        if stride != 1:
            params["stride"] = stride
        if kernel > 1:
            params["padding"] = (kernel - 1) // 2
        if groups != 1:
            params["groups"] = groups
        params["bias"] = False
        self.add(f"{prefix}_conv", "Conv2d", params)
        self.add(f"{prefix}_bn", "BatchNorm2d", dict(bn or {}))
        if act is not None:
            self.add(f"{prefix}_{act.lower()}", act)
        self.channels = out
        return self.last

    def squeeze_excite(self, prefix: str, squeeze: int, act: str, gate: str) -> str:
        """Global average pool -> 1x1 conv down -> act -> 1x1 conv up -> gate, times the input."""
        features, channels = self.last, self.channels
        self.add(f"{prefix}_pool", "AdaptiveAvgPool2d", {"output_size": 1})
        self.add(f"{prefix}_fc1", "Conv2d", {"out_channels": squeeze, "kernel_size": 1})
        self.add(f"{prefix}_{act.lower()}", act)
        self.add(f"{prefix}_fc2", "Conv2d", {"out_channels": channels, "kernel_size": 1})
        gate_node = self.add(f"{prefix}_{gate.lower()}", gate)
        return self.add(f"{prefix}_scale", "Mul", {}, features, gate_node)

    def residual(self, prefix: str, shortcut: str) -> str:
        return self.add(f"{prefix}_add", "Add", {}, shortcut, self.last)

    def classifier(self, hidden: list[tuple[int, str | None]], dropout: float | None,
                   classes: int = 1000) -> Graph:
        """Global average pool, Flatten, then Linear layers (an activation after the hidden
        ones), Dropout before the last (unless None), and the Output; laid out for VIEW."""
        self.add("pool", "AdaptiveAvgPool2d", {"output_size": 1})
        self.add("flatten", "Flatten")
        for i, (width, act) in enumerate(hidden, start=1):
            self.add(f"fc{i}", "Linear", {"out_features": width})
            if act:
                self.add(f"fc{i}_{act.lower()}", act)
        if dropout is not None:
            self.add("dropout", "Dropout", {"p": dropout})
        self.add("fc" if not hidden else f"fc{len(hidden) + 1}", "Linear",
                 {"out_features": classes})
        self.add("output", "Output")
        for node, (x, y) in layout_for_view(self.graph, *VIEW).items():
            self.graph.set_ui(node, {"x": x, "y": y})
        return self.graph


# -- MobileNetV2 ------------------------------------------------------------------------------
# (expansion t, output channels c, blocks n, first stride s)
_V2_STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
              (6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenet_v2() -> Graph:
    net = Net("mobilenet_v2")
    net.conv_bn("stem", 32, 3, 2, act="ReLU6")
    block = 0
    for t, c, n, s in _V2_STAGES:
        for i in range(n):
            block += 1
            stride = s if i == 0 else 1
            start, cin = net.last, net.channels
            name = f"block{block}"
            if t != 1:
                net.conv_bn(f"{name}_expand", cin * t, act="ReLU6")
            net.conv_bn(f"{name}_dw", net.channels, 3, stride, groups=net.channels,
                        act="ReLU6")
            net.conv_bn(f"{name}_project", c, act=None)
            if stride == 1 and cin == c:
                net.residual(name, start)
    net.conv_bn("head", 1280, act="ReLU6")
    return net.classifier([], 0.2)


# -- MobileNetV3 ------------------------------------------------------------------------------
# (kernel, expanded channels, output channels, squeeze-and-excite, activation, stride)
_V3_LARGE = [
    (3, 16, 16, False, "ReLU", 1), (3, 64, 24, False, "ReLU", 2),
    (3, 72, 24, False, "ReLU", 1), (5, 72, 40, True, "ReLU", 2),
    (5, 120, 40, True, "ReLU", 1), (5, 120, 40, True, "ReLU", 1),
    (3, 240, 80, False, "Hardswish", 2), (3, 200, 80, False, "Hardswish", 1),
    (3, 184, 80, False, "Hardswish", 1), (3, 184, 80, False, "Hardswish", 1),
    (3, 480, 112, True, "Hardswish", 1), (3, 672, 112, True, "Hardswish", 1),
    (5, 672, 160, True, "Hardswish", 2), (5, 960, 160, True, "Hardswish", 1),
    (5, 960, 160, True, "Hardswish", 1),
]
_V3_SMALL = [
    (3, 16, 16, True, "ReLU", 2), (3, 72, 24, False, "ReLU", 2),
    (3, 88, 24, False, "ReLU", 1), (5, 96, 40, True, "Hardswish", 2),
    (5, 240, 40, True, "Hardswish", 1), (5, 240, 40, True, "Hardswish", 1),
    (5, 120, 48, True, "Hardswish", 1), (5, 144, 48, True, "Hardswish", 1),
    (5, 288, 96, True, "Hardswish", 2), (5, 576, 96, True, "Hardswish", 1),
    (5, 576, 96, True, "Hardswish", 1),
]


def mobilenet_v3(size: str) -> Graph:
    """`size` "large" or "small"."""
    blocks, last = (_V3_LARGE, 1280) if size == "large" else (_V3_SMALL, 1024)
    net = Net(f"mobilenet_v3_{size}")
    net.conv_bn("stem", 16, 3, 2, act="Hardswish", bn=_BN_V3)
    for i, (kernel, expanded, out, se, act, stride) in enumerate(blocks, start=1):
        start, cin, name = net.last, net.channels, f"block{i}"
        if expanded != cin:
            net.conv_bn(f"{name}_expand", expanded, act=act, bn=_BN_V3)
        net.conv_bn(f"{name}_dw", expanded, kernel, stride, groups=expanded, act=act, bn=_BN_V3)
        if se:
            net.squeeze_excite(f"{name}_se", make_divisible(expanded // 4), "ReLU",
                               "Hardsigmoid")
        net.conv_bn(f"{name}_project", out, act=None, bn=_BN_V3)
        if stride == 1 and cin == out:
            net.residual(name, start)
    net.conv_bn("head", 6 * net.channels, act="Hardswish", bn=_BN_V3)
    return net.classifier([(last, "Hardswish")], 0.2)


# -- EfficientNet-B0 --------------------------------------------------------------------------
# (expansion, kernel, first stride, output channels, blocks)
_B0_STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
              (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]


def efficientnet_b0() -> Graph:
    net = Net("efficientnet_b0")
    net.conv_bn("stem", 32, 3, 2, act="SiLU")
    block = 0
    for t, kernel, s, out, n in _B0_STAGES:
        for i in range(n):
            block += 1
            stride = s if i == 0 else 1
            start, cin, name = net.last, net.channels, f"block{block}"
            expanded = make_divisible(cin * t)
            if expanded != cin:
                net.conv_bn(f"{name}_expand", expanded, act="SiLU")
            net.conv_bn(f"{name}_dw", expanded, kernel, stride, groups=expanded, act="SiLU")
            net.squeeze_excite(f"{name}_se", max(1, cin // 4), "SiLU", "Sigmoid")
            net.conv_bn(f"{name}_project", out, act=None)
            if stride == 1 and cin == out:
                net.residual(name, start)
    net.conv_bn("head", 4 * net.channels, act="SiLU")
    return net.classifier([], 0.2)


# -- RegNetY-400MF ----------------------------------------------------------------------------
# (width, blocks) per stage, each starting with stride 2; groups of 8 channels; SE to a
# quarter of the block's input width
_REGNET_Y_400MF = [(48, 1), (104, 3), (208, 6), (440, 6)]
_GROUP_WIDTH = 8


def regnet_y_400mf() -> Graph:
    net = Net("regnet_y_400mf")
    net.conv_bn("stem", 32, 3, 2)
    for stage, (width, depth) in enumerate(_REGNET_Y_400MF, start=1):
        for i in range(depth):
            name, start, cin = f"s{stage}b{i + 1}", net.last, net.channels
            stride = 2 if i == 0 else 1
            shortcut = start
            if cin != width or stride != 1:
                shortcut = net.conv_bn(f"{name}_proj", width, stride=stride, act=None)
                net.last = start
            net.conv_bn(f"{name}_a", width)
            net.conv_bn(f"{name}_b", width, 3, stride, groups=width // _GROUP_WIDTH)
            net.squeeze_excite(f"{name}_se", round(0.25 * cin), "ReLU", "Sigmoid")
            net.conv_bn(f"{name}_c", width, act=None)
            net.residual(name, shortcut)
            net.add(f"{name}_relu", "ReLU")
    return net.classifier([], None)


# -- ShuffleNetV2 x1.0 -------------------------------------------------------------------------
# (output channels, units) per stage; each stage's first unit has stride 2
_SHUFFLE_STAGES = [(116, 4), (232, 8), (464, 4)]


def shufflenet_v2() -> Graph:
    net = Net("shufflenet_v2_x1_0")
    net.conv_bn("stem", 24, 3, 2)
    net.add("stem_pool", "MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1})
    for stage, (out, units) in enumerate(_SHUFFLE_STAGES, start=2):
        for i in range(units):
            name, start, cin, half = f"s{stage}u{i + 1}", net.last, net.channels, out // 2
            if i == 0:  # both halves see the whole input, downsampled
                net.conv_bn(f"{name}_left_dw", cin, 3, 2, groups=cin, act=None)
                left = net.conv_bn(f"{name}_left", half)
                net.last = start
                stride = 2
            else:  # one half passes through, the other goes through the branch
                split = net.add(f"{name}_split", "Chunk", {"chunks": 2})
                left, stride = split, 1
                net.last = (split, 1)  # the branch starts from the second piece
            net.conv_bn(f"{name}_right_a", half)
            net.conv_bn(f"{name}_right_dw", half, 3, stride, groups=half, act=None)
            right = net.conv_bn(f"{name}_right_b", half)
            net.add(f"{name}_cat", "Concat", {}, left, right)
            net.add(f"{name}_shuffle", "ChannelShuffle", {"groups": 2})
            net.channels = out
    net.conv_bn("head", 1024)
    return net.classifier([], None)


BUILDERS = {
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v3_small": lambda: mobilenet_v3("small"),
    "mobilenet_v3_large": lambda: mobilenet_v3("large"),
    "efficientnet_b0": efficientnet_b0,
    "regnet_y_400mf": regnet_y_400mf,
    "shufflenet_v2_x1_0": shufflenet_v2,
}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: python tests/zoo.py OUT.json (OUT: one of {', '.join(BUILDERS)})")
    target = Path(sys.argv[1])
    save_graph(BUILDERS[target.stem](), target)
    print(f"wrote {target}")
