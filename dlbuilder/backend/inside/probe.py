"""A network ready to be looked into: each node's output for one sample, a convolution's
filters, and what drove a decision (input gradients and Grad-CAM).

Everything handed out is plain numpy (safe to send across threads); torch stays inside. Every
node's output is read as forward computes it (`compiler.tap_nodes`): layers by forward hooks,
inline operations (Add, Concat, Flatten) by the compiled programs' taps, at the top and inside
every block instance, so the numbers are the compiled model's own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from dlbuilder.backend.compiler import CompiledModel, node_modules, tap_nodes
from dlbuilder.backend.module_names import NodePath, find_path, path_text
from dlbuilder.backend.plan import ModelPlan, build_plan, loss_and_target
from dlbuilder.backend.predict import to_probabilities
from dlbuilder.backend.preprocessing import Preprocessing, read_preprocessing
from dlbuilder.backend.weights import load_state, read_state_dict
from dlbuilder.core.blocks import BLOCK
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers.io import CLASS_LOSSES

CONVOLUTIONS = (nn.Conv2d, nn.ConvTranspose2d)


class ProbeError(ValueError):
    """What cannot be looked at, and why: the message is for the user."""


@dataclass(frozen=True, eq=False)
class Look:
    """One sample through the network: plain numpy, safe to send across threads.

    `outputs` holds every computed node's output without the batch dimension, in forward
    order: the Input node (the prepared input), each layer and inline operation, at the top
    and inside block instances; a block instance's own path (`("layer1",)`) holds its output,
    and so does each of its runs' paths (`("layer1", 1)`) when it repeats. A node with several
    outputs (Chunk, a block with several outputs) holds its first there and every port, in
    order, in `ports`."""

    raw: np.ndarray
    input: np.ndarray
    outputs: dict[NodePath, np.ndarray]
    result: NodePath
    probabilities: np.ndarray | None
    classes: tuple[str, ...]
    picture: np.ndarray | None
    reconstruction: np.ndarray | None
    ports: dict[NodePath, tuple[np.ndarray, ...]] = field(default_factory=dict)

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The k most probable classes, best first, with their probabilities."""
        if self.probabilities is None:
            return []
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(self.classes[i], float(self.probabilities[i])) for i in order]


@dataclass(frozen=True, eq=False)
class Filters:
    """A convolution's kernels as (out_channels, in_channels_per_group, kh, kw); a transposed
    convolution's are rearranged to that order (torch keeps them input channel first)."""

    node: NodePath
    weights: np.ndarray
    rgb: bool
    low: float
    high: float


@dataclass(frozen=True, eq=False)
class Saliency:
    """What drove the score of `class_index`: |d score / d input| (max over channels) and
    Grad-CAM on `cam_layer`, both scaled to 0..1 (all zeros where nothing drove it)."""

    class_index: int
    gradient: np.ndarray
    cam: np.ndarray | None
    cam_layer: NodePath | None
    cam_raw: np.ndarray | None


GraphSource = Mapping[str, Any] | Graph | InferenceEngine
WeightsSource = str | os.PathLike[str] | Mapping[str, torch.Tensor] | None


