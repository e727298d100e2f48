"""Receptive fields in the core: known networks' numbers, each layer's map, merges, blocks
(an instance equals its flattened layers), incremental propagation, the summary's column and
the explanation with the user's numbers. (Against torch's gradients: tests/backend.)"""

from __future__ import annotations

import json

from helpers import chain

from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.flatten import flatten
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine, ShapesChanged
from dlbuilder.core.receptive import Receptive
from dlbuilder.core.receptive_text import describe, explain
from dlbuilder.core.summary import format_summary, summary_dict
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import examples_dir


def _engine(name: str) -> InferenceEngine:
    return InferenceEngine(load_graph(examples_dir() / f"{name}.json", REGISTRY), REGISTRY)


def _field(engine: InferenceEngine, node: str) -> Receptive:
    field = engine.info(node).receptive
    assert field is not None
    return field


def test_lenet5_and_resnet18_give_the_published_numbers() -> None:
    lenet = _engine("lenet5")
    assert [(_field(lenet, n).size, _field(lenet, n).jump) for n in ("c1", "s2", "c3", "s4")] \
        == [((5, 5), (1, 1)), ((6, 6), (2, 2)), ((14, 14), (2, 2)), ((16, 16), (4, 4))]
    assert _field(lenet, "c3").start == (4.5, 4.5)  # centre of output 0's 14 pixels: 0..13
    assert _field(lenet, "f5").whole
    resnet = _engine("resnet18")
    assert _field(resnet, "layer4").size == (435, 435)  # ResNet-18's well-known 435
    assert _field(resnet, "layer4").jump == (32, 32)
    assert _field(resnet, "avgpool").whole


