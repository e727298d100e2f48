"""Where new nodes go: a fix's, an insertion's or an added layer's card lands in free space,
neighbours shifting (in the same undo step) when there is no room, and nothing overlaps."""

from __future__ import annotations

from big_graphs import resnet50_graph
from helpers import chain, engine_for, example_graph, flat_resnet_cifar

from dlbuilder.core.commands import AddEdge, History, RemoveNode, SetParams
from dlbuilder.core.fixes import apply_fix, with_batchnorm
from dlbuilder.core.layout import GAP, NODE_SIZE, layout_for_view
from dlbuilder.core.placement import (
    card_positions,
    missing_positions,
    place_after,
    place_between,
    place_near,
)

W, H = NODE_SIZE


def overlapping(graph) -> list[tuple[str, str]]:
    spots = sorted(card_positions(graph).items())
    return [(a, b) for i, (a, (ax, ay)) in enumerate(spots) for b, (bx, by) in spots[i + 1:]
            if ax < bx + W and bx < ax + W and ay < by + H and by < ay + H]


def fix_on(graph, node: str, code: str):
    engine = engine_for(graph)
    (diagnostic,) = [d for d in engine.diagnostics() if d.node == node and d.code == code]
    return diagnostic.fix


def test_the_projection_fix_opens_a_lane_for_its_cards() -> None:
    graph = flat_resnet_cifar()
    History(graph).push(SetParams("block1_conv1", {"stride": 2}))
    before = card_positions(graph)
    fix = with_batchnorm(fix_on(graph, "block1_add", "add_shape_mismatch"))
    command = apply_fix(graph, fix)
    new = [n for n in graph.nodes() if n not in before]
    assert len(new) == 2 and all(graph.ui(n) for n in new)
    assert overlapping(graph) == []
    conv, norm = (card_positions(graph)[n] for n in new)
    relu = before["stem_relu"]
    assert conv == (relu[0] + W + GAP[0], relu[1] + H + GAP[1])  # beside the block's start
    assert norm == (conv[0] + W + GAP[0], conv[1])
    assert card_positions(graph)["block1_relu"][1] > conv[1] + H  # the rows below moved down
    command.revert(graph)  # one step: the neighbours go back too
    assert card_positions(graph) == before


def test_insert_flatten_goes_in_line_and_pushes_the_chain_right() -> None:
    graph = example_graph("digits_cnn")
    history = History(graph)
    history.push(RemoveNode("flatten"))
    history.push(AddEdge("pool1", "fc1"))
    before = card_positions(graph)
    apply_fix(graph, fix_on(graph, "fc1", "wrong_rank"))
    (new,) = [n for n in graph.nodes() if n not in before]
    after = card_positions(graph)
    assert overlapping(graph) == []
    assert after[new] == (before["pool1"][0] + W + GAP[0], before["pool1"][1])
    assert after["fc1"][0] > after[new][0] and after["fc1"][1] == before["fc1"][1]
    assert after["dropout"] == before["dropout"]  # another row: left alone


def test_between_adjacent_cards_the_rest_of_the_row_moves_right() -> None:
    spots = {"a": (0, 0), "b": (260, 0), "c": (520, 0), "d": (0, 180)}
    placed = place_between(spots, "a", "b", 1)
    assert placed.spots == [(260, 0)]
    assert placed.moves == {"b": (520, 0), "c": (780, 0)}


def test_a_free_gap_between_the_ends_is_used_as_is() -> None:
    spots = {"a": (0, 0), "b": (520, 0)}
    placed = place_between(spots, "a", "b", 1)
    assert placed.spots == [(260, 0)] and placed.moves == {}


def test_a_branch_goes_beside_the_consumers_not_on_them() -> None:
    spots = {"a": (0, 0), "b": (260, 0), "c": (520, 0)}
    placed = place_after(spots, "a", 1)
    (spot,) = placed.spots
    assert spot != (260, 0) and placed.moves == {}
    assert not any(abs(spot[0] - x) < W and abs(spot[1] - y) < H for x, y in spots.values())


def test_a_spot_on_a_card_moves_to_the_nearest_free_one() -> None:
    spots = {"a": (0, 0), "b": (260, 0)}
    (spot,) = place_near(spots, (250, 10), 1).spots
    assert not any(abs(spot[0] - x) < W and abs(spot[1] - y) < H for x, y in spots.values())
    assert place_near(spots, (600, 300), 1).spots == [(600, 300)]  # free: kept


def test_positions_come_from_the_layout_when_the_file_has_none() -> None:
    graph = chain(("ReLU", {}), ("ReLU", {}))
    spots = card_positions(graph)
    assert set(spots) == {"in", "n1", "n2", "out"}
    assert len(set(spots.values())) == 4


# -- nodes the file holds no position for ----------------------------------------------------
def without_positions(graph, nodes) -> None:
    for node in nodes:
        graph.set_ui(node, {})


def test_missing_positions_go_beside_their_neighbours_and_the_rest_stay() -> None:
    graph = flat_resnet_cifar()
    before = {n: dict(graph.ui(n)) for n in graph.nodes()}
    missing = ["block2_conv2", "block2_bn2", "gap"]
    without_positions(graph, missing)
    spots = missing_positions(graph)
    assert sorted(spots) == sorted(missing)
    assert not overlapping(graph)  # card_positions includes them: no longer ignored
    assert card_positions(graph) == {**{n: (u["x"], u["y"]) for n, u in before.items()
                                        if n not in missing}, **spots}
    left, right = card_positions(graph)["block2_relu1"], spots["block2_conv2"]
    assert right[0] > left[0] and abs(right[1] - left[1]) <= 3 * (H + GAP[1])  # nearby


def test_a_missing_chain_wraps_below_at_the_views_right_edge() -> None:
    graph = chain(*[("ReLU", {})] * 12)
    graph.set_ui("in", {"x": 0, "y": 0})
    spots = missing_positions(graph, (1000, 700))
    assert len(spots) == len(graph) - 1
    assert max(x for x, _ in spots.values()) + W <= 1000  # wrapped, not one long row
    assert len({y for _, y in spots.values()}) > 1
    taken = sorted([(0, 0), *spots.values()])
    assert not any(abs(ax - bx) < W and abs(ay - by) < H
                   for i, (ax, ay) in enumerate(taken) for bx, by in taken[i + 1:])


def test_without_any_position_the_whole_graph_is_laid_out_for_the_view() -> None:
    graph = resnet50_graph()
    assert missing_positions(graph, (946, 597)) == layout_for_view(graph, 946, 597)
    assert missing_positions(graph) == card_positions(graph)  # one row without a view
    graph.set_ui("input1", {"x": 0, "y": 0})
    assert "input1" not in missing_positions(graph)
