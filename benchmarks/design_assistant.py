"""Benchmark: the design assistant (issue 20): solving for a size, receptive fields, hints.

Each part adds one function that returns its figures (milliseconds, medians of
`time.perf_counter` timings); the last line printed is machine-readable `name=value` pairs.

Goals from the issue: solve for one layer < 5 ms; receptive fields for 1,000 nodes < 5 ms.

hints_1000_nodes_ms: the design hints (core/hints.py) over a 1,000-node graph that gives them
work (conv, BatchNorm after a biased conv, ReLU, a Tanh and a Dropout before a BatchNorm now
and then, a residual Add every eight groups, Flatten and Linear at the end): computing them
once, which is what `engine.diagnostics()` adds after an edit; `hints_edit_ms` is a
one-parameter edit followed by that `diagnostics()` call.

Run: python benchmarks/design_assistant.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from inference import build_graph  # benchmarks/inference.py: its seeded ResNet-like graphs

import dlbuilder.core.engine_base as engine_base
from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import find_graph_file

GOAL_SOLVE_MS = 5.0
GOAL_RECEPTIVE_MS = 5.0
FULL_REPEATS = 15  # receptive fields: full inferences (and replays) timed
EDIT_REPEATS = 15


def _times_ms(run: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    return statistics.median(_times_ms(run, repeats))


def solve_one_layer_ms() -> dict[str, float]:
    """Solving LeNet-5's layers for sizes: one layer's own settings (the figure the issue
    sets a goal for: the median over the cases, and the slowest case), the same with the
    path before it, an impossible size (every combination tried, then the nearest), and as
    the editor and the CLI solve: with each candidate tried on a copy of the whole file (the
    copy made once per answer, as they do), on LeNet-5 and in a ResNet block's convolution."""
    from dlbuilder.core.solve import solve_size
    from dlbuilder.core.solve_check import WholeFileCheck

    engine = InferenceEngine(load_graph(find_graph_file("lenet5"), REGISTRY), REGISTRY)
    cases = [("c1", (14, 14)), ("c1", (26, 26)), ("s2", (7, 7)), ("c3", (14, 14)),
             ("c3", (12, 8)), ("s4", (3, 4)), ("s4", (4, 4))]
    one = [_median_ms(lambda n=n, t=t: solve_size(engine, n, t, path=False), 21)
           for n, t in cases]
    path = [_median_ms(lambda n=n, t=t: solve_size(engine, n, t), 11) for n, t in cases]
    impossible = _median_ms(lambda: solve_size(engine, "c1", (40, 40), path=False), 11)
    checked = [_median_ms(lambda n=n, t=t: solve_size(
        engine, n, t, check=WholeFileCheck(engine.graph, REGISTRY)), 11) for n, t in cases]
    resnet = InferenceEngine(load_graph(find_graph_file("resnet_cifar"), REGISTRY), REGISTRY)
    run = resnet.runs("block2")[0]
    in_block = _median_ms(lambda: solve_size(run, "conv2", (8, 8), check=WholeFileCheck(
        resnet.graph, REGISTRY, run.defn.name)), 5)
    return {"solve_one_layer_ms": statistics.median(one), "solve_one_layer_max_ms": max(one),
            "solve_with_path_ms": statistics.median(path),
            "solve_impossible_ms": impossible,
            "solve_checked_ms": statistics.median(checked),
            "solve_checked_in_resnet_block_ms": in_block}


def _field_calls(engine: InferenceEngine) -> list[tuple]:
    """The arguments of every per-node field computation of one full inference."""
    calls: list[tuple] = []
    real = engine_base.node_receptive

    def recording(*args: object) -> object:
        calls.append(args)
        return real(*args)

    engine_base.node_receptive = recording  # type: ignore[assignment]
    try:
        engine.infer_all()
    finally:
        engine_base.node_receptive = real
    return calls


def _full_ms(engine: InferenceEngine) -> tuple[list[float], list[float]]:
    """Full inference with and without the field computation, taking turns (the machine is
    shared: turns see the same load)."""
    real = engine_base.node_receptive
    with_fields, without = [], []
    for _ in range(FULL_REPEATS):
        with_fields.append(_median_ms(engine.infer_all, 1))
        engine_base.node_receptive = lambda *args: None  # type: ignore[assignment]
        try:
            without.append(_median_ms(engine.infer_all, 1))
        finally:
            engine_base.node_receptive = real
    engine.infer_all()
    return with_fields, without


