"""`dlbuilder inspect`: its numbers against torch computed here (hooks, softmax, autograd, a
hand-written Grad-CAM), the sheet's pixels, messages and exit statuses."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import example_graph, image_folder
from PySide6.QtGui import QImage

from dlbuilder.backend.compiler import CompiledModel, node_modules
from dlbuilder.backend.datasets import load_dataset
from dlbuilder.backend.inside.tiles import overlay
from dlbuilder.backend.plan import build_plan
from dlbuilder.backend.prepare import stratified_split
from dlbuilder.backend.preprocessing import read_preprocessing, save_preprocessing
from dlbuilder.backend.settings import resolve_settings
from dlbuilder.backend.trainer import plan_run
from dlbuilder.backend.weights import load_weights, save_weights
from dlbuilder.cli import main
from dlbuilder.core.fileformat import save_graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.gui.inside.sheet import GAP, MARGIN, PICTURE, WIDTH
from dlbuilder.layers import REGISTRY


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory):
    """digits_cnn's weights (seeded, untrained: the numbers are checked, not the accuracy)
    with the preprocessing fitted on digits saved beside them."""
    path = tmp_path_factory.mktemp("inspect") / "digits.pt"
    engine = InferenceEngine(example_graph("digits_cnn"), REGISTRY)
    torch.manual_seed(3)
    save_weights(CompiledModel(build_plan(engine)), path)
    settings = resolve_settings(engine.graph.training)
    save_preprocessing(path, plan_run(engine, settings).data.preprocessing)
    return path


def reference(weights_path, raw: np.ndarray):
    """The model, its input and every module's output, by torch alone."""
    model = CompiledModel(build_plan(InferenceEngine(example_graph("digits_cnn"), REGISTRY)))
    load_weights(model, weights_path)
    model.eval()
    x = read_preprocessing(weights_path).apply(raw[None])
    outputs = {}
    for path, module in node_modules(model).items():
        module.register_forward_hook(
            lambda m, i, o, path=path: outputs.__setitem__(path[-1], o.detach()[0]))
    with torch.no_grad():
        scores = model(x)[0]
    return model, x, outputs, scores


def val_sample(index: int) -> tuple[np.ndarray, str]:
    digits = load_dataset("digits")
    settings = resolve_settings(example_graph("digits_cnn").training)
    _, val = stratified_split(digits.train.y, settings.val_split, settings.seed)
    row = val[index]
    return digits.train.x[row], digits.classes[digits.train.y[row]]


def test_json_numbers_follow_torch(weights, capsys):
    code, out, err = run(capsys, "inspect", "digits_cnn", "--weights", str(weights),
                         "--sample", "7", "--json")
    assert code == 0, err
    report = json.loads(out)
    raw, label = val_sample(7)  # digits has no test split: the validation split's 7th
    assert report["sample"] == {"name": "val[7]", "index": 7, "split": "val", "label": label}
    _, _, outputs, scores = reference(weights, raw)
    probabilities = torch.softmax(scores, dim=0)
    values, indices = probabilities.topk(5)
    assert [t["class"] for t in report["top"]] == [str(int(i)) for i in indices]
    assert [t["probability"] for t in report["top"]] == pytest.approx(values.tolist(), abs=1e-6)
    outputs["flatten"] = torch.flatten(outputs["pool1"])
    ids = [layer["id"] for layer in report["layers"]]
    assert ids == ["conv1", "bn1", "relu1", "conv2", "relu2", "pool1", "flatten", "fc1", "relu3",
                   "dropout", "fc2"]
    for layer in report["layers"]:
        t = outputs[layer["id"]].double()
        assert layer["shape"] == list(t.shape)
        assert layer["mean"] == pytest.approx(float(t.mean()), abs=1e-6)
        assert layer["std"] == pytest.approx(float(t.std(unbiased=False)), abs=1e-6)
        assert layer["low"] == pytest.approx(float(t.min()), abs=1e-6)
        assert layer["high"] == pytest.approx(float(t.max()), abs=1e-6)
        assert layer["zero_share"] == pytest.approx(float((t == 0).double().mean()))
    assert next(x for x in report["layers"] if x["id"] == "conv1")["type"] == "Conv2d"


