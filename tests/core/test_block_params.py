"""Renaming a block parameter carries the instances' values and the expressions that name it;
removing one leaves the expressions that still name it as errors in place."""

from __future__ import annotations

from pathlib import Path

from helpers import engine_for

from dlbuilder.core.block_params import declare_commands, references, renamed_text
from dlbuilder.core.blocks import BlockParam, ref
from dlbuilder.core.fileformat import dumps_graph, load_graph
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).parent / "data" / "blocks_tiny.json"


def test_renamed_text_keeps_the_rest() -> None:
    assert renamed_text("channels*4 + channels_out", "channels", "width") == \
        "width*4 + channels_out"
    assert renamed_text("(n)", "n", "count") == "(count)"


def test_renaming_a_parameter_carries_values_and_expressions() -> None:
    graph = load_graph(TINY, REGISTRY)
    before = dumps_graph(graph)
    totals = engine_for(graph).totals()
    command = declare_commands(graph, "Basic", (BlockParam("width", 16, 1),), "", {"channels":
                                                                                  "width"})
    assert command.text == "Rename parameter channels of Basic to width"
    command.apply(graph)
    assert graph.params("layer1") == {"block": "Basic", "width": 16, "repeat": 3}
    stage = graph.block("Stage").graph
    assert stage.params("0") == {"block": "Basic", "width": ref("channels"),
                                 "repeat": ref("n")}  # Stage's own channels: unchanged
    assert graph.block("Basic").graph.params("conv1")["out_channels"] == ref("width")
    engine = engine_for(graph)
    assert engine.totals() == totals and not engine.diagnostics()
    command.revert(graph)
    assert dumps_graph(graph) == before


def test_removing_a_parameter_still_used_shows_where() -> None:
    graph = load_graph(TINY, REGISTRY)
    assert references(graph, "Basic", "channels") == [("conv1", "out_channels"),
                                                      ("conv2", "out_channels")]
    declare_commands(graph, "Basic", (), "").apply(graph)
    problems = engine_for(graph).diagnostics()
    assert any(d.code == "bad_reference" and d.inside[-1] == "conv1" for d in problems)
    assert graph.params("layer1") == {"block": "Basic", "repeat": 3}
