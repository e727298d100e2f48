"""Benchmark: training-step time of the compiled module against the same network written by hand.

`compile_graph` turns examples/resnet_cifar.json (three block instances) into a `CompiledModel`,
whose forward interprets a small program of ops in a Python loop, one per block class too. This
script writes the same ResNet by hand, as a person would (a `BasicBlock` class with conv-bn-
relu-conv-bn and an optional 1x1 projection shortcut with batch norm), loads the compiled
module's weights into it, checks that both compute the same thing, and then times one training
step of each:

    zero the grads, forward, cross-entropy loss, backward

on the same seeded batch (default 64 x 3x32x32), in train mode, in one process with the same
number of threads. As extra information the model from the exported Python code
(`codegen.export_code`, imported from a temporary file) runs as a third contestant.

The contestants are interleaved step by step. A round (a "pair" in the issue's words; the
default is 31 of them, `--pairs`, at least 15) is `--steps` turns (default 6); each turn times
one training step of every model, in one of the six orders of the three, taken in turn from a
list in which consecutive orders swap which of compiled and handwritten goes first, so with 6
steps every model holds every position once per round. A model's time in a round is the mean of
its steps there; the figure is the median over the rounds of the per-round ratio
compiled / handwritten. Steps that close together see the same load, so the ratio cancels most
of the noise of a shared machine; the median drops rounds a burst of load hit unevenly.

A second, noise-resistant view of the compiled module's own Python cost: the fastest eval-mode
forward of a single sample, where the layers' arithmetic is smallest.

Goal from the issue: compiled_vs_handwritten within 2% of 1 (the compiled graph adds no
overhead). The last line is machine-readable:
`compiled_vs_handwritten=<ratio> exported_vs_handwritten=<ratio> compiled_ms=<ms> ...`.

Run: python benchmarks/compiled_vs_handwritten.py [--batch 64] [--pairs 21] [--threads N]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dlbuilder.backend.codegen import export_code
from dlbuilder.backend.compiler import compile_graph
from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import find_graph_file

GRAPH = "resnet_cifar"
SEED = 20240611
MIN_PAIRS = 15
GOAL = 0.02  # within 2%
WARMUP_STEPS = 5
# Every order of the three, listed so that consecutive orders swap which of compiled ("c") and
# handwritten ("h") comes first; over the six each model holds each position twice.
ORDERS = ("che", "hce", "ech", "ehc", "ceh", "hec")
NAMES = {"c": "compiled", "h": "handwritten", "e": "exported"}


# -- the network, by hand ----------------------------------------------------------------------
class BasicBlock(nn.Module):
    """conv3x3-bn-relu-conv3x3-bn, plus the input (or its 1x1 projection), then relu."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out + self.shortcut(x)  # not in place: the graph's Add is not either
        return F.relu(out)


class ResNetCifar(nn.Module):
    """A three-stage ResNet for 32x32 images: 16, 32, 64 channels, one block per stage."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = BasicBlock(16, 16)
        self.layer2 = BasicBlock(16, 32, stride=2)
        self.layer3 = BasicBlock(32, 64, stride=2)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1)
        return self.fc(torch.flatten(out, 1))


# The compiled module's paths (its block instances and their layers) -> the hand-written ones.
MODULE_MAP = {
    "stem_conv": "conv1",
    "stem_bn": "bn1",
    "fc": "fc",
    **{f"block{i}.{part}": f"layer{i}.{part}"
       for i in (1, 2, 3) for part in ("conv1", "bn1", "conv2", "bn2")},
    **{f"block{i}.downsample.{index}": f"layer{i}.shortcut.{index}"
       for i in (2, 3) for index in (0, 1)},
}


def handwritten_state(compiled_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The compiled module's state_dict under the hand-written module's key names."""
    renamed = {}
    for key, value in compiled_state.items():
        module, _, name = key.rpartition(".")
        if module not in MODULE_MAP:
            sys.exit(f"error: the compiled module has {key!r}, which the hand-written ResNet "
                     "has no place for; did examples/resnet_cifar.json change?")
        renamed[f"{MODULE_MAP[module]}.{name}"] = value
    return renamed