class Probe:
    """A trained (or untrained) network ready to be looked into. Builds the compiled model
    from a graph (file dict, Graph or engine), loads weights (path or state dict, strict,
    weights_only) when given, and holds the Preprocessing that prepares raw samples: the one
    given, else the one saved beside a weights file (`<weights>.json`), else the identity on
    the Input's shape. Raises CompileError for a graph with errors, WeightsError for weights
    that do not fit (both ValueErrors naming what is wrong)."""

    def __init__(self, graph: GraphSource, weights: WeightsSource = None,
                 preprocessing: Preprocessing | None = None, *, device: str = "cpu") -> None:
        self.engine = _engine(graph)
        self.plan: ModelPlan = build_plan(self.engine)
        self.loss, self.target = loss_and_target(self.plan)
        self.device = torch.device(device)
        self.model = CompiledModel(self.plan)
        if weights is not None:
            _load(self.model, weights)
            if preprocessing is None and not isinstance(weights, Mapping):
                preprocessing = read_preprocessing(weights)
        self.preprocessing = _fitting(preprocessing, self.plan)
        self.classes = self._class_names()
        self.model.to(self.device).eval()
        self._modules = node_modules(self.model)
        self._lock = threading.Lock()  # the taps are set on the shared model while it runs
        self._shapes: dict[NodePath, tuple[int, ...]] | None = None

    # -- what the network holds ------------------------------------------------------------
    @property
    def classifier(self) -> bool:
        return self.target == "label" and len(self.plan.output_shape) == 1

    def shapes(self) -> dict[NodePath, tuple[int, ...]]:
        """Every node's output shape (a multi-output node's first), in forward order: the
        keys of a Look's outputs."""
        if self._shapes is None:
            blank = np.zeros(self.preprocessing.sample_shape, dtype=np.float32)
            self._shapes = {path: value.shape for path, value in self.look(blank).outputs.items()}
        return self._shapes

    def image_layers(self) -> list[NodePath]:
        """Nodes with (C, H, W) outputs, H*W > 1, in forward order (the Input left out): the
        layers Grad-CAM can look at."""
        first = self.input_path
        return [path for path, shape in self.shapes().items()
                if path != first and len(shape) == 3 and shape[1] * shape[2] > 1]

    def default_cam_layer(self) -> NodePath | None:
        """The last convolution's node, or None where the network has none. A 1x1
        convolution only mixes channels (a residual block's shortcut projection runs after
        its main path), so the last larger one is taken where there is one."""
        convs = [path for path in self.image_layers()
                 if isinstance(self._modules.get(path), nn.Conv2d)]
        wide = [path for path in convs if self._modules[path].kernel_size != (1, 1)]
        return (wide or convs or [None])[-1]

    def convolutions(self) -> list[NodePath]:
        """The nodes whose filters can be shown, in forward order."""
        return [path for path in self.shapes() if isinstance(self._modules.get(path), CONVOLUTIONS)]

    @property
    def input_path(self) -> NodePath:
        role = self.engine.registry.role_of
        graph = self.engine.graph
        return (next(n for n in graph.nodes() if role(graph.type_of(n)) == "input"),)

    def text(self, path: NodePath) -> str:
        """`layer1.1/conv1`: a path as the problems list writes it (see paths.py)."""
        return path_text(path, frozenset(self.shapes()))

    def find(self, text: str) -> NodePath:
        """The node `text` names (`conv1`, `layer1.1/conv1`, `layer1/1/conv1`), or a
        ProbeError listing the ones there are."""
        found = find_path(text, self.shapes())
        graph = self.engine.graph
        if found is None and text in graph.nodes() \
                and self.engine.registry.role_of(graph.type_of(text)) == "output":
            return self.result_path()  # an Output's value is its input's
        if found is None:
            names = ", ".join(self.text(p) for p in self.shapes())
            raise ProbeError(f"no node {text!r} in {self.plan.name}; the nodes are: {names}")
        return found

    def node_type(self, path: NodePath) -> str:
        """The node's layer type (`Conv2d`), or its block's name for a block instance or run."""
        engine: Any = self.engine
        parts = list(path)
        while parts:
            node = parts.pop(0)
            run = parts.pop(0) if parts and isinstance(parts[0], int) else 0
            type_name = engine.graph.type_of(node)
            if type_name != BLOCK:
                return type_name
            engine = engine.runs(node)[run]
        return engine.defn.name

    # -- looking ---------------------------------------------------------------------------
    def look(self, raw: np.ndarray) -> Look:
        """One raw sample (sample_shape, in the dataset's units) through the network, in eval
        mode without autograd."""
        raw = self._checked(raw)
        x = self.preprocessing.apply(raw[None]).to(self.device)
        values: dict[NodePath, Any] = {self.input_path: x}
        with self._lock, torch.no_grad(), tap_nodes(self.model, values.__setitem__):
            out = self.model(x)
        outputs, ports = _to_numpy(self._distinct(values))
        probabilities = None
        if self.classifier and self.loss in CLASS_LOSSES:
            probabilities = to_probabilities(out.float(), self.loss)[0].cpu().numpy()
        reconstruction = None
        if self.target == "input":
            reconstruction = self._picture(self._unprepared(out[0]))
        return Look(raw=raw, input=outputs[self.input_path], outputs=outputs,
                    result=self.result_path(), probabilities=probabilities,
                    classes=self.classes, picture=self._picture(raw / self.preprocessing.scale),
                    reconstruction=reconstruction, ports=ports)

    def filters(self, node: NodePath) -> Filters:
        """The kernels of a convolution node (Conv2d or ConvTranspose2d)."""
        module = self._modules.get(node)
        if not isinstance(module, CONVOLUTIONS):
            convs = ", ".join(self.text(p) for p in self.convolutions()) or "none"
            what = self.node_type(node) if node in self._modules else "not a layer here"
            raise ProbeError(f"{path_text(node, self._modules)} ({what}) is not a convolution, "
                             f"so it has no filters to show; the convolutions are: {convs}")
        w = module.weight.detach().float().cpu()
        if isinstance(module, nn.ConvTranspose2d):  # (in, out/groups, kh, kw) per group
            g = module.groups
            w = w.reshape(g, w.shape[0] // g, *w.shape[1:]).transpose(1, 2)
            w = w.reshape(-1, *w.shape[2:])
        weights = w.numpy().copy()
        return Filters(node=node, weights=weights, rgb=weights.shape[1] == 3,
                       low=float(weights.min()), high=float(weights.max()))

    def saliency(self, raw: np.ndarray, class_index: int, layer: NodePath | None = None
                 ) -> Saliency:
        """Input gradient and Grad-CAM (on `layer`, else the last convolution) of the class's
        score: the output before softmax for CrossEntropyLoss, the log-probability for NLLLoss."""
        self._check_class(class_index)
        layer = self._cam_layer(layer)
        raw = self._checked(raw)
        x = self.preprocessing.apply(raw[None]).to(self.device).requires_grad_(True)
        kept: dict[NodePath, Any] = {}

        def keep(path: NodePath, value: Any) -> None:
            if path == layer:
                kept[path] = value
        with self._lock, torch.enable_grad(), tap_nodes(self.model, keep):
            score = self.model(x)[0, class_index]
            wanted = [x] + ([kept[layer]] if layer is not None else [])
            grads = torch.autograd.grad(score, wanted, allow_unused=True)
        gradient = _to_unit(_input_map(grads[0], x))
        if layer is None:
            return Saliency(class_index, gradient, None, None, None)
        cam_raw = _grad_cam(kept[layer][0].detach(), grads[1])
        cam = nn.functional.interpolate(cam_raw[None, None], size=gradient.shape,
                                        mode="bilinear", align_corners=False)[0, 0]
        return Saliency(class_index, gradient, _to_unit(cam), layer,
                        cam_raw.cpu().numpy().astype(np.float32))

    # -- helpers ---------------------------------------------------------------------------
    def _class_names(self) -> tuple[str, ...]:
        if not self.classifier:
            return ()
        count = self.plan.output_shape[0]
        names = self.preprocessing.classes
        return tuple(names) if len(names) == count else tuple(str(i) for i in range(count))

    def _checked(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw)
        shape = self.preprocessing.sample_shape
        if raw.shape != shape and raw.shape == (1, *shape):
            raw = raw[0]
        if raw.shape != shape:
            raise ProbeError(f"a sample for {self.plan.name} has shape {list(shape)}, "
                             f"got {list(raw.shape)}")
        return raw

    def _check_class(self, class_index: int) -> None:
        if not self.classifier:
            raise ProbeError(f"{self.plan.name} gives {list(self.plan.output_shape)} "
                             f"(target {self.target!r}), not class scores: saliency needs a "
                             "classifier")
        count = self.plan.output_shape[0]
        if not 0 <= class_index < count:
            raise ProbeError(f"class {class_index} is out of range: {self.plan.name} has "
                             f"{count} classes (0 to {count - 1})")

    def _cam_layer(self, layer: NodePath | None) -> NodePath | None:
        if layer is None:
            return self.default_cam_layer()
        layers = self.image_layers()
        if layer not in layers:
            names = ", ".join(self.text(p) for p in layers) or "none"
            raise ProbeError(f"Grad-CAM needs a layer with a (channels, height, width) output; "
                             f"{path_text(layer, self.shapes())} is not one. The layers it can "
                             f"use: {names}")
        return layer

    def _distinct(self, values: dict[NodePath, Any]) -> dict[NodePath, Any]:
        """The values without the run path of an instance that runs once (its own path holds
        the same), with instance paths a sequential block left out filled in."""
        out: dict[NodePath, Any] = {}
        for path, value in values.items():
            if isinstance(path[-1], int):
                whole = path[:-1]
                if path[:-1] + (1,) not in values:  # one run: the instance's path says it
                    out.setdefault(whole, value)
                    continue
                if whole not in values and path[:-1] + (path[-1] + 1,) not in values:
                    out[path] = value
                    out.setdefault(whole, value)  # the last run: the instance's output
                    continue
            out[path] = value
        return out

    def result_path(self) -> NodePath:
        """The node whose output the network returns (what its Output node passes on)."""
        result = self.plan.result
        for op in reversed(self.plan.ops):
            if op.node is not None and (op.target == result or result in op.unpack):
                return (op.node,)
        return self.input_path

    def _unprepared(self, prepared: torch.Tensor) -> np.ndarray:
        """A network input (or a reconstruction of one) back in raw units / scale."""
        prep = self.preprocessing
        x = prepared.detach().float().cpu().reshape(prep.sample_shape)
        if prep.mean:
            view = (len(prep.mean),) + (1,) * (len(prep.sample_shape) - 1)
            x = x * torch.tensor(prep.std).view(view) + torch.tensor(prep.mean).view(view)
        return x.numpy()

    def _picture(self, unit: np.ndarray) -> np.ndarray | None:
        """A (C, H, W) sample where 1.0 is full brightness as a uint8 picture, for image
        samples (1 or 3 channels); None otherwise."""
        shape = self.preprocessing.sample_shape
        if len(shape) != 3 or shape[0] not in (1, 3):
            return None
        pixels = np.clip(np.rint(np.asarray(unit, dtype=np.float64) * 255), 0, 255)
        pixels = pixels.astype(np.uint8)
        return pixels[0] if shape[0] == 1 else np.ascontiguousarray(pixels.transpose(1, 2, 0))


def _engine(graph: GraphSource) -> InferenceEngine:
    from dlbuilder.layers import REGISTRY

    if isinstance(graph, InferenceEngine):
        return graph
    if isinstance(graph, Graph):
        return InferenceEngine(graph, REGISTRY)
    from dlbuilder.core.fileformat import graph_from_dict

    return InferenceEngine(graph_from_dict(dict(graph), REGISTRY), REGISTRY)


def _load(model: nn.Module, weights: str | os.PathLike[str] | Mapping[str, torch.Tensor]
          ) -> None:
    """Strict: every key and size must fit (WeightsError lists what does not)."""
    if isinstance(weights, Mapping):
        load_state(model, weights, "the weights given", "the weights")
    else:
        load_state(model, read_state_dict(weights), os.fspath(weights),
                   os.path.basename(os.fspath(weights)))


def _fitting(prep: Preprocessing | None, plan: ModelPlan) -> Preprocessing:
    """The preprocessing, checked against the Input; the identity when there is none."""
    shape = tuple(plan.input_shape)
    if prep is None:
        return Preprocessing(dataset="", sample_shape=shape, input_shape=shape, classes=(),
                             scale=1.0)
    if tuple(prep.input_shape) != shape:
        raise ProbeError(f"the preprocessing makes inputs of shape {list(prep.input_shape)}, "
                         f"but {plan.name}'s Input takes {list(shape)}")
    return prep


def _to_numpy(values: dict[NodePath, Any]
              ) -> tuple[dict[NodePath, np.ndarray], dict[NodePath, tuple[np.ndarray, ...]]]:
    outputs: dict[NodePath, np.ndarray] = {}
    ports: dict[NodePath, tuple[np.ndarray, ...]] = {}
    for path, value in values.items():
        if isinstance(value, tuple | list):
            ports[path] = tuple(_sample(v) for v in value)
            outputs[path] = ports[path][0]
        else:
            outputs[path] = _sample(value)
    return outputs, ports


def _sample(t: torch.Tensor) -> np.ndarray:
    return t.detach()[0].float().cpu().numpy().copy()


def _input_map(grad: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
    """|gradient| of the one sample, max over channels for a (C, H, W) input."""
    g = torch.zeros_like(x[0]) if grad is None else grad[0].abs()
    if g.dim() == 3:
        return g.amax(dim=0)
    return g if g.dim() == 2 else g.reshape(1, -1)


def _grad_cam(activation: torch.Tensor, grad: torch.Tensor | None) -> torch.Tensor:
    """ReLU(sum_k mean(dscore/dA_k) * A_k) for one sample's (C, h, w) activation."""
    if grad is None:  # the layer does not reach the score
        return torch.zeros(activation.shape[1:], device=activation.device)
    weights = grad[0].mean(dim=(1, 2))
    return torch.relu((weights[:, None, None] * activation).sum(dim=0)).float()


def _to_unit(values: torch.Tensor) -> np.ndarray:
    """Scaled so the largest is 1 (all zeros stay zeros), as float32 numpy."""
    v = values.detach().float().cpu()
    peak = float(v.max()) if v.numel() else 0.0
    return (v / peak if peak > 0 else torch.zeros_like(v)).numpy().astype(np.float32)
