"""The graph file (format version 1): round trips, every problem reported with its place, atomic
saves, and files that are read as data, never run."""

from __future__ import annotations

import builtins
import itertools
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from dlbuilder.core import fileformat
from dlbuilder.core.fileformat import (
    FORMAT,
    VERSION,
    GraphFileError,
    Problem,
    dumps_graph,
    graph_from_dict,
    graph_to_dict,
    load_graph,
    loads_graph,
    save_graph,
)
from dlbuilder.core.graph import Graph
from dlbuilder.layers import REGISTRY


def header(**extra: Any) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, **extra}


def sample_graph() -> Graph:
    """A residual block with ui, training, nested and tuple params, and reordered Add inputs."""
    graph = Graph("resblock", {"dataset": "mnist", "optimizer": "adam", "lr": 0.001,
                               "batch_size": 64})
    graph.add_node("in", "Input", {"shape": [1, 28, 28]}, {"x": 0, "y": 0})
    graph.add_node("c1", "Conv2d", {"out_channels": 6, "kernel_size": (3, 3), "padding": 1},
                   {"x": 120, "y": 40})
    graph.add_node("bn", "BatchNorm2d", {"eps": 1e-5, "affine": False})
    graph.add_node("act", "ReLU")
    graph.add_node("skip", "Conv2d", {"out_channels": 6, "kernel_size": 1})
    graph.add_node("add", "Add")
    graph.add_node("cat", "Concat", {"dim": 1})
    graph.add_node("flat", "Flatten")
    graph.add_node("fc", "Linear", {"out_features": 10, "bias": True})
    graph.add_node("out", "Output", {"loss": "CrossEntropyLoss", "target": "label"})
    for src, dst in (("in", "c1"), ("c1", "bn"), ("bn", "act"), ("in", "skip"), ("act", "add"),
                     ("add", "flat"), ("flat", "fc"), ("fc", "out")):
        graph.add_edge(src, dst)
    graph.add_edge("skip", "add", 0)  # skip first, act second
    graph.add_edge("skip", "cat")
    graph.add_edge("act", "cat")
    graph.add_edge("in", "cat", 1)
    return graph


def problems_of(data: Any) -> list[Problem]:
    with pytest.raises(GraphFileError) as info:
        graph_from_dict(data, REGISTRY, "f.json")
    assert info.value.source == "f.json"
    return info.value.problems


