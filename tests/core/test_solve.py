"""Solving for a size: proposals that really give the size, and 'impossible' only when a
brute-force search over the same bounded settings finds nothing."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from conftest import examples
from helpers import chain, engine_for, example_graph
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlbuilder.core import solve_layer
from dlbuilder.core.block_commands import InBlock
from dlbuilder.core.commands import History
from dlbuilder.core.graph import Graph
from dlbuilder.core.solve import Proposal, SolveError, parse_size, proposal_command, solve_size
from dlbuilder.layers import REGISTRY

IMPOSSIBLE: list[bool] = []  # which random cases were impossible (to see both kinds ran)
SMALL = {"padding": range(3), "stride": range(1, 3), "kernel_size": range(1, 5),
         "dilation": range(1, 3), "output_padding": range(2)}


def _applied(graph: Graph, proposal: Proposal) -> Graph:
    """The solved node's output after the proposal, read by a fresh inference engine."""
    proposal_command(proposal).apply(graph)
    return graph


def test_parse_size_accepts_the_ways_people_write_it() -> None:
    assert parse_size("14x14", 2) == (14, 14)
    assert parse_size(" 14 X 7 ", 2) == (14, 7)
    assert parse_size("14", 2) == (14, 14)
    assert parse_size("3,4", 2) == (3, 4)
    for bad, words in (("abc", "whole numbers"), ("0", "at least 1"), ("1x2x3", "2 spatial"),
                       ("", "whole numbers"), ("-3", "whole numbers"),
                       ("14x", "whole numbers")):
        with pytest.raises(SolveError, match=words):
            parse_size(bad, 2)


def test_lenet_padding_for_14_and_the_order_of_proposals() -> None:
    graph = chain(("Conv2d", {"out_channels": 6, "kernel_size": 5}), shape=[1, 18, 18])
    solution = solve_size(engine_for(graph), "n1", (14, 14))  # now 14: already
    assert solution.already and not solution.proposals
    solution = solve_size(engine_for(graph), "n1", (18, 18))
    labels = [p.label for p in solution.proposals]
    assert labels[:2] == ["padding 2", "kernel_size 1"]  # one change, the smaller first
    assert all(p.count >= 1 for p in solution.proposals)
    counts = [p.count for p in solution.proposals]
    assert counts == sorted(counts)


def test_stride_halves_and_undo_is_one_step() -> None:
    graph = chain(("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}),
                  shape=[3, 28, 28])
    engine = engine_for(graph)
    first = solve_size(engine, "n1", (14, 14)).proposals[0]
    assert first.label == "stride 2" and first.changes == {"n1": {"stride": 2}}
    history = History(graph)
    history.push(proposal_command(first))
    assert engine.info("n1").output_shape == (8, 14, 14)
    history.undo()
    assert engine.info("n1").output_shape == (8, 28, 28)
    assert graph.raw_params("n1") == {"out_channels": 8, "kernel_size": 3, "padding": 1}


def test_impossible_says_why_with_numbers_and_offers_the_nearest() -> None:
    graph = chain(("Conv2d", {"out_channels": 6, "kernel_size": 5, "padding": 2}),
                  shape=[1, 28, 28])
    solution = solve_size(engine_for(graph), "n1", (40, 40))
    assert not solution.proposals
    assert "(28 - 5 + 2*2)/1 + 1 = 28" in solution.reason
    assert "padding 0-5" in solution.reason
    assert "height and width can be 1 to 38, not 40" in solution.reason
    assert "searched ranges" in solution.reason
    assert [p.label for p in solution.nearest] == ["38x38: padding 5, kernel_size 1"]
    assert solution.nearest[0].shape == (6, 38, 38)


def test_path_proposals_change_a_layer_before_through_the_ones_between() -> None:
    graph = chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("ReLU", {}),
                  ("MaxPool2d", {"kernel_size": 2}), ("BatchNorm2d", {}), shape=[1, 28, 28])
    engine = engine_for(graph)
    solution = solve_size(engine, "n4", (14, 14))  # now 13: BatchNorm has no size of its own
    assert solution.proposals
    for proposal in solution.proposals:
        assert set(proposal.changes) <= {"n1", "n3"}
        assert proposal.label.split(":")[0] in ("n1", "n3")
        check = engine_for(_applied(chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}),
                                          ("ReLU", {}), ("MaxPool2d", {"kernel_size": 2}),
                                          ("BatchNorm2d", {}), shape=[1, 28, 28]), proposal))
        assert check.info("n4").output_shape == (4, 14, 14) == proposal.shape
    assert solution.proposals[0].label == "n3: padding 1"


def test_bad_requests_are_refused() -> None:
    engine = engine_for(example_graph("resnet_cifar"))
    with pytest.raises(SolveError, match="no node"):
        solve_size(engine, "nope", (7, 7))
    flat = [i.node for i in engine.infos() if i.output_shape and len(i.output_shape) == 1]
    with pytest.raises(SolveError, match="no height or width"):
        solve_size(engine, flat[0], (7, 7))


