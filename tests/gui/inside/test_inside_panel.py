"""The Look Inside dock in a window, as a user reaches it: the numbers behind each view (the
bars, the selected layer's tiles, the card strips, the drawn sample, the reconstruction) against
torch computed here; which weights it says it looks into; and its thread ending with the
window."""

from __future__ import annotations

import numpy as np
import pytest
from inside_helpers import (
    answered,
    as_bytes,
    compiled,
    image_pixels,
    loaded,
    reference,
    seeded_weights,
    softmax,
    strip_tiles,
    wait_for,
)
from PySide6.QtCore import QPoint, Qt

from dlbuilder.backend.datasets import load_dataset
from dlbuilder.backend.inside.drawing import drawing_to_sample
from dlbuilder.backend.inside.samples import find_row
from dlbuilder.backend.prepare import fit_preprocessing
from dlbuilder.core.commands import SetParams
from dlbuilder.core.fileformat import graph_to_dict
from dlbuilder.gui.canvas.card_thumbs import MAX_TILES
from dlbuilder.gui.inside.panel_ui import PAGE_DRAW
from dlbuilder.gui.inside.sources import UNTRAINED


@pytest.fixture(autouse=True)
def own_runs(monkeypatch, tmp_path):
    """The runs of these tests' graphs are kept in the test's own folder: the shared test
    data folder holds runs of other tests (and sessions), which Look Inside would show."""
    monkeypatch.setattr("dlbuilder.gui.training.panel.data_dir", lambda: tmp_path / "data")


@pytest.fixture
def digits_window(make_window, tmp_path):
    """digits_cnn in a window, Look Inside open on seeded weights saved with the digits'
    preprocessing, the data loaded."""
    window = make_window()
    panel = window.inside_side.show()
    assert wait_for(lambda: panel.picker.dataset is not None), "the digits did not load"
    data = panel.picker.dataset
    prep = fit_preprocessing(data, data.train.x, (1, 8, 8), normalize=True)
    graph = graph_to_dict(window.doc.graph)
    weights = seeded_weights(graph, tmp_path, prep, seed=5)
    panel.use_file(weights)
    loaded(panel)
    return window, panel, compiled(graph, weights), prep


def test_the_dock_is_built_when_first_shown_and_says_whose_weights(make_window):
    window = make_window()
    assert window.inside.panel is None  # nothing of it (nor torch) before it is wanted
    tabs = window.tabifiedDockWidgets(window.docks["training"])
    assert window.docks["inside"] in tabs
    window.actions["look_inside"].trigger()
    panel = window.inside.panel
    assert panel is not None and window.docks["inside"].isVisible()
    loaded(panel)
    assert UNTRAINED in panel.weights_label.text()  # no run yet: said as such
    assert not panel.last_action.isEnabled()


def test_a_picked_sample_shows_the_networks_answer(digits_window):
    window, panel, model, prep = digits_window
    assert panel.pick_sample("train", 17)
    raw, true = panel.picker.splits["train"].sample(17)
    look = answered(panel, lambda a: np.array_equal(a.look.raw, raw)).look
    logits, hooked = reference(model, prep.apply(raw[None]))
    expected = softmax(logits)
    bars = panel.prediction.bars
    assert np.allclose(bars.values, expected, atol=1e-6)
    assert bars.highlight == int(np.argmax(expected))
    assert bars.marked == true
    assert panel.prediction.input_picture.pixels is look.picture
    assert panel.weights_label.text().endswith("<b>model.pt</b>")
    # the strips under the cards: conv1's first channels, the Output's classes
    conv1 = hooked["conv1"]
    strip = window.scene.nodes["conv1"].thumbnail
    tiles = as_bytes(conv1, conv1.min(), conv1.max())
    shown = strip_tiles(strip)
    assert len(shown) == MAX_TILES
    for drawn, tile in zip(shown, tiles, strict=False):
        assert np.abs(drawn.astype(int) - tile).max() <= 1
    assert window.scene.nodes["output"].thumbnail.data.kind == "classes"
    assert window.scene.nodes["input"].thumbnail.data.kind == "picture"


