"""Training health (backend/health.py): each figure against torch computed independently on a
hand-run step, the flags' rules, the records the trainer yields, and the lecture's story (a
plain deep net's first layers get far smaller gradients than a residual net's)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace

import pytest
import torch
from health_graphs import deep_net
from helpers import engine_for, example_graph, frozen_digits
from train_helpers import blobs, mlp, of_kind, records

from dlbuilder.backend import health
from dlbuilder.backend.compiler import compile_graph, node_modules
from dlbuilder.backend.datasets import Split, load_dataset
from dlbuilder.backend.health import HealthCollector, layer_flags, layer_types
from dlbuilder.backend.records import HealthRecord, LayerHealth
from dlbuilder.backend.settings import resolve_settings
from dlbuilder.backend.trainer import Trainer, plan_run
from dlbuilder.layers import REGISTRY

# -- every figure against torch ----------------------------------------------------------------


def hand_step(graph, x: torch.Tensor, y: torch.Tensor, kill: tuple[str, int] | None = None):
    """One SGD step with momentum, measured by the collector and, independently, by this
    test's own hooks and copies. `kill`: (a convolution, n) gets a bias of -1000 on its first
    n channels, so the ReLU after it has dead units for sure. Returns the record and what the
    test measured: {path: (grads, weights before, weights after, output)}."""
    torch.manual_seed(0)
    model = compile_graph(graph)
    modules = node_modules(model)
    if kill is not None:
        with torch.no_grad():
            modules[(kill[0],)].bias[:kill[1]] = -1000.0
    collector = HealthCollector(model)
    paths = [layer.path for layer in collector.layers]
    outputs: dict = {}
    for path in paths:
        modules[path].register_forward_hook(
            lambda _m, _i, out, path=path: outputs.__setitem__(path, out.detach().clone()))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    collector.watch()
    out = model(x)
    collector.after_forward()
    assert all(not modules[p]._forward_hooks or len(modules[p]._forward_hooks) == 1
               for p in paths)  # the collector's hooks are gone; the test's stay
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(out, y).backward()
    collector.after_backward()
    grads = {p: [w.grad.clone() for w in modules[p].parameters()] for p in paths}
    before = {p: [w.detach().clone() for w in modules[p].parameters()] for p in paths}
    optimizer.step()
    collector.after_step()
    after = {p: [w.detach().clone() for w in modules[p].parameters()] for p in paths}
    seen = {p: (grads[p], before[p], after[p], outputs.get(p)) for p in paths}
    return collector.epoch_record(1), seen


def flat_norm(tensors: list[torch.Tensor]) -> float:
    return float(torch.linalg.vector_norm(torch.cat([t.double().flatten() for t in tensors])))


def check_layer(layer: LayerHealth, grads, before, after, output) -> None:
    if grads:
        assert layer.grad_norm == pytest.approx(flat_norm(grads), rel=1e-4)
        change = [a - b for a, b in zip(after, before, strict=True)]
        assert layer.update_ratio == pytest.approx(flat_norm(change) / flat_norm(before),
                                                   rel=1e-3)
    else:
        assert layer.grad_norm is None and layer.update_ratio is None
    values = output.double()
    assert layer.act_mean == pytest.approx(float(values.mean()), rel=1e-4, abs=1e-6)
    assert layer.act_std == pytest.approx(float(values.std(correction=0)), rel=1e-3)
    if REGISTRY.has_trait(layer.type, "rectifying"):
        dead = (output == 0).reshape(len(output), -1).all(dim=0).double().mean()
        assert layer.dead_share == pytest.approx(float(dead), abs=1e-9)
    else:
        assert layer.dead_share is None


def test_figures_of_a_plain_cnn_match_torch() -> None:
    graph = example_graph("digits_cnn")
    x = torch.randn(32, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    y = torch.arange(32) % 10
    record, seen = hand_step(graph, x, y, kill=("conv2", 20))
    assert [layer.path for layer in record.layers] == [
        (n,) for n in ("conv1", "bn1", "relu1", "conv2", "relu2", "pool1", "fc1", "relu3",
                       "dropout", "fc2")]
    for layer in record.layers:
        check_layer(layer, *seen[layer.path])
    relu2 = next(layer for layer in record.layers if layer.node == "relu2")
    assert relu2.dead_share >= 20 / 32  # the killed channels, at every position
    assert "dead" in relu2.flags
    assert [layer.type for layer in record.layers][:4] == ["Conv2d", "BatchNorm2d", "ReLU",
                                                           "Conv2d"]


def test_figures_inside_block_instances_match_torch() -> None:
    graph = example_graph("resnet_cifar")
    x = torch.randn(6, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    y = torch.arange(6)
    record, seen = hand_step(graph, x, y)
    paths = [layer.path for layer in record.layers]
    assert ("block1", 0, "conv1") in paths and ("block2", 0, "downsample", 0, "0") in paths
    assert not any(isinstance(path[-1], int) for path in paths)  # instances are not layers
    for layer in record.layers:
        check_layer(layer, *seen[layer.path])
    inner = next(layer for layer in record.layers if layer.path == ("block1", 0, "conv1"))
    assert inner.node == "block1/conv1" and inner.type == "Conv2d"  # as the problems list


def test_layer_types_follow_the_plan_into_blocks() -> None:
    model = compile_graph(example_graph("resnet_cifar"))
    types = layer_types(model.plan)
    modules = node_modules(model)
    assert set(types) == {path for path in modules if not isinstance(path[-1], int)}
    for path, kind in types.items():
        assert type(modules[path]).__name__ == kind  # torch.nn's class names are ours


def test_the_record_as_dict_keeps_nulls_in_the_shared_form() -> None:
    layer = LayerHealth(("layer1", 0, "conv1"), "layer1.0/conv1", "Conv2d", 0.012, 0.0009,
                        None, 0.1, 0.9, ("vanishing",))
    data = HealthRecord(3, (layer,)).as_dict()
    assert data == {"epoch": 3, "layers": [{
        "path": ["layer1", 0, "conv1"], "node": "layer1.0/conv1", "type": "Conv2d",
        "grad_norm": 0.012, "update_ratio": 0.0009, "dead_share": None, "act_mean": 0.1,
        "act_std": 0.9, "flags": ["vanishing"]}]}
    assert json.loads(json.dumps(data)) == data
    assert HealthRecord.kind == "health"


@pytest.mark.parametrize("batches", [1, 5, 26, 169, 1000])
def test_measured_batches_are_few_and_evenly_spread(batches: int) -> None:
    chosen = sorted(HealthCollector.measured(batches))
    expected = max(1, min(health.MEASURED_BATCHES, batches // health.BATCHES_PER_MEASURED))
    assert len(chosen) == expected and all(0 <= b < batches for b in chosen)
    gaps = [b - a for a, b in zip([-1, *chosen], [*chosen, batches], strict=True)]
    assert max(gaps[1:-1] or [0]) - min(gaps[1:-1] or [0]) <= 1  # even spacing


# -- the flags ----------------------------------------------------------------------------------


def figures(grad: float | None, ratio: float | None = 1e-3, dead: float | None = None
            ) -> dict:
    return {"grad_norm": grad, "update_ratio": ratio, "dead_share": dead, "act_mean": 0.0,
            "act_std": 1.0}


def test_gradients_are_judged_per_weight_against_the_head() -> None:
    head = 1.0  # 100 weights: RMS 0.1
    size = 10_000  # RMS = grad / 100
    low = health.VANISHING * 0.1 * 100  # just at the line, per weight
    flags = layer_flags([figures(low * 0.9), figures(low * 1.1), figures(1.0), figures(head)],
                        [size, size, size, 100], [False] * 4)
    assert flags == [("vanishing",), (), (), ()]
    high = health.EXPLODING * 0.1 * 100
    flags = layer_flags([figures(high * 1.1), figures(high * 0.9), figures(head)],
                        [size, size, 100], [False] * 3)
    assert flags == [("exploding",), (), ()]


def test_a_huge_step_or_nan_explodes_even_the_head() -> None:
    big = health.UPDATE_EXPLODING * 1.5
    flags = layer_flags([figures(1.0, big), figures(1.0, math.nan), figures(1.0)],
                        [10, 10, 10], [False] * 3)
    assert flags == [("exploding",), ("exploding",), ()]
    flags = layer_flags([figures(math.nan), figures(1.0)], [10, 10], [False, False])
    assert flags == [("exploding",), ()]
    # a head without gradient (all of it dead) is no yardstick: no relative flag at all
    flags = layer_flags([figures(1e-9), figures(5.0), figures(0.0)], [10, 10, 10],
                        [False] * 3)
    assert flags == [(), (), ()]


def test_dead_rectifiers_and_frozen_layers() -> None:
    flags = layer_flags([figures(1e-12), figures(None, None, health.DEAD + 0.01),
                         figures(None, None, health.DEAD), figures(1.0)],
                        [100, 0, 0, 100], [True, False, False, False])
    assert flags == [(), ("dead",), (), ()]  # frozen: never vanishing; exactly half: alive
    # the last layer frozen: the head is the last one that learns
    flags = layer_flags([figures(1e-6), figures(1.0), figures(1e-9)], [100, 100, 100],
                        [False, False, True])
    assert flags == [("vanishing",), (), ()]


def test_words_lines_and_grouping() -> None:
    layers = [{"node": "c1", "path": ["c1"], "flags": ["vanishing"], "dead_share": None},
              {"node": "b.0/r", "path": ["b", 0, "r"], "flags": ["dead"], "dead_share": 0.62},
              {"node": "b.0/c", "path": ["b", 0, "c"], "flags": [], "dead_share": None},
              {"node": "f", "path": ["f"], "flags": ["exploding", "dead"], "dead_share": 0.7}]
    record = {"epoch": 2, "layers": layers}
    assert health.flag_words(layers[1]) == "dead 62%"
    assert health.flag_words(layers[3]) == "exploding, dead 70%"
    assert health.flagged_line(record) == ("exploding: f · vanishing: c1 · "
                                           "dead: f 70%, b.0/r 62%")
    assert health.flagged_line(record, most=1) == ("exploding: f · vanishing: c1 · "
                                                   "dead: f 70% and 1 more")
    assert health.flagged_line({"epoch": 1, "layers": [layers[2]]}) == ""
    assert health.worst(layers)["node"] == "f"
    assert health.worst(layers[:2])["node"] == "c1"
    assert health.worst([layers[2]]) is None
    assert {k: [x["node"] for x in v] for k, v in health.by_top_node(record).items()} == {
        "c1": ["c1"], "b": ["b.0/r", "b.0/c"], "f": ["f"]}


def test_rectifying_is_declared_where_the_curve_is_flat_zero() -> None:
    """The trait says what the curve shows: exactly 0 with a zero slope far below zero."""
    for spec in REGISTRY:
        if spec.curve is None:
            continue
        value, slope = spec.curve(-8.0, spec.defaults)
        assert ("rectifying" in spec.traits) == (value == 0.0 and slope == 0.0), spec.type
    assert {"ReLU", "ReLU6"} <= {s.type for s in REGISTRY if "rectifying" in s.traits}


@pytest.mark.slow
def test_importing_health_does_not_import_torch() -> None:
    code = "import sys, dlbuilder.backend.health; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# -- in the trainer ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_trainer_yields_one_health_record_after_each_epoch() -> None:
    settings = resolve_settings({}, {"epochs": 3, "batch_size": 16, "device": "cpu"})
    run = plan_run(mlp(), settings, dataset=blobs())
    items = records(Trainer(run, health=True))
    kinds = [r.kind for r in items if r.kind != "batch"]
    assert kinds == ["started", "epoch", "health", "epoch", "health", "epoch", "health",
                     "finished"]
    assert [r.epoch for r in of_kind(items, "health")] == [1, 2, 3]
    record = of_kind(items, "health")[0]
    assert [layer.node for layer in record.layers] == ["n1", "n2", "n3"]
    assert record.layers[1].dead_share is not None and record.layers[1].grad_norm is None
    plain = records(Trainer(plan_run(mlp(), settings, dataset=blobs())))
    assert of_kind(plain, "health") == []
    loss = [r.train_loss for r in of_kind(items, "epoch")]  # measuring changes no number
    assert loss == [r.train_loss for r in of_kind(plain, "epoch")]


@pytest.mark.slow
def test_frozen_layers_are_not_flagged_for_not_learning() -> None:
    settings = resolve_settings({}, {"epochs": 1, "device": "cpu", "dataset": "digits"})
    run = plan_run(engine_for(frozen_digits()), settings)
    record = of_kind(records(Trainer(run, health=True)), "health")[0]
    by_node = {layer.node: layer for layer in record.layers}
    for node in ("conv1", "bn1", "conv2", "fc1"):
        assert by_node[node].grad_norm is None and by_node[node].update_ratio is None
        assert not {"vanishing", "exploding"} & set(by_node[node].flags)
    assert by_node["fc2"].grad_norm is not None and by_node["fc2"].update_ratio > 0


@pytest.mark.slow
def test_a_plain_deep_net_starves_its_first_layers_a_residual_one_does_not() -> None:
    """The lecture's story, small: ten convolutions with ReLUs on digits, one short epoch,
    with and without identity shortcuts, same seed. The first layer's gradient per weight,
    against the head's, is far smaller in the plain net, and flagged there."""
    data = load_dataset("digits")
    data = replace(data, train=Split(data.train.x[:320], data.train.y[:320]), test=None)
    settings = resolve_settings({}, {"epochs": 1, "device": "cpu", "seed": 0,
                                     "dataset": "digits", "val_split": 0})
    share = {}
    for residual in (False, True):
        trainer = Trainer(plan_run(engine_for(deep_net(10, residual)), settings, dataset=data),
                          health=True)
        record = of_kind(records(trainer), "health")[-1]
        sizes = {layer.path: layer.size for layer in trainer.health.layers}
        learning = [layer for layer in record.layers if layer.grad_norm is not None]
        first, last = learning[0], learning[-1]
        assert first.node == "stem" and last.node == "fc"
        rms = [layer.grad_norm / math.sqrt(sizes[layer.path]) for layer in (first, last)]
        share[residual] = rms[0] / rms[1]
        flagged = [layer.node for layer in learning if "vanishing" in layer.flags]
        if residual:
            assert flagged == []
        else:
            assert "stem" in flagged
    assert share[False] < share[True] / 100