# -- the contestants ---------------------------------------------------------------------------
def compiled_and_exported(graph_name: str) -> tuple[nn.Module, nn.Module]:
    """The compiled module, and `Net` from the exported code imported from a temporary file."""
    graph = load_graph(find_graph_file(graph_name), REGISTRY)
    engine = InferenceEngine(graph, REGISTRY)
    compiled = compile_graph(engine)
    source = export_code(engine)
    with tempfile.TemporaryDirectory(prefix="dlbuilder_bench_") as folder:
        path = Path(folder) / f"exported_{graph_name}.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(f"exported_{graph_name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    engine.close()
    return compiled, module.Net()


def build_models() -> dict[str, nn.Module]:
    """The three models, all holding the compiled module's (seeded) weights."""
    torch.manual_seed(SEED)
    compiled, exported = compiled_and_exported(GRAPH)
    handwritten = ResNetCifar()
    state = compiled.state_dict()
    try:
        handwritten.load_state_dict(handwritten_state(state))
        exported.load_state_dict(state)
    except RuntimeError as error:  # missing, unexpected or mis-shaped keys
        sys.exit(f"error: the weights do not fit: {error}")
    return {"c": compiled, "h": handwritten, "e": exported}


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def check_same(models: dict[str, nn.Module], x: torch.Tensor, labels: torch.Tensor) -> None:
    """Same parameter count, same eval-mode output, same gradients; exit non-zero if not."""
    problems = []
    counts = {k: count_params(m) for k, m in models.items()}
    if len(set(counts.values())) != 1:
        problems.append("parameter counts differ: "
                        + ", ".join(f"{NAMES[k]} {n:,}" for k, n in counts.items()))
    outputs = {}
    for key, model in models.items():
        model.eval()
        with torch.no_grad():
            outputs[key] = model(x)
        model.train()
    for key in "ce":
        if not torch.allclose(outputs[key], outputs["h"], rtol=1e-4, atol=1e-5):
            diff = (outputs[key] - outputs["h"]).abs().max().item()
            problems.append(f"eval-mode outputs differ: {NAMES[key]} vs handwritten, "
                            f"max |difference| {diff:.3g}")
    grads = {}
    for key, model in models.items():  # train mode: batch statistics, and the backward pass
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), labels).backward()
        named = {name: p.grad for name, p in model.named_parameters()}
        grads[key] = named if key == "h" else handwritten_state(named)
        model.zero_grad(set_to_none=True)
    for key in "ce":
        if grads[key].keys() != grads["h"].keys() or not all(
                torch.allclose(grad, grads["h"][name], rtol=1e-3, atol=1e-5)
                for name, grad in grads[key].items()):
            problems.append(f"train-mode gradients differ: {NAMES[key]} vs handwritten")
    if problems:
        sys.exit("error: the models are not the same network:\n  " + "\n  ".join(problems))
    print(f"check: same network ({counts['h']:,} parameters; eval outputs and train gradients "
          "agree)")


