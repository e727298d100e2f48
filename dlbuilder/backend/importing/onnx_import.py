"""An ONNX file as a graph with its weights: `import_onnx(path, input_shape=None)`.

The file is only read (with the `onnx` package), never run. Constants and the shape arithmetic
around a Reshape are folded (onnx_fold.py), a few multi-node patterns are recognised (SiLU,
Mish, MatMul + Add as a Linear, ChannelShuffle: onnx_patterns.py), the Slices that cut one
tensor into equal pieces become one Chunk, and each remaining node becomes our layers
(onnx_ops.py). Everything that cannot map is refused at once, in one report. The graph is flat:
ONNX keeps no submodules.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dlbuilder.backend.importing.onnx_fold import BATCH, Dims, fold, shape_value
from dlbuilder.backend.importing.onnx_names import id_base, module_path
from dlbuilder.backend.importing.onnx_nodes import CannotMap, Layer, Node, flowing
from dlbuilder.backend.importing.onnx_ops import CONVERTERS
from dlbuilder.backend.importing.onnx_patterns import fused
from dlbuilder.backend.importing.onnx_reshapes import chunk_piece
from dlbuilder.backend.importing.report import ImportFailed, ImportRefused, Unmapped
from dlbuilder.backend.importing.result import Imported, exported_state
from dlbuilder.backend.onnx_export import INSTALL_HINT
from dlbuilder.core.diagnostics import ShapeProblem
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.layout import GAP, NODE_SIZE, layered_layout
from dlbuilder.layers import REGISTRY
from dlbuilder.layers.split import chunk_sizes

_ROW = 10 * (NODE_SIZE[0] + GAP[0])  # a long chain wraps into rows about this wide
# patterns torch writes for a function call inside a module's forward, not for a module
_FUNCTIONS = ("ChannelShuffle",)
_WEIGHTED = ("Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "PRelu")


def import_onnx(path: str | os.PathLike[str], input_shape: Sequence[int] | None = None
                ) -> Imported:
    """The graph and weights of the ONNX model at `path`. `input_shape` is one sample's
    shape, needed when the file does not fix it. Raises ImportFailed when the file cannot be
    read, ImportRefused listing every node that cannot be a layer."""
    model = _load(Path(path))
    return _Reader(model, str(path), input_shape).imported()


def _load(path: Path) -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportFailed(f"reading ONNX files needs the package onnx, which is not "
                           f"installed; install it with: {INSTALL_HINT}") from None
    if not path.is_file():
        raise ImportFailed(f"{path}: no such file")
    from google.protobuf.message import DecodeError

    try:
        return onnx.load(str(path))
    except (DecodeError, OSError, ValueError) as err:  # not protobuf, external data missing
        raise ImportFailed(f"{path} is not a readable ONNX model ({type(err).__name__}: "
                           f"{err})") from None


class _Reader:
    """One ONNX model read into a graph: its constants, tensor sizes, and the layers so far."""

    def __init__(self, model: Any, source: str, input_shape: Sequence[int] | None) -> None:
        self.source = source
        self.proto = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                          1)
        self.consts: dict[str, Any] = {}
        for tensor in self.proto.initializer:
            self.consts[tensor.name] = _array(tensor)
        self.input = self._input()
        self.shape = self._input_shape(input_shape)
        self._dims = _inferred_dims(model, self.input.name, self.shape)
        self.graph = Graph(Path(source).stem or "imported")
        self.values: dict[str, tuple[str, int]] = {}  # ONNX tensor -> (node id, output)
        self.tensors: dict[tuple[str], dict[str, Any]] = {}
        self.origin: dict[str, Node] = {}  # node id -> the ONNX node it came from
        self.problems: list[Unmapped] = []
        self.notes: list[str] = []
        self._cuts = Counter(p.input[0] for p in self.proto.node if p.op_type == "Slice")
        self._chunks: dict[tuple[str, int, int], str] = {}  # (tensor, dim, chunks) -> node id

    # -- the Context converters read --------------------------------------------------------
    def const(self, name: str) -> Any:
        return self.consts.get(name)

    def dims(self, name: str) -> Dims | None:
        return self._dims.get(name)

    # -- reading ----------------------------------------------------------------------------
    def _input(self) -> Any:
        inputs = [i for i in self.proto.input if i.name not in self.consts]
        if len(inputs) != 1:
            names = ", ".join(i.name for i in inputs) or "none"
            raise ImportRefused(self.source, [Unmapped(
                "(graph inputs)", "ONNX graph input",
                f"the model takes {len(inputs)} inputs ({names}); a graph takes one")])
        return inputs[0]

    def _input_shape(self, given: Sequence[int] | None) -> tuple[int, ...]:
        dims = self.input.type.tensor_type.shape.dim
        fixed = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                 for d in dims][1:]
        stated = tuple(fixed) if fixed and None not in fixed else None
        if given is not None:
            given = tuple(int(d) for d in given)
            if stated is not None and given != stated:
                raise ImportFailed(
                    f"{self.source}: the input shape given ({'x'.join(map(str, given))}) "
                    f"does not fit the model's input {self.input.name!r}, which is "
                    f"{'x'.join(map(str, stated))}")
            return given
        if stated is None:
            raise ImportFailed(
                f"{self.source}: the model does not fix the size of its input "
                f"{self.input.name!r}; give one sample's input shape (e.g. 3x224x224)")
        return stated

    def imported(self) -> Imported:
        self.graph.add_node("input", "Input", {"shape": list(self.shape)})
        self.values[self.input.name] = ("input", 0)
        for node, proto in fused(self.proto, self.consts):
            self._read(node, proto)
        self._finish()
        if self.problems:
            raise ImportRefused(self.source, self.problems)
        self._check()
        for node, (x, y) in layered_layout(self.graph, max_width=_ROW).items():
            self.graph.set_ui(node, {"x": x, "y": y})
        import torch

        tensors = {path: {k: torch.from_numpy(np.array(v)) for k, v in named.items()}
                   for path, named in self.tensors.items()}
        return Imported(self.graph, exported_state(self.graph, tensors), self.notes)

    def _read(self, node: Node, proto: Any) -> None:
        ins = node.inputs
        if node.op == "Shape" and ins[0] in self.values and self.dims(ins[0]) is not None:
            self.consts[node.outputs[0]] = shape_value(self.dims(ins[0]), node.attrs)
            return
        if all(self.const(n) is not None for n in ins if n):
            value = fold(node.op, node.attrs, [self.const(n) for n in ins])
            if value is not None:
                self.consts[node.outputs[0]] = value
                return
            if not ins or node.op not in CONVERTERS:
                self._refuse(node, "it computes on stored tensors only; fold its constants "
                             "first (e.g. with onnxsim)")
                return
        if node.op == "Slice":
            self._slice(node, proto)
            return
        converter = CONVERTERS.get(node.op)
        if converter is None:
            self._refuse(node, "no layer type does this")
            return
        try:
            layers = converter(node, self)
        except CannotMap as err:
            self._refuse(node, str(err))
            return
        self._add(node, proto, layers)

    def _refuse(self, node: Node, reason: str) -> None:
        self.problems.append(Unmapped(node.name or node.outputs[0], f"ONNX {node.op}", reason))

    def _slice(self, node: Node, proto: Any) -> None:
        """A Slice of a tensor of the network: its piece of the Chunk that cuts the tensor
        into as many pieces as it has Slices (made by the first, shared by the others)."""
        data = node.inputs[0]
        try:
            dim, chunks, piece = chunk_piece(node, self, self._cuts[data])
        except CannotMap as err:
            self._refuse(node, str(err))
            return
        key = (data, dim, chunks)
        if key not in self._chunks:
            cut = Node(node.name, "Split", [data], [], {})
            made = self._add(cut, proto, [Layer("Chunk", {"chunks": chunks, "dim": dim})])
            if made is None:
                return
            self._chunks[key] = made
        self.values[node.outputs[0]] = (self._chunks[key], piece)
        dims = list(self.dims(data) or ())
        self._dims.setdefault(node.outputs[0], (*dims[:dim], chunk_sizes(dims[dim], chunks)[
            piece], *dims[dim + 1:]))

    def _add(self, node: Node, proto: Any, layers: list[Layer]) -> str | None:
        """Add the node's layers; the id of the last, None where an input was refused."""
        sources = [self.values.get(name) for name in flowing(node, self)]
        if None in sources:  # fed by a node already refused: that one is in the report
            return None
        weights = node.inputs[1] if node.op in _WEIGHTED and len(node.inputs) > 1 else None
        path, own = module_path(proto, weights)
        main = next((i for i, layer in enumerate(layers) if layer.tensors), 0)
        for i, layer in enumerate(layers):
            spec = REGISTRY.get(layer.type)
            inline = spec.op is not None or i != main or node.op in _FUNCTIONS
            base = id_base(path, own and i == main, layer.type, inline)
            node_id = self.graph.unique_id(base)
            self.graph.add_node(node_id, layer.type, _without_defaults(layer))
            for src, port in sources:
                self.graph.add_edge(src, node_id, from_port=port)
            self.origin[node_id] = node
            if layer.tensors:
                self.tensors[(node_id,)] = layer.tensors
            sources = [(node_id, 0)]
        last = sources[0][0]
        many = REGISTRY.get(layers[-1].type).multi_output
        for port, name in enumerate(node.outputs if many else node.outputs[:1]):
            self.values[name] = (last, port)
        self._fill_dims(node, layers)
        return last

    def _fill_dims(self, node: Node, layers: list[Layer]) -> None:
        """Our own shape rules give the sizes onnx's inference left unknown (a Reshape whose
        target is computed from the input's Shape), for the nodes after this one."""
        if all(self.dims(name) is not None for name in node.outputs if name):
            return
        shapes = [self.dims(name) for name in flowing(node, self)]
        try:
            ins = [tuple(dims[1:]) for dims in shapes]
            for layer in layers:
                spec = REGISTRY.get(layer.type)
                checked = {k: spec.param_index[k].check(v) for k, v in layer.params.items()}
                outs = spec.shape(ins, spec.defaults | checked)
                ins = list(outs) if spec.multi_output else [outs]
        except (TypeError, ValueError, ShapeProblem):  # unknown, or a problem _check reports
            return
        for name, shape in zip(node.outputs, ins, strict=False):
            self._dims.setdefault(name, (BATCH, *shape))

    def _finish(self) -> None:
        outputs = list(self.proto.output)
        if len(outputs) != 1:
            names = ", ".join(o.name for o in outputs)
            self.problems.append(Unmapped("(graph outputs)", "ONNX graph output",
                                          f"the model has {len(outputs)} outputs ({names}); "
                                          "a graph has one"))
            return
        source = self.values.get(outputs[0].name)
        if source is None:
            if not self.problems:
                self.problems.append(Unmapped(outputs[0].name, "ONNX graph output",
                                              "it is a constant, not computed from the input"))
            return
        self.graph.add_node("output", "Output", self._output_params(outputs[0].name))
        self.graph.add_edge(source[0], "output", from_port=source[1])

    def _output_params(self, name: str) -> dict[str, Any]:
        """The Output's defaults (a classifier's loss), or, for a model that gives back an
        input-sized image, the autoencoder's: ONNX keeps no loss, so that is a guess."""
        dims = self.dims(name)
        if dims is not None and len(dims) > 2 and tuple(dims[1:]) == self.shape:
            self.notes.append("the model's output has the input's shape, so the Output "
                              "compares it with the input (MSELoss); set the loss you train "
                              "with")
            return {"loss": "MSELoss", "target": "input"}
        return {}

    def _check(self) -> None:
        """Refuse what mapped node by node but does not fit together (a broadcast Add)."""
        engine = InferenceEngine(self.graph, REGISTRY)
        for diag in engine.diagnostics():
            if diag.severity == "error":
                node = self.origin.get(diag.node or "")
                place = (node.name or node.outputs[0]) if node else diag.node or self.source
                operation = f"ONNX {node.op}" if node else "graph"
                self.problems.append(Unmapped(place, operation, diag.message))
        engine.close()
        if self.problems:
            raise ImportRefused(self.source, self.problems)


