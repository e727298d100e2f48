"""The compiler: every example and a few hundred random graphs compile to modules whose shape
and parameter count are what inference predicted, and whose exported code, run in a fresh
interpreter with the compiled module's weights, gives identical outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from graph_strategies import valid_graphs
from helpers import chain, engine_for, example_graph
from hypothesis import HealthCheck, Phase, given, settings
from layer_checks import graph_with

from dlbuilder.backend.codegen import generate_code
from dlbuilder.backend.compiler import CompiledModel, compile_graph
from dlbuilder.backend.plan import CompileError, build_plan
from dlbuilder.backend.weights import save_weights
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import example_names

RUNNER = Path(__file__).with_name("run_exported.py")
RANDOM_GRAPHS = 300
EXAMPLES = example_names()


def example_engine(name: str) -> InferenceEngine:
    return engine_for(example_graph(name))


def check_against_inference(engine: InferenceEngine, model: CompiledModel, batch: int = 2
                            ) -> torch.Tensor:
    """Output shape, parameter and buffer counts as predicted; returns the eval output."""
    totals = engine.totals()
    assert sum(p.numel() for p in model.parameters()) == totals.params
    assert sum(b.numel() for b in model.buffers()) == totals.buffers
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(batch, *model.plan.input_shape))
    end = next((i for i in engine.infos() if i.type == "Output"), engine.infos()[-1])
    assert tuple(out.shape) == (batch, *end.output_shape)
    return out


def write_case(folder: Path, engine: InferenceEngine, batch: int = 3) -> None:
    """The exported code, the compiled module's weights, an input and the expected output."""
    plan = build_plan(engine)
    model = CompiledModel(plan).eval()
    x = torch.randn(batch, *plan.input_shape)
    with torch.no_grad():
        expected = model(x)
    folder.mkdir(parents=True)
    (folder / "model.py").write_text(generate_code(plan), encoding="utf-8")
    save_weights(model, folder / "weights.pt")  # read back with torch.load(weights_only=True)
    torch.save({"input": x, "expected": expected}, folder / "case.pt")


def run_exported(folders: list[Path]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(RUNNER), *map(str, folders)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_compiles_as_inferred_and_trains_one_step(name: str) -> None:
    engine = example_engine(name)
    model = compile_graph(engine)
    check_against_inference(engine, model)
    model.train()
    x = torch.rand(4, *model.plan.input_shape)
    out = model(x)
    if model.plan.target == "input":
        loss = torch.nn.functional.mse_loss(out, x)
    else:
        loss = torch.nn.functional.cross_entropy(out, torch.tensor([0, 1, 2, 3]))
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


@pytest.mark.slow
def test_examples_exported_code_matches_in_fresh_interpreters(tmp_path: Path) -> None:
    """One interpreter per example, started together."""
    runs = {}
    for name in EXAMPLES:
        write_case(tmp_path / name, example_engine(name))
        runs[name] = run_exported([tmp_path / name])
    for name, process in runs.items():
        out, _ = process.communicate(timeout=300)
        assert process.returncode == 0, f"{name}: {out}"


def _example_engines(covered: set[str]) -> list[InferenceEngine]:
    """Graphs from the declared examples of the types the random graphs happened to miss.

    Which types a seeded batch of random graphs reaches shifts whenever a type is added, so
    coverage must not rest on it: a type it misses runs through exported code by its examples.
    """
    engines = []
    for spec in REGISTRY:
        if spec.type in covered or spec.role in ("input", "output"):
            continue
        for ins, params in spec.examples:
            engine = engine_for(graph_with(REGISTRY, spec, list(ins), dict(params)))
            if not any(d.severity == "error" for d in engine.diagnostics()):
                engines.append(engine)
    return engines


@pytest.mark.slow
def test_random_graphs_exported_code_matches_in_one_interpreter(tmp_path: Path) -> None:
    engines: list[InferenceEngine] = []

    @settings(max_examples=RANDOM_GRAPHS, deadline=None, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(valid_graphs())
    def collect(graph: Graph) -> None:
        engine = engine_for(graph)
        check_against_inference(engine, compile_graph(engine))
        engines.append(engine)

    collect()
    assert len(engines) >= RANDOM_GRAPHS * 0.9
    engines += _example_engines({info.type for e in engines for info in e.infos()})
    covered = {info.type for engine in engines for info in engine.infos()}
    missing = [t for t in REGISTRY.types() if t not in covered]
    assert not missing, (f"neither a random graph nor a declared example ran "
                         f"{', '.join(missing)} through exported code: give the declaration "
                         "an example that compiles on its own")
    folders = []
    for i, engine in enumerate(engines):
        write_case(tmp_path / f"g{i:03d}", engine)
        folders.append(tmp_path / f"g{i:03d}")
    out, _ = run_exported(folders).communicate(timeout=600)
    assert out.strip().endswith(f"checked {len(folders)} exported models, 0 mismatches"), out


def test_graph_with_errors_is_refused_with_diagnostics() -> None:
    graph = chain(("Flatten", {}), ("Conv2d", {"out_channels": 2, "kernel_size": 3}))
    with pytest.raises(CompileError) as caught:
        compile_graph(graph)
    assert caught.value.diagnostics[0].node == "n2"
    assert caught.value.diagnostics[0].code == "wrong_rank"
    assert "n2" in str(caught.value) and "fix it before compiling" in str(caught.value)


def test_without_output_the_single_sink_is_the_result() -> None:
    graph = chain(("Flatten", {}), ("Linear", {"out_features": 7}), output=False)
    model = compile_graph(graph)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 7)


def test_unused_branch_keeps_its_weights_but_does_not_run() -> None:
    graph = chain(("Flatten", {}), ("Linear", {"out_features": 3}), shape=[1, 2, 2])
    graph.add_node("spare", "Linear", {"out_features": 5})
    graph.add_edge("n1", "spare")
    engine = engine_for(graph)
    model = compile_graph(engine)
    check_against_inference(engine, model)
    assert "spare.weight" in model.state_dict()
    calls = []
    model.spare.register_forward_hook(lambda *args: calls.append(args))
    model(torch.randn(1, 1, 2, 2))
    assert calls == []


def test_state_dict_keys_are_the_node_ids() -> None:
    model = compile_graph(example_engine("lenet5"))
    assert list(model.state_dict())[:2] == ["c1.weight", "c1.bias"]
    assert [name for name, _ in model.named_children()] == [
        "c1", "tanh1", "s2", "c3", "tanh2", "s4", "f5", "tanh3", "f6", "tanh4", "f7"]
