"""The Look Inside worker: what it answers, against torch computed here (softmax of a fresh
compiled model's output, forward hooks for the maps and the card strips, autograd for the
input gradient, the convolution's weights for its filters); that it answers only the newest
request; and that its thread ends."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from inside_helpers import as_bytes, compiled, reference, seeded_weights, softmax, wait_for

from dlbuilder.backend.datasets import load_dataset
from dlbuilder.backend.inside.drawing import drawing_to_sample, ink_style
from dlbuilder.backend.prepare import fit_preprocessing
from dlbuilder.gui.canvas.card_thumbs import MAX_TILES, output_thumb
from dlbuilder.gui.inside.worker import (
    InsideSession,
    InsideWorker,
    Request,
    Source,
    answer,
    load_probe,
)
from dlbuilder.resources import examples_dir


def example(name: str) -> dict:
    return json.loads((examples_dir() / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture
def digits_probe(digits, tmp_path):
    graph = example("digits_cnn")
    prep = fit_preprocessing(digits, digits.train.x, (1, 8, 8), normalize=True)
    weights = seeded_weights(graph, tmp_path, prep, seed=3)
    probe, info = load_probe(Source(graph, weights, "test", digits), 1)
    return graph, weights, prep, probe, info


def test_the_answer_is_the_compiled_models_own(digits, digits_probe):
    graph, weights, prep, probe, info = digits_probe
    raw = digits.train.x[17]
    got = answer(probe, info, Request(probe=1, raw=raw, layer=("conv1",),
                                      thumbs=(("conv1",), ("fc1",), ("pool1",))))
    logits, hooked = reference(compiled(graph, weights), prep.apply(raw[None]))
    look = got.look
    assert np.allclose(look.probabilities, softmax(logits), atol=1e-6)
    assert info.classes == tuple(str(i) for i in range(10))
    # the selected layer's tiles: the hook's output on the layer's own range
    conv1 = hooked["conv1"]
    expected = as_bytes(conv1, conv1.min(), conv1.max())
    assert got.tiles.order == tuple(range(16))
    assert np.abs(got.tiles.pixels.astype(int) - expected).max() <= 1
    # the card strips: the first channels, on the layer's range; a vector as bars
    strip = got.thumbs[("conv1",)]
    assert strip.kind == "maps" and strip.channels == 16
    assert np.abs(strip.pixels.astype(int) - expected[:MAX_TILES]).max() <= 1
    fc1 = hooked["fc1"]
    bars = got.thumbs[("fc1",)]
    assert bars.kind == "bars" and len(bars.values) == 64
    assert np.allclose(bars.values, fc1 / np.abs(fc1).max(), atol=1e-5)
    out = output_thumb(look)
    assert out.kind == "classes" and out.label.startswith(info.classes[int(np.argmax(logits))])


def test_maps_sorted_by_mean_put_the_strongest_channel_first(digits, digits_probe):
    graph, weights, prep, probe, info = digits_probe
    raw = digits.train.x[3]
    got = answer(probe, info, Request(probe=1, raw=raw, layer=("relu2",), order="mean"))
    _, hooked = reference(compiled(graph, weights), prep.apply(raw[None]))
    means = hooked["relu2"].reshape(32, -1).mean(axis=1)
    assert list(got.tiles.order) == list(np.argsort(-means, kind="stable"))


def test_a_drawing_is_made_a_sample_in_the_datas_style(digits, digits_probe):
    graph, weights, prep, probe, info = digits_probe
    assert info.style == ink_style(digits.train.x, digits.scale)
    drawing = np.zeros((224, 224), dtype=np.float32)
    drawing[40:190, 100:130] = 1.0  # a "1"
    got = answer(probe, info, Request(probe=1, drawing=drawing))
    raw = drawing_to_sample(drawing, info.style)
    assert np.array_equal(got.look.raw, raw)
    logits, _ = reference(compiled(graph, weights), prep.apply(raw[None]))
    assert np.allclose(got.look.probabilities, softmax(logits), atol=1e-6)


def test_saliency_is_the_input_gradient_and_filters_the_weights(digits, digits_probe):
    graph, weights, prep, probe, info = digits_probe
    raw = digits.train.x[8]
    got = answer(probe, info, Request(probe=1, raw=raw, saliency=(None, None),
                                      filters=("conv2",)))
    model = compiled(graph, weights)
    x = prep.apply(raw[None]).requires_grad_(True)
    logits = model(x)
    predicted = int(logits[0].argmax())
    (grad,) = torch.autograd.grad(logits[0, predicted], x)
    expected = grad[0].abs().amax(dim=0).numpy()
    assert got.saliency.class_index == predicted
    assert np.allclose(got.saliency.gradient, expected / expected.max(), atol=1e-5)
    assert got.saliency.cam_layer == info.default_cam == ("conv2",)
    w = model.get_submodule("conv2").weight.detach().numpy()
    assert (got.filters.low, got.filters.high) == pytest.approx((w.min(), w.max()))
    assert np.abs(got.filters.pixels.astype(int) - as_bytes(w, w.min(), w.max())).max() <= 1


def test_a_chosen_class_and_layer_are_explained(digits, digits_probe):
    _, _, _, probe, info = digits_probe
    got = answer(probe, info, Request(probe=1, raw=digits.train.x[0], saliency=(4, ("conv1",))))
    assert got.saliency.class_index == 4 and got.saliency.cam_layer == ("conv1",)


def test_untrained_weights_prepare_samples_as_a_run_would(digits):
    graph = example("digits_cnn")
    probe, info = load_probe(Source(graph, None, "untrained", digits), 1)
    expected = fit_preprocessing(digits, digits.train.x, (1, 8, 8), normalize=True)
    assert probe.preprocessing == expected
    assert info.style is not None and info.style_note == ""


def test_without_data_drawings_follow_mnists_manner_and_say_so():
    graph = example("lenet5")
    _, info = load_probe(Source(graph, None, "untrained", None), 1)
    assert info.style.box == pytest.approx(0.7) and "MNIST" in info.style_note


def test_only_the_newest_waiting_request_is_answered(qtbot, digits, digits_probe):
    _, _, _, probe, info = digits_probe
    worker = InsideWorker()
    worker._probe, worker._info = probe, info  # as a load leaves them
    got = []
    worker.answered.connect(got.append)
    requests = [Request(probe=1, raw=digits.train.x[i]) for i in range(3)]
    assert worker.offer(requests[0])  # nothing waited: the worker must be woken
    assert not worker.offer(requests[1])  # replaced: no second wake
    assert not worker.offer(requests[2])
    worker.take()
    worker.take()  # the second wake finds nothing waiting
    assert [a.request for a in got] == [requests[2]]
    assert np.array_equal(got[0].look.raw, digits.train.x[2])


def test_requests_for_another_network_are_dropped(qtbot, digits, digits_probe):
    _, _, _, probe, info = digits_probe
    worker = InsideWorker()
    worker._probe, worker._info = probe, info
    got = []
    worker.answered.connect(got.append)
    worker.offer(Request(probe=info.serial + 1, raw=digits.train.x[0]))
    worker.take()
    assert got == []


def test_the_session_answers_the_last_of_many_and_its_thread_ends(qtbot, digits, tmp_path):
    session = InsideSession()
    try:
        session.load(Source(example("digits_cnn"), None, "untrained", digits))
        assert wait_for(lambda: session.info is not None)
        got = []
        session.answered.connect(got.append)
        requests = [Request(probe=session.serial, raw=digits.train.x[i]) for i in range(40)]
        for request in requests:
            session.ask(request)
        assert wait_for(lambda: bool(got) and got[-1].request is requests[-1])
        assert len(got) < len(requests)  # the ones overtaken while it worked were dropped
        order = [requests.index(a.request) for a in got]
        assert order == sorted(order)
    finally:
        assert session.shutdown()
    assert session._thread.isFinished()


def test_a_graph_that_cannot_be_compiled_is_said_so(qtbot):
    session = InsideSession()
    failed = []
    session.load_failed.connect(failed.append)
    graph = example("digits_cnn")
    graph["nodes"][1]["params"]["kernel_size"] = 30  # larger than the 8x8 input
    try:
        session.load(Source(graph, None, "untrained"))
        assert wait_for(lambda: bool(failed))
    finally:
        session.shutdown()
    assert failed[0].startswith("Look Inside cannot look into these weights")
    assert session.info is None