# -- timing ------------------------------------------------------------------------------------
def make_step(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        if x.is_cuda:  # the step is over when the GPU is done, not when Python is
            torch.cuda.synchronize()

    return step


def seconds_per_step(step: Callable[[], None], steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def run_rounds(models: dict[str, nn.Module], x: torch.Tensor, labels: torch.Tensor,
               pairs: int, steps: int) -> dict[str, list[float]]:
    """Each model's mean seconds per step in each round (a round: `steps` interleaved turns)."""
    stepper = {key: make_step(model, x, labels) for key, model in models.items()}
    for step in stepper.values():  # warm up: allocator, kernels' first-call costs
        seconds_per_step(step, WARMUP_STEPS)
    times: dict[str, list[float]] = {key: [] for key in NAMES}
    gc.collect()
    gc.disable()  # no collector pauses inside a measurement; collected between rounds instead
    try:
        for i in range(pairs):
            spent = dict.fromkeys(NAMES, 0.0)
            for j in range(steps):
                for key in ORDERS[(i + j) % len(ORDERS)]:
                    start = time.perf_counter()
                    stepper[key]()
                    spent[key] += time.perf_counter() - start
            for key, seconds in spent.items():
                times[key].append(seconds / steps)
            gc.collect()
    finally:
        gc.enable()
    return times


def ratios(times: dict[str, list[float]], key: str) -> list[float]:
    """Per-round ratios of `key`'s time to the hand-written model's."""
    return [a / b for a, b in zip(times[key], times["h"], strict=True)]


def forward_overhead_us(models: dict[str, nn.Module], repeats: int = 15, calls: int = 10
                        ) -> dict[str, float]:
    """Fastest microseconds per eval-mode forward of one sample: where compute is smallest,
    so Python-side costs (the compiled module's op loop included) show the most."""
    device = next(next(iter(models.values())).parameters()).device
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(SEED)).to(device)
    best = {}
    for key, model in models.items():
        model.eval()
        with torch.no_grad():
            model(x)
            best[key] = min(seconds_per_step(lambda m=model: _synced(m(x)), calls)
                            for _ in range(repeats)) * 1e6
        model.train()
    return best


def _synced(out: torch.Tensor) -> torch.Tensor:
    if out.is_cuda:
        torch.cuda.synchronize()
    return out


# -- report ------------------------------------------------------------------------------------
def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def print_rounds(times: dict[str, list[float]]) -> None:
    print()
    print("round  compiled ms  handwritten ms  exported ms    c/h    e/h")
    c_h, e_h = ratios(times, "c"), ratios(times, "e")
    for i in range(len(c_h)):
        t = {key: times[key][i] * 1000 for key in NAMES}
        print(f"{i + 1:5d}  {t['c']:11.2f}  {t['h']:14.2f}  {t['e']:11.2f}  {c_h[i]:5.3f}"
              f"  {e_h[i]:5.3f}")


def print_summary(times: dict[str, list[float]], overhead: dict[str, float],
                  args: argparse.Namespace) -> tuple[float, float]:
    c_h, e_h = ratios(times, "c"), ratios(times, "e")
    print()
    for key, name in NAMES.items():
        q1, med, q3 = quartiles(times[key])
        print(f"{name:<12} median {med * 1000:7.2f} ms per step "
              f"(quartiles {q1 * 1000:.2f} .. {q3 * 1000:.2f})")
    for label, values in (("compiled / handwritten", c_h), ("exported / handwritten", e_h)):
        q1, med, q3 = quartiles(values)
        print(f"{label}: median of {len(values)} per-round ratios {med:.3f} "
              f"(quartiles {q1:.3f} .. {q3:.3f})")
    print("forward of one sample, eval mode, fastest of 15 (Python-side cost shows most): "
          + ", ".join(f"{NAMES[key]} {us:.0f} us" for key, us in overhead.items()))
    ratio = statistics.median(c_h)
    met = ratio <= 1 + GOAL  # faster than by hand is no overhead either
    print(f"goal: compiled at most {GOAL:.0%} slower than handwritten: {ratio:.3f} -> "
          f"{'met' if met else 'NOT met'}")
    print(f"(one step = zero_grad + forward + cross-entropy + backward; batch {args.batch}, "
          f"{args.steps} interleaved steps per model per round, "
          f"{plural(torch.get_num_threads(), 'thread')})")
    return ratio, statistics.median(e_h)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--pairs", type=int, default=31,
                        help=f"interleaved rounds, at least {MIN_PAIRS} (default 31)")
    parser.add_argument("--steps", type=int, default=6,
                        help="interleaved training steps per model per round (default 6)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's current setting)")
    args = parser.parse_args()
    if args.pairs < MIN_PAIRS:
        parser.error(f"--pairs must be at least {MIN_PAIRS}")
    if args.batch < 1 or args.steps < 1 or (args.threads is not None and args.threads < 1):
        parser.error("--batch, --steps and --threads must be positive")
    return args


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    torch.set_num_threads(args.threads or torch.get_num_threads())  # stated, the same for all
    print(f"python {sys.version.split()[0]}, torch {torch.__version__} "
          f"({plural(torch.get_num_threads(), 'thread')}), graph {GRAPH}, seed {SEED}")
    models = {key: model.to(args.device) for key, model in build_models().items()}
    generator = torch.Generator().manual_seed(SEED)
    x = torch.randn(args.batch, 3, 32, 32, generator=generator).to(args.device)
    labels = torch.randint(0, 10, (args.batch,), generator=generator).to(args.device)
    check_same(models, x, labels)
    times = run_rounds(models, x, labels, args.pairs, args.steps)
    overhead = forward_overhead_us(models)
    print_rounds(times)
    ratio, exported_ratio = print_summary(times, overhead, args)
    print(f"total benchmark time {time.perf_counter() - started:.1f} s")
    ms = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(f"compiled_vs_handwritten={ratio:.3f} exported_vs_handwritten={exported_ratio:.3f} "
          f"compiled_ms={ms['c']:.1f} handwritten_ms={ms['h']:.1f} exported_ms={ms['e']:.1f} "
          f"batch={args.batch} device={args.device} threads={torch.get_num_threads()} "
          f"pairs={args.pairs} "
          f"steps={args.steps}")


if __name__ == "__main__":
    main()