def test_inside_a_block_the_proposal_edits_the_definition() -> None:
    graph = example_graph("resnet_cifar")
    engine = engine_for(graph)
    instance = next(i.node for i in engine.infos() if i.type == "Block")
    run = engine.runs(instance)[0]
    conv = next(n for n in run.graph.nodes() if run.graph.type_of(n) == "Conv2d")
    shape = run.info(conv).output_shape
    want = (shape[1] // 2, shape[2] // 2)
    proposal = solve_size(run, conv, want).proposals[0]
    history = History(graph)
    history.push(InBlock(run.defn.name, proposal_command(proposal)))
    assert engine.runs(instance)[0].info(conv).output_shape[1:] == want
    history.undo()
    assert engine.runs(instance)[0].info(conv).output_shape == shape


# -- property tests: random layers and targets ------------------------------------------------

PAIR_KNOBS = {"Conv2d": ("padding", "stride", "kernel_size", "dilation"),
              "ConvTranspose2d": ("padding", "stride", "kernel_size", "output_padding",
                                  "dilation"),
              "MaxPool2d": ("padding", "stride", "kernel_size", "dilation"),
              "AvgPool2d": ("padding", "stride", "kernel_size")}


@st.composite
def layers(draw: Any) -> tuple[str, dict[str, Any], list[int]]:
    type_name = draw(st.sampled_from(sorted(PAIR_KNOBS) + ["Upsample", "AdaptiveAvgPool2d"]))
    h, w = draw(st.integers(1, 20)), draw(st.integers(1, 20))
    pair = st.one_of(st.integers(1, 4), st.lists(st.integers(1, 4), min_size=2, max_size=2))
    params: dict[str, Any] = {}
    if type_name == "Upsample":
        params["scale_factor"] = draw(st.sampled_from([1, 2, 0.5, 1.5]))
    elif type_name == "AdaptiveAvgPool2d":
        params["output_size"] = draw(pair)
    else:
        params["kernel_size"] = draw(pair)
        if type_name.startswith("Conv"):
            params["out_channels"] = 2
        if draw(st.booleans()):
            params["stride"] = draw(pair)
        if "Pool" in type_name:
            params["ceil_mode"] = draw(st.booleans())
    return type_name, params, [2, h, w]


def _single(type_name: str, params: dict[str, Any], shape: list[int]):
    return chain((type_name, params), shape=shape, output=False)


@settings(deadline=None, max_examples=examples(100),
          suppress_health_check=[HealthCheck.too_slow])
@given(layers(), st.integers(1, 24), st.integers(1, 24))
def test_every_proposal_applied_gives_the_target(monkeypatch_small, layer, th, tw) -> None:
    type_name, params, shape = layer
    engine = engine_for(_single(type_name, params, shape))
    if engine.info("n1").output_shape is None:
        return  # a layer that does not fit its input: nothing to solve from
    solution = solve_size(engine, "n1", (th, tw))
    for proposal in [*solution.proposals, *solution.nearest]:
        graph = _applied(_single(type_name, params, shape), proposal)
        out = engine_for(graph).info("n1").output_shape
        assert out == proposal.shape
        if proposal in solution.proposals:
            assert out[1:] == (th, tw)
    if type_name not in PAIR_KNOBS:  # a size or a scale can always be set to the target
        assert solution.proposals or solution.already
    if type_name in PAIR_KNOBS and not solution.already:  # the brute force agrees both ways
        found = _brute_force(type_name, params, shape, (th, tw))
        assert (found is not None) == bool(solution.proposals), (found, solution.reason)
        IMPOSSIBLE.append(not solution.proposals)
    if not solution.proposals and not solution.already:
        assert solution.reason


@pytest.fixture(scope="module")
def monkeypatch_small():
    """Smaller ranges, so that a brute force over both axes at once stays quick."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(solve_layer, "SEARCH", SMALL)
        yield


def _axis_values(name: str, current: Any, axis: int) -> list[Any]:
    values = list(SMALL[name])
    if isinstance(current, tuple) and current[axis] not in values:
        values.append(current[axis])
    return values


def _brute_force(type_name: str, params: dict[str, Any], shape: list[int],
                 target: tuple[int, int]) -> dict[str, Any] | None:
    """Any setting of the layer's size parameters in the bounded ranges (each axis its own
    value, both axes at once) that gives the target, by the shape rule alone."""
    spec = REGISTRY.get(type_name)
    engine = engine_for(_single(type_name, params, shape))
    p = engine.checked_params("n1")
    ins = [tuple(shape)]
    knobs = PAIR_KNOBS.get(type_name, ())
    options = []
    for name in knobs:
        pairs = list(itertools.product(_axis_values(name, p[name], 0),
                                       _axis_values(name, p[name], 1)))
        options.append(pairs + ([None] if name == "stride" and "Pool" in type_name else []))
    ceil = [False, True] if "ceil_mode" in p else [None]
    for values in itertools.product(*options, ceil):
        trial = dict(p, **dict(zip(knobs, values, strict=False)))
        if values[-1] is not None:
            trial["ceil_mode"] = values[-1]
        try:
            out = spec.shape(ins, trial)
        except Exception:  # noqa: BLE001 - a refused setting gives nothing
            continue
        if tuple(out[1:]) == target:
            return trial
    return None


@settings(deadline=None, max_examples=examples(40),
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(8, 40), st.integers(1, 12), st.sampled_from(["MaxPool2d", "AvgPool2d"]))
def test_path_proposals_give_the_target_through_the_layers_between(size, want,
                                                                   pool) -> None:
    def build():
        return chain(("Conv2d", {"out_channels": 3, "kernel_size": 3}), ("ReLU", {}),
                     (pool, {"kernel_size": 2}), ("ReLU", {}), shape=[1, size, size],
                     output=False)

    engine = engine_for(build())
    if engine.info("n4").output_shape is None:
        return
    solution = solve_size(engine, "n4", (want, want))
    for proposal in solution.proposals:
        out = engine_for(_applied(build(), proposal)).info("n4").output_shape
        assert out == proposal.shape and out[1:] == (want, want)
    if not solution.proposals and not solution.already:
        assert "n1" in solution.reason and "n3" in solution.reason


def test_a_declaration_can_only_name_its_own_parameters_in_resizes() -> None:
    from dlbuilder.core.registry import LayerSpec

    conv = REGISTRY.get("Conv2d")
    with pytest.raises(ValueError, match="resizes names nope"):
        LayerSpec("Mine", "convolution", "x", conv.params, conv.shape, resizes=("nope",))


def _skip_graph() -> Graph:
    """input 1x16x16 -> c1 -> c2 -> add(c1, c2) -> flatten -> fc: c2's size is tied to c1's."""
    graph = Graph()
    graph.add_node("input", "Input", {"shape": [1, 16, 16]})
    graph.add_node("c1", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1})
    graph.add_node("c2", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1})
    graph.add_node("add", "Add", {})
    graph.add_node("flatten", "Flatten", {})
    graph.add_node("fc", "Linear", {"out_features": 10})
    for src, dst in (("input", "c1"), ("c1", "c2"), ("c1", "add"), ("c2", "add"),
                     ("add", "flatten"), ("flatten", "fc")):
        graph.add_edge(src, dst)
    return graph


def test_proposals_that_break_a_skip_connection_are_left_out_with_the_reason() -> None:
    from dlbuilder.core.solve_check import WholeFileCheck

    graph = _skip_graph()
    engine = engine_for(graph)
    check = WholeFileCheck(graph, REGISTRY)
    solution = solve_size(engine, "c2", (8, 8), check=check)
    assert not solution.proposals and solution.broken  # its shortcut keeps 16x16
    assert "breaks the graph elsewhere" in solution.reason and "add" in solution.reason
    assert all(error.node == "add" for _, error in solution.broken)
    unchecked = solve_size(engine, "c2", (8, 8))
    assert unchecked.proposals  # the layer alone would give it: the check is what refuses
    solution = solve_size(engine, "c1", (8, 8), check=check)  # before the fork: both follow
    assert solution.proposals and not solution.broken
    for proposal in solution.proposals:
        changed = _skip_graph()
        proposal_command(proposal).apply(changed)
        fresh = engine_for(changed)
        assert fresh.info("add").output_shape == (4, 8, 8)
        assert not [d for d in fresh.diagnostics() if d.severity == "error"]


def test_inside_a_block_a_change_that_breaks_another_instance_is_left_out() -> None:
    from dlbuilder.core.fileformat import graph_to_dict
    from dlbuilder.core.solve_check import WholeFileCheck

    graph = example_graph("resnet_cifar")
    before = graph_to_dict(graph)
    run = engine_for(graph).runs("block2")[0]
    check = WholeFileCheck(graph, REGISTRY, run.defn.name)
    solution = solve_size(run, "conv1", (14, 14), check=check)  # the shortcut gives 16x16
    assert not solution.proposals and solution.broken
    assert all("block2/add" in error.message for _, error in solution.broken)
    assert graph_to_dict(graph) == before  # tried on a copy


def test_a_stride_longer_than_the_kernel_comes_after_every_other() -> None:
    """Pool 2x2 on 28x28 wanted at 7x7: stride 4 with the 2x2 kernel would be one change,
    but it leaves half the pixels unseen; kernel 4 (stride following it) comes first."""
    graph = chain(("MaxPool2d", {"kernel_size": 2}), shape=[1, 28, 28])
    labels = [p.label for p in solve_size(engine_for(graph), "n1", (7, 7)).proposals]
    assert labels[0] == "kernel_size 4"
    skipping = [i for i, label in enumerate(labels) if label == "stride 4"]
    assert all(i > 0 for i in skipping)
    assert solve_layer._skips_pixels({"kernel_size": 2, "stride": 4, "dilation": 1})
    assert not solve_layer._skips_pixels({"kernel_size": 3, "stride": 2, "dilation": 1})
    assert not solve_layer._skips_pixels({"kernel_size": 2, "stride": None})
