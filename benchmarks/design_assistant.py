"""Benchmark: the design assistant (issue 20): solving for a size, receptive fields, hints.

Each part adds one function that returns its figures (milliseconds, medians of
`time.perf_counter` timings); the last line printed is machine-readable `name=value` pairs.

Goal from the issue: solve for one layer < 5 ms.

Run: python benchmarks/design_assistant.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import find_graph_file

GOAL_SOLVE_MS = 5.0


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def solve_one_layer_ms() -> dict[str, float]:
    """Solving LeNet-5's layers for sizes: one layer's own settings (the figure the issue
    sets a goal for: the median over the cases, and the slowest case), the same with the
    path before it, and an impossible size (every combination tried, then the nearest)."""
    from dlbuilder.core.solve import solve_size

    engine = InferenceEngine(load_graph(find_graph_file("lenet5"), REGISTRY), REGISTRY)
    cases = [("c1", (14, 14)), ("c1", (26, 26)), ("s2", (7, 7)), ("c3", (14, 14)),
             ("c3", (12, 8)), ("s4", (3, 4)), ("s4", (4, 4))]
    one = [_median_ms(lambda n=n, t=t: solve_size(engine, n, t, path=False), 21)
           for n, t in cases]
    path = [_median_ms(lambda n=n, t=t: solve_size(engine, n, t), 11) for n, t in cases]
    impossible = _median_ms(lambda: solve_size(engine, "c1", (40, 40), path=False), 11)
    return {"solve_one_layer_ms": statistics.median(one), "solve_one_layer_max_ms": max(one),
            "solve_with_path_ms": statistics.median(path),
            "solve_impossible_ms": impossible}


PARTS: list[Callable[[], dict[str, float]]] = [solve_one_layer_ms]


def main() -> None:
    figures: dict[str, float] = {}
    for part in PARTS:
        figures.update(part())
    for name, value in figures.items():
        print(f"{name:<28} {value:8.2f}")
    verdict = "meets" if figures["solve_one_layer_ms"] < GOAL_SOLVE_MS else "misses"
    print(f"solving for one layer {verdict} the goal of {GOAL_SOLVE_MS:g} ms")
    print(" ".join(f"{name}={value:.3f}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
