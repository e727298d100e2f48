"""One epoch of MNIST through dlbuilder's trainer against the canonical hand-written loop.

Same network (the graph's compiled module, built from the same seed), same 54,000 training
samples, batch size and thread count, in one process, taking turns. The hand-written loop is
the one every tutorial shows: a DataLoader over a TensorDataset with shuffle, then zero_grad,
forward, loss, backward, step, and loss.item() for the running loss. Both figures count only
the training pass (the trainer's validation pass after the epoch is reported apart).

    python benchmarks/train_throughput.py [--graph lenet5] [--batch 64] [--rounds 4]
                                          [--threads N] [--compile] [--data-dir DIR]

Last line: speedup_vs_handwritten=<x> (trainer samples/s over hand-written samples/s, medians),
and with --compile also compiled_speedup=<x> (the median batch, compiled over plain) and
compile_s (the first batch, which waits for the compiler).
"""

from __future__ import annotations

import argparse
import statistics
import time
from itertools import pairwise
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from dlbuilder.backend.compiler import CompiledModel
from dlbuilder.backend.settings import resolve_settings
from dlbuilder.backend.trainer import Trainer, plan_run
from dlbuilder.cli.common import load_engine

ROOT = Path(__file__).resolve().parent.parent


def handwritten_epoch(plan, x, y, batch, lr, seed, device) -> float:
    """Samples/s of the tutorial loop over one epoch (batches moved to the device as the
    tutorials do)."""
    torch.manual_seed(seed)
    model = CompiledModel(plan).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
    model.train()
    running = 0.0
    start = time.perf_counter()
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        running += loss.item()  # a sync per batch, as the tutorials write it
    return len(x) / (time.perf_counter() - start)


def trainer_epoch(run) -> tuple[float, float]:
    """(training samples/s, the whole epoch with its validation pass in s)."""
    start = time.perf_counter()
    for record in Trainer(run).run():
        if record.kind == "epoch":
            return record.samples_per_s, time.perf_counter() - start
    raise RuntimeError("the run ended before its first epoch")


def batch_profile(run, skip: int) -> tuple[float, float]:
    """(seconds to the first batch's end, samples/s at the median batch time after the first
    `skip`): with torch.compile the first batch waits for the compiler, and the last, smaller
    batch may compile again; the median is the steady speed."""
    start = time.perf_counter()
    times = [time.perf_counter() for r in Trainer(run).run() if r.kind == "batch"]
    steady = statistics.median(b - a for a, b in pairwise(times[skip:]))
    return times[0] - start, run.settings.batch_size / steady


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", default="lenet5")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "datasets" / "mnist"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    engine = load_engine(args.graph)
    settings = resolve_settings({}, {"dataset": "mnist", "data_dir": args.data_dir,
                                     "batch_size": args.batch, "epochs": 1, "device": args.device})
    run = plan_run(engine, settings)
    x, y = run.data.train_x, run.data.train_y
    print(f"{args.graph} on MNIST: {len(x):,} samples an epoch, batch {args.batch}, "
          f"{args.threads} threads, {args.device}, torch {torch.__version__}")
    ours, theirs, walls = [], [], []
    for round_ in range(1, args.rounds + 1):
        for contestant in (("ours", "theirs") if round_ % 2 else ("theirs", "ours")):
            if contestant == "ours":  # who goes first alternates: drift hits both alike
                rate, wall = trainer_epoch(run)
                ours.append(rate)
                walls.append(wall)
            else:
                theirs.append(handwritten_epoch(run.plan, x, y, args.batch, settings.lr,
                                                settings.seed, args.device))
        print(f"round {round_}: dlbuilder {ours[-1]:,.0f} samples/s (epoch with validation "
              f"{walls[-1]:.1f} s), hand-written {theirs[-1]:,.0f} samples/s", flush=True)
    ratio = statistics.median(ours) / statistics.median(theirs)
    figures = f"speedup_vs_handwritten={ratio:.3f} dlbuilder_samples_s=" \
              f"{statistics.median(ours):.0f} handwritten_samples_s={statistics.median(theirs):.0f}"
    if args.compile:
        skip = 30
        _, plain = batch_profile(run, skip)
        compiled_run = type(run)(run.plan, run.data, resolve_settings(
            settings.as_dict(), {"compile": True}))
        compile_s, compiled = batch_profile(compiled_run, skip)
        print(f"median batch after the first {skip}: plain {plain:,.0f} samples/s, compiled "
              f"{compiled:,.0f} samples/s; the first compiled batch ended after "
              f"{compile_s:.1f} s")
        figures += f" compiled_speedup={compiled / plain:.3f} compile_s={compile_s:.1f}"
    print(figures)


if __name__ == "__main__":
    main()
