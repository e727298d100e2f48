"""`dlbuilder train` and `dlbuilder predict`: metrics, files written, messages, exit statuses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO
from helpers import example_graph

from dlbuilder.backend.datasets import load_dataset
from dlbuilder.cli import main
from dlbuilder.core.fileformat import save_graph


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_digits_trains_to_a_sensible_accuracy_and_writes_metrics(tmp_path, capsys):
    metrics = tmp_path / "m.json"
    code, out, _ = run(capsys, "train", "digits_cnn", "--epochs", "8",
                       "--metrics-json", str(metrics))
    assert code == 0
    assert out.startswith("training digits_cnn on digits (1,617 train / 180 val) on cpu")
    assert out.count("\nepoch ") == 8
    data = json.loads(metrics.read_text())
    first = data["epochs"][0]
    assert {"epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy"} <= set(first)
    final = data["final"]
    assert final["reason"] == "completed" and 1 <= final["best_epoch"] <= 8
    assert final["val_accuracy"] > 0.93  # 8 epochs of about 0.1 s each
    assert "test_accuracy" not in final  # digits has no test split of its own
    assert data["settings"]["epochs"] == 8


@pytest.mark.slow
def test_without_a_validation_split_there_is_no_val_accuracy(tmp_path, capsys):
    metrics = tmp_path / "m.json"
    code, out, _ = run(capsys, "train", "digits_cnn", "--epochs", "2", "--val-split", "0",
                       "--metrics-json", str(metrics))
    assert code == 0
    final = json.loads(metrics.read_text())["final"]
    assert "val_accuracy" not in final and final["monitor"] == "train_loss"
    assert " val " not in out


def test_data_that_does_not_fit_the_graph_is_named_before_training(capsys):
    code, out, err = run(capsys, "train", "lenet5", "--dataset", "digits")
    assert code == 1 and out == ""
    assert "Input is 1x28x28 but digits images are 1x8x8" in err


def test_a_classifier_with_the_wrong_number_of_outputs_is_named(tmp_path, capsys):
    graph = example_graph("digits_cnn")
    last = graph.inputs("output")[0]
    graph.set_params(last, {**graph.raw_params(last), "out_features": 200})
    path = tmp_path / "wide.json"
    save_graph(graph, path)
    code, _, err = run(capsys, "train", str(path))
    assert code == 1
    assert f"{last} gives 200 values but digits has 10 classes" in err


def test_bad_training_settings_name_the_key(tmp_path, capsys):
    graph = example_graph("digits_cnn")
    graph.training.update(lr="fast", learning_rate=0.1)
    path = tmp_path / "bad.json"
    save_graph(graph, path)
    code, _, err = run(capsys, "train", str(path), "--epochs", "0")
    assert code == 2
    assert "training.lr: must be a number, not 'fast'" in err
    assert "training.learning_rate: unknown training setting (did you mean 'lr'?)" in err
    assert "--epochs: must be at least 1, not 0" in err


def test_bad_flags_are_usage_errors(capsys):
    code, _, err = run(capsys, "train", "digits_cnn", "--optimizer", "lbfgs")
    assert code == 2 and "invalid choice: 'lbfgs'" in err


@pytest.mark.slow
def test_saved_weights_predict_the_digits_and_restart_training(tmp_path, capsys):
    weights = tmp_path / "w.pt"
    assert run(capsys, "train", "digits_cnn", "--epochs", "8", "--save-weights",
               str(weights))[0] == 0
    assert (tmp_path / "w.pt.json").exists()
    digits = load_dataset("digits")
    samples = tmp_path / "some.npz"
    np.savez(samples, x=digits.train.x[:20])
    code, out, _ = run(capsys, "predict", "digits_cnn", "--weights", str(weights),
                       str(samples), "--json")
    assert code == 0
    predictions = json.loads(out)["predictions"]
    assert len(predictions) == 20 and len(predictions[0]["top"]) == 3
    right = sum(p["top"][0]["class"] == str(label)
                for p, label in zip(predictions, digits.train.y[:20], strict=True))
    assert right >= 17
    code, out, _ = run(capsys, "train", "digits_cnn", "--epochs", "1", "--init-weights",
                       str(weights), "--lr", "1e-9")
    assert code == 0 and "acc 9" in out.splitlines()[1]  # starts where it left off


@pytest.mark.slow
def test_predict_reads_images(tmp_path, capsys):
    pil = pytest.importorskip("PIL.Image")
    weights = tmp_path / "w.pt"
    assert run(capsys, "train", "digits_cnn", "--epochs", "6", "--save-weights",
               str(weights))[0] == 0
    digits = load_dataset("digits")
    image = (digits.train.x[0, 0].astype(np.uint16) * 255 // 16).astype(np.uint8)
    pil.fromarray(image, mode="L").save(tmp_path / "zero.png")
    pil.fromarray(np.kron(image, np.ones((4, 4), np.uint8)), mode="L").save(tmp_path / "big.png")
    code, out, err = run(capsys, "predict", "digits_cnn", "--weights", str(weights),
                         str(tmp_path / "zero.png"), str(tmp_path / "big.png"), "--top", "1")
    assert code == 0
    assert out.splitlines()[0].startswith("zero.png: 0 ")
    assert "big.png: resized from 32x32 to 8x8" in err


@pytest.mark.slow
def test_predict_without_the_preprocessing_file_fits_it_again(tmp_path, capsys):
    weights = tmp_path / "w.pt"
    run(capsys, "train", "digits_cnn", "--epochs", "2", "--save-weights", str(weights))
    saved = json.loads((tmp_path / "w.pt.json").read_text())
    (tmp_path / "w.pt.json").unlink()
    np.savez(tmp_path / "one.npz", x=load_dataset("digits").train.x[:1])
    code, _, err = run(capsys, "predict", "digits_cnn", "--weights", str(weights),
                       str(tmp_path / "one.npz"))
    assert code == 0 and "fitting it again on digits" in err
    assert saved["mean"] and saved["classes"] == [str(i) for i in range(10)]


@pytest.mark.slow
def test_predict_names_inputs_it_cannot_read(tmp_path, capsys):
    weights = tmp_path / "w.pt"
    run(capsys, "train", "digits_cnn", "--epochs", "1", "--save-weights", str(weights))
    (tmp_path / "notes.txt").write_text("hello")
    np.savez(tmp_path / "wrong.npz", x=np.zeros((2, 5)))
    code, _, err = run(capsys, "predict", "digits_cnn", "--weights", str(weights),
                       str(tmp_path / "notes.txt"))
    assert code == 2 and "notes.txt: not an image" in err
    code, _, err = run(capsys, "predict", "digits_cnn", "--weights", str(weights),
                       str(tmp_path / "wrong.npz"))
    assert code == 2 and "each sample must hold 64 values (1x8x8)" in err


@pytest.mark.slow
def test_mnist_from_a_folder_reports_test_accuracy(mnist_dir, tmp_path, capsys):
    metrics = tmp_path / "m.json"
    code, out, _ = run(capsys, "train", "mlp_mnist", "--data-dir", str(mnist_dir),
                       "--epochs", "1", "--batch-size", "256", "--metrics-json", str(metrics))
    assert code == 0 and "(54,000 train / 6,000 val / 10,000 test)" in out
    final = json.loads(metrics.read_text())["final"]
    assert final["test_accuracy"] > 0.9 and final["confusion_split"] == "test"
    assert sum(map(sum, final["confusion"])) == 10_000


@pytest.mark.slow
def test_ctrl_c_stops_after_the_batch_saves_and_exits_130(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    weights, metrics = tmp_path / "w.pt", tmp_path / "m.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlbuilder", "train", "digits_cnn", "--epochs", "500",
         "--save-weights", str(weights), "--metrics-json", str(metrics)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    lines = []
    for line in proc.stdout:  # wait for the first epoch, so a run is under way
        lines.append(line)
        if line.startswith("epoch"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopping after this batch" in err and "Traceback" not in err
    assert "stopped:" in out
    assert weights.exists() and json.loads(metrics.read_text())["final"]["reason"] == "stopped"


def test_a_dataset_that_cannot_be_read_is_a_usage_error(tmp_path, capsys):
    code, out, err = run(capsys, "train", "lenet5", "--data-dir", str(tmp_path))
    assert code == 2 and out == ""
    assert "cannot read the data" in err and "train-images-idx3-ubyte" in err


def test_without_the_data_a_failed_download_says_where_to_put_the_files(capsys):
    code, _, err = run(capsys, "train", "lenet5", "--epochs", "1")
    assert code == 2  # tests/conftest.py points the download table at a closed local port
    assert "could not download" in err and "--data-dir" in err


def test_an_unusable_checkpoint_folder_is_said_before_training(tmp_path, capsys):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    code, out, err = run(capsys, "train", "digits_cnn", "--checkpoint-dir", str(blocker / "ck"))
    assert code == 2 and out == ""
    assert "--checkpoint-dir: cannot use" in err and "Traceback" not in err


@pytest.mark.slow
def test_a_run_from_the_command_line_is_kept_beside_the_graph_as_the_app_keeps_it(
        tmp_path, capsys):
    """lenet.json -> lenet.runs/: the run with its curves, settings and best weights; a
    second run is added, never in the first one's place."""
    from dlbuilder.backend.runs.store import RunStore

    graph = tmp_path / "net.json"
    save_graph(example_graph("digits_cnn"), graph)
    code, _, err = run(capsys, "train", str(graph), "--epochs", "1", "--seed", "1")
    assert code == 0 and f"kept as run 1 in {tmp_path / 'net.runs'}" in err
    store = RunStore(tmp_path / "net.runs")
    first = store.summaries()
    assert [(r.id, r.epochs_run, r.dataset, r.reason) for r in first] == [
        (1, 1, "digits", "completed")]
    assert first[0].settings["seed"] == 1 and store.graph(1)["name"] == "digits_cnn"
    history = store.history(1)
    assert len(history.epochs) == 1 and len(history.arrays("batch_loss")[0]) > 10
    weights = store.weights_path(1)
    assert weights.exists() and (tmp_path / "net.runs" / "run-1.pt.json").exists()
    before = weights.read_bytes()
    assert run(capsys, "train", str(graph), "--epochs", "2")[0] == 0
    rows = store.summaries()
    assert [r.id for r in rows] == [1, 2] and rows[0] == first[0]
    assert weights.read_bytes() == before and store.weights_path(2).exists()


