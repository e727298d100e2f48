"""Does training in the app keep the window responsive, and does the window slow training?

While a run trains in the app's worker thread (the real TrainingPanel, its curves and progress
line redrawing), a 5 ms precise QTimer measures how late the GUI event loop serves it: a stall
is the lateness of a tick. The same run (same graph, data subset, seed and torch thread count)
also trains headless in this process, taking turns with the GUI runs, and the training
samples/s of the two are compared (the trainer's own per-epoch figure, which counts the
training pass only).

torch's intra-op threads compete with the GUI thread for the cores, so each thread count from
1 to the number of cores is measured (after the training thread has loaded torch's modules,
as the app does when its Training tab is first built); the app's choice
(`session.torch_threads()`) is the one the last line reports, against the fastest headless
setting.

    python benchmarks/ui_latency.py [--graph lenet5] [--samples 12000] [--epochs 2]
                                    [--rounds 2] [--data-dir DIR]

MNIST comes from ../shared/datasets/mnist (or --data-dir); without it, the digits set is used.
Last line: p99_stall_ms=<ms> max_stall_ms=<ms> gui_vs_headless=<x> same_threads=<x>
(gui_vs_headless: the app's setting against the fastest headless one; same_threads: against
headless with the app's thread count.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer

ROOT = Path(__file__).resolve().parent.parent
TICK_MS = 5


def load_data(data_dir: Path | None, samples: int):
    from dlbuilder.backend.datasets import Split, load_dataset

    shared = ROOT.parent / "shared" / "datasets" / "mnist"
    folder = data_dir or (shared if (shared / "train-images-idx3-ubyte.gz").exists() else None)
    if folder is None:
        print("MNIST not found; using the built-in digits", file=sys.stderr)
        return load_dataset("digits"), "digits_cnn"
    data = load_dataset("mnist", folder)
    rng = np.random.default_rng(0)
    keep = np.sort(rng.choice(len(data.train), size=min(samples, len(data.train)),
                              replace=False))
    test = Split(data.test.x[:2000], data.test.y[:2000]) if data.test is not None else None
    return replace(data, train=Split(data.train.x[keep], data.train.y[keep]), test=test), None


def headless(graph_dict, settings, dataset, threads: int) -> float:
    """Training samples/s of a run in this thread, no GUI running."""
    import torch

    from dlbuilder.backend.trainer import Trainer, plan_run
    from dlbuilder.gui.training.session import _engine_for

    torch.set_num_threads(threads)
    run = plan_run(_engine_for(graph_dict), settings, dataset=dataset)
    rates = [r.samples_per_s for r in Trainer(run).run() if r.kind == "epoch"]
    return statistics.median(rates)


class Ticker:
    """A 5 ms timer and how late each of its ticks came."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.lateness: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._on_timer_timeout)
        self._last = 0

    def start(self) -> None:
        self.lateness.clear()
        self.clock.start()
        self._last = self.clock.nsecsElapsed()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _on_timer_timeout(self) -> None:
        now = self.clock.nsecsElapsed()
        self.lateness.append(max((now - self._last) / 1e6 - TICK_MS, 0.0))
        self._last = now


def in_gui(panel, ticker: Ticker, threads: int) -> tuple[float, list[float], float]:
    """Training samples/s of a run in the app's worker, the ticks' lateness meanwhile, and the
    share of a core the GUI thread used. The GUI thread idles in a Qt event loop, as in the
    app."""
    os.environ["DLBUILDER_TORCH_THREADS"] = str(threads)
    loop = QEventLoop()
    panel.session.ended.connect(loop.quit)
    assert panel.start(), panel.start_problems()
    ticker.start()
    cpu, wall = time.thread_time(), time.perf_counter()
    loop.exec()
    busy = (time.thread_time() - cpu) / (time.perf_counter() - wall)
    ticker.stop()
    panel.session.ended.disconnect(loop.quit)
    rates = [e["samples_per_s"] for e in panel.history.epochs]
    return statistics.median(rates), list(ticker.lateness), busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", default="lenet5")
    parser.add_argument("--samples", type=int, default=12000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()

    from dlbuilder.gui.app import application

    app = application()  # noqa: F841 - as the app makes it (its GUI-thread garbage collector too)
    from dlbuilder.backend.settings import resolve_settings
    from dlbuilder.core.fileformat import graph_to_dict, load_graph
    from dlbuilder.gui.document import Document
    from dlbuilder.gui.training.panel import TrainingPanel
    from dlbuilder.gui.training.session import torch_threads
    from dlbuilder.layers import REGISTRY
    from dlbuilder.resources import examples_dir

    dataset, fallback = load_data(args.data_dir, args.samples)
    graph = load_graph(examples_dir() / f"{fallback or args.graph}.json", REGISTRY)
    graph.training = {**graph.training, "dataset": dataset.name, "epochs": args.epochs,
                      "val_split": 0.1, "device": "cpu"}
    graph.training.pop("data_dir", None)
    settings = resolve_settings(graph.training)
    doc = Document(graph)
    panel = TrainingPanel(doc)
    panel.resize(1400, 700)
    panel.show()
    panel.data_panel.dataset = lambda: dataset  # the subset, not the whole set
    warm = QEventLoop()  # the app loads torch's modules when the Training tab is first built
    panel.session.warmed_up.connect(warm.quit)
    if not panel.session.is_warm:
        warm.exec()
    ticker = Ticker()
    cores = os.cpu_count() or 1
    chosen = torch_threads()  # before the runs below set $DLBUILDER_TORCH_THREADS
    choices = sorted({*range(1, cores + 1), chosen})
    head: dict[int, list[float]] = {t: [] for t in choices}
    gui: dict[int, list[float]] = {t: [] for t in choices}
    stalls: dict[int, list[float]] = {t: [] for t in choices}
    busy: dict[int, list[float]] = {t: [] for t in choices}
    for _ in range(args.rounds):
        for threads in choices:
            head[threads].append(headless(graph_to_dict(graph), settings, dataset, threads))
            rate, late, used = in_gui(panel, ticker, threads)
            gui[threads].append(rate)
            busy[threads].append(used)
            stalls[threads] += late
    for threads in choices:
        late = np.array(stalls[threads])
        print(f"torch threads {threads}: headless {statistics.median(head[threads]):,.0f} "
              f"samples/s, in the app {statistics.median(gui[threads]):,.0f} samples/s, "
              f"stall p99 {np.percentile(late, 99):.1f} ms, max {late.max():.1f} ms "
              f"({len(late):,} ticks), GUI thread busy {statistics.median(busy[threads]):.0%}")
    os.environ.pop("DLBUILDER_TORCH_THREADS", None)
    best_headless = max(statistics.median(v) for v in head.values())
    late = np.array(stalls[chosen])
    ratio = statistics.median(gui[chosen]) / best_headless
    same = statistics.median(gui[chosen]) / statistics.median(head[chosen])
    print(f"the app uses {chosen} torch thread(s) on {cores} cores; compared with the fastest "
          f"headless setting ({best_headless:,.0f} samples/s)")
    panel.shutdown()
    print(f"p99_stall_ms={np.percentile(late, 99):.1f} max_stall_ms={late.max():.1f} "
          f"gui_vs_headless={ratio:.2f} same_threads={same:.2f}")


if __name__ == "__main__":
    main()
