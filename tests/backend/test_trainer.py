"""The training loop: records, reproducibility, stopping, pausing, divergence, checkpoints."""

from __future__ import annotations

import json
import math
import threading
import time

import pytest
import torch
from helpers import chain, engine_for
from train_helpers import blobs, mlp, of_kind, records, tiny_images, trainer_for

from dlbuilder.backend.compiler import CompiledModel
from dlbuilder.backend.metrics import Task, evaluate
from dlbuilder.backend.prepare import read_preprocessing
from dlbuilder.backend.settings import resolve_settings
from dlbuilder.backend.trainer import TrainControl, TrainError, pick_device, plan_run
from dlbuilder.backend.weights import load_weights


@pytest.mark.slow
def test_a_run_reports_started_batches_epochs_and_finished_in_order():
    trainer = trainer_for(mlp(), blobs(), epochs=2)
    items = records(trainer)
    kinds = [r.kind for r in items]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    started = items[0]
    assert started.train_samples + started.val_samples == 180 and started.test_samples == 60
    assert started.batches_per_epoch == math.ceil(started.train_samples / 16)
    batches = of_kind(items, "batch")
    assert len(batches) == 2 * started.batches_per_epoch
    assert [b.step for b in batches] == list(range(1, len(batches) + 1))
    epochs = of_kind(items, "epoch")
    assert [e.epoch for e in epochs] == [1, 2]
    assert kinds.index("epoch") == started.batches_per_epoch + 1  # after epoch 1's batches
    assert epochs[-1].train_loss < batches[0].loss
    assert 0.0 <= epochs[-1].val_accuracy <= 1.0 and epochs[-1].train_mae is None


def test_records_are_plain_values_that_go_into_json():
    items = records(trainer_for(mlp(), blobs(), epochs=1))
    for record in items:
        text = json.dumps(record.as_dict())
        assert "tensor" not in text.lower()
    final = items[-1]
    assert final.reason == "completed" and final.best_epoch == 1
    assert sum(map(sum, final.confusion)) == 60 and final.confusion_split == "test"
    assert len(final.per_class_accuracy) == 3 and final.classes == ("c0", "c1", "c2")


@pytest.mark.slow
def test_the_same_seed_gives_the_same_numbers_and_another_seed_does_not():
    def losses(seed: int) -> list[float]:
        engine = chain(("Linear", {"out_features": 8}), ("Dropout", {"p": 0.3}),
                       ("Linear", {"out_features": 3}), shape=[4])
        return [r.loss for r in of_kind(records(
            trainer_for(engine_for(engine), blobs(), seed=seed)), "batch")]

    assert losses(3) == losses(3)
    assert losses(3) != losses(4)


@pytest.mark.slow
def test_training_learns_the_blobs():
    final = records(trainer_for(mlp(), blobs(), epochs=8, lr=0.01))[-1]
    assert final.val_accuracy > 0.9 and final.test_accuracy > 0.9


@pytest.mark.slow
def test_early_stopping_stops_after_patience_epochs_without_improvement():
    # lr 0: the weights never change, so validation loss is the same every epoch: epoch 1 is
    # the best and each later epoch fails to beat it, so patience 2 ends the run at epoch 3
    items = records(trainer_for(mlp(), blobs(), epochs=10, optimizer="sgd", lr=1e-30,
                                patience=2))
    epochs, final = of_kind(items, "epoch"), items[-1]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert [e.patience_left for e in epochs] == [2, 1, 0]
    assert final.reason == "early_stopped" and final.best_epoch == 1
    assert "did not improve for 2 epochs" in final.message


def test_a_stop_request_takes_effect_within_one_batch():
    control = TrainControl()
    trainer = trainer_for(mlp(), blobs(), control=control, epochs=5)
    seen = []
    for record in trainer.run():
        seen.append(record)
        if record.kind == "batch" and record.step == 4:
            control.stop()
    batches = of_kind(seen, "batch")
    assert batches[-1].step == 4
    assert seen[-1].kind == "finished" and seen[-1].reason == "stopped"
    assert seen[-1].epochs_run == 0 and "after 4 batches" in seen[-1].message


def test_pause_holds_the_run_between_batches_until_resumed():
    control = TrainControl()
    trainer = trainer_for(mlp(), blobs(), control=control, epochs=1)
    steps = []

    def consume():
        for record in trainer.run():
            if record.kind == "batch":
                steps.append(record.step)
                if record.step == 2:
                    control.pause()

    worker = threading.Thread(target=consume)
    worker.start()
    deadline = time.monotonic() + 10
    while len(steps) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert steps == [1, 2] and control.paused
    control.resume()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert steps[-1] == math.ceil(len(trainer.data.train_y) / 16)  # every batch, in the end


def test_stop_wakes_a_paused_run():
    control = TrainControl()
    control.pause()
    control.stop()
    final = records(trainer_for(mlp(), blobs(), control=control))[-1]
    assert final.reason == "stopped"


def test_divergence_keeps_the_last_good_weights():
    trainer = trainer_for(mlp(), blobs(), optimizer="sgd", lr=1e30, epochs=3)
    final = records(trainer)[-1]
    assert final.reason == "diverged"
    assert "the loss became" in final.message and "too high" in final.message
    assert all(bool(torch.isfinite(p).all()) for p in trainer.model.parameters())


