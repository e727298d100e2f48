"""The probe's numbers against torch computed here, independently: forward hooks on the
compiled module for every layer, the inline operations' torch functions, softmax, autograd for
input gradients, and a Grad-CAM written out by hand on LeNet-5."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from block_graphs import resnet18_blocks
from helpers import example_graph

from dlbuilder.backend.compiler import CompiledBlock, CompiledModel
from dlbuilder.backend.inside.probe import Probe, ProbeError
from dlbuilder.backend.module_names import module_names
from dlbuilder.backend.preprocessing import Preprocessing, save_preprocessing
from dlbuilder.backend.weights import WeightsError, save_weights
from dlbuilder.core.graph import Graph

EXAMPLES = ["digits_cnn", "lenet5", "resnet_cifar", "conv_autoencoder", "mlp_mnist"]


def resnet18_small() -> dict:
    """ResNet-18 from blocks (layer1 repeated, Stages with a repeated block inside) on 32x32,
    8 channels wide: its structure at a fraction of the cost."""
    data = resnet18_blocks()
    for node in data["nodes"]:
        params = node.get("params", {})
        if node["id"] == "input":
            params["shape"] = [3, 32, 32]
        for key in ("out_channels", "channels"):
            if key in params:
                params[key] = 8
    return data


def sample(probe: Probe, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(probe.preprocessing.sample_shape).astype(np.float32)


def seeded(graph, seed: int = 0, **kwargs) -> Probe:
    torch.manual_seed(seed)
    return Probe(graph, **kwargs)


def hooked_outputs(model: CompiledModel, x: torch.Tensor) -> dict[tuple, np.ndarray]:
    """Every module's output by node path, read with forward hooks written here."""
    found: dict[tuple, np.ndarray] = {}
    handles = []
    for path, name in module_names(model.plan).items():
        def hook(module, inputs, output, path=path):
            found[path] = output.detach()[0].numpy().copy()
        handles.append(model.get_submodule(name).register_forward_hook(hook))
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return found


def as_looked(path: tuple, paths: set[tuple]) -> tuple:
    """A run's path of an instance that runs once is kept under the instance's own path."""
    if isinstance(path[-1], int) and path[:-1] + (1,) not in paths:
        return path[:-1]
    return path


@pytest.mark.parametrize("name", EXAMPLES + ["resnet18_small"])
def test_outputs_equal_forward_hooks_on_every_module(name):
    graph = resnet18_small() if name == "resnet18_small" else example_graph(name)
    probe = seeded(graph)
    raw = sample(probe)
    look = probe.look(raw)
    x = probe.preprocessing.apply(raw[None])
    hooked = hooked_outputs(probe.model, x)
    assert hooked
    for path, expected in hooked.items():
        got = look.outputs[as_looked(path, set(hooked))]
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6, err_msg=str(path))
    np.testing.assert_array_equal(look.input, x[0].numpy())
    with torch.no_grad():
        final = probe.model(x)[0].numpy()
    np.testing.assert_allclose(look.outputs[look.result], final, rtol=1e-6, atol=1e-6)


def test_repeated_instances_keep_each_run_and_the_whole():
    probe = seeded(resnet18_small())
    look = probe.look(sample(probe))
    runs = [look.outputs[("layer1", i)] for i in (0, 1)]
    assert not np.array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(look.outputs[("layer1",)], runs[1])
    # a Stage's second block (repeated once, inside a sequential class) under its own path
    assert ("layer2", 0, "1", 0, "conv1") in look.outputs
    np.testing.assert_array_equal(look.outputs[("layer2",)], look.outputs[("layer2", 0, "1")])
    # forward order: every node inside layer1 before layer1 itself, layer1 before layer2
    order = list(look.outputs)
    assert order.index(("layer1", 1, "out_relu")) < order.index(("layer1",)) \
        < order.index(("layer2", 0, "0", 0, "conv1"))


