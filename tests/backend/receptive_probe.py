"""The independent side of the receptive-field tests: which input pixels one output value of a
node really depends on, read from the gradient on the compiled module.

A gradient can be zero by accident, so the module is made monotone first: every weight is
positive (1/fan-in), biases 1e-4, the input in 0.001..0.002 (small, so that residual sums
stay far below where ReLU6 and Hardsigmoid flatten), eval mode (BatchNorm then scales by a
positive constant, Dropout passes everything), and max pooling, whose gradient reaches only the
largest value of a window, is replaced by the mean over the same (dilated, padded, ceil-mode)
windows. Then every input pixel an output value depends on gets a non-zero gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dlbuilder.backend.compiler import CompiledModel, compile_graph, tap_nodes
from dlbuilder.core.inference import InferenceEngine


class WindowMean(nn.Module):
    """The mean over exactly the windows a MaxPool2d takes its maximum over."""

    def __init__(self, pool: nn.MaxPool2d) -> None:
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = self.pool
        pair = nn.modules.utils._pair
        k, s, p, d = (pair(v) for v in (pool.kernel_size, pool.stride, pool.padding,
                                         pool.dilation))
        oh, ow = pool(x.detach()).shape[-2:]
        padded = F.pad(x, (p[1], p[1] + s[1], p[0], p[0] + s[0]))  # extra for ceil mode
        cols = F.unfold(padded, k, dilation=d, stride=s)
        n, c = x.shape[:2]
        full_h = (padded.shape[2] - d[0] * (k[0] - 1) - 1) // s[0] + 1
        full_w = (padded.shape[3] - d[1] * (k[1] - 1) - 1) // s[1] + 1
        cols = cols.view(n, c, k[0] * k[1], full_h, full_w)[..., :oh, :ow]
        return cols.mean(dim=2)


def monotone_model(engine: InferenceEngine) -> CompiledModel:
    model = compile_graph(engine)
    for name, module in list(model.named_modules()):
        if isinstance(module, (nn.MaxPool2d, nn.AdaptiveMaxPool2d)):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            new = WindowMean(module) if isinstance(module, nn.MaxPool2d) \
                else nn.AdaptiveAvgPool2d(module.output_size)
            setattr(parent, child, new)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("bias"):
                param.fill_(1e-4)
            else:
                param.fill_(1.0 / (param[0].numel() if param.dim() > 1 else 1))
    return model.eval()


def node_values(model: CompiledModel, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every top-level node's value on the way through the compiled module (a node with
    several outputs: its first), still attached to the graph of autograd."""
    values: dict[str, torch.Tensor] = {}

    def record(path: tuple, value: object) -> None:
        if len(path) == 1:
            values[path[0]] = value[0] if isinstance(value, tuple) else value

    with tap_nodes(model, record):
        model(x)
    return values


def measured_regions(model: CompiledModel, input_shape: tuple[int, ...], node: str,
                     positions: list[tuple[int, int]]
                     ) -> list[tuple[tuple[int, int], ...] | None]:
    """For each output position of `node` (summed over its channels): the first and last input
    row and column with a non-zero gradient (None: it depends on no input pixel, e.g. a
    position in the border a ZeroPad2d adds)."""
    x = (1e-3 * (1 + torch.rand(len(positions), *input_shape))).requires_grad_(True)
    out = node_values(model, x)[node]
    picked = torch.stack([out[b, :, h, w].sum() for b, (h, w) in enumerate(positions)])
    (grad,) = torch.autograd.grad(picked.sum(), x)
    regions = []
    for b in range(len(positions)):
        seen = grad[b].abs().sum(dim=0) > 0
        if not seen.any():
            regions.append(None)
            continue
        rows = torch.nonzero(seen.any(dim=1)).flatten()
        cols = torch.nonzero(seen.any(dim=0)).flatten()
        regions.append(((int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))))
    return regions