@pytest.mark.slow
def test_no_runs_keeps_nothing_and_an_example_says_where_its_runs_go(tmp_path, capsys):
    graph = tmp_path / "net.json"
    save_graph(example_graph("digits_cnn"), graph)
    code, _, err = run(capsys, "train", str(graph), "--epochs", "1", "--no-runs")
    assert code == 0 and "kept as run" not in err and not (tmp_path / "net.runs").exists()
    code, _, err = run(capsys, "train", "digits_cnn", "--epochs", "1")
    assert code == 0 and "runs of the shipped example digits_cnn are kept by the app only" in err


@pytest.mark.slow
def test_a_runs_folder_that_cannot_be_written_is_said_and_training_still_succeeds(
        tmp_path, capsys):
    graph = tmp_path / "net.json"
    save_graph(example_graph("digits_cnn"), graph)
    (tmp_path / "net.runs").write_text("a file where the runs folder would be")
    code, out, err = run(capsys, "train", str(graph), "--epochs", "1")
    assert code == 0 and "epoch 1" in out
    assert "dlbuilder train: the run was not kept:" in err and "net.runs" in err


@pytest.mark.slow
def test_init_weights_that_fit_in_part_say_which_layers_start_fresh(tmp_path, capsys):
    """Transfer learning from the command line: the changed layers are named, the frozen
    ones counted."""
    from dlbuilder.backend.compiler import compile_graph
    from dlbuilder.backend.weights import save_weights
    from dlbuilder.core.tuning import set_train

    graph = example_graph("digits_cnn")
    save_weights(compile_graph(graph), tmp_path / "old.pt")
    graph.set_params("fc1", {"out_features": 32})  # fc1 and the head after it change shape
    set_train(["conv1", "bn1", "conv2"], {"frozen": True}).apply(graph)
    save_graph(graph, tmp_path / "g.json")
    code, out, err = run(capsys, "train", str(tmp_path / "g.json"), "--epochs", "1",
                         "--init-weights", str(tmp_path / "old.pt"), "--no-runs")
    assert code == 0, err
    assert "--init-weights: fc1: 64 -> 32 outputs changed the shape; it starts from new " \
           "weights" in err
    assert "--init-weights: fc2: the shape changed (weight 10x64 -> 10x32); it starts " \
           "from new weights" in err
    frozen = 160 + 32 + 4640
    total = frozen + 512 * 32 + 32 + 32 * 10 + 10
    assert f"{total - frozen:,} of {total:,} parameters train; {frozen:,} frozen" in out
