"""torchvision beside the zoo (tests/zoo.py), where it can be imported: the same weights in
both, layer by layer, so their outputs can be compared.

torchvision is not a dependency (CI does not install it) and weights are never downloaded: the
models are built untrained and their random weights copied into the compiled graph.

A torchvision whose C++ operators were built for another torch (a CPU-only torch beside a
torchvision wheel from elsewhere) fails to import: registering the fake kernels of its custom
operators (`torch.library.register_fake("torchvision::nms")`, ...) raises. None of the models
here uses those operators, so `import_torchvision` imports it with `register_fake` replaced by a
no-op for the duration of the import, and restores it afterwards.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import torch
from torch import nn

from dlbuilder.core.graph import Graph

# The models issue 15 names for import, with the arguments that leave out what an import
# cannot hold (GoogLeNet's auxiliary heads) and skip slow initialisation.
IMPORT_MODELS: dict[str, dict[str, Any]] = {
    "resnet18": {}, "resnet50": {}, "vgg11_bn": {}, "densenet121": {},
    "googlenet": {"aux_logits": False, "init_weights": False}, "squeezenet1_0": {},
    "mobilenet_v2": {}, "mobilenet_v3_small": {}, "mobilenet_v3_large": {},
    "efficientnet_b0": {}, "regnet_y_400mf": {}, "shufflenet_v2_x1_0": {}, "mnasnet1_0": {},
}


def import_torchvision() -> tuple[ModuleType | None, str]:
    """torchvision's models module and "", or None and why it cannot be imported."""
    library: Any = torch.library
    real = library.register_fake
    library.register_fake = lambda *args, **kwargs: (lambda fn=None: fn)
    try:
        from torchvision import models
    except (ImportError, RuntimeError, AttributeError, OSError) as err:
        return None, f"torchvision cannot be imported here ({type(err).__name__}: {err})"
    finally:
        library.register_fake = real
    return models, ""


def _weighted_leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules that hold parameters or buffers themselves, in registration order."""
    return [(name, m) for name, m in model.named_modules()
            if not list(m.children()) and (list(m.parameters(recurse=False))
                                           or list(m.buffers(recurse=False)))]


def copy_weights(source: nn.Module, compiled: Any, graph: Graph) -> int:
    """Copy `source`'s weights into `compiled` (the model of `graph`, whose nodes were added
    in the order torchvision registers its modules); every pair must agree in class and tensor
    shapes. Returns how many layers were copied."""
    order = {node: i for i, node in enumerate(graph.nodes())}
    layers = sorted(compiled.plan.layers, key=lambda layer: order[layer.node])
    ours = [(layer.node, getattr(compiled, layer.attr)) for layer in layers]
    ours = [(node, m) for node, m in ours if list(m.parameters()) or list(m.buffers())]
    theirs = _weighted_leaves(source)
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    for (node, mine), (name, other) in zip(ours, theirs, strict=True):
        assert type(mine) is type(other), (node, name, type(mine), type(other))
        state = other.state_dict()
        assert {k: v.shape for k, v in state.items()} == {
            k: v.shape for k, v in mine.state_dict().items()}, (node, name)
        mine.load_state_dict(state)
    return len(ours)


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Weights that make every layer matter: an untrained torchvision model's BatchNorms are
    identities and its classifier nearly zero, which would hide a wrong layer."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
                module.running_mean.copy_(
                    torch.randn(module.running_mean.shape, generator=generator) * 0.1)
                module.running_var.copy_(
                    torch.rand(module.running_var.shape, generator=generator) + 0.5)
            elif isinstance(module, nn.Linear):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator)
                                    / module.in_features ** 0.5)
    return model