def texts(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


# -- round trip ------------------------------------------------------------------------------

def test_save_then_load_gives_identical_dict(tmp_path: Path) -> None:
    graph = sample_graph()
    path = tmp_path / "resblock.json"
    save_graph(graph, path)
    loaded = load_graph(path, REGISTRY)
    assert graph_to_dict(loaded) == graph_to_dict(graph)
    assert loaded.nodes() == graph.nodes()
    assert loaded.edges() == graph.edges()
    assert loaded.inputs("add") == ["skip", "act"]
    assert loaded.inputs("cat") == ["skip", "in", "act"]
    assert loaded.name == "resblock"
    assert loaded.training == graph.training
    assert loaded.ui("c1") == {"x": 120, "y": 40}
    # saving the loaded graph writes the same bytes again
    again = tmp_path / "again.json"
    save_graph(loaded, again)
    assert again.read_bytes() == path.read_bytes()


def test_saved_file_is_plain_json_with_to_port_on_every_edge(tmp_path: Path) -> None:
    graph = sample_graph()
    path = tmp_path / "g.json"
    save_graph(graph, path)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    data = json.loads(text)
    assert data["format"] == "dlbuilder.graph" and data["version"] == 1
    assert data["name"] == "resblock"
    assert data["training"]["lr"] == 0.001
    assert len(data["edges"]) == len(graph.edges()) == 12
    for edge in data["edges"]:
        assert set(edge) == {"from", "to", "to_port"}
        assert edge["to_port"] == graph.port_of(edge["from"], edge["to"])
    c1 = next(n for n in data["nodes"] if n["id"] == "c1")
    assert c1["params"]["kernel_size"] == [3, 3]  # tuples become JSON lists
    act = next(n for n in data["nodes"] if n["id"] == "act")
    assert "ui" not in act and act["params"] == {}
    assert set(data) == {"format", "version", "name", "nodes", "edges", "training"}


def test_text_round_trip_and_unicode_names() -> None:
    graph = Graph("réseau ✓")
    graph.add_node("entrée", "Input", {"shape": [3]})
    graph.add_node("sortie", "Output")
    graph.add_edge("entrée", "sortie")
    text = dumps_graph(graph)
    assert "entrée" in text  # written as text, not \u escapes
    loaded = loads_graph(text, REGISTRY)
    assert graph_to_dict(loaded) == graph_to_dict(graph)


def test_graph_without_training_writes_no_training_section() -> None:
    graph = Graph("plain")
    graph.add_node("in", "Input", {"shape": [4]})
    data = graph_to_dict(graph)
    assert "training" not in data
    assert graph_to_dict(loads_graph(json.dumps(data), REGISTRY)) == data


def test_graph_to_dict_does_not_share_state_with_the_graph() -> None:
    graph = sample_graph()
    data = graph_to_dict(graph)
    data["training"]["lr"] = 99
    data["nodes"][0]["params"]["shape"][0] = 99
    data["nodes"][0]["ui"]["x"] = 99
    assert graph.training["lr"] == 0.001
    assert graph.params("in") == {"shape": [1, 28, 28]}
    assert graph.ui("in") == {"x": 0, "y": 0}


def test_empty_graph_round_trips() -> None:
    graph = Graph("empty")
    loaded = loads_graph(dumps_graph(graph), REGISTRY)
    assert len(loaded) == 0 and loaded.name == "empty"
    assert graph_to_dict(loaded) == graph_to_dict(graph)


def test_name_defaults_to_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "my_net.json"
    path.write_text(json.dumps(header(nodes=[{"id": "in", "type": "Input"}])), encoding="utf-8")
    assert load_graph(path, REGISTRY).name == "my_net"
    assert loads_graph(json.dumps(header(nodes=[])), REGISTRY).name == "untitled"


def test_edges_are_optional() -> None:
    graph = loads_graph(json.dumps(header(nodes=[{"id": "in", "type": "Input"}])), REGISTRY)
    assert graph.nodes() == ["in"] and graph.edges() == []


# -- input order -----------------------------------------------------------------------------

def nodes_abc_add(merge: str = "Add") -> list[dict[str, Any]]:
    return [{"id": "in", "type": "Input", "params": {"shape": [4]}},
            {"id": "a", "type": "Linear", "params": {"out_features": 4}},
            {"id": "b", "type": "Linear", "params": {"out_features": 4}},
            {"id": "c", "type": "Linear", "params": {"out_features": 4}},
            {"id": "m", "type": merge}]


def test_edges_without_to_port_keep_file_order() -> None:
    edges = [{"from": "b", "to": "m"}, {"from": "in", "to": "a"}, {"from": "c", "to": "m"},
             {"from": "a", "to": "m"}]
    graph = graph_from_dict(header(nodes=nodes_abc_add("Concat"), edges=edges), REGISTRY)
    assert graph.inputs("m") == ["b", "c", "a"]
    saved = graph_to_dict(graph)["edges"]
    assert [(e["from"], e["to_port"]) for e in saved if e["to"] == "m"] == [
        ("b", 0), ("c", 1), ("a", 2)]


def test_edges_with_to_port_follow_the_ports_not_file_order() -> None:
    edges = [{"from": "b", "to": "m", "to_port": 2}, {"from": "c", "to": "m", "to_port": 0},
             {"from": "a", "to": "m", "to_port": 1}]
    graph = graph_from_dict(header(nodes=nodes_abc_add(), edges=edges), REGISTRY)
    assert graph.inputs("m") == ["c", "a", "b"]


def test_to_port_on_one_node_and_file_order_on_another() -> None:
    nodes = [*nodes_abc_add(), {"id": "m2", "type": "Add"}]
    edges = [{"from": "c", "to": "m2"}, {"from": "a", "to": "m2"},
             {"from": "a", "to": "m", "to_port": 1}, {"from": "b", "to": "m", "to_port": 0}]
    graph = graph_from_dict(header(nodes=nodes, edges=edges), REGISTRY)
    assert graph.inputs("m") == ["b", "a"]
    assert graph.inputs("m2") == ["c", "a"]


# -- what loads ------------------------------------------------------------------------------

def test_graph_without_output_loads() -> None:
    nodes = [{"id": "in", "type": "Input", "params": {"shape": [1, 8, 8]}},
             {"id": "c", "type": "Conv2d", "params": {"out_channels": 2, "kernel_size": 3}}]
    graph = graph_from_dict(header(nodes=nodes, edges=[{"from": "in", "to": "c"}]), REGISTRY)
    assert graph.nodes() == ["in", "c"]
    assert all(graph.type_of(n) != "Output" for n in graph.nodes())


def test_parameter_problems_do_not_refuse_the_load() -> None:
    params = {"out_channels": -3, "kernel_size": "huge", "bogus": 1, "padding": [1, 2, 3],
              "stride": None}
    nodes = [{"id": "in", "type": "Input", "params": {"shape": "not a shape", "extra": True}},
             {"id": "c", "type": "Conv2d", "params": params},
             {"id": "sm", "type": "Softmax", "params": {"dim": 1.5}},
             {"id": "two_in", "type": "ReLU"}]
    edges = [{"from": "in", "to": "c"}, {"from": "c", "to": "sm"}, {"from": "in", "to": "two_in"},
             {"from": "c", "to": "two_in"}]
    graph = graph_from_dict(header(nodes=nodes, edges=edges), REGISTRY)
    assert graph.params("c") == params  # kept exactly as written, for diagnostics to flag
    assert graph.params("in") == {"shape": "not a shape", "extra": True}
    assert graph.params("sm") == {"dim": 1.5}
    assert graph.inputs("two_in") == ["in", "c"]  # too many inputs is a diagnostic, not a refusal


def test_several_inputs_and_several_sinks_load() -> None:
    nodes = [{"id": "in1", "type": "Input"}, {"id": "in2", "type": "Input"},
             {"id": "r1", "type": "ReLU"}, {"id": "r2", "type": "ReLU"}]
    graph = graph_from_dict(header(nodes=nodes, edges=[{"from": "in1", "to": "r1"}]), REGISTRY)
    assert len(graph) == 4


# -- what is refused, all at once --------------------------------------------------------------

def many_problems() -> dict[str, Any]:
    return {
        "format": "dlbuilder.graph", "version": 1, "name": 7, "training": [1], "extra": True,
        "nodes": [
            {"id": "in", "type": "Input", "params": {"shape": [1, 8, 8], "bogus": 1}},
            {"id": "c1", "type": "Conv3d", "params": {}},
            {"id": "c1", "type": "ReLU"},
            {"id": "r", "type": "ReLU", "params": [1], "ui": 5, "color": "red"},
            {"type": "ReLU"},
            {"id": "a", "type": "Add"},
            {"id": "b", "type": "Add"},
            {"id": "x", "type": "ReLU"},
            {"id": "y", "type": "ReLU"},
            "oops",
        ],
        "edges": [
            {"from": "in", "to": "ghost"},
            {"from": "in", "to": "a", "to_port": 0},
            {"from": "c1", "to": "a"},
            {"from": "in", "to": "b", "to_port": 0},
            {"from": "c1", "to": "b", "to_port": 2},
            {"from": "x", "to": "y"},
            {"from": "y", "to": "x", "weight": 1},
            {"from": "r", "to": "r"},
            {"from": "in", "to": "c1"},
            {"from": "in", "to": "c1"},
            {"from": "in", "to": "r", "to_port": "0"},
            7,
            {"from": "nowhere", "to": "in", "to_port": -1},
        ],
    }


def test_every_problem_is_reported_with_its_place() -> None:
    problems = problems_of(many_problems())
    found = texts(problems)
    expected_prefixes = [
        ("extra", "unknown top-level key 'extra'"),
        ("nodes[1] (id 'c1')", "unknown layer type 'Conv3d'; known: "),
        ("nodes[2] (id 'c1')", "duplicate id 'c1'"),
        ("nodes[3] (id 'r')", "unknown key 'color'"),
        ("nodes[3] (id 'r').params", "must be an object"),
        ("nodes[3] (id 'r').ui", "must be an object"),
        ("nodes[4]", "id must be a non-empty string, got None"),
        ("nodes[9]", "must be an object with id and type"),
        ("edges[0].to", "'ghost' is not a node id"),
        ("edges[6]", "unknown key 'weight'"),
        ("edges[7] (r -> r)", "cannot connect 'r' to itself: a layer cannot feed its own"),
        ("edges[9] (in -> c1)", "'in' is already connected to 'c1'; two layers are joined"),
        ("edges[10].to_port", "must be a whole number >= 0, got '0'"),
        ("edges[11]", "must be an object with from and to"),
        ("edges[12].from", "'nowhere' is not a node id"),
        ("edges[12].to_port", "must be a whole number >= 0, got -1"),
        ("node 'a'", "to_port must be given on all of its incoming edges or on none"),
        ("node 'b'", "to_port values [0, 2] must be 0 to 1, each once"),
        ("edges", "the wires make a cycle ("),
        ("name", "must be a string, got 7"),
        ("training", "must be an object"),
    ]
    for where, start in expected_prefixes:
        assert any(p.where == where and p.message.startswith(start) for p in problems), (
            where, start, found)
    assert len(problems) == len(expected_prefixes), found
    # the known types are listed for the unknown one
    unknown = next(p for p in problems if "Conv3d" in p.message)
    assert "Conv2d" in unknown.message and "ReLU" in unknown.message
    # the cycle names its loop
    cycle = next(p for p in problems if "cycle" in p.message)
    loop = re.search(r"\(([^)]*)\)", cycle.message).group(1).split(" -> ")  # type: ignore[union-attr]
    assert loop[0] == loop[-1] and sorted(loop[:-1]) == ["x", "y"]
    # parameter values are never a reason to refuse
    assert not any("bogus" in p.message for p in problems)


def test_error_message_lists_every_problem_on_its_own_line() -> None:
    with pytest.raises(GraphFileError) as info:
        loads_graph(json.dumps(many_problems()), REGISTRY, source="bad.json")
    error = info.value
    lines = str(error).splitlines()
    count = len(error.problems)
    assert lines[0] == f"bad.json: cannot open ({count} problems):"
    assert lines[1:] == [f"  {p.where}: {p.message}" for p in error.problems]
    assert str(Problem("nodes[0]", "boom")) == "nodes[0]: boom"


def test_one_problem_is_singular() -> None:
    with pytest.raises(GraphFileError, match=r"cannot open \(1 problem\):"):
        loads_graph("[]", REGISTRY)


@pytest.mark.parametrize("text, where, message", [
    ('{\n  "format": "dlbuilder.graph",\n  "version": 1,,\n}', "line 3, column 16",
     "Expecting property name"),
    ("", "line 1, column 1", "Expecting value"),
    ('{"format": "dlbuilder.graph"} trailing', "line 1, column 31", "Extra data"),
    ('{\n\n   "nodes": [}', "line 3, column 14", "Expecting value"),
])
def test_bad_json_reports_line_and_column(text: str, where: str, message: str) -> None:
    with pytest.raises(GraphFileError) as info:
        loads_graph(text, REGISTRY, source="x.json")
    (problem,) = info.value.problems
    assert problem.where == where
    assert problem.message.startswith("not valid JSON") and message in problem.message


@pytest.mark.parametrize("top", [[], "graph", 3, None])
def test_top_level_must_be_an_object(top: Any) -> None:
    (problem,) = problems_of(top)
    assert problem.where == "file" and "JSON object" in problem.message


def test_wrong_format_and_missing_version_and_unknown_key_reported_together() -> None:
    problems = problems_of({"format": "keras", "nodes": [], "edges": [], "stuff": 1})
    assert {p.where for p in problems} == {"format", "version", "stuff"}
    fmt = next(p for p in problems if p.where == "format")
    assert "'keras'" in fmt.message and "not a dlbuilder graph file" in fmt.message
    version = next(p for p in problems if p.where == "version")
    assert "whole number" in version.message and "None" in version.message


def test_wrong_format_with_good_version_still_checks_the_rest() -> None:
    problems = problems_of({"format": "other", "version": 1,
                            "nodes": [{"id": "q", "type": "Nope"}]})
    assert {p.where for p in problems} == {"format", "nodes[0] (id 'q')"}


def test_future_version_is_refused_as_newer() -> None:
    problems = problems_of(header(version=3, nodes="whatever the new format has"))
    (problem,) = problems  # the rest of a newer file is not judged by this version's rules
    assert problem.where == "version"
    assert "version 3" in problem.message
    assert "newer" in problem.message
    assert "reads version 2" in problem.message
    assert "Update dlbuilder" in problem.message


@pytest.mark.parametrize("version", [0, -1, "1", 1.0, True, None, [1]])
def test_bad_versions_refused(version: Any) -> None:
    problems = problems_of(header(version=version, nodes=[]))
    assert [p.where for p in problems] == ["version"]


@pytest.mark.parametrize("nodes", [None, {}, "in", 5])
def test_nodes_must_be_a_list(nodes: Any) -> None:
    data = header(edges=[])
    if nodes is not None:
        data["nodes"] = nodes
    problems = problems_of(data)
    assert [(p.where, p.message) for p in problems] == [("nodes", "must be a list of node objects")]


def test_edges_must_be_a_list() -> None:
    problems = problems_of(header(nodes=[], edges={"from": "a"}))
    assert [p.where for p in problems] == ["edges"]


@pytest.mark.parametrize("type_value", [None, ["Conv2d"], {"name": "Conv2d"}, 3, "conv2d", ""])
def test_unknown_or_mistyped_layer_type_is_a_problem_not_a_crash(type_value: Any) -> None:
    node: dict[str, Any] = {"id": "n"}
    if type_value is not None:
        node["type"] = type_value
    problems = problems_of(header(nodes=[node]))
    assert [p.where for p in problems] == ["nodes[0] (id 'n')"]
    assert problems[0].message.startswith(f"unknown layer type {type_value!r}")


@pytest.mark.parametrize("node_id", ["", 5, None, ["a"]])
def test_bad_node_ids(node_id: Any) -> None:
    problems = problems_of(header(nodes=[{"id": node_id, "type": "ReLU"}]))
    assert [p.where for p in problems] == ["nodes[0]"]
    assert "non-empty string" in problems[0].message


@pytest.mark.parametrize("edge, where", [
    ({"to": "a"}, "edges[0].from"),
    ({"from": "a"}, "edges[0].to"),
    ({"from": ["a"], "to": "b"}, "edges[0].from"),
    ({"from": "a", "to": {"id": "b"}}, "edges[0].to"),
    ({"from": "a", "to": "b", "to_port": 1.5}, "edges[0].to_port"),
    ({"from": "a", "to": "b", "to_port": True}, "edges[0].to_port"),
])
def test_bad_wire_fields(edge: dict[str, Any], where: str) -> None:
    nodes = [{"id": "a", "type": "ReLU"}, {"id": "b", "type": "ReLU"}]
    problems = problems_of(header(nodes=nodes, edges=[edge]))
    assert [p.where for p in problems] == [where]


@pytest.mark.parametrize("ports, ok", [
    ([0, 1, 2], True), ([2, 0, 1], True), ([1, 2, 3], False), ([0, 0, 1], False),
    ([0, 2, 3], False), ([0, 1, None], False), ([None, None, None], True),
])
def test_to_port_rules(ports: list[int | None], ok: bool) -> None:
    edges = []
    for src, port in zip("abc", ports, strict=True):
        edge: dict[str, Any] = {"from": src, "to": "m"}
        if port is not None:
            edge["to_port"] = port
        edges.append(edge)
    data = header(nodes=nodes_abc_add(), edges=edges)
    if ok:
        graph = graph_from_dict(data, REGISTRY)
        expected = (list("abc") if ports[0] is None
                    else [src for _, src in sorted(zip(ports, "abc", strict=True))])  # type: ignore[type-var]
        assert graph.inputs("m") == expected
    else:
        problems = problems_of(data)
        assert [p.where for p in problems] == ["node 'm'"]


def test_long_cycle_is_reported_with_its_loop() -> None:
    nodes = [{"id": n, "type": "ReLU"} for n in ("in", "a", "b", "c", "d")]
    edges = [{"from": "in", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "c"},
             {"from": "c", "to": "d"}, {"from": "d", "to": "b"}]
    (problem,) = problems_of(header(nodes=nodes, edges=edges))
    loop = re.search(r"\(([^)]*)\)", problem.message).group(1).split(" -> ")  # type: ignore[union-attr]
    assert loop[0] == loop[-1]
    assert sorted(loop[:-1]) == ["b", "c", "d"]
    for src, dst in itertools.pairwise(loop):
        assert {"from": src, "to": dst} in edges


def test_unknown_keys_in_nodes_and_edges_are_named() -> None:
    nodes = [{"id": "a", "type": "ReLU", "x": 1, "Params": {}}, {"id": "b", "type": "ReLU"}]
    edges = [{"from": "a", "to": "b", "port": 0}]
    problems = problems_of(header(nodes=nodes, edges=edges, Name="n"))
    assert sorted(texts(problems)) == sorted([
        "Name: unknown top-level key 'Name' (known: blocks, edges, format, name, nodes, "
        "training, version)",
        "nodes[0] (id 'a'): unknown key 'Params' (known: id, type, params, train, ui, dismissed)",
        "nodes[0] (id 'a'): unknown key 'x' (known: id, type, params, train, ui, dismissed)",
        "edges[0]: unknown key 'port' (known: from, to, to_port, from_port)",
    ])


# -- reading from disk -----------------------------------------------------------------------

def test_missing_file_is_a_graph_file_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(GraphFileError) as info:
        load_graph(path, REGISTRY)
    assert info.value.source == str(path)
    (problem,) = info.value.problems
    assert problem.where == "file" and problem.message.startswith("cannot be read")


def test_non_utf8_file_is_a_graph_file_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"name": "r\xe9seau"}')
    with pytest.raises(GraphFileError) as info:
        load_graph(path, REGISTRY)
    assert [p.where for p in info.value.problems] == ["file"]