def test_saliency_summary_follows_autograd_and_grad_cam(weights, capsys):
    code, out, _ = run(capsys, "inspect", "digits_cnn", "--weights", str(weights),
                       "--sample", "3", "--saliency", "4", "--json")
    assert code == 0
    summary = json.loads(out)["saliency"]
    model, x, _, _ = reference(weights, val_sample(3)[0])
    kept = []
    model.conv2.register_forward_hook(lambda m, i, o: kept.append(o))
    x.requires_grad_(True)
    score = model(x)[0, 4]
    grad_x, grad_a = torch.autograd.grad(score, [x, kept[0]])
    gradient = grad_x[0].abs().amax(dim=0)
    cam = torch.relu((grad_a.mean(dim=(2, 3), keepdim=True) * kept[0].detach()).sum(dim=1))[0]
    assert summary["class"] == "4"
    assert summary["score"] == pytest.approx(float(score.detach()), abs=1e-5)
    assert summary["gradient_peak"] == list(np.unravel_index(int(gradient.argmax()), (8, 8)))
    assert summary["cam_layer"] == "conv2" and summary["cam_size"] == [8, 8]
    assert summary["cam_raw_peak"] == list(np.unravel_index(int(cam.argmax()), (8, 8)))
    assert summary["cam_raw_high"] == pytest.approx(float(cam.max()), rel=1e-5)


def test_filters_in_json_are_the_first_convolution(weights, capsys):
    code, out, _ = run(capsys, "inspect", "digits_cnn", "--weights", str(weights),
                       "--sample", "0", "--filters", "--json")
    assert code == 0
    filters = json.loads(out)["filters"]
    weight = torch.load(weights, weights_only=True)["conv1.weight"]
    assert filters["id"] == "conv1" and filters["shape"] == list(weight.shape)
    assert (filters["low"], filters["high"]) == pytest.approx((float(weight.min()),
                                                              float(weight.max())))


def pixels(path) -> np.ndarray:
    image = QImage(str(path))
    assert not image.isNull(), f"{path} does not decode"
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    rows = raw.reshape(image.height(), image.bytesPerLine())[:, :image.width() * 3]
    return rows.reshape(image.height(), image.width(), 3).copy()  # the QImage's memory goes


def find_tile(sheet: np.ndarray, tile: np.ndarray, x: int) -> int | None:
    """The row where `tile` (H, W, 3) lies at column x of the sheet, or None."""
    h, w = tile.shape[:2]
    for y in range(sheet.shape[0] - h + 1):
        if np.array_equal(sheet[y:y + h, x:x + w], tile):
            return y
    return None


def grey(tile: np.ndarray, factor: int) -> np.ndarray:
    big = np.kron(tile, np.ones((factor, factor), dtype=np.uint8))
    return np.repeat(big[..., None], 3, axis=2)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_sheet_shows_the_input_saliency_and_maps(weights, capsys, tmp_path, qapp, theme):
    out = tmp_path / "sheet.png"
    code, _, err = run(capsys, "inspect", "digits_cnn", "--weights", str(weights), "--sample",
                       "2", "--layer", "conv1", "--saliency", "1", "-o", str(out), "--theme",
                       theme)
    assert code == 0, err
    sheet = pixels(out)
    assert sheet.shape[1] == WIDTH
    background = (255, 255, 255) if theme == "light" else (0x16, 0x18, 0x1D)
    assert tuple(sheet[2, 2]) == background
    raw, _ = val_sample(2)
    factor = PICTURE // 8  # an 8x8 digit, scaled up by a whole factor
    picture = np.rint(np.clip(raw[0] / 16, 0, 1) * 255).astype(np.uint8)
    y = find_tile(sheet, grey(picture, factor), MARGIN)
    assert y is not None, "the input picture is not where it belongs"
    model, x, outputs, _ = reference(weights, raw)
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x)[0, 1], x)
    gradient = grad[0].abs().amax(dim=0).numpy()
    heat = np.kron(overlay(picture, gradient / gradient.max(), 0.6),
                   np.ones((factor, factor, 1), np.uint8))
    assert np.array_equal(sheet[y:y + PICTURE, MARGIN + PICTURE + 2 * GAP:][:, :PICTURE], heat)
    conv1 = outputs["conv1"].double().numpy()  # tiles are scaled in float64
    low, high = conv1.min(), conv1.max()
    first = np.rint((conv1[0] - low) / (high - low) * 255).astype(np.uint8)
    below = find_tile(sheet[y + PICTURE:], grey(first, 8), MARGIN)  # 8x8 maps at 8x
    assert below is not None, "conv1's first map is missing"


def test_a_sheet_of_every_layer_holds_more_than_one_layer(weights, capsys, tmp_path, qapp):
    one, every = tmp_path / "one.png", tmp_path / "every.png"
    for path, extra in ((one, ["--layer", "relu1"]), (every, [])):
        assert run(capsys, "inspect", "digits_cnn", "--weights", str(weights), "--sample", "2",
                   "-o", str(path), *extra)[0] == 0
    relu1 = reference(weights, val_sample(2)[0])[2]["relu1"].double().numpy()
    first = np.rint((relu1[0] - relu1.min()) / (relu1.max() - relu1.min()) * 255)
    tile = grey(first.astype(np.uint8), 8)
    sheets = pixels(one), pixels(every)
    assert all(find_tile(sheet, tile, MARGIN) is not None for sheet in sheets)
    assert sheets[1].shape[0] > 3 * sheets[0].shape[0]