@pytest.mark.slow
def test_a_loss_that_rose_without_diverging_is_said_with_the_learning_rate():
    """Finite but exploding (Adam at lr 1000) completes, as before, with a hint; a run that
    learned has none."""
    final = records(trainer_for(mlp(), blobs(), lr=1e3, epochs=3))[-1]
    assert final.reason == "completed"
    assert "the training loss rose from 1.16 to" in final.message
    assert final.message.endswith("a learning rate of 1000 may be too high")
    learned = records(trainer_for(mlp(), blobs(), epochs=3))[-1]
    assert learned.message == "finished 3 epochs"


@pytest.mark.slow
def test_the_best_checkpoint_reloads_to_the_same_validation_accuracy(tmp_path):
    trainer = trainer_for(mlp(), blobs(), epochs=4, lr=0.01, checkpoint_dir=tmp_path)
    final = records(trainer)[-1]
    assert (tmp_path / "best.pt").exists() and (tmp_path / "last.pt").exists()
    assert read_preprocessing(tmp_path / "best.pt").classes == ("c0", "c1", "c2")
    fresh = CompiledModel(trainer.model.plan)
    load_weights(fresh, tmp_path / "best.pt")
    x, y = trainer.tensors["val"]
    task = Task("CrossEntropyLoss", "label", 3, True)
    assert evaluate(fresh, task, x, y, 256).accuracy == final.val_accuracy
    assert evaluate(fresh, task, x, y, 256).loss == pytest.approx(final.val_loss, rel=1e-6)


def test_regression_losses_report_mae_and_mse_and_keep_accuracy_for_labels():
    final = records(trainer_for(mlp(loss="MSELoss"), blobs(), epochs=3, lr=0.01))[-1]
    assert final.val_mae is not None and final.val_accuracy is not None


def test_an_autoencoder_reconstructs_its_input():
    engine = engine_for(chain(("Linear", {"out_features": 2}), ("Linear", {"out_features": 4}),
                              shape=[4]))
    engine.graph.set_params("out", {"loss": "MSELoss", "target": "input"})
    items = records(trainer_for(engine, blobs(), epochs=3, lr=0.01))
    assert items[0].task == "reconstruct"
    epochs = of_kind(items, "epoch")
    assert epochs[0].train_accuracy is None and epochs[0].val_mae is not None
    assert epochs[-1].val_loss < epochs[0].val_loss


@pytest.mark.parametrize(("schedule", "expected"), [
    ("step", [1e-2, 1e-2, 1e-3, 1e-3]),
    ("cosine", [1e-2 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]),
])
@pytest.mark.slow
def test_learning_rate_schedules(schedule, expected):
    epochs = of_kind(records(trainer_for(mlp(), blobs(), epochs=4, lr=1e-2, schedule=schedule,
                                         step_size=2)), "epoch")
    assert [e.lr for e in epochs] == pytest.approx(expected)


@pytest.mark.slow
def test_the_plateau_schedule_lowers_the_rate_when_the_metric_stalls():
    epochs = of_kind(records(trainer_for(mlp(), blobs(), epochs=6, optimizer="sgd", lr=1e-30,
                                         schedule="plateau", gamma=0.5)), "epoch")
    assert epochs[0].lr == epochs[2].lr and epochs[-1].lr < epochs[0].lr


def test_the_data_must_fit_the_graph_before_anything_trains():
    engine = engine_for(chain(("Flatten", {}), ("Linear", {"out_features": 200}),
                              shape=[1, 28, 28]))
    with pytest.raises(TrainError) as err:
        plan_run(engine, resolve_settings(), dataset=tiny_images())
    assert err.value.problems == [
        "Input is 1x28x28 but tiny images are 1x6x6: set the Input's shape to [1, 6, 6]",
        "n2 gives 200 values but tiny has 2 classes: give it 2 outputs"]


def test_an_input_with_as_many_values_as_a_sample_takes_reshaped_samples():
    engine = engine_for(chain(("Linear", {"out_features": 2}), shape=[36]))
    run = plan_run(engine, resolve_settings({"val_split": 0}), dataset=tiny_images())
    assert tuple(run.data.train_x.shape) == (80, 36)


def test_augmentation_needs_images():
    with pytest.raises(TrainError, match="augment"):
        plan_run(mlp(), resolve_settings({"augment_flip": True}), dataset=blobs())


@pytest.mark.slow
def test_augmented_image_training_runs():
    engine = engine_for(chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("ReLU", {}),
                              ("Flatten", {}), ("Linear", {"out_features": 2}),
                              shape=[1, 6, 6]))
    final = records(trainer_for(engine, tiny_images(), epochs=4, lr=0.01, augment_shift=1,
                                augment_flip=True))[-1]
    assert final.reason == "completed" and final.val_accuracy is not None


def test_a_graph_with_errors_lists_its_diagnostics():
    engine = engine_for(chain(("Linear", {"out_features": 3}), shape=[1, 6, 6]))
    with pytest.raises(TrainError) as err:
        plan_run(engine, resolve_settings(), dataset=tiny_images())
    assert any("n1" in p for p in err.value.problems)


def test_an_unavailable_device_is_named():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(TrainError, match="device cuda is not available"):
        pick_device("cuda")
    assert pick_device("auto").type in ("cpu", "mps")