def _array(tensor: Any) -> np.ndarray:
    from onnx import numpy_helper

    value = numpy_helper.to_array(tensor)
    return value.astype(np.float32) if value.dtype.kind == "f" else value


def _without_defaults(layer: Layer) -> dict[str, Any]:
    """The layer's parameters as a file keeps them: those that differ from the default."""
    spec = REGISTRY.get(layer.type)
    out = {}
    for name, value in layer.params.items():
        try:
            same = name in spec.defaults and spec.param_index[name].check(value) == \
                spec.defaults[name]
        except ValueError:
            same = False
        if not same:
            out[name] = value
    return out


def _inferred_dims(model: Any, input_name: str, shape: tuple[int, ...]) -> dict[str, Dims]:
    """Every tensor's dimensions by onnx's shape inference, the batch as BATCH, run on a copy
    whose input has this sample shape and a symbolic batch."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for value in copy.graph.input:
        if value.name == input_name:
            value.type.tensor_type.shape.Clear()
            dims = value.type.tensor_type.shape.dim
            dims.add().dim_param = "batch"
            for size in shape:
                dims.add().dim_value = size
    try:
        inferred = onnx.shape_inference.infer_shapes(copy, data_prop=True).graph
    except (onnx.shape_inference.InferenceError, ValueError, RuntimeError):  # a help only:
        # a size left unknown is refused where it matters
        inferred = copy.graph
    out: dict[str, Dims] = {}
    for value in [*inferred.input, *inferred.value_info, *inferred.output]:
        tensor = value.type.tensor_type
        if not tensor.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        if dims and None not in dims[1:]:
            out[value.name] = (BATCH, *dims[1:])
    return out
