"""Fine-tuning in the trainer: frozen layers, learning-rate multipliers, starting weights that
survive a replaced head, and transfer learning end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from block_graphs import resnet18_blocks_graph
from helpers import chain, engine_for, example_graph, image_folder
from train_helpers import of_kind, records, tiny_images, trainer_for

from dlbuilder.backend.compiler import CompiledModel, node_modules
from dlbuilder.backend.finetune import base_lr, tune
from dlbuilder.backend.module_names import module_names
from dlbuilder.backend.optim import make_optimizer
from dlbuilder.backend.plan import build_plan
from dlbuilder.backend.settings import TrainSettings, resolve_settings
from dlbuilder.backend.trainer import Trainer, TrainError, plan_run
from dlbuilder.backend.weights import WeightsError, load_starting_weights, save_weights
from dlbuilder.core.tuning import SetTrain, Tuning, set_train, upstream_with_weights
from dlbuilder.resources import example_names


def _small_cnn():
    """conv -> bn -> relu -> flatten -> fc on the tiny 1x6x6 images."""
    return chain(("Conv2d", {"out_channels": 3, "kernel_size": 3}), ("BatchNorm2d", {}),
                 ("ReLU", {}), ("Flatten", {}), ("Linear", {"out_features": 2}), shape=[1, 6, 6])


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_frozen_layers_come_out_bit_identical_and_their_batchnorm_keeps_its_statistics():
    graph = _small_cnn()
    set_train(["n1", "n2"], {"frozen": True}).apply(graph)
    trainer = trainer_for(engine_for(graph), tiny_images(), epochs=1, lr=0.1)
    before = _state(trainer.model)
    started = of_kind(records(trainer), "started")[0]
    after = trainer.model.state_dict()
    for key in ("n1.weight", "n1.bias", "n2.weight", "n2.bias", "n2.running_mean",
                "n2.running_var", "n2.num_batches_tracked"):
        assert torch.equal(before[key], after[key]), key
    assert not torch.equal(before["n5.weight"], after["n5.weight"])
    assert not trainer.model.n1.weight.requires_grad and trainer.model.n5.weight.requires_grad
    assert started.frozen_params == 3 * 9 + 3 + 3 + 3
    assert started.params == started.frozen_params + 3 * 16 * 2 + 2


def test_without_freezing_the_batchnorm_statistics_move():
    trainer = trainer_for(engine_for(_small_cnn()), tiny_images(), epochs=1)
    before = _state(trainer.model)
    started = of_kind(records(trainer), "started")[0]
    assert not torch.equal(before["n2.running_mean"], trainer.model.state_dict()["n2.running_mean"])
    assert started.frozen_params is None and started.notes is None


def test_frozen_parameters_are_left_out_of_the_optimizer_and_multipliers_become_groups():
    graph = _small_cnn()
    SetTrain("n1", {"frozen": True}).apply(graph)
    SetTrain("n5", {"lr_scale": 10}).apply(graph)
    SetTrain("n2", {"lr_scale": 0.5}).apply(graph)
    model = CompiledModel(build_plan(engine_for(graph)))
    tuned = tune(model, Tuning.of(graph), lr=0.01)
    optimizer = make_optimizer(tuned.groups, TrainSettings(optimizer="sgd", lr=0.01))
    lrs = [group["lr"] for group in optimizer.param_groups]
    assert lrs == pytest.approx([0.005, 0.1])
    grouped = [{id(p) for p in group["params"]} for group in optimizer.param_groups]
    assert grouped == [{id(model.n2.weight), id(model.n2.bias)},
                       {id(model.n5.weight), id(model.n5.bias)}]
    assert base_lr(optimizer) == pytest.approx(0.01)
    assert tuned.frozen == 30 and tuned.trainable == 3 + 3 + 98


def test_epoch_records_report_the_runs_own_rate_whatever_the_groups():
    graph = _small_cnn()
    SetTrain("n5", {"lr_scale": 10}).apply(graph)
    set_train(["n1", "n2"], {"lr_scale": 0.1}).apply(graph)
    trainer = trainer_for(engine_for(graph), tiny_images(), epochs=1, lr=0.02)
    (epoch,) = of_kind(records(trainer), "epoch")
    assert epoch.lr == pytest.approx(0.02)


def test_a_frozen_instance_freezes_every_layer_inside_it():
    graph = example_graph("resnet_cifar")
    SetTrain("block2", {"frozen": True}).apply(graph)
    model = CompiledModel(build_plan(engine_for(graph)))
    tune(model, Tuning.of(graph), lr=0.1)
    assert all(not p.requires_grad for p in model.block2.parameters())
    assert all(p.requires_grad for p in model.block3.parameters())


def test_everything_frozen_is_refused_before_training():
    graph = _small_cnn()
    set_train(["n1", "n2", "n5"], {"frozen": True}).apply(graph)
    with pytest.raises(TrainError, match="every layer with weights is frozen"):
        trainer_for(engine_for(graph), tiny_images(), epochs=1)


@pytest.mark.parametrize("name", example_names())
def test_module_names_name_every_layer_the_compiler_builds(name: str):
    _check_names(example_graph(name))


def test_module_names_of_resnet18_from_nested_blocks():
    _check_names(resnet18_blocks_graph())


def _check_names(graph) -> None:
    """Every module the compiled model holds is named once, by the node that made it (a
    layer node's module is its torch class), but for the nn.Sequential holding a repeat's
    runs."""
    engine = engine_for(graph)
    plan = build_plan(engine)
    with torch.device("meta"):
        model = CompiledModel(plan)
    names = module_names(plan)
    assert len(set(names.values())) == len(names)
    unnamed = {name for name, _ in model.named_modules() if name} - set(names.values())
    for name in unnamed:
        children = [f"{name}.{child}" for child, _ in model.get_submodule(name).named_children()]
        assert children and set(children) <= set(names.values()), name
    for path, module in node_modules(model).items():
        if isinstance(path[-1], int):
            continue
        spec = engine.registry.get(_type_at(graph, path))
        assert spec.torch_class and spec.torch_class.endswith("." + type(module).__name__), path


def _type_at(graph, path) -> str:
    inner = graph
    for node in path[:-1:2]:
        inner = graph.block(inner.params(node)["block"]).graph
    return inner.type_of(path[-1])


# -- starting weights -------------------------------------------------------------------------
def _mlp(classes: int):
    return engine_for(chain(("Linear", {"out_features": 8}), ("ReLU", {}),
                            ("Linear", {"out_features": classes}), shape=[4]))


def test_a_replaced_head_starts_fresh_and_the_rest_is_kept(tmp_path: Path):
    old = CompiledModel(build_plan(_mlp(5)))
    save_weights(old, tmp_path / "w.pt")
    torch.manual_seed(1)
    new = CompiledModel(build_plan(_mlp(3)))
    fresh_head = new.n3.weight.detach().clone()
    notes = load_starting_weights(new, tmp_path / "w.pt")
    assert notes == ["n3: 5 -> 3 outputs changed the shape; it starts from new weights"]
    assert torch.equal(new.n1.weight, old.n1.weight) and torch.equal(new.n1.bias, old.n1.bias)
    assert torch.equal(new.n3.weight, fresh_head)


def test_weights_that_fit_load_without_notes(tmp_path: Path):
    model = CompiledModel(build_plan(_mlp(5)))
    save_weights(model, tmp_path / "w.pt")
    other = CompiledModel(build_plan(_mlp(5)))
    assert load_starting_weights(other, tmp_path / "w.pt") == []
    assert torch.equal(other.n3.weight, model.n3.weight)


def test_layers_added_or_gone_are_said(tmp_path: Path):
    torch.save({"n1.weight": torch.zeros(8, 4), "n1.bias": torch.zeros(8),
                "old.weight": torch.zeros(2)}, tmp_path / "w.pt")
    model = CompiledModel(build_plan(_mlp(5)))
    notes = load_starting_weights(model, tmp_path / "w.pt")
    assert notes == ["n3: not in w.pt; it starts from new weights",
                     "w.pt also holds old.weight, which this graph does not have; left out"]
    assert torch.equal(model.n1.weight, torch.zeros(8, 4))


def test_a_file_of_which_nothing_fits_is_refused(tmp_path: Path):
    torch.save({"other.weight": torch.zeros(2)}, tmp_path / "w.pt")
    model = CompiledModel(build_plan(_mlp(5)))
    before = _state(model)
    with pytest.raises(WeightsError, match="do not fit this graph"):
        load_starting_weights(model, tmp_path / "w.pt")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


# -- transfer learning, end to end --------------------------------------------------------------
def test_transfer_learning_resnet18_keeps_the_frozen_weights_and_trains_the_new_head(
        tmp_path: Path):
    graph = example_graph("resnet18")
    graph.set_params("input", {"shape": [3, 32, 32]})
    torch.manual_seed(0)
    pretrained = CompiledModel(build_plan(engine_for(graph)))
    save_weights(pretrained, tmp_path / "imagenet.pt")
    graph.set_params("fc", {"out_features": 10})  # the new head
    engine = engine_for(graph)
    body = upstream_with_weights(graph, "fc", lambda n: engine.info(n).params > 0)
    assert body == ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4"]
    set_train(body, {"frozen": True}).apply(graph)
    folder = image_folder(tmp_path / "pictures")
    settings = resolve_settings({}, {"dataset": str(folder), "epochs": 1, "batch_size": 8,
                                     "val_split": 0, "device": "cpu", "lr": 0.1})
    trainer = Trainer(plan_run(engine, settings), init_weights=tmp_path / "imagenet.pt")
    assert trainer.weight_notes == ("fc: 1000 -> 10 outputs changed the shape; it starts "
                                    "from new weights",)
    before = _state(trainer.model)
    items = records(trainer)
    started = of_kind(items, "started")[0]
    assert started.notes == trainer.weight_notes
    assert started.params - started.frozen_params == 512 * 10 + 10
    after = trainer.model.state_dict()
    old = pretrained.state_dict()
    for key, value in after.items():
        if key.startswith("fc."):
            assert not torch.equal(before[key], value), key
        else:
            assert torch.equal(value, old[key]), key  # bit-identical, statistics included