def test_without_weights_it_refuses_unless_untrained(capsys):
    code, _, err = run(capsys, "inspect", "digits_cnn", "--sample", "0")
    assert code == 2 and "--weights W.pt" in err and "--untrained" in err
    reports = []
    for seed in ("1", "1", "2"):
        code, out, _ = run(capsys, "inspect", "digits_cnn", "--untrained", "--seed", seed,
                           "--sample", "0", "--json")
        assert code == 0
        reports.append(json.loads(out))
    assert reports[0]["untrained"] and reports[0]["seed"] == 1
    assert reports[0]["top"] == reports[1]["top"] != reports[2]["top"]
    code, out, _ = run(capsys, "inspect", "digits_cnn", "--untrained", "--sample", "0")
    assert "untrained: random weights (seed 0)" in out.splitlines()[0]


def test_an_image_file_as_is_gives_what_predict_gives(weights, capsys, tmp_path):
    """--as-is: resized only, as `predict` reads it; by default prepared like the digits."""
    pil = pytest.importorskip("PIL.Image")
    raw, _ = val_sample(4)
    image = (raw[0].astype(np.uint16) * 255 // 16).astype(np.uint8)
    pil.fromarray(image, mode="L").save(tmp_path / "digit.png")
    code, out, err = run(capsys, "inspect", "digits_cnn", "--weights", str(weights),
                         "--sample", str(tmp_path / "digit.png"), "--json")
    assert code == 0 and "digit.png: prepared like the training data: centred" in err
    prepared = json.loads(out)
    code, out, err = run(capsys, "inspect", "digits_cnn", "--weights", str(weights),
                         "--sample", str(tmp_path / "digit.png"), "--json", "--as-is")
    assert code == 0 and "prepared" not in err
    report = json.loads(out)
    assert report["top"] != prepared["top"]
    assert report["sample"]["name"] == "digit.png" and report["sample"]["label"] is None
    code, out, _ = run(capsys, "predict", "digits_cnn", "--weights", str(weights),
                       str(tmp_path / "digit.png"), "--top", "5", "--json")
    assert report["top"] == json.loads(out)["predictions"][0]["top"]


@pytest.mark.parametrize(("args", "words"), [
    (["--layer", "conv9"], "no node 'conv9' in digits_cnn; the nodes are: input, conv1, bn1"),
    (["--layer", "relu1", "--filters"], "relu1 (ReLU) is not a convolution"),
    (["--saliency", "ten"], "--saliency ten: no such class; give a class name or an index 0 "
                            "to 9"),
    (["--cam-layer", "fc1", "--saliency", "1"], "fc1 is not one"),
    (["--split", "test"], "digits has no test split; use --split val or train"),
    (["--sample", "5000", "--split", "train"], "sample 5000 is out of range: the train split "
                                               "of digits has 1617 samples"),
    (["--sample", "x.gif"], "x.gif"),
    (["--sample", "-1"], "--sample -1: a sample's index must be 0 or more"),
    (["--order", "mean"], "--order orders one layer's channels: give --layer"),
    (["--cam-layer", "conv2"], "--cam-layer is Grad-CAM's layer: give --saliency CLASS too"),
])
def test_bad_requests_say_what_is_wrong(weights, capsys, args, words):
    argv = ["inspect", "digits_cnn", "--weights", str(weights), "--sample", "0", *args]
    code, _, err = run(capsys, *argv)
    assert code == 2 and words in err


def test_weights_of_another_graph_are_named(capsys, tmp_path):
    path = tmp_path / "lenet.pt"
    save_weights(CompiledModel(build_plan(InferenceEngine(example_graph("lenet5"), REGISTRY))),
                 path)
    code, out, _ = run(capsys, "inspect", "digits_cnn", "--weights", str(path), "--sample", "0",
                       "--json")
    error = json.loads(out)["error"]
    assert code == 2 and "do not fit this graph" in error and "conv1.weight" in error


def test_a_graph_with_errors_exits_1(capsys, tmp_path):
    graph = example_graph("digits_cnn")
    graph.set_params("conv1", {**graph.params("conv1"), "kernel_size": 11})
    save_graph(graph, tmp_path / "broken.json")
    code, _, err = run(capsys, "inspect", str(tmp_path / "broken.json"), "--untrained",
                       "--sample", "0")
    assert code == 1 and "error" in err


def test_layers_inside_blocks_by_path(capsys, tmp_path):
    folder = image_folder(tmp_path / "pictures", classes=10, per_class=2, size=32)
    code, out, err = run(capsys, "inspect", "resnet_cifar", "--untrained", "--dataset",
                         str(folder), "--sample", "0", "--split", "train", "--layer",
                         "block2/conv1", "--json")
    assert code == 0, err
    (layer,) = json.loads(out)["layers"]
    assert layer["id"] == "block2/conv1" and layer["type"] == "Conv2d"
    assert layer["node"] == ["block2", 0, "conv1"] and layer["shape"] == [32, 16, 16]


@pytest.mark.slow
def test_trained_weights_see_the_digits(tmp_path, capsys):
    """A couple of epochs: the top class is mostly right, and the sheet's title says so."""
    weights = tmp_path / "w.pt"
    assert run(capsys, "train", "digits_cnn", "--epochs", "3", "--save-weights", str(weights),
               "--no-runs")[0] == 0
    right = 0
    for index in range(20):
        code, out, _ = run(capsys, "inspect", "digits_cnn", "--weights", str(weights),
                           "--sample", str(index), "--layer", "fc2", "--json")
        report = json.loads(out)
        right += report["top"][0]["class"] == report["sample"]["label"]
    assert right >= 16


def test_an_image_on_untrained_weights_needs_no_dataset(capsys, tmp_path, monkeypatch):
    """resnet_cifar --untrained on a picture: CIFAR-10 is not in the (empty) cache and is not
    downloaded; the picture is scaled to 0..1 on the Input's shape, and that is said once."""
    pil = pytest.importorskip("PIL.Image")
    fetched = []
    monkeypatch.setattr("dlbuilder.backend.datasets.fetch_dataset",
                        lambda *a, **k: fetched.append(a) or 1 / 0)
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    pil.fromarray(picture).save(tmp_path / "car.png")
    code, out, err = run(capsys, "inspect", "resnet_cifar", "--untrained", "--sample",
                         str(tmp_path / "car.png"), "--json")
    assert code == 0 and not fetched
    assert err.count("is not at hand") == 1
    assert "scaled to 0..1 on the Input's shape" in err
    report = json.loads(out)
    assert report["sample"]["name"] == "car.png"
    # the network got the picture / 255, nothing more (the same seeded random weights)
    from dlbuilder.backend.inside.probe import Probe

    torch.manual_seed(0)
    probe = Probe(InferenceEngine(example_graph("resnet_cifar"), REGISTRY))
    look = probe.look(picture.transpose(2, 0, 1).astype(np.float32) / 255)
    assert [t["class"] for t in report["top"]] == [c for c, _ in look.top(5)]
    assert np.allclose([t["probability"] for t in report["top"]],
                       [p for _, p in look.top(5)], atol=1e-6)


def test_a_dataset_that_cannot_be_had_is_said_once(capsys, monkeypatch):
    from dlbuilder.backend.datasets import DatasetError

    def refuse(*_args, **_kwargs):
        raise DatasetError("could not download cifar-10-binary.tar.gz for cifar10")

    monkeypatch.setattr("dlbuilder.backend.datasets.fetch_dataset", refuse)
    code, _, err = run(capsys, "inspect", "resnet_cifar", "--untrained", "--sample", "3")
    assert code != 0 and err.count("could not download") == 1


def test_the_output_layer_is_what_it_passes_on(weights, capsys):
    code, out, _ = run(capsys, "inspect", "digits_cnn", "--weights", str(weights), "--sample",
                       "0", "--layer", "output", "--json")
    assert code == 0
    code, fc2, _ = run(capsys, "inspect", "digits_cnn", "--weights", str(weights), "--sample",
                       "0", "--layer", "fc2", "--json")
    assert json.loads(out)["layers"] == json.loads(fc2)["layers"]
    assert json.loads(out)["layers"][0]["id"] == "fc2"


def test_saliency_on_an_autoencoder_says_it_needs_a_classifier(capsys, tmp_path):
    np.savez(tmp_path / "s.npz", x=np.zeros((1, 1, 28, 28), np.float32))
    code, _, err = run(capsys, "inspect", "conv_autoencoder", "--untrained", "--sample",
                       str(tmp_path / "s.npz"), "--saliency", "1")
    assert code == 2 and "saliency needs a classifier" in err


def test_a_missing_weights_file_is_said_first(capsys, tmp_path):
    code, _, err = run(capsys, "inspect", "digits_cnn", "--weights", str(tmp_path / "no.pt"),
                       "--sample", "0")
    assert code == 2 and err.startswith(f"dlbuilder inspect: {tmp_path / 'no.pt'}: no such "
                                        "weights file")
