"""Benchmark: how long the exported code of ResNet-50 is, built from blocks and flat.

The block version (tests/big_graphs.py: Bottleneck, its projecting variant, Projection and
Stage, with torchvision's names) exports one class per block type; the flat version
(177 hand-wired nodes) one long `__init__`. The issue asks for under 300
lines from blocks (the flat export is longer than 1,000). The last line is machine-readable:
`export_lines_blocks=<n> export_lines_flat=<n>`.

Run: python benchmarks/export_lines.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from big_graphs import resnet50_blocks_graph, resnet50_graph

from dlbuilder.backend.codegen import export_code
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY


def export_lines(graph) -> int:
    return len(export_code(InferenceEngine(graph, REGISTRY)).splitlines())


def main() -> None:
    blocks = export_lines(resnet50_blocks_graph())
    flat = export_lines(resnet50_graph())
    print(f"ResNet-50 exported from blocks: {blocks} lines; flat: {flat} lines (goal: < 300 "
          "from blocks)")
    print(f"export_lines_blocks={blocks} export_lines_flat={flat}")


if __name__ == "__main__":
    main()