def test_dilation_stride_padding_and_pooling() -> None:
    engine = InferenceEngine(chain(
        ("Conv2d", {"out_channels": 2, "kernel_size": 3, "dilation": 2, "padding": 2}),
        ("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        ("Conv2d", {"out_channels": 2, "kernel_size": [3, 1], "stride": 2}),
        shape=[1, 32, 32]), REGISTRY)
    assert _field(engine, "n1") == Receptive((5, 5), (1, 1), (0, 0))
    assert _field(engine, "n2") == Receptive((7, 7), (2, 2), (0, 0))
    assert _field(engine, "n3") == Receptive((11, 7), (4, 4), (2, 0))  # a 3x1 kernel
    assert _field(engine, "n3").region((0, 0)) == ((-3, 7), (-3, 3))
    assert _field(engine, "n3").region((0, 0), (32, 32)) == ((0, 7), (0, 3))


def test_vectors_have_none_and_dense_layers_see_everything() -> None:
    mlp = _engine("mlp_mnist")
    assert _field(mlp, "flatten").size == (1, 1)  # each value still sees its own pixel
    assert _field(mlp, "fc1").whole and describe(_field(mlp, "fc1")) == "whole input"
    vector = InferenceEngine(chain(("Linear", {"out_features": 3}), shape=[5]), REGISTRY)
    assert vector.info("n1").receptive is None and describe(None) == "-"


def test_merges_take_the_hull_and_concat_along_space_is_unknown() -> None:
    graph = Graph("merge")
    graph.add_node("in", "Input", {"shape": [2, 16, 16]})
    graph.add_node("a", "Conv2d", {"out_channels": 2, "kernel_size": 5, "padding": 2})
    graph.add_node("b", "Conv2d", {"out_channels": 2, "kernel_size": 1})
    graph.add_node("add", "Add", {})
    graph.add_node("cat", "Concat", {"dim": 3})
    for src, dst in (("in", "a"), ("in", "b"), ("a", "add"), ("b", "add"), ("a", "cat"),
                     ("b", "cat")):
        graph.add_edge(src, dst)
    engine = InferenceEngine(graph, REGISTRY)
    assert _field(engine, "add") == Receptive((5, 5), (1, 1), (0, 0))
    assert engine.info("cat").output_shape == (2, 16, 32) and engine.info("cat").receptive is None


def test_upsampling_and_transposed_convolutions() -> None:
    engine = InferenceEngine(chain(
        ("Upsample", {"scale_factor": 2}),
        ("Conv2d", {"out_channels": 1, "kernel_size": 3, "padding": 1}),
        ("Conv2d", {"out_channels": 1, "kernel_size": 2, "stride": 2}),
        ("ConvTranspose2d", {"out_channels": 1, "kernel_size": 3, "stride": 2, "padding": 1}),
        shape=[1, 8, 8]), REGISTRY)
    assert _field(engine, "n1").size == (1, 1) and _field(engine, "n1").jump == (0.5, 0.5)
    assert _field(engine, "n2").size == (2, 2) and _field(engine, "n2").exact
    assert _field(engine, "n3").jump == (1, 1)
    late = _field(engine, "n4")  # enlarging after a jump of 1: still exact
    assert late.exact and late.jump == (0.5, 0.5)


def test_a_block_instance_equals_its_flattened_layers() -> None:
    for name in ("resnet_cifar", "mobilenet_v2", "resnet18"):
        blocks = _engine(name)
        flat = InferenceEngine(flatten(blocks.graph, REGISTRY), REGISTRY)
        shared = [n for n in blocks.graph.nodes() if n in flat.graph]
        assert len(shared) > 5
        for node in shared:
            assert blocks.info(node).receptive == flat.info(node).receptive, (name, node)


def test_summary_rows_inside_blocks_count_from_the_graph_input() -> None:
    engine = _engine("resnet_cifar")
    data = summary_dict(engine)
    block2 = next(n for n in data["nodes"] if n["id"] == "block2")
    assert block2["receptive"] == {"size": [13, 13], "jump": [2, 2], "start": [0, 0],
                                   "whole": False}
    conv1 = next(c for c in block2["children"] if c["id"] == "conv1")
    assert conv1["receptive"]["size"] == [9, 9]  # 7 at block2's input, + (3 - 1) * 1
    json.dumps(data)  # plain values only
    table = format_summary(engine)
    assert "Receptive field" in table and "13x13 (jump 2)" in table


def test_changing_only_the_receptive_field_reaches_every_node_after() -> None:
    graph = chain(("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
                  ("ReLU", {}), ("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
                  shape=[1, 16, 16])
    engine = InferenceEngine(graph, REGISTRY)
    seen: list[ShapesChanged] = []
    engine.subscribe(seen.append)
    graph.set_params("n1", {"out_channels": 4, "kernel_size": 5, "padding": 2})
    assert engine.info("n3").output_shape == (4, 16, 16)  # shapes unchanged...
    assert _field(engine, "n3").size == (7, 7)            # ...the field is not
    assert {"n1", "n2", "n3"} <= seen[-1].nodes
    assert seen[-1].fields_only == {"n2", "n3"}  # the edited layer changed more than that
    graph.set_params("n1", {"out_channels": 8, "kernel_size": 5, "padding": 2})
    assert "n3" not in seen[-1].fields_only  # its weights count changed
    fresh = InferenceEngine(graph, REGISTRY)
    assert [i.receptive for i in fresh.infos()] == [i.receptive for i in engine.infos()]


def test_explanation_shows_the_recursion_with_the_numbers() -> None:
    engine = _engine("lenet5")
    lines = explain(engine, "c3")
    assert "RF = RF1 + (F - 1)*J1: RF = 6 + (5 - 1)*2 = 14" in lines
    assert "J = J1*S: J = 2*1 = 2" in lines
    assert "start = start1 + ((F - 1)/2 - P)*J1: start = 0.5 + ((5 - 1)/2 - 0)*2 = 4.5" in lines
    assert explain(engine, "f5") == ["receptive field: every output value sees the whole input"]
    blocks = explain(_engine("resnet_cifar"), "block2")
    assert "at its input 7x7 (jump 1)" in blocks[0]
    assert any("RF = 7 + (7 - 1)*1 = 13" in line for line in blocks[1:]), blocks