def test_selecting_a_card_shows_all_its_channels(digits_window):
    window, panel, model, prep = digits_window
    panel.pick_sample("train", 4)
    raw, _ = panel.picker.splits["train"].sample(4)
    window.doc.select(["relu2"])
    answered(panel, lambda a: a.request.layer == ("relu2",))
    _, hooked = reference(model, prep.apply(raw[None]))
    relu2 = hooked["relu2"]
    grid = panel.maps.grid
    assert len(grid.images) == 32 and grid.captions[:3] == ["0", "1", "2"]
    expected = as_bytes(relu2, relu2.min(), relu2.max())
    assert all(np.abs(image_pixels(image).astype(int) - tile).max() <= 1
               for image, tile in zip(grid.images, expected, strict=True))
    assert f"{relu2.max():.3g}" in panel.maps.range_label.text()
    zero = np.count_nonzero(relu2 == 0) / relu2.size
    assert f"{100 * zero:.0f}% exactly zero" in panel.maps.range_label.text()
    panel.maps.order_combo.setCurrentIndex(1)  # strongest first
    answered(panel, lambda a: a.request.order == "mean")
    means = relu2.reshape(32, -1).mean(axis=1)
    assert grid.captions[0] == str(int(np.argmax(means)))
    window.doc.select(["fc2"])  # a vector: the last layer's outputs, by class name
    answered(panel, lambda a: a.request.layer == ("fc2",))
    assert panel.maps.bars.labels == tuple(str(i) for i in range(10))
    assert np.allclose(panel.maps.bars.values, hooked["fc2"], atol=1e-5)
    window.doc.select(["fc1"])
    answered(panel, lambda a: a.request.layer == ("fc1",))
    window.doc.select(["output"])  # the Output card: the answer it passes on, fc2's
    answered(panel, lambda a: a.request.layer == ("fc2",))
    assert panel.maps.bars.labels == tuple(str(i) for i in range(10))
    assert np.allclose(panel.maps.bars.values, hooked["fc2"], atol=1e-5)


def test_drawing_on_the_pad_updates_the_prediction(digits_window, qtbot):
    window, panel, model, prep = digits_window
    panel.source_tabs.setCurrentIndex(PAGE_DRAW)
    pad = panel.pad
    rect = pad.pad_rect()
    top = QPoint(int(rect.center().x()), int(rect.top() + rect.height() * 0.2))
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=top)
    for step in range(1, 11):
        qtbot.mouseMove(pad, top + QPoint(0, int(rect.height() * 0.06 * step)))
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton,
                       pos=top + QPoint(0, int(rect.height() * 0.6)))
    assert not pad.is_blank()
    picture = pad.picture()
    look = answered(panel, lambda a: a.request.drawing is not None
                    and np.array_equal(a.request.drawing, picture)).look
    raw = drawing_to_sample(picture, panel.session.info.style)
    assert np.array_equal(look.raw, raw)
    logits, _ = reference(model, prep.apply(raw[None]))
    assert np.allclose(panel.prediction.bars.values, softmax(logits), atol=1e-6)
    assert panel.prediction.bars.marked is None  # a drawing has no true class
    panel.clear_button.click()
    assert pad.is_blank() and window.scene.nodes["conv1"].thumbnail is None


def test_saliency_and_filters_follow_their_tabs(digits_window):
    window, panel, model, prep = digits_window
    panel.pick_sample("train", 9)
    panel.view_tabs.setCurrentIndex(2)
    got = answered(panel, lambda a: a.saliency is not None)
    cam, gradient = panel.saliency.overlays()
    from dlbuilder.backend.inside.tiles import overlay

    alpha = panel.saliency.opacity.value() / 100
    assert np.array_equal(gradient, overlay(got.look.picture, got.saliency.gradient, alpha))
    assert np.array_equal(panel.saliency.gradient_picture.pixels, gradient)
    panel.view_tabs.setCurrentIndex(1)
    window.doc.select(["conv2"])
    got = answered(panel, lambda a: a.filters is not None and a.request.filters == ("conv2",))
    w = model.get_submodule("conv2").weight.detach().numpy()
    grid = panel.filters.grid
    assert len(grid.images) == 32 * 16 and grid.group == 16  # a filter's tiles together
    assert panel.filters.layer_combo.currentText() == "conv2"
    assert np.abs(image_pixels(grid.images[16 + 3]).astype(int)
                  - as_bytes(w[1, 3], w.min(), w.max())).max() <= 1


