"""ONNX import of graphs built by hand with onnx.helper: fast, no exporter involved."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlbuilder.backend.compiler import compile_graph
from dlbuilder.backend.importing.onnx_fold import BATCH, fold
from dlbuilder.backend.importing.onnx_import import import_onnx
from dlbuilder.backend.importing.report import ImportFailed, ImportRefused

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RNG = np.random.default_rng(0)


def _tensor(name: str, *shape: int, low: float = -1.0) -> TensorProto:
    return numpy_helper.from_array(RNG.uniform(low, 1.0, shape).astype(np.float32), name)


def _ints(name: str, values: list[int]) -> TensorProto:
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def _save(tmp_path, nodes, inits, shape=("N", 2, 8, 8), out_shape=None, name="m.onnx"):
    graph = helper.make_graph(
        nodes, "hand", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / name
    onnx.save(model, str(path))
    return path, {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in inits}


def _run(imported, x):
    model = compile_graph(imported.graph)
    model.load_state_dict(imported.state)
    model.eval()
    with torch.no_grad():
        return model(x)


def _types(graph):
    return [graph.type_of(n) for n in graph.nodes()]


def test_a_small_cnn_maps_layer_by_layer_with_its_weights(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv_a", pads=[0, 0, 1, 1],
                         kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c", "g", "beta", "mu", "var"], ["bn"],
                         name="bn", epsilon=1e-3, momentum=0.8),
        helper.make_node("Sigmoid", ["bn"], ["s"], name="sig"),
        helper.make_node("Mul", ["bn", "s"], ["act"], name="mul"),
        helper.make_node("MaxPool", ["act"], ["p"], name="pool", kernel_shape=[2, 2],
                         strides=[2, 2], ceil_mode=1),
        helper.make_node("Shape", ["p"], ["shp"]),
        helper.make_node("Gather", ["shp", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["p", "target"], ["flat"], name="view"),
        helper.make_node("MatMul", ["flat", "wt"], ["mm"], name="fc"),
        helper.make_node("Add", ["mm", "fb"], ["fc_out"], name="fc_bias"),
        helper.make_node("Softmax", ["fc_out"], ["y"], name="probs", axis=1),
    ]
    inits = [_tensor("w", 4, 2, 3, 3), _tensor("b", 4), _tensor("g", 4, low=0.5),
             _tensor("beta", 4), _tensor("mu", 4), _tensor("var", 4, low=0.5),
             numpy_helper.from_array(np.array(0, np.int64), "zero"),
             _ints("axes", [0]), _ints("minus1", [-1]),
             _tensor("wt", 4 * 4 * 4, 5), _tensor("fb", 5)]
    path, w = _save(tmp_path, nodes, inits)
    imported = import_onnx(path, input_shape=(2, 8, 8))
    graph = imported.graph
    assert _types(graph) == ["Input", "ZeroPad2d", "Conv2d", "BatchNorm2d", "SiLU",
                             "MaxPool2d", "Flatten", "Linear", "Softmax", "Output"]
    assert graph.nodes()[1:3] == ["conv_a_zeropad2d", "conv_a"]
    assert graph.params("conv_a_zeropad2d") == {"padding": [0, 1, 0, 1]}
    assert graph.params("bn") == {"eps": 0.001, "momentum": 0.2}
    assert graph.params("pool")["ceil_mode"] is True
    assert graph.params("fc") == {"out_features": 5}
    assert all("x" in graph.ui(n) for n in graph.nodes())

    x = torch.randn(3, 2, 8, 8)
    c = F.conv2d(F.pad(x, (0, 1, 0, 1)), w["w"], w["b"])
    c = F.batch_norm(c, w["mu"], w["var"], w["g"], w["beta"], eps=1e-3)
    p = F.max_pool2d(c * torch.sigmoid(c), 2, ceil_mode=True)
    expected = torch.softmax(p.flatten(1) @ w["wt"] + w["fb"], dim=1)
    torch.testing.assert_close(_run(imported, x), expected, atol=1e-5, rtol=1e-5)


def test_gemm_with_transposes_and_scales_and_the_activations(tmp_path):
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "w", "b"], ["g"], name="fc1", alpha=0.5, beta=2.0),
        helper.make_node("LeakyRelu", ["g"], ["l"], alpha=0.2),
        helper.make_node("Clip", ["l", "lo", "hi"], ["r6"]),
        helper.make_node("HardSigmoid", ["r6"], ["hs"], alpha=1 / 6, beta=0.5),
        helper.make_node("Dropout", ["hs"], ["y"], name="drop"),
    ]
    inits = [_tensor("w", 2 * 3 * 3, 6), _tensor("b", 6),
             numpy_helper.from_array(np.array(0, np.float32), "lo"),
             numpy_helper.from_array(np.array(6, np.float32), "hi")]
    path, w = _save(tmp_path, nodes, inits, shape=(1, 2, 3, 3))
    imported = import_onnx(path)
    assert _types(imported.graph) == ["Input", "Flatten", "Linear", "LeakyReLU", "ReLU6",
                                      "Hardsigmoid", "Dropout", "Output"]
    assert imported.graph.params("input") == {"shape": [2, 3, 3]}
    assert imported.graph.params("leakyrelu") == {"negative_slope": 0.2}
    x = torch.randn(4, 2, 3, 3)
    g = 0.5 * (x.flatten(1) @ w["w"]) + 2.0 * w["b"]
    expected = F.hardsigmoid(F.relu6(F.leaky_relu(g, 0.2)))
    torch.testing.assert_close(_run(imported, x), expected, atol=1e-5, rtol=1e-5)


def test_split_into_equal_parts_is_a_chunk_and_concat_joins(tmp_path):
    nodes = [
        helper.make_node("Split", ["x", "sizes"], ["a", "b"], axis=1),
        helper.make_node("Relu", ["a"], ["ra"]),
        helper.make_node("Concat", ["b", "ra"], ["cat"], axis=1),
        helper.make_node("GlobalAveragePool", ["cat"], ["gap"]),
        helper.make_node("Squeeze", ["gap", "sq"], ["y"]),
    ]
    path, _ = _save(tmp_path, nodes, [_ints("sizes", [2, 2]), _ints("sq", [2, 3])],
                    shape=("N", 4, 5, 5))
    imported = import_onnx(path)
    graph = imported.graph
    assert _types(graph) == ["Input", "Chunk", "ReLU", "Concat", "AdaptiveAvgPool2d",
                             "Flatten", "Output"]
    assert graph.input_sources("concat") == [("chunk", 1), ("relu", 0)]
    x = torch.randn(2, 4, 5, 5)
    a, b = x.chunk(2, dim=1)
    expected = torch.cat([b, a.relu()], 1).mean((2, 3))
    torch.testing.assert_close(_run(imported, x), expected)


def test_what_cannot_map_is_refused_in_one_report(tmp_path):
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="ok"),
        helper.make_node("Add", ["r", "bias"], ["a"], name="shift"),
        helper.make_node("Erf", ["a"], ["e"], name="mystery"),
        helper.make_node("Conv", ["e", "w"], ["c"], name="lopsided", kernel_shape=[3, 3],
                         pads=[1, 1, 0, 0], strides=[1, 1]),
        helper.make_node("AveragePool", ["c"], ["y"], name="pool", kernel_shape=[2, 2],
                         pads=[0, 0, 1, 1]),
    ]
    path, _ = _save(tmp_path, nodes, [_tensor("bias", 1, 2, 8, 8), _tensor("w", 2, 2, 3, 3)])
    with pytest.raises(ImportRefused) as caught:
        import_onnx(path, input_shape=(2, 8, 8))
    report = caught.value.report()
    assert [p.place for p in caught.value.problems] == ["shift", "mystery", "pool"]
    assert "shift: ONNX Add: it adds a constant tensor ('bias')" in report
    assert "mystery: ONNX Erf: no layer type does this" in report
    assert "pool: ONNX AveragePool: uneven padding" in report
    assert report.startswith(f"{path} cannot be imported: 3 places")


def test_a_shape_our_layers_reject_is_refused_with_the_onnx_node(tmp_path):
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["g"]),
             helper.make_node("Add", ["x", "g"], ["y"], name="broadcast_add")]
    path, _ = _save(tmp_path, nodes, [])
    with pytest.raises(ImportRefused) as caught:
        import_onnx(path, input_shape=(2, 8, 8))
    (problem,) = caught.value.problems
    assert (problem.place, problem.operation) == ("broadcast_add", "ONNX Add")
    assert "Add needs inputs of equal shape" in problem.reason


def test_the_input_shape_comes_from_the_file_or_the_caller(tmp_path):
    path, _ = _save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], [],
                    shape=("N", 2, "H", "W"))
    with pytest.raises(ImportFailed, match="give one sample's input shape"):
        import_onnx(path)
    assert import_onnx(path, [2, 4, 4]).graph.params("input") == {"shape": [2, 4, 4]}
    fixed, _ = _save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], [],
                     shape=(1, 3, 6, 6), name="fixed.onnx")
    with pytest.raises(ImportFailed, match="does not fit the model's input 'x', which is 3x6x6"):
        import_onnx(fixed, (3, 5, 5))


def test_a_missing_or_broken_file_fails_with_a_message(tmp_path):
    with pytest.raises(ImportFailed, match="no such file"):
        import_onnx(tmp_path / "absent.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not protobuf \xff\xff")
    with pytest.raises(ImportFailed, match="is not a readable ONNX model"):
        import_onnx(broken)


def _shape_part(shape: str, index: str, out: str) -> list:
    """Gather one dimension of a Shape as a 1-D tensor, as TorchScript's size(i) does."""
    return [helper.make_node("Gather", [shape, index], [out], axis=0)]