def test_inline_operations_equal_their_torch_computation():
    probe = seeded(example_graph("resnet_cifar"))
    out = probe.look(sample(probe)).outputs
    t = {path: torch.from_numpy(value) for path, value in out.items()}
    expected_add1 = t[("block1", 0, "bn2")] + t[("stem_relu",)]
    np.testing.assert_allclose(out[("block1", 0, "add")], expected_add1.numpy(), atol=1e-6)
    expected_add2 = t[("block2", 0, "bn2")] + t[("block2", 0, "downsample")]
    np.testing.assert_allclose(out[("block2", 0, "add")], expected_add2.numpy(), atol=1e-6)
    np.testing.assert_array_equal(out[("flatten",)],
                                  torch.flatten(t[("gap",)][None], 1)[0].numpy())


def split_graph() -> Graph:
    """Two convolutions joined (Concat), split again (Chunk, two ports) and summed (Add), the
    second half through a ReLU."""
    graph = Graph("split")
    for node, type_name, params in (
            ("in", "Input", {"shape": [3, 6, 6]}),
            ("a", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
            ("b", "Conv2d", {"out_channels": 4, "kernel_size": 1}),
            ("cat", "Concat", {}), ("halves", "Chunk", {"chunks": 2}), ("r", "ReLU", {}),
            ("sum", "Add", {}),
            ("flat", "Flatten", {}), ("fc", "Linear", {"out_features": 3}),
            ("out", "Output", {})):
        graph.add_node(node, type_name, params)
    for src, dst in (("in", "a"), ("in", "b"), ("a", "cat"), ("b", "cat"), ("cat", "halves"),
                     ("sum", "flat"), ("flat", "fc"), ("fc", "out")):
        graph.add_edge(src, dst)
    graph.add_edge("halves", "sum", from_port=0)
    graph.add_edge("halves", "r", from_port=1)
    graph.add_edge("r", "sum")
    return graph


def test_concat_and_chunk_ports():
    probe = seeded(split_graph())
    look = probe.look(sample(probe))
    out = look.outputs
    joined = torch.cat([torch.from_numpy(out[("a",)])[None], torch.from_numpy(out[("b",)])[None]],
                       dim=1)
    np.testing.assert_array_equal(out[("cat",)], joined[0].numpy())
    halves = torch.chunk(joined, 2, dim=1)
    assert len(look.ports[("halves",)]) == 2
    for got, expected in zip(look.ports[("halves",)], halves, strict=True):
        np.testing.assert_array_equal(got, expected[0].numpy())
    np.testing.assert_array_equal(out[("halves",)], look.ports[("halves",)][0])
    np.testing.assert_allclose(out[("sum",)], (halves[0] + halves[1].relu())[0].numpy(), atol=1e-6)


def test_nothing_stays_attached_after_looking():
    probe = seeded(example_graph("resnet_cifar"))
    probe.look(sample(probe))
    probe.saliency(sample(probe), 3)
    for module in probe.model.modules():
        assert not module._forward_hooks
    assert probe.model._program.tap is None
    blocks = [m for m in probe.model.modules() if isinstance(m, CompiledBlock)]
    assert blocks and all(block._program.tap is None for block in blocks)


@pytest.mark.parametrize("name", ["digits_cnn", "lenet5", "mlp_mnist"])
def test_probabilities_are_the_softmax_of_the_output(name):
    probe = seeded(example_graph(name))
    raw = sample(probe, seed=3)
    look = probe.look(raw)
    with torch.no_grad():
        scores = probe.model(probe.preprocessing.apply(raw[None]))
    expected = torch.softmax(scores, dim=1)[0].numpy()
    np.testing.assert_allclose(look.probabilities, expected, rtol=1e-6, atol=1e-7)
    best = int(np.argmax(expected))
    assert look.top(2)[0] == (look.classes[best], pytest.approx(float(expected[best])))
    assert [p for _, p in look.top(3)] == sorted(expected, reverse=True)[:3]


def test_an_autoencoder_has_a_reconstruction_and_no_probabilities():
    probe = seeded(example_graph("conv_autoencoder"))
    raw = sample(probe)
    look = probe.look(raw)
    assert look.probabilities is None and look.top() == []
    with torch.no_grad():
        out = probe.model(torch.from_numpy(raw)[None])[0, 0].numpy()
    np.testing.assert_array_equal(look.reconstruction, np.rint(np.clip(out, 0, 1) * 255))
    np.testing.assert_array_equal(look.picture, np.rint(raw[0] * 255))


@pytest.mark.parametrize("name", ["lenet5", "resnet_cifar", "mlp_mnist"])
def test_input_gradient_equals_autograd(name):
    probe = seeded(example_graph(name))
    raw = sample(probe, seed=1)
    x = probe.preprocessing.apply(raw[None]).requires_grad_(True)
    (grad,) = torch.autograd.grad(probe.model(x)[0, 4], x)
    expected = grad[0].abs().amax(dim=0)
    expected = (expected / expected.max()).numpy()
    got = probe.saliency(raw, 4).gradient
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def hand_grad_cam(model: CompiledModel, x: torch.Tensor, layer: torch.nn.Module, cls: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM as the paper writes it: the layer's activation A (a hook), the gradient of the
    class score w.r.t. A, weights = its spatial mean, ReLU(sum_k w_k A_k); and bilinear up."""
    kept = []
    handle = layer.register_forward_hook(lambda m, i, o: kept.append(o))
    score = model(x)[0, cls]
    handle.remove()
    (grad,) = torch.autograd.grad(score, kept[0])
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * kept[0]).sum(dim=1))[0].detach()
    up = torch.nn.functional.interpolate(cam[None, None], size=x.shape[2:], mode="bilinear",
                                         align_corners=False)[0, 0]
    return cam, up / up.max()


def test_grad_cam_equals_a_hand_written_one_on_lenet5():
    probe = seeded(example_graph("lenet5"), seed=2)
    raw = sample(probe, seed=2)
    x = probe.preprocessing.apply(raw[None])
    for node, cls in ((("c3",), 7), (("c1",), 2), (("s4",), 0)):
        cam, up = hand_grad_cam(probe.model, x, probe.model.get_submodule(node[0]), cls)
        got = probe.saliency(raw, cls, node)
        assert got.cam_layer == node and got.class_index == cls
        np.testing.assert_allclose(got.cam_raw, cam.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got.cam, up.numpy(), rtol=1e-5, atol=1e-6)
        assert got.cam.max() == pytest.approx(1.0)


def test_grad_cam_inside_a_block():
    probe = seeded(example_graph("resnet_cifar"))
    raw = sample(probe)
    x = probe.preprocessing.apply(raw[None])
    cam, _ = hand_grad_cam(probe.model, x, probe.model.get_submodule("block2.conv2"), 5)
    got = probe.saliency(raw, 5, ("block2", 0, "conv2"))
    np.testing.assert_allclose(got.cam_raw, cam.numpy(), rtol=1e-5, atol=1e-6)


def test_default_cam_layer_is_the_last_convolution_larger_than_1x1():
    assert seeded(example_graph("lenet5")).default_cam_layer() == ("c3",)
    assert seeded(example_graph("resnet_cifar")).default_cam_layer() == ("block3", 0, "conv2")
    assert seeded(example_graph("mlp_mnist")).default_cam_layer() is None
    assert seeded(example_graph("mlp_mnist")).saliency(np.zeros((1, 28, 28)), 0).cam is None


def test_filters_are_the_convolution_weights():
    probe = seeded(example_graph("lenet5"))
    filters = probe.filters(("c3",))
    weight = probe.model.get_submodule("c3").weight.detach().numpy()
    np.testing.assert_array_equal(filters.weights, weight)
    assert not filters.rgb
    assert (filters.low, filters.high) == (weight.min(), weight.max())
    stem = seeded(example_graph("resnet_cifar")).filters(("stem_conv",))
    assert stem.rgb and stem.weights.shape[1] == 3


def test_transposed_convolution_filters_are_output_channel_first():
    probe = seeded(example_graph("conv_autoencoder"))
    module = probe.model.get_submodule("dec1")
    weight = module.weight.detach()  # (in, out, kh, kw)
    filters = probe.filters(("dec1",))
    np.testing.assert_array_equal(filters.weights, weight.transpose(0, 1).numpy())
    assert filters.weights.shape[0] == module.out_channels


def test_filters_of_a_layer_that_is_not_a_convolution():
    probe = seeded(example_graph("lenet5"))
    with pytest.raises(ProbeError, match=r"f5 \(Linear\) is not a convolution.*c1, c3"):
        probe.filters(("f5",))


def test_bad_class_sample_and_layer_are_clear_value_errors():
    probe = seeded(example_graph("lenet5"))
    raw = sample(probe)
    with pytest.raises(ValueError, match="class 10 is out of range.*10 classes"):
        probe.saliency(raw, 10)
    with pytest.raises(ValueError, match=r"shape \[1, 28, 28\], got \[28, 27\]"):
        probe.look(np.zeros((28, 27)))
    with pytest.raises(ValueError, match="f5 is not one.*c1, tanh1"):
        probe.saliency(raw, 1, ("f5",))
    with pytest.raises(ValueError, match="saliency needs a classifier"):
        seeded(example_graph("conv_autoencoder")).saliency(np.zeros((1, 28, 28)), 0)


def test_weights_and_preprocessing_load_from_files(tmp_path):
    trained = seeded(example_graph("digits_cnn"), seed=5)
    path = tmp_path / "digits.pt"
    save_weights(trained.model, path)
    prep = Preprocessing(dataset="digits", sample_shape=(1, 8, 8), input_shape=(1, 8, 8),
                         classes=tuple("abcdefghij"), scale=16.0, mean=(0.3,), std=(0.4,))
    save_preprocessing(path, prep)
    probe = seeded(example_graph("digits_cnn"), seed=6, weights=path)
    assert probe.preprocessing == prep and probe.classes == tuple("abcdefghij")
    raw = np.arange(64, dtype=np.float32).reshape(1, 8, 8) % 17
    look = probe.look(raw)
    with torch.no_grad():
        expected = torch.softmax(trained.model(prep.apply(raw[None])), dim=1)[0].numpy()
    np.testing.assert_allclose(look.probabilities, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(look.picture, np.rint(np.clip(raw[0] / 16, 0, 1) * 255))
    given = Preprocessing("digits", (1, 8, 8), (1, 8, 8), tuple("0123456789"), 16.0)
    assert Probe(example_graph("digits_cnn"), path, given).preprocessing == given
    state = trained.model.state_dict()
    np.testing.assert_allclose(Probe(example_graph("digits_cnn"), state, prep).look(raw)
                               .probabilities, expected, rtol=1e-6, atol=1e-7)


def test_without_preprocessing_the_sample_is_the_input():
    probe = seeded(example_graph("digits_cnn"))
    raw = sample(probe)
    assert probe.classes == tuple(str(i) for i in range(10))
    np.testing.assert_array_equal(probe.look(raw).input, raw)


def test_weights_that_do_not_fit_name_keys_and_shapes(tmp_path):
    path = tmp_path / "lenet.pt"
    save_weights(seeded(example_graph("lenet5")).model, path)
    with pytest.raises(WeightsError, match="missing from lenet.pt.*conv1") as err:
        Probe(example_graph("digits_cnn"), path)
    assert isinstance(err.value, ValueError)
    state = seeded(example_graph("digits_cnn")).model.state_dict()
    state["fc2.weight"] = torch.zeros(3, 64)
    with pytest.raises(ValueError, match=r"fc2.weight is 3x64 in the weights but 10x64"):
        Probe(example_graph("digits_cnn"), state)


def test_paths_as_text_and_back():
    probe = seeded(resnet18_small())
    assert probe.text(("layer1", 1, "conv1")) == "layer1.1/conv1"
    assert probe.text(("layer2", 0, "0", 0, "downsample", 0, "0")) == "layer2/0/downsample/0"
    for text in ("layer1.1/conv1", "layer1/1/conv1"):
        assert probe.find(text) == ("layer1", 1, "conv1")
    assert probe.find("layer1/conv1") == ("layer1", 0, "conv1")  # solve's form: the first run
    assert probe.find("layer1") == ("layer1",)
    assert probe.find("fc") == ("fc",)
    with pytest.raises(ProbeError, match="no node 'layer9' in resnet18; the nodes are: input"):
        probe.find("layer9")
    assert probe.node_type(("layer1", 1, "conv1")) == "Conv2d"
    assert probe.node_type(("layer1",)) == "BasicBlock"
    assert probe.node_type(("fc",)) == "Linear"


def test_graph_as_file_data():
    from dlbuilder.core.fileformat import graph_to_dict

    probe = seeded(graph_to_dict(example_graph("lenet5")))
    assert probe.plan.name == "lenet5" and probe.look(sample(probe)).result == ("f7",)
