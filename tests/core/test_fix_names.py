"""The layers a one-click fix adds are named after what they serve (block1_add_proj), not
after their type (conv2d), and never take an id that is already there."""

from __future__ import annotations

from helpers import engine_for, example_graph, flat_resnet_cifar

from dlbuilder.core.commands import AddEdge, History, RemoveNode, SetParams
from dlbuilder.core.fixes import apply_fix, with_batchnorm


def fix_on(graph, node: str, code: str):
    engine = engine_for(graph)
    (diagnostic,) = [d for d in engine.diagnostics() if d.node == node and d.code == code]
    return diagnostic.fix


def strided_resnet():
    graph = flat_resnet_cifar()
    History(graph).push(SetParams("block1_conv1", {"stride": 2}))
    return graph


def added_by(graph, fix) -> list[str]:
    before = set(graph.nodes())
    apply_fix(graph, fix)
    return [n for n in graph.nodes() if n not in before]


def test_a_projection_is_named_after_the_merge_it_feeds() -> None:
    graph = strided_resnet()
    new = added_by(graph, fix_on(graph, "block1_add", "add_shape_mismatch"))
    assert new == ["block1_add_proj"]
    assert "block1_add_proj" in graph.inputs("block1_add")


def test_a_projection_with_batchnorm_names_the_norm_after_the_projection() -> None:
    graph = strided_resnet()
    fix = with_batchnorm(fix_on(graph, "block1_add", "add_shape_mismatch"))
    assert sorted(added_by(graph, fix)) == ["block1_add_proj", "block1_add_proj_bn"]
    assert graph.inputs("block1_add_proj_bn") == ["block1_add_proj"]
    assert "block1_add_proj_bn" in graph.inputs("block1_add")


def test_a_taken_name_gets_a_number_and_the_norm_follows_it() -> None:
    graph = strided_resnet()
    graph.add_node("block1_add_proj", "ReLU")
    fix = with_batchnorm(fix_on(graph, "block1_add", "add_shape_mismatch"))
    assert sorted(added_by(graph, fix)) == ["block1_add_proj_1", "block1_add_proj_1_bn"]


def test_insert_flatten_is_still_called_flatten() -> None:
    graph = example_graph("digits_cnn")
    history = History(graph)
    history.push(RemoveNode("flatten"))
    history.push(AddEdge("pool1", "fc1"))
    assert added_by(graph, fix_on(graph, "fc1", "wrong_rank")) == ["flatten"]