def test_torchscript_channel_shuffle_and_chunk_become_layers(tmp_path):
    """ShuffleNet as the TorchScript exporter writes it with a dynamic batch: the shuffle's
    target (batch, 2, C // 2, H, W) computed by Shape, Div and Cast; x.chunk(2, dim=1) as two
    Slices whose bounds are (C + 1) // 2 * 1 and * 2."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        *_shape_part("s", "i0", "n"), *_shape_part("s", "i1", "c"),
        *_shape_part("s", "i2", "h"), *_shape_part("s", "i3", "w"),
        helper.make_node("Div", ["c", "two"], ["half"]),
        helper.make_node("Cast", ["half"], ["half_int"], to=TensorProto.INT64),
        helper.make_node("Concat", ["n", "two", "half_int", "h", "w"], ["grouped"], axis=0),
        helper.make_node("Reshape", ["x", "grouped"], ["v"], name="/unit/Reshape"),
        helper.make_node("Transpose", ["v"], ["t"], perm=[0, 2, 1, 3, 4]),
        helper.make_node("Mul", ["n", "one"], ["same_n"]),  # the batch * 1 is the batch
        helper.make_node("Concat", ["same_n", "c", "h", "w"], ["back"], axis=0),
        helper.make_node("Reshape", ["t", "back"], ["shuffled"], name="/unit/Reshape_1"),
        helper.make_node("Shape", ["shuffled"], ["s2"]),
        *_shape_part("s2", "i1", "c2"),
        helper.make_node("Add", ["c2", "one"], ["c3"]),
        helper.make_node("Div", ["c3", "two"], ["piece"]),
        helper.make_node("Mul", ["piece", "one"], ["end0"]),
        helper.make_node("Mul", ["piece", "two"], ["end1"]),
        helper.make_node("Slice", ["shuffled", "zero1", "end0", "i1"], ["a"], name="/unit/Slice"),
        helper.make_node("Slice", ["shuffled", "end0", "end1", "i1"], ["b"]),
        helper.make_node("Relu", ["b"], ["rb"]),
        helper.make_node("Concat", ["a", "rb"], ["y"], axis=1),
    ]
    inits = [_ints(f"i{k}", [k]) for k in range(4)] + [
        _ints("two", [2]), _ints("one", [1]), _ints("zero1", [0])]
    path, _ = _save(tmp_path, nodes, inits, shape=("N", 6, 3, 3))
    imported = import_onnx(path)
    graph = imported.graph
    assert _types(graph) == ["Input", "ChannelShuffle", "Chunk", "ReLU", "Concat", "Output"]
    assert graph.params("unit_channelshuffle") == {"groups": 2}
    assert graph.params("unit_chunk") == {}  # 2 pieces along the channels: the defaults
    assert graph.input_sources("concat") == [("unit_chunk", 0), ("relu", 0)]
    x = torch.randn(2, 6, 3, 3)
    a, b = F.channel_shuffle(x, 2).chunk(2, dim=1)
    torch.testing.assert_close(_run(imported, x), torch.cat([a, b.relu()], 1))


def test_a_slice_or_reshape_that_is_no_layer_is_refused(tmp_path):
    nodes = [
        helper.make_node("Slice", ["x", "zero1", "one", "one"], ["first"], name="first"),
        helper.make_node("Reshape", ["x", "grouped"], ["v"], name="split_rows"),
        helper.make_node("Transpose", ["v"], ["t"], perm=[0, 2, 1, 3, 4]),
        helper.make_node("Reshape", ["t", "back"], ["r"], name="join_rows"),
        helper.make_node("Add", ["first", "r"], ["y"]),
    ]
    inits = [_ints("zero1", [0]), _ints("one", [1]), _ints("grouped", [-1, 2, 2, 8, 1]),
             _ints("back", [-1, 2, 8, 2])]
    path, _ = _save(tmp_path, nodes, inits, shape=("N", 2, 8, 2))
    with pytest.raises(ImportRefused) as caught:
        import_onnx(path)
    reasons = {p.place: p.reason for p in caught.value.problems}
    assert set(reasons) == {"first", "split_rows"}
    assert "it takes 0..1 of the 2 along dimension 1" in reasons["first"]
    assert "only a channel shuffle" in reasons["split_rows"]


def test_shape_arithmetic_folds_and_keeps_the_batch_only_where_it_stays():
    shape = np.array([BATCH, 116, 8, 8], dtype=object)
    channels = fold("Gather", {"axis": 0}, [shape, np.array(1)])
    assert fold("Div", {}, [channels, np.array(2)]) == 58
    assert list(fold("Div", {}, [np.array([-7, 7]), np.array(2)])) == [-3, 3]  # truncates
    assert fold("Div", {}, [np.array(-7.0), np.array(2.0)]) == -3.5
    assert list(fold("Floor", {}, [shape])) == list(shape)
    batch = fold("Gather", {"axis": 0}, [shape, np.array(0)])
    assert fold("Mul", {}, [np.array(1), batch]).item() is BATCH
    assert fold("Div", {}, [batch, np.array(1)]).item() is BATCH
    assert fold("Mul", {}, [batch, np.array(2)]) is None  # another batch size: not folded
    assert fold("Sub", {}, [np.array(0), batch]) is None