def test_weights_of_an_edited_graph_look_into_the_graph_they_were_trained_on(
        digits_window, tmp_path):
    window, panel, _, _ = digits_window
    trained = graph_to_dict(window.doc.graph)
    training = panel.training_panel()
    training.weights.trained, training.weights.trained_from = panel.source.weights, "run 7"
    training.weights.trained_graph = trained
    window.doc.push(SetParams("fc1", {"out_features": 32}))
    assert panel.use_last_run()
    info = loaded(panel)
    assert "run 7" in panel.weights_label.text()
    assert "changed since run 7" in panel.weights_note.text()
    assert info.shapes[("fc1",)] == (64,)  # the trained graph's, not the canvas's 32


def test_a_run_of_the_runs_tab_is_looked_into_from_its_button(digits_window):
    from run_helpers import make_history

    window, panel, _, _ = digits_window
    training = panel.training_panel()
    store = training.store
    run_id = store.add(graph_to_dict(window.doc.graph), {"dataset": "digits"},
                       make_history(val_accuracy=0.983))
    store.take_weights(run_id, panel.source.weights)
    training.runs.refresh()
    training.runs.select_runs([run_id])
    training.runs.buttons["Look Inside"].click()
    loaded(panel)
    assert panel.kind == "run"
    label = next(s.label for s in store.summaries() if s.id == run_id)  # "run 1"
    assert panel.weights_label.text() == f"Weights: <b>{label}, 98.3% val</b>"


def test_the_newest_kept_run_is_looked_into_at_first(make_window, tmp_path):
    from run_helpers import make_history

    window = make_window()
    training = window.training.ensure_panel()
    graph = graph_to_dict(window.doc.graph)
    for accuracy, seed in ((0.5, 1), (0.9, 2)):
        run_id = training.store.add(graph, {"dataset": "digits"},
                                    make_history(val_accuracy=accuracy))
        training.store.take_weights(run_id, seeded_weights(graph, tmp_path, None, seed))
    panel = window.inside_side.show()
    loaded(panel)
    assert panel.kind == "run" and panel.weights_label.text().endswith("90.0% val</b>")


def test_predictions_grid_and_confusion_cells_pick_their_dataset_samples(digits_window):
    from dlbuilder.backend.evaluation import Evaluation

    window, panel, _, _ = digits_window
    training = panel.training_panel()
    data = panel.picker.dataset
    chosen = np.array([100, 7, 250, 31])  # validation samples' places in the training split
    probs = np.full((4, 10), 0.01, np.float32)
    probs[[0, 1, 2, 3], [3, 5, 5, 1]] = 0.91
    labels = data.train.y[chosen]
    evaluation = Evaluation("val", data.classes, labels, probs, None, chosen)
    training.results.show_results(evaluation, {"val_accuracy": 0.5})
    links = window.inside_side.links
    view = training.results.grid.view
    first = view.model().index(0, 0)
    view.doubleClicked.emit(first)
    shown = int(evaluation.wrong_first()[0])
    found = find_row(panel.picker.splits, "train", int(chosen[shown]))
    assert (panel.picker.split, panel.picker.index) == found
    assert panel.sample_words == f"{found[0]}[{found[1]}]"  # as inspect names it
    answered(panel, lambda a: np.array_equal(a.look.raw, data.train.x[chosen[shown]]))
    cell = (int(labels[1]), 5)
    found = links.cell_samples(cell)
    order = evaluation.wrong_first(*cell)
    assert found[1] == "train" and list(found[2]) == [int(chosen[i]) for i in order]
    links.samples_requested.emit(*found)
    first = find_row(panel.picker.splits, "train", int(found[2][0]))
    assert panel.picker.listed is not None
    assert (panel.picker.split, panel.picker.index) == first