# -- the run's last words ---------------------------------------------------------------------


def _layer(node: str, grad: float | None, dead: float | None, *flags: str) -> dict:
    return {"node": node, "grad_norm": grad, "dead_share": dead, "flags": list(flags)}


def test_a_stall_is_blamed_on_vanishing_or_dead_layers_only_when_most_are() -> None:
    vanishing = [_layer(f"c{i}", 1e-6, None, "vanishing") for i in range(3)]
    record = {"layers": [*vanishing, _layer("relu", None, 0.1), _layer("fc", 1.0, None)]}
    cause = health.stall_cause(record)
    assert cause.startswith("3 of 4 layers get vanishing gradients (c0, c1 ...)")
    assert "skip connections" in cause
    half = {"layers": vanishing[:2] + [_layer("c2", 1.0, None), _layer("fc", 1.0, None)]}
    assert health.stall_cause(half) == ""  # two of four is not most
    dead = {"layers": [_layer("fc", 1.0, None), _layer("r1", None, 0.9, "dead"),
                       _layer("r2", None, 0.2)]}
    assert health.stall_cause(dead) == ""  # one of two is not most
    dead["layers"][2] = _layer("r2", None, 0.7, "dead")
    assert health.stall_cause(dead).startswith("2 of 2 ReLU layers are mostly dead (r1, r2)")


