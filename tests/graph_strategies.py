"""Hypothesis strategies: random valid graphs (built shape by shape) and random anything-goes
graphs. Shared by the torch-agreement tests here and, later, the compiler's tests.

Every type in the registry takes part with no edit here: besides the hand-tuned draws below,
a third of a valid graph's layers are any declared layer with one of its examples' parameters
(kept when the engine accepts it for the shape at hand, after the one-click fix of its error
where it has one), and the activations are the registry's."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from dlbuilder.core.fixes import apply_fix
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY

MAX_SIDE = 24
MAX_CHANNELS = 8
INPUT = next(iter(REGISTRY.types_with_role("input")))
OUTPUT = next(iter(REGISTRY.types_with_role("output")))
ACTIVATIONS = [spec.type for spec in REGISTRY if spec.category == "activation"]
DECLARED = [spec for spec in REGISTRY if spec.role not in ("input", "output")]
SPLITS = [spec for spec in DECLARED if spec.multi_output]  # layers with several outputs


class _Builder:
    """Grows a chain of blocks from the Input, asking the engine for the current shape."""

    def __init__(self, draw: Any, shape: list[int]) -> None:
        self.draw = draw
        self.graph = Graph("random")
        self.graph.add_node("in", INPUT, {"shape": shape})
        self.engine = InferenceEngine(self.graph, REGISTRY)
        self.last = "in"
        self.count = 0

    def shape(self, node: str | None = None) -> tuple[int, ...]:
        shape = self.engine.info(node or self.last).output_shape
        assert shape is not None, self.engine.diagnostics()
        return shape

    def add(self, type_name: str, params: dict[str, Any], *sources: str) -> str:
        self.count += 1
        node = f"{type_name.lower()}_{self.count}"
        self.graph.add_node(node, type_name, params)
        for src in sources or (self.last,):
            self.graph.add_edge(src, node)
        return node

    def add_if_valid(self, type_name: str, params: dict[str, Any], *sources: str) -> bool:
        """Add a layer and make it the last. When the engine finds an error on it (its example
        was written for another shape), apply the error's one-click fix, as a user would; if
        there is none, or errors remain, take the layer out again."""
        node = self.add(type_name, params, *sources)
        for _ in range(3):  # a fix may reveal the next problem (num_groups, then its values)
            errors = [d for d in self.engine.info(node).diagnostics if d.severity == "error"]
            if not errors:
                self.last = node
                return True
            if errors[0].fix is None:
                break
            apply_fix(self.graph, errors[0].fix)
        self.graph.remove_node(node)
        return False


def _declared(b: _Builder) -> None:
    """Any declared layer with one of its examples' parameters; a merge joins a ReLU branch;
    a layer with several outputs sends its last one through a ReLU branch (see `_rejoin`)."""
    _grow(b, b.draw(st.sampled_from(DECLARED)))


def _grow(b: _Builder, spec: Any) -> None:
    params = b.draw(st.sampled_from([ex.params for ex in spec.examples] or [{}]))
    if spec.multi_output:
        if b.add_if_valid(spec.type, params):
            _rejoin(b)
        return
    if spec.min_inputs < 2:
        b.add_if_valid(spec.type, params)
        return
    branch = b.add("ReLU", {})
    if not b.add_if_valid(spec.type, params, b.last, branch):
        b.graph.remove_node(branch)


def _rejoin(b: _Builder) -> None:
    """After a split (Chunk) along `dim`: its last piece through a ReLU, concatenated along the
    same `dim` after its first, so the graph reads two output ports."""
    split = b.last
    pieces = len(b.engine.info(split).port_shapes)
    if pieces < 2:
        return
    b.count += 1
    branch = f"relu_{b.count}"
    b.graph.add_node(branch, "ReLU", {})
    b.graph.add_edge(split, branch, from_port=b.draw(st.integers(1, pieces - 1)))
    dim = b.engine.checked_params(split)["dim"]
    b.last = b.add("Concat", {"dim": dim}, split, branch)


def _gate(b: _Builder, channels: int) -> None:
    """A squeeze-and-excitation gate: the image times a C x 1 x 1 (or 1 x 1 x 1) weight per
    channel computed from it, so Mul broadcasts."""
    gate = b.add("AdaptiveAvgPool2d", {"output_size": 1})
    size = b.draw(st.sampled_from([channels, 1]))
    gate = b.add("Conv2d", {"out_channels": size, "kernel_size": 1}, gate)
    gate = b.add(b.draw(st.sampled_from(["Sigmoid", "Hardsigmoid"])), {}, gate)
    features = b.last
    b.last = b.add("Mul", {}, *b.draw(st.sampled_from([(features, gate), (gate, features)])))


def _image_layer(b: _Builder) -> None:
    draw = b.draw
    c, h, w = b.shape()
    if draw(st.integers(0, 2)) == 0:  # a third of the layers: any declared type
        _declared(b)
        return
    kind = draw(st.sampled_from(["conv", "conv", "convt", "maxpool", "avgpool", "adaptive",
                                 "bn", "act", "dropout", "upsample", "flatten", "add",
                                 "concat", "split", "gate"]))
    if kind == "conv":
        b.last = b.add("Conv2d", _conv_params(draw, c, h, w))
    elif kind == "convt" and max(h, w) <= MAX_SIDE // 2:
        b.last = b.add("ConvTranspose2d", _conv_t_params(draw, c))
    elif kind in ("maxpool", "avgpool"):
        b.last = b.add("MaxPool2d" if kind == "maxpool" else "AvgPool2d",
                       _pool_params(draw, h, w, kind == "maxpool"))
    elif kind == "adaptive":
        b.last = b.add("AdaptiveAvgPool2d", {"output_size": [draw(st.integers(1, 4)),
                                                            draw(st.integers(1, 4))]})
    elif kind == "bn":
        b.last = b.add("BatchNorm2d", {"affine": draw(st.booleans()),
                                       "track_running_stats": draw(st.booleans())})
    elif kind == "act":
        _activation(b, rank=3)
    elif kind == "dropout":
        b.last = b.add(draw(st.sampled_from(["Dropout", "Dropout2d"])), {"p": 0.5})
    elif kind == "upsample" and h * w <= 64:
        if draw(st.booleans()):
            b.last = b.add("Upsample", {"size": [draw(st.integers(1, 12)),
                                                 draw(st.integers(1, 12))]})
        else:
            scale = draw(st.sampled_from([2, 1.5, [2, 1], [1.5, 2.5]]))
            b.last = b.add("Upsample", {"scale_factor": scale,
                                        "mode": draw(st.sampled_from(["nearest", "bilinear"]))})
    elif kind == "flatten":
        b.last = b.add("Flatten", {"start_dim": draw(st.sampled_from([1, 1, 2, 3, -1]))})
    elif kind == "add":
        k = draw(st.sampled_from([1, 3]))
        branch = b.add("Conv2d", {"out_channels": c, "kernel_size": k, "padding": k // 2})
        b.last = b.add("Add", {}, b.last, branch)
    elif kind == "concat":
        left = b.add("Conv2d", {"out_channels": draw(st.integers(1, 4)), "kernel_size": 1})
        right = b.add("ReLU", {})
        b.last = b.add("Concat", {}, left, right)
    elif kind == "split" and SPLITS:
        _grow(b, draw(st.sampled_from(SPLITS)))
    elif kind == "gate":
        _gate(b, c)


def _conv_params(draw: Any, c: int, h: int, w: int) -> dict[str, Any]:
    groups = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
    out = groups * draw(st.integers(1, MAX_CHANNELS // groups))
    style = draw(st.sampled_from(["pair", "int", "same", "valid"]))
    dil = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    pad = [draw(st.integers(0, 2)), draw(st.integers(0, 2))]
    if style == "int":
        pad = [pad[0], pad[0]]
    elif style == "valid":
        pad = [0, 0]
    kernel = [min(5, draw(st.integers(1, max(1, (size + 2 * p - 1) // d + 1))))
              for size, p, d in zip((h, w), pad, dil, strict=True)]
    stride: Any = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    padding: Any = {"pair": pad, "int": pad[0], "valid": "valid", "same": "same"}[style]
    if style == "same":
        stride = 1
    return {"out_channels": out, "kernel_size": kernel, "stride": stride, "padding": padding,
            "dilation": dil, "groups": groups, "bias": draw(st.booleans())}


def _conv_t_params(draw: Any, c: int) -> dict[str, Any]:
    stride = draw(st.integers(1, 2))
    dil = draw(st.integers(1, 2))
    kernel = draw(st.integers(1, 4))
    pad = draw(st.integers(0, (dil * (kernel - 1)) // 2))
    return {"out_channels": draw(st.integers(1, MAX_CHANNELS)), "kernel_size": kernel,
            "stride": stride, "padding": pad, "dilation": dil,
            "output_padding": draw(st.integers(0, max(stride, dil) - 1)),
            "bias": draw(st.booleans())}


def _pool_params(draw: Any, h: int, w: int, dilated: bool) -> dict[str, Any]:
    kernel = [draw(st.integers(1, min(4, h))), draw(st.integers(1, min(4, w)))]
    params: dict[str, Any] = {
        "kernel_size": kernel,
        "stride": draw(st.one_of(st.none(), st.integers(1, 3))),
        "padding": [draw(st.integers(0, k // 2)) for k in kernel],
        "ceil_mode": draw(st.booleans()),
    }
    if dilated and draw(st.booleans()):
        dil = [2 if 2 * (k - 1) + 1 <= size else 1 for k, size in zip(kernel, (h, w), strict=True)]
        params["dilation"] = dil
    if not dilated:
        params["count_include_pad"] = draw(st.booleans())
    return params


def _activation(b: _Builder, rank: int) -> None:
    draw = b.draw
    type_name = draw(st.sampled_from(ACTIVATIONS))
    params: dict[str, Any] = {}
    if "dim" in REGISTRY.get(type_name).param_index:  # Softmax: any per-sample dimension
        params["dim"] = draw(st.sampled_from([d for d in range(-rank, rank + 1) if d != 0]))
    b.last = b.add(type_name, params)


def _flat_layer(b: _Builder) -> None:
    draw = b.draw
    shape = b.shape()
    if draw(st.integers(0, 2)) == 0:  # a third of the layers: any declared type
        _declared(b)
        return
    kind = draw(st.sampled_from(["linear", "linear", "bn", "act", "dropout", "add", "concat",
                                 "split"]))
    if kind == "linear" and len(shape) == 1:
        b.last = b.add("Linear", {"out_features": draw(st.integers(1, 24)),
                                  "bias": draw(st.booleans())})
    elif kind == "bn":
        b.last = b.add("BatchNorm1d", {"affine": draw(st.booleans())})
    elif kind == "dropout":
        b.last = b.add("Dropout", {"p": draw(st.floats(0, 0.9))})
    elif kind == "add":
        branch = b.add("ReLU", {})
        b.last = b.add("Add", {}, b.last, branch)
    elif kind == "concat":
        branch = b.add("Tanh", {})
        b.last = b.add("Concat", {"dim": draw(st.sampled_from([1, -1]))}, b.last, branch)
    elif kind == "split" and SPLITS:
        _grow(b, draw(st.sampled_from(SPLITS)))
    else:
        _activation(b, rank=len(shape))


@st.composite
def valid_graphs(draw: Any) -> Graph:
    """A graph the engine should accept, grown layer by layer from shapes that fit."""
    if draw(st.integers(0, 4)):
        shape = [draw(st.integers(1, 4)), draw(st.integers(3, 20)), draw(st.integers(3, 20))]
    else:
        shape = [draw(st.integers(1, 30))]
    b = _Builder(draw, shape)
    for _ in range(draw(st.integers(1, 8))):
        current = b.shape()
        if len(current) == 3 and max(current[1:]) <= MAX_SIDE:
            _image_layer(b)
        elif len(current) == 3:
            b.last = b.add("AdaptiveAvgPool2d", {"output_size": 4})
        else:
            _flat_layer(b)
    if draw(st.booleans()):
        loss = "CrossEntropyLoss" if len(b.shape()) == 1 else "MSELoss"
        b.add(OUTPUT, {"loss": loss})
    b.engine.close()
    return b.graph


_RAW_VALUES = st.one_of(
    st.integers(-2, 12), st.floats(-1, 3, allow_nan=False), st.booleans(), st.none(),
    st.sampled_from(["same", "valid", "nearest", "x", "label", "input", "CrossEntropyLoss"]),
    st.lists(st.integers(-1, 6), min_size=1, max_size=4),
)


@st.composite
def any_graphs(draw: Any) -> Graph:
    """Anything goes: random types, random raw parameter values, random forward wiring."""
    graph = Graph("chaos")
    types = REGISTRY.types()
    n = draw(st.integers(1, 8))
    for i in range(n):
        type_name = draw(st.sampled_from(types + ["Conv2d", "Linear", INPUT]))
        spec = REGISTRY.get(type_name)
        params = {}
        for pspec in spec.params:
            if draw(st.integers(0, 3)):
                params[pspec.name] = draw(st.one_of(_RAW_VALUES, st.just(pspec.start_value)))
        if draw(st.integers(0, 9)) == 0:
            params["bogus"] = 1
        graph.add_node(f"n{i}", type_name, params)
        for j in range(i):
            if draw(st.integers(0, 2)) == 0:  # mostly from the first output, as most have one
                graph.add_edge(f"n{j}", f"n{i}", from_port=draw(st.sampled_from([0, 0, 0, 1, 2])))
    return graph