def test_an_image_file_dropped_on_the_window_is_prepared_like_the_data(
        digits_window, tmp_path, capsys):
    """A training digit photographed dark on light: inverted and centred like the digits
    (the CLI's `inspect` gives the same answer), or, unticked, looked at as it is."""
    import json

    from PIL import Image
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from dlbuilder.backend.inside.samples import PREPARED, data_style, read_image_sample
    from dlbuilder.backend.predict import read_samples
    from dlbuilder.cli import main

    window, panel, model, prep = digits_window
    data = panel.picker.dataset
    digit = 1.0 - np.kron(data.train.x[7, 0] / data.scale, np.ones((12, 12)))
    path = tmp_path / "seven.png"
    Image.fromarray((np.pad(digit, 24, constant_values=1.0) * 255).astype(np.uint8)).save(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    at = QPointF(400, 300)
    buttons, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(at.toPoint(), Qt.DropAction.CopyAction, mime, buttons, keys)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(at, Qt.DropAction.CopyAction, mime, buttons, keys))
    raw, _ = read_image_sample(path, prep, data_style(data, data.sample_shape))
    look = answered(panel, lambda a: np.array_equal(a.look.raw, raw)).look
    logits, _ = reference(model, prep.apply(raw[None]))
    assert np.allclose(look.probabilities, softmax(logits), atol=1e-6)
    assert "seven.png" in panel.prediction.note_label.text()
    assert f"{PREPARED}: inverted, centred" in panel.prediction.note_label.text()
    graph = tmp_path / "digits.json"
    graph.write_text(json.dumps(graph_to_dict(window.doc.graph)))
    weights = panel.source.weights
    assert main(["inspect", str(graph), "--weights", str(weights), "--sample", str(path),
                 "--top", "10", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    cli = {t["class"]: t["probability"] for t in report["top"]}
    assert np.allclose([cli[c] for c in look.classes], look.probabilities, atol=1e-6)
    panel.prepare_check.setChecked(False)
    _, plain, _ = read_samples([path], prep)
    assert not np.array_equal(plain[0], raw)
    answered(panel, lambda a: np.array_equal(a.look.raw, plain[0]))
    assert PREPARED not in panel.prediction.note_label.text()


def test_closing_the_window_ends_the_look_inside_thread(make_window):
    window = make_window()
    panel = window.inside_side.show()
    loaded(panel)
    thread = panel.session._thread
    window.close()
    assert thread.isFinished()


def test_the_card_strips_go_with_the_view_menu_toggle(digits_window):
    window, panel, _, _ = digits_window
    panel.pick_sample("train", 2)
    answered(panel)
    assert window.scene.nodes["conv1"].thumbnail is not None
    window.actions["card_maps"].setChecked(False)
    assert all(item.thumbnail is None for item in window.scene.nodes.values())
    panel.answer = None
    window.actions["card_maps"].setChecked(True)
    answered(panel)
    assert window.scene.nodes["conv1"].thumbnail is not None


# -- other networks ----------------------------------------------------------------------
def example_window(make_window, name: str):
    window = make_window(example=name)
    panel = window.inside_side.show()
    return window, panel, loaded(panel)


def test_inside_an_opened_block_the_cards_show_the_instances_maps(make_window):
    window, panel, info = example_window(make_window, "resnet_cifar")
    raw = np.random.default_rng(0).random((3, 32, 32)).astype(np.float32)  # CIFAR-shaped
    panel.look_at(raw)
    answered(panel)
    window.doc.open_block("block2")
    window.doc.select(["conv1"])
    look = answered(panel, lambda a: a.request.layer == ("block2", 0, "conv1")).look
    probe_model = compiled(panel.source.graph)
    probe_model.load_state_dict(_state_of(panel))
    _, hooked = reference(probe_model, _prepared(panel, raw))
    inner = hooked["block2.conv1"]
    assert look.outputs[("block2", 0, "conv1")].shape == inner.shape
    assert np.allclose(look.outputs[("block2", 0, "conv1")], inner, atol=1e-5)
    strip = window.scene.nodes["conv1"].thumbnail
    assert strip is not None and strip.data.channels == inner.shape[0]
    tiles = as_bytes(inner, inner.min(), inner.max())
    assert np.abs(strip_tiles(strip)[0].astype(int) - tiles[0]).max() <= 1
    assert "block2/conv1 (Conv2d)" in panel.maps.title_label.text()


def test_an_autoencoder_shows_its_reconstruction_beside_the_input(make_window):
    window, panel, info = example_window(make_window, "conv_autoencoder")
    raw = np.random.default_rng(1).random((1, 28, 28)).astype(np.float32)
    panel.look_at(raw)
    look = answered(panel).look
    model = compiled(panel.source.graph)
    model.load_state_dict(_state_of(panel))
    out, _ = reference(model, _prepared(panel, raw))
    expected = np.clip(np.rint(out[0].astype(np.float64) * 255), 0, 255).astype(np.uint8)
    shown = panel.prediction.reconstruction
    assert shown.isVisibleTo(panel) and np.array_equal(shown.pixels, expected)
    assert np.array_equal(panel.prediction.input_picture.pixels, look.picture)
    assert window.scene.nodes["output"].thumbnail.data.kind == "picture"


@pytest.mark.slow
def test_lenet5_on_mnist_answers_a_drawn_digit(make_window, mnist_dir):
    data = load_dataset("mnist", mnist_dir)
    window = make_window(example="lenet5")
    panel = window.inside_side.show()
    panel.training_panel().data_panel.set_source("mnist", str(mnist_dir))
    assert wait_for(lambda: panel.picker.dataset is not None, 60), "MNIST did not load"
    assert wait_for(lambda: panel.session.info is not None
                    and panel.session.info.source.dataset is panel.picker.dataset, 60)
    info = panel.session.info
    assert info.style_note == ""  # measured on MNIST itself
    panel.source_tabs.setCurrentIndex(PAGE_DRAW)
    picture = np.zeros((224, 224), np.float32)
    picture[50:180, 105:125] = 1.0  # a "1"
    panel.pad.drawn.emit(picture)
    look = answered(panel, lambda a: a.request.drawing is not None).look
    raw = drawing_to_sample(picture, info.style)
    assert np.array_equal(look.raw, raw) and raw.shape == data.train.x.shape[1:]
    model = compiled(panel.source.graph)
    model.load_state_dict(_state_of(panel))
    logits, _ = reference(model, _prepared(panel, raw))
    assert np.allclose(panel.prediction.bars.values, softmax(logits), atol=1e-6)


def _state_of(panel):
    """The weights the probe holds (random ones here), read off its model."""
    probe = panel.session._worker._probe
    return {k: v.detach().clone() for k, v in probe.model.state_dict().items()}


def _prepared(panel, raw):
    return panel.session._worker._probe.preprocessing.apply(raw[None])


def test_weights_of_another_graph_are_refused_and_the_ones_before_kept(digits_window,
                                                                        tmp_path):
    """Load weights… with lenet5's weights on digits_cnn: said in full, like `inspect`, and
    the dock keeps looking into the weights it had (label, network and answers)."""
    from helpers import example_graph

    from dlbuilder.backend.inside.probe import Probe
    from dlbuilder.backend.weights import WeightsError

    window, panel, model, prep = digits_window
    data = panel.picker.dataset
    before = panel.source
    other = seeded_weights(graph_to_dict(example_graph("lenet5")), tmp_path, name="lenet.pt")
    with pytest.raises(WeightsError) as refused:
        Probe(graph_to_dict(window.doc.graph), other)  # what inspect says
    panel.use_file(other)
    assert wait_for(lambda: panel.weights_error_area.isVisible()), "no refusal shown"
    assert str(refused.value) in panel.weights_error.text()  # in full, not cut off
    assert panel.weights_error.wordWrap()
    assert panel.weights_label.text().endswith("<b>model.pt</b>")
    assert panel.source is before and panel.kind == "file" and panel._file == before.weights
    loaded(panel)
    assert panel.pick_sample("train", 3)
    look = answered(panel, lambda a: np.array_equal(a.look.raw, data.train.x[3])).look
    logits, _ = reference(model, prep.apply(data.train.x[3][None]))
    assert np.allclose(look.probabilities, softmax(logits), atol=1e-6)
    panel.use_file(before.weights)  # weights that fit: taken, the refusal gone
    loaded(panel)
    assert not panel.weights_error_area.isVisible()


def test_the_app_and_inspect_count_a_splits_samples_alike(digits_window, tmp_path, capsys):
    """The digits have no test split: the dock offers the run's validation split first (the
    graph's val_split and seed), then the rest; its val[5] is `inspect --sample 5`'s."""
    import json

    from dlbuilder.backend.prepare import stratified_split
    from dlbuilder.backend.settings import resolve_settings
    from dlbuilder.cli import main

    window, panel, model, prep = digits_window
    data = panel.picker.dataset
    settings = resolve_settings(window.doc.graph.training)
    train_rows, val_rows = stratified_split(data.train.y, settings.val_split, settings.seed)
    combo = panel.picker.split_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["val", "train"]
    assert combo.itemText(0) == f"Validation ({len(val_rows):,})"
    assert panel.picker.split == "val"  # the default, as inspect's
    assert panel.pick_sample("val", 5)
    look = answered(panel, lambda a: np.array_equal(a.look.raw, data.train.x[val_rows[5]])).look
    assert panel.sample_words == "val[5]"
    graph = tmp_path / "digits.json"
    graph.write_text(json.dumps(graph_to_dict(window.doc.graph)))
    assert main(["inspect", str(graph), "--weights", str(panel.source.weights), "--sample",
                 "5", "--top", "10", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sample"]["name"] == "val[5]"
    assert report["sample"]["label"] == data.classes[int(data.train.y[val_rows[5]])]
    cli = {t["class"]: t["probability"] for t in report["top"]}
    assert np.allclose([cli[c] for c in look.classes], look.probabilities, atol=1e-6)
    assert panel.pick_sample("train", 7)
    answered(panel, lambda a: np.array_equal(a.look.raw, data.train.x[train_rows[7]]))


def test_the_sample_panel_shows_the_image_file_looked_at(digits_window, tmp_path):
    """After Open image…, the Data page names the file, with no true class and no sample of
    the data marked; the Data tab keeps it; picking a sample of the data looks at that."""
    from PIL import Image

    window, panel, _, _ = digits_window
    data = panel.picker.dataset
    cell = np.array([int(r) for r in panel.picker.splits["val"].rows[:3]])
    assert panel.show_samples("True 3, predicted 5", "train", cell)
    assert panel.picker.list_label.isVisibleTo(panel.picker)
    path = tmp_path / "dot.png"
    Image.fromarray(np.pad(np.full((10, 10), 255, np.uint8), 20)).save(path)
    panel.pick_file(path)
    look = answered(panel, lambda a: a.request.raw is not None
                    and not any(np.array_equal(a.look.raw, data.train.x[r]) for r in cell)).look
    picker = panel.picker
    assert "dot.png" in picker.truth_label.text() and "True class" not in picker.truth_label.text()
    assert picker.strip.current == -1 and not picker.list_label.isVisibleTo(picker)
    assert panel.prediction.bars.marked is None  # no true class marked on the bars
    panel.source_tabs.setCurrentIndex(PAGE_DRAW)
    panel.source_tabs.setCurrentIndex(0)  # back to the Data tab: still the file
    assert panel.sample[0] == "file" and np.array_equal(panel.sample[1], look.raw)
    assert "dot.png" in picker.truth_label.text()
    assert panel.pick_sample("val", 2)
    raw, true = picker.splits["val"].sample(2)
    answered(panel, lambda a: np.array_equal(a.look.raw, raw))
    assert picker.truth_label.text() == f"True class: <b>{data.classes[true]}</b>"
    assert picker.strip.current >= 0