def test_the_loss_note_compares_with_a_tolerance_and_prefers_health() -> None:
    trainer = Trainer(plan_run(mlp(), resolve_settings({}, {"device": "cpu", "lr": 0.01}),
                               dataset=blobs()))
    assert trainer._loss_note(2.3, 1.0) == ""
    assert trainer._loss_note(2.30, 2.31) == "; the training loss did not fall (2.3 to 2.31)"
    assert trainer._loss_note(2.3, 3.0) == ("; the training loss rose from 2.3 to 3: "
                                            "a learning rate of 0.01 may be too high")
    vanishing = LayerHealth(("c",), "c", "Conv2d", 1e-6, 1e-6, None, 0.0, 1.0, ("vanishing",))
    head = replace(vanishing, path=("fc",), node="fc", type="Linear", flags=())
    trainer.last_health = HealthRecord(1, (vanishing, replace(vanishing, node="d"), head))
    assert trainer._loss_note(2.3, 3.0) == ("; the training loss rose from 2.3 to 3: 2 of 3 "
                                            "layers get vanishing gradients (c, d): a deep plain "
                                            "stack learns slowly; skip connections (residual "
                                            "blocks) or BatchNorm help")
    trainer.last_health = HealthRecord(1, (head,))
    assert trainer._loss_note(2.3, 2.31).endswith("(2.3 to 2.31)")


