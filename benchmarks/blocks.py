"""Benchmark: ResNet-50 from blocks against the same network drawn flat, in the core.

Builds torchvision's ResNet-50 twice (tests/big_graphs.py): flat (177 cards) and from blocks
(Bottleneck, BottleneckDown, Projection and Stage definitions; 13 top-level cards), and measures:

* top-level cards of each;
* full inference: a fresh `InferenceEngine` (every block run evaluated, nothing cached);
* an edit inside the Bottleneck definition (used by 12 of the 16 bottlenecks): set conv2's
  `bias`, then set it back, through the definition's graph as the editor does; the engine
  re-evaluates every instance. The window's repaint is measured by benchmarks/editor.py.

Both graphs must agree on every total, or the script fails. Goals from the issue: top-level
cards <= 20, full inference < 10 ms. Medians of perf_counter timings (the machine is noisy).
The last line is machine-readable.

Run: python benchmarks/blocks.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from big_graphs import resnet50_blocks_graph, resnet50_graph

from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY

REPEATS = 21


def median_ms(action, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    flat, blocks = resnet50_graph(), resnet50_blocks_graph()
    flat_totals = InferenceEngine(flat, REGISTRY).totals()
    engine = InferenceEngine(blocks, REGISTRY)
    if engine.totals() != flat_totals:
        raise SystemExit(f"the graphs disagree: {engine.totals()} != {flat_totals}")
    full_flat = median_ms(lambda: InferenceEngine(flat, REGISTRY).close())
    full_blocks = median_ms(lambda: InferenceEngine(blocks, REGISTRY).close())
    inner = blocks.block("Bottleneck").graph
    params = inner.params("conv2")

    def edit() -> None:
        inner.set_params("conv2", {**params, "bias": True})
        inner.set_params("conv2", params)

    edit_ms = median_ms(edit) / 2
    print(f"top-level cards: flat {len(flat)}, blocks {len(blocks)}")
    print(f"full inference: flat {full_flat:.2f} ms, blocks {full_blocks:.2f} ms")
    print(f"edit inside Bottleneck (every instance re-evaluated): {edit_ms:.2f} ms")
    print(f"params {engine.totals().params:,} in both")
    print(f"top_level_cards={len(blocks)} flat_cards={len(flat)} "
          f"full_inference_ms={full_blocks:.2f} flat_full_inference_ms={full_flat:.2f} "
          f"ratio_blocks_vs_flat={full_blocks / full_flat:.2f} edit_in_block_ms={edit_ms:.2f}")


if __name__ == "__main__":
    main()