def test_load_reports_source_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"format": 1}', encoding="utf-8")
    with pytest.raises(GraphFileError, match=re.escape(str(path))):
        load_graph(path, REGISTRY)


# -- atomic saving ---------------------------------------------------------------------------

ORIGINAL = b'{"the": "original file"}\n'


def half_writing_fdopen(real_fdopen: Any) -> Any:
    class HalfWriter:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> Any:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, text: str) -> int:
            self.handle.write(text[: len(text) // 2])
            self.handle.flush()
            raise OSError(28, "No space left on device")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.handle, name)

    def fake(fd: int, *args: Any, **kwargs: Any) -> HalfWriter:
        return HalfWriter(real_fdopen(fd, *args, **kwargs))

    return fake


def test_save_failing_midway_leaves_the_old_file_and_no_temp(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "net.json"
    path.write_bytes(ORIGINAL)
    monkeypatch.setattr(fileformat.os, "fdopen", half_writing_fdopen(os.fdopen))
    with pytest.raises(OSError, match="No space left"):
        save_graph(sample_graph(), path)
    assert path.read_bytes() == ORIGINAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json"]


def test_save_interrupted_at_rename_leaves_old_file_and_no_temp(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "net.json"
    path.write_bytes(ORIGINAL)

    def interrupted_replace(src: Any, dst: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fileformat.os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        save_graph(sample_graph(), path)
    assert path.read_bytes() == ORIGINAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json"]


def test_save_failing_at_fsync_on_new_file_leaves_nothing(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(fileformat.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        save_graph(sample_graph(), tmp_path / "new.json")
    assert list(tmp_path.iterdir()) == []


def test_save_writes_complete_temp_in_same_folder_then_renames(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "net.json"
    path.write_bytes(ORIGINAL)
    real_replace = os.replace
    seen: dict[str, Any] = {}

    def watching_replace(src: Any, dst: Any) -> None:
        seen["src"], seen["dst"] = Path(src), Path(dst)
        seen["old_at_rename"] = path.read_bytes()
        seen["temp_text"] = Path(src).read_text(encoding="utf-8")
        real_replace(src, dst)

    monkeypatch.setattr(fileformat.os, "replace", watching_replace)
    graph = sample_graph()
    save_graph(graph, path)
    assert seen["dst"] == path
    assert seen["src"].parent == tmp_path and seen["src"] != path
    assert seen["old_at_rename"] == ORIGINAL
    assert seen["temp_text"] == dumps_graph(graph)
    assert path.read_text(encoding="utf-8") == dumps_graph(graph)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json"]


def test_save_accepts_str_paths_and_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    path.write_bytes(ORIGINAL)
    save_graph(sample_graph(), str(path))
    assert graph_to_dict(load_graph(str(path), REGISTRY)) == graph_to_dict(sample_graph())


# -- files are data, never code --------------------------------------------------------------

CODE = "__import__('os').system('touch PWNED') or exec('raise SystemExit')"


def test_node_ids_and_values_holding_code_stay_plain_strings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the loader ran code")

    data = header(name=CODE, training={"optimizer": CODE}, nodes=[
        {"id": CODE, "type": "Input", "params": {"shape": CODE}, "ui": {"label": CODE}},
        {"id": "r", "type": "ReLU", "params": {CODE: CODE}},
    ], edges=[{"from": CODE, "to": "r"}])
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    graph = loads_graph(json.dumps(data), REGISTRY)
    path = tmp_path / "g.json"
    save_graph(graph, path)
    again = load_graph(path, REGISTRY)
    monkeypatch.undo()
    assert not (tmp_path / "PWNED").exists()
    for g in (graph, again):
        assert g.nodes() == [CODE, "r"]
        assert g.inputs("r") == [CODE]
        assert g.params(CODE) == {"shape": CODE}
        assert g.params("r") == {CODE: CODE}
        assert g.ui(CODE) == {"label": CODE}
        assert g.name == CODE and g.training == {"optimizer": CODE}


def test_type_holding_code_is_refused_as_unknown_type(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    problems = problems_of(header(nodes=[{"id": "x", "type": CODE}]))
    assert [p.where for p in problems] == ["nodes[0] (id 'x')"]
    assert "unknown layer type" in problems[0].message
    assert not (tmp_path / "PWNED").exists()


def test_non_finite_numbers_are_refused(tmp_path) -> None:
    from dlbuilder.core.fileformat import GraphFileError, loads_graph
    from dlbuilder.layers import REGISTRY

    text = ('{"format": "dlbuilder.graph", "version": 1, "nodes": '
            '[{"id": "d", "type": "Dropout", "params": {"p": NaN}}], "edges": []}')
    with pytest.raises(GraphFileError, match="NaN is not a JSON number"):
        loads_graph(text, REGISTRY)
    with pytest.raises(GraphFileError, match="nested too deeply"):
        loads_graph("[" * 100_000, REGISTRY)


def test_save_keeps_the_files_permissions(tmp_path) -> None:
    import os
    import stat

    from dlbuilder.core.fileformat import save_graph
    from dlbuilder.core.graph import Graph

    path = tmp_path / "g.json"
    save_graph(Graph("g"), path)
    assert stat.S_IMODE(path.stat().st_mode) & 0o044  # readable by others, like any new file
    os.chmod(path, 0o640)
    save_graph(Graph("g"), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