def _field_only_edit(graph: Graph, engine: InferenceEngine) -> tuple[str, list[float], int]:
    """An early 3x3 pad 1 convolution made 5x5 pad 2 and back: shapes stay, fields change."""
    conv = next(n for n in graph.nodes() if graph.type_of(n) == "Conv2d"
                and graph.params(n).get("kernel_size") in (3, [3, 3])
                and graph.params(n).get("padding") in (1, [1, 1]))
    small = graph.params(conv)
    large = {**small, "kernel_size": 5, "padding": 2}
    toggled = [small]

    def edit() -> None:
        toggled[0] = large if toggled[0] is small else small
        graph.set_params(conv, toggled[0])

    times = _times_ms(edit, EDIT_REPEATS)
    return conv, times, len(engine.last_inferred)


def receptive_fields_ms() -> dict[str, float]:
    """Receptive fields on the seeded 1,000-node ResNet-like graph of benchmarks/inference.py:
    the per-node field computations of one full inference, replayed (goal < 5 ms); full
    inference with them against without, taking turns; and one edit that changes only fields
    (an early 3x3 pad 1 convolution made 5x5 pad 2, shapes unchanged), so every node after it
    gets its field recomputed, and only that. Medians, the best run printed beside them."""
    graph = build_graph(1_000).graph
    engine = InferenceEngine(graph, REGISTRY)
    calls = _field_calls(engine)

    def replay() -> None:
        for args in calls:
            engine_base.node_receptive(*args)

    replays = _times_ms(replay, FULL_REPEATS)
    fields_ms = statistics.median(replays)
    with_runs, without_runs = _full_ms(engine)
    with_fields, without = statistics.median(with_runs), statistics.median(without_runs)
    conv, edits, reached = _field_only_edit(graph, engine)
    edit_ms = statistics.median(edits)
    print(f"receptive fields of {len(calls):,} nodes: {fields_ms:.2f} ms, best {min(replays):.2f} "
          f"(goal < {GOAL_RECEPTIVE_MS:g} ms); full inference {with_fields:.2f} ms with them, "
          f"{without:.2f} ms without (x{with_fields / without:.2f}; best runs "
          f"{min(with_runs):.2f} and {min(without_runs):.2f} ms)")
    print(f"an edit that changes only receptive fields ({conv}: 3x3 p1 <-> 5x5 p2) updates "
          f"{reached} nodes in {edit_ms:.2f} ms, best {min(edits):.2f}")
    return {"receptive_1000_nodes_ms": round(fields_ms, 3),
            "receptive_inference_ratio": round(with_fields / without, 3),
            "receptive_edit_ms": round(edit_ms, 3),
            "receptive_edit_nodes": reached}



def _hinted_graph(nodes: int) -> Graph:
    """Input -> (conv, bn, act) groups with an Add every few groups -> Flatten -> Linear."""
    graph = Graph("hints_bench")
    graph.add_node("in", "Input", {"shape": [3, 16, 16]})
    prev, skip, i = "in", None, 0
    while len(graph) < nodes - 3:
        i += 1
        layers = [(f"conv{i}", "Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}),
                  (f"bn{i}", "BatchNorm2d", {}),
                  (f"act{i}", "Tanh" if i % 5 == 0 else "ReLU", {})]
        if i % 7 == 0:
            layers.insert(2, (f"drop{i}", "Dropout", {}))
            layers.insert(3, (f"bn{i}b", "BatchNorm2d", {}))
        for node, kind, params in layers:
            graph.add_node(node, kind, params)
            graph.add_edge(prev, node)
            prev = node
        if i % 8 == 0 and skip is not None:
            graph.add_node(f"add{i}", "Add", {})
            graph.add_edge(prev, f"add{i}")
            graph.add_edge(skip, f"add{i}")
            prev = f"add{i}"
        if i % 8 == 1:
            skip = prev
    for node, kind, params in (("flat", "Flatten", {}), ("fc", "Linear", {"out_features": 10}),
                               ("out", "Output", {})):
        graph.add_node(node, kind, params)
        graph.add_edge(prev, node)
        prev = node
    return graph


def hints_1000_nodes_ms() -> dict[str, float]:
    """The hints over 1,000 nodes, and an edit followed by the diagnostics with them."""
    from dlbuilder.core.hints import hints

    graph = _hinted_graph(1_000)
    engine = InferenceEngine(graph, REGISTRY)
    alone = _median_ms(lambda: hints(engine), 31)
    flips = iter([True, False] * 31)

    def edit_and_gather() -> None:  # conv40's bias on and off: a hint appears and goes
        graph.set_params("conv40", {"out_channels": 8, "kernel_size": 3, "padding": 1,
                                    "bias": next(flips)})
        engine.diagnostics()

    return {"hints_1000_nodes_ms": alone, "hints_edit_ms": _median_ms(edit_and_gather, 31)}


PARTS: list[Callable[[], dict[str, float]]] = [solve_one_layer_ms, receptive_fields_ms,
                                               hints_1000_nodes_ms]


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
