"""Fine-tuning options (frozen, learning-rate multiplier): the file, the command, the rules."""

from __future__ import annotations

import copy
import json

import pytest

from dlbuilder.core.changes import ChangeRecorder
from dlbuilder.core.commands import History, RemoveNode, RenameNode
from dlbuilder.core.fileformat import (
    GraphFileError,
    dumps_graph,
    graph_from_dict,
    graph_to_dict,
    loads_graph,
)
from dlbuilder.core.flatten import ungroup
from dlbuilder.core.fragment import copy_fragment, paste_commands
from dlbuilder.core.graph import GraphError, TrainChanged
from dlbuilder.core.grouping import group_nodes
from dlbuilder.core.tuning import (
    SetTrain,
    TrainOptions,
    Tuning,
    options_at,
    set_train,
    upstream_with_weights,
)
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import example_names, find_graph_file
from tests.helpers import chain, engine_for, example_graph


def _resnet_cifar() -> dict:
    return graph_to_dict(example_graph("resnet_cifar"))


def test_options_round_trip_at_the_top_and_inside_blocks() -> None:
    data = _resnet_cifar()
    data["nodes"][1]["train"] = {"frozen": True}
    data["nodes"][5]["train"] = {"frozen": True, "lr_scale": 0.5}  # block2, an instance
    data["blocks"][0]["nodes"][1]["train"] = {"lr_scale": 0.1}  # BasicBlock's conv1
    graph = graph_from_dict(copy.deepcopy(data), REGISTRY)
    assert graph.train("stem_conv") == {"frozen": True}
    assert graph.train("block2") == {"frozen": True, "lr_scale": 0.5}
    assert graph.block("BasicBlock").graph.train("conv1") == {"lr_scale": 0.1}
    assert graph.train("fc") == {}
    assert graph_to_dict(graph) == data
    text = dumps_graph(graph)
    assert '"train": {"frozen": true}' in text
    assert dumps_graph(loads_graph(text, REGISTRY)) == text


@pytest.mark.parametrize("name", example_names())
def test_files_without_options_save_exactly_as_before(name: str) -> None:
    text = find_graph_file(name).read_text(encoding="utf-8")
    graph = loads_graph(text, REGISTRY)
    assert "train" not in dumps_graph(graph).replace('"training"', "")
    assert graph_to_dict(graph) == graph_to_dict(loads_graph(dumps_graph(graph), REGISTRY))


def test_usual_values_are_not_written() -> None:
    data = _resnet_cifar()
    data["nodes"][1]["train"] = {"frozen": False, "lr_scale": 1}
    graph = graph_from_dict(data, REGISTRY)
    assert graph.train("stem_conv") == {}
    assert "train" not in graph_to_dict(graph)["nodes"][1]


def test_bad_options_are_refused_with_their_place() -> None:
    data = _resnet_cifar()
    data["nodes"][1]["train"] = {"frozen": "yes", "lr_scale": -1, "momentum": 0.5}
    data["nodes"][9]["train"] = [True]
    data["blocks"][0]["nodes"][1]["train"] = {"lr_scale": True}
    with pytest.raises(GraphFileError) as caught:
        graph_from_dict(data, REGISTRY)
    texts = [str(p) for p in caught.value.problems]
    assert texts[:5] == [
        "blocks[0] (BasicBlock).nodes[1] (id 'conv1').train: lr_scale must be a number, "
        "got True",
        "nodes[1] (id 'stem_conv').train: unknown key 'momentum' (known: frozen, lr_scale)",
        "nodes[1] (id 'stem_conv').train: frozen must be true or false, got 'yes'",
        "nodes[1] (id 'stem_conv').train: lr_scale must be a number above 0, got -1 (to stop "
        "a layer learning, freeze it)",
        "nodes[9] (id 'fc').train: must be an object like {\"frozen\": true, \"lr_scale\": "
        "0.1}, got [True]",
    ]


def test_infinite_multiplier_is_refused() -> None:
    data = _resnet_cifar()
    data["nodes"][1]["train"] = {"lr_scale": 0}
    with pytest.raises(GraphFileError, match="above 0, got 0"):
        graph_from_dict(data, REGISTRY)


def test_the_command_is_one_undo_step_and_says_what_it_did() -> None:
    graph = chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("ReLU", {}),
                  ("Flatten", {}), ("Linear", {"out_features": 10}))
    events: list = []
    graph.subscribe(events.append)
    history = History(graph)
    command = set_train(["n1", "n4"], {"frozen": True})
    assert command.text == "Freeze 2 nodes"
    history.push(command)
    assert graph.train("n1") == graph.train("n4") == {"frozen": True}
    assert [e for e in events if isinstance(e, TrainChanged)] == [TrainChanged("n1"),
                                                                   TrainChanged("n4")]
    history.push(SetTrain("n4", {"lr_scale": 0.1}))
    assert graph.train("n4") == {"frozen": True, "lr_scale": 0.1}
    history.push(SetTrain("n4", {"frozen": None}))
    assert graph.train("n4") == {"lr_scale": 0.1}
    assert history.undo() and graph.train("n4") == {"frozen": True, "lr_scale": 0.1}
    assert history.undo() and graph.train("n4") == {"frozen": True}
    assert history.undo() and graph.train("n1") == graph.train("n4") == {}
    assert history.redo() and graph.train("n1") == {"frozen": True}


