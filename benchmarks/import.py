"""Benchmark: importing torchvision's ResNet-50 (torch.fx) and what comes out.

Times each phase of `dlbuilder import` on an untrained ResNet-50 (weights=None, nothing
downloaded; torchvision imported as tests/zoo_torchvision.py does): torch's tracing, our
mapping (drafts, block types, parameters), our layout, building the exported class's
state_dict, and writing the graph and weights files. Then counts the top-level cards and the
exported file's lines, and checks the round trip it exists for: the exported code with the
written weights gives the original model's outputs exactly (eval mode, CPU); a mismatch
fails the script.

Goals from the issue: the whole import under 3 s, our mapping and layout under 0.5 s,
top-level cards <= 20, the exported file under 300 lines. Medians of perf_counter timings
(the machine is shared and noisy). The last line is machine-readable.

Run: python benchmarks/import.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from zoo_torchvision import import_torchvision, randomize

from dlbuilder.backend.codegen import export_code
from dlbuilder.backend.importing.result import Imported, write_imported
from dlbuilder.backend.importing.torch_import import (
    lay_out,
    map_traced,
    trace_model,
    weights_of,
)
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY

REPEATS = 5
SHAPE = (3, 224, 224)


def timed(action):
    start = time.perf_counter()
    result = action()
    return result, (time.perf_counter() - start) * 1000


def import_once(model: torch.nn.Module, folder: Path) -> tuple[Imported, dict[str, float]]:
    traced, trace_ms = timed(lambda: trace_model(model, SHAPE))
    mapped, map_ms = timed(lambda: map_traced(traced, "resnet50", SHAPE, "resnet50"))
    _, layout_ms = timed(lambda: lay_out(mapped.graph))
    state, weights_ms = timed(lambda: weights_of(mapped))
    imported = Imported(mapped.graph, state, mapped.notes)
    _, write_ms = timed(lambda: write_imported(imported, folder / "resnet50.json",
                                               folder / "resnet50.pt"))
    phases = {"trace": trace_ms, "map": map_ms, "layout": layout_ms, "weights": weights_ms,
              "write": write_ms}
    return imported, phases


def check_outputs(model: torch.nn.Module, code: str, state: dict[str, torch.Tensor]) -> None:
    namespace: dict = {}
    exec(compile(code, "<exported resnet50>", "exec"), namespace)  # the code we just generated
    net = namespace["Net"]()
    net.load_state_dict(state)
    model.eval()
    net.eval()
    x = torch.randn(2, *SHAPE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        if not torch.equal(net(x), model(x)):
            raise SystemExit("the exported ResNet-50 does not give the original's outputs")


def main() -> None:
    models, why = import_torchvision()
    if models is None:
        raise SystemExit(why)
    torch.set_num_threads(1)
    model = randomize(models.resnet50(weights=None))
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(REPEATS):
            imported, phases = import_once(model, Path(folder))
            runs.append(phases)
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    total = sum(median.values())
    ours = median["map"] + median["layout"]
    graph = imported.graph
    code = export_code(InferenceEngine(graph, REGISTRY))
    check_outputs(model, code, imported.state)
    cards = len(graph.nodes())
    lines = len(code.splitlines())
    for phase, ms in median.items():
        print(f"{phase:>8}: {ms:8.1f} ms")
    print(f"import total {total / 1000:.2f} s (goal < 3 s); mapping + layout {ours:.0f} ms "
          f"(goal < 500 ms)")
    print(f"top-level cards {cards} (goal <= 20), block types {len(graph.blocks)}, "
          f"exported lines {lines} (goal < 300); outputs equal")
    print(f"import_s={total / 1000:.3f} mapping_layout_ms={ours:.1f} "
          f"trace_ms={median['trace']:.1f} top_cards={cards} block_types={len(graph.blocks)} "
          f"export_lines={lines}")


if __name__ == "__main__":
    main()