@pytest.mark.slow
def test_a_plain_deep_net_that_does_not_learn_is_told_why() -> None:
    """The reviewer's case: an 18-layer plain stack on digits at lr 0.01 does not learn; with
    health the message names the vanishing layers, not the learning rate; without, it is
    as before."""
    data = load_dataset("digits")
    data = replace(data, train=Split(data.train.x[:320], data.train.y[:320]), test=None)
    settings = resolve_settings({}, {"epochs": 2, "device": "cpu", "seed": 0, "lr": 0.01,
                                     "dataset": "digits", "val_split": 0})
    messages = {}
    for with_health in (True, False):
        run = plan_run(engine_for(deep_net(16, False)), settings, dataset=data)
        items = records(Trainer(run, health=with_health))
        messages[with_health] = items[-1].message
        if with_health:
            last = of_kind(items, "health")[-1]
            learning = [layer for layer in last.layers if layer.grad_norm is not None]
            flagged = [layer for layer in learning if "vanishing" in layer.flags]
            assert len(learning) == 18 and len(flagged) * 2 > len(learning)
    assert f"{len(flagged)} of 18 layers get vanishing gradients (stem, conv0 ...)" \
        in messages[True]
    assert "learning rate" not in messages[True]
    assert "vanishing" not in messages[False]
    assert messages[True].split(";")[0] == messages[False].split(";")[0] == "finished 2 epochs"