def test_the_command_refuses_bad_values() -> None:
    graph = chain(("Linear", {"out_features": 10}), shape=[4])
    with pytest.raises(GraphError, match="n1: lr_scale must be a number above 0"):
        SetTrain("n1", {"lr_scale": -2}).apply(graph)
    assert graph.train("n1") == {}


def test_the_change_record_names_the_nodes_whose_options_changed() -> None:
    graph = chain(("Linear", {"out_features": 10}), shape=[4])
    recorder = ChangeRecorder(graph)
    graph.subscribe(recorder.record)
    SetTrain("n1", {"frozen": True}).apply(graph)
    change = recorder.take(())
    assert change.tuned == {"n1"} and not change.params_changed and not change.inferred


def test_delete_rename_copy_and_paste_keep_the_options() -> None:
    graph = chain(("Linear", {"out_features": 10}), ("ReLU", {}), shape=[4])
    SetTrain("n1", {"frozen": True, "lr_scale": 2}).apply(graph)
    remove = RemoveNode("n1")
    remove.apply(graph)
    remove.revert(graph)
    assert graph.train("n1") == {"frozen": True, "lr_scale": 2}
    RenameNode("n1", "fc").apply(graph)
    assert graph.train("fc") == {"frozen": True, "lr_scale": 2}
    fragment = json.loads(json.dumps(copy_fragment(graph, ["fc"])))
    macro, (new,) = paste_commands(graph, fragment, (40, 40))
    macro.apply(graph)
    assert graph.train(new) == {"frozen": True, "lr_scale": 2}


def test_options_along_a_path_combine_instance_and_layer() -> None:
    graph = example_graph("resnet_cifar")
    SetTrain("block2", {"frozen": True, "lr_scale": 0.5}).apply(graph)
    SetTrain("block3", {"lr_scale": 0.5}).apply(graph)
    inner = graph.block("BasicBlockDown").graph
    SetTrain("conv1", {"lr_scale": 0.2}).apply(inner)
    tuning = Tuning.of(graph)
    for path, expected in [
        (("fc",), TrainOptions()),
        (("block2", 0, "conv1"), TrainOptions(True, 0.1)),
        (("block2", 0, "downsample", 0, "0"), TrainOptions(True, 0.5)),
        (("block3", 0, "conv1"), TrainOptions(False, 0.1)),
        (("block3", 0, "conv2"), TrainOptions(False, 0.5)),
    ]:
        assert options_at(graph, path) == expected
        assert tuning.at(path) == pytest.approx(expected)
    assert not tuning.usual and Tuning.of(example_graph("resnet_cifar")).usual


def test_grouping_and_ungrouping_keep_the_options() -> None:
    graph = chain(("Linear", {"out_features": 8}), ("ReLU", {}), ("Linear", {"out_features": 2}),
                  shape=[4])
    SetTrain("n1", {"lr_scale": 0.5}).apply(graph)
    grouping = group_nodes(graph, ["n1", "n2"], "Head")
    grouping.apply(graph)
    (instance,) = [n for n in graph.nodes() if graph.type_of(n) == "Block"]
    assert graph.block("Head").graph.train("n1") == {"lr_scale": 0.5}
    SetTrain(instance, {"frozen": True, "lr_scale": 0.5}).apply(graph)
    ungroup(graph, instance).apply(graph)
    assert graph.train("n1") == {"frozen": True, "lr_scale": 0.25}
    assert graph.train("n2") == {"frozen": True, "lr_scale": 0.5}


def test_freeze_before_finds_the_upstream_layers_with_weights() -> None:
    graph = example_graph("resnet_cifar")
    engine = engine_for(graph)
    before = upstream_with_weights(graph, "fc", lambda n: engine.info(n).params > 0)
    assert before == ["stem_conv", "stem_bn", "block1", "block2", "block3"]


def test_the_summary_counts_what_is_frozen() -> None:
    """`dlbuilder summary` and its --json say how many parameters train (the review found
    "all trainable" beside a graph whose body was frozen)."""
    from dlbuilder.core.summary import format_summary, summary_dict

    graph = example_graph("lenet5")
    first = graph.nodes()[1]
    engine = engine_for(graph)
    assert summary_dict(engine)["frozen_params"] == 0
    assert "(all trainable)" in format_summary(engine)
    set_train([first], {"frozen": True}).apply(graph)
    engine = engine_for(graph)
    frozen = engine.info(first).params
    data = summary_dict(engine)
    assert data["frozen_params"] == frozen > 0
    assert (f"Total params: {data['total_params']:,} ({data['total_params'] - frozen:,} "
            f"trainable, {frozen:,} frozen)") in format_summary(engine)
