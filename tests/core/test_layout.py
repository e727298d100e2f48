"""Auto-layout: layers flow left to right, nothing overlaps, rows wrap like text, a residual
shortcut sits beside its block, and the same graph always gets the same positions."""

from __future__ import annotations

import pytest
from big_graphs import resnet50_graph
from helpers import chain, flat_resnet_cifar

from dlbuilder.core.graph import Graph
from dlbuilder.core.layout import GAP, NODE_SIZE, layered_layout, layout_for_view

W, H = NODE_SIZE


def overlaps(positions: dict[str, tuple[int, int]]) -> list[tuple[str, str]]:
    items = sorted(positions.items())
    found = []
    for i, (a, (ax, ay)) in enumerate(items):
        for b, (bx, by) in items[i + 1:]:
            if ax < bx + W and bx < ax + W and ay < by + H and by < ay + H:
                found.append((a, b))
    return found


def rows_of(positions: dict[str, tuple[int, int]]) -> dict[str, int]:
    """Row index per node: lanes of one row are GAP[1] apart, rows further."""
    tops = sorted({y for _, y in positions.values()})
    row, rows, last = 0, {}, None
    for top in tops:
        if last is not None and top - (last + H) > GAP[1]:
            row += 1
        rows[top] = row
        last = top
    return {node: rows[y] for node, (_, y) in positions.items()}


def assert_flows(graph: Graph, positions: dict[str, tuple[int, int]]) -> None:
    rows = rows_of(positions)
    for src, dst, _ in graph.edges():
        if rows[src] == rows[dst]:
            assert positions[dst][0] > positions[src][0], (src, dst)
        else:
            assert rows[dst] > rows[src], (src, dst)


def long_chain(layers: int) -> Graph:
    return chain(*[("ReLU", {})] * (layers - 2))


def test_empty_graph() -> None:
    assert layered_layout(Graph()) == {}
    assert layout_for_view(Graph(), 1000, 700) == {}


def test_chain_is_one_row_left_to_right() -> None:
    graph = long_chain(5)
    positions = layered_layout(graph)
    assert [positions[n] for n in graph.nodes()] == [(i * (W + GAP[0]), 0) for i in range(5)]


def test_wraps_a_13_layer_chain_into_a_1000px_view() -> None:
    graph = long_chain(13)
    positions = layered_layout(graph, max_width=1000)
    assert not overlaps(positions)
    assert max(x for x, _ in positions.values()) + W <= 1000
    assert max(y for _, y in positions.values()) + H <= 700  # readable at 1:1
    assert max(rows_of(positions).values()) >= 2
    assert_flows(graph, positions)
    sizes = [list(rows_of(positions).values()).count(r) for r in range(4)]
    assert max(sizes) - min(sizes) <= 1  # rows of even length, no lone node on the last


def test_a_row_holds_at_least_one_node() -> None:
    graph = long_chain(4)
    positions = layered_layout(graph, max_width=10)
    assert {x for x, _ in positions.values()} == {0}
    assert not overlaps(positions)


def test_residual_shortcut_beside_its_main_path() -> None:
    graph = flat_resnet_cifar()
    for width in (None, 1000, 2000):
        positions = layered_layout(graph, max_width=width)
        assert not overlaps(positions)
        assert_flows(graph, positions)
    rows = rows_of(positions)
    for block in ("block2", "block3"):
        conv1, bn1 = positions[f"{block}_conv1"], positions[f"{block}_bn1"]
        proj, proj_bn = positions[f"{block}_proj"], positions[f"{block}_proj_bn"]
        assert (proj[0], proj_bn[0]) == (conv1[0], bn1[0])  # alongside, column by column
        assert proj[1] == proj_bn[1] == conv1[1] + H + GAP[1]  # in the lane just below
        assert rows[f"{block}_proj"] == rows[f"{block}_conv1"]


@pytest.mark.parametrize("size", [(1020, 620), (946, 602), (1500, 900)])
def test_layout_for_view_keeps_blocks_whole(size: tuple[int, int]) -> None:
    graph = flat_resnet_cifar()
    positions = layout_for_view(graph, *size)
    assert not overlaps(positions)
    assert_flows(graph, positions)
    rows = rows_of(positions)
    for n in (1, 2, 3):  # no row break inside a residual block
        start = "stem_relu" if n == 1 else f"block{n - 1}_relu"
        assert rows[start] == rows[f"block{n}_add"]


def test_layout_for_view_prefers_the_view_width() -> None:
    graph = long_chain(13)
    assert layout_for_view(graph, 1000, 700) == layered_layout(graph, max_width=1000)


def test_disconnected_nodes_all_placed() -> None:
    graph = long_chain(3)
    graph.add_node("loose_a", "ReLU")
    graph.add_node("loose_b", "Conv2d", {"out_channels": 4, "kernel_size": 3})
    graph.add_node("a", "ReLU")
    graph.add_node("b", "ReLU")
    graph.add_edge("a", "b")
    graph.add_edge("b", "n1")
    positions = layered_layout(graph, max_width=700)
    assert set(positions) == set(graph.nodes())
    assert not overlaps(positions)
    assert_flows(graph, positions)
    wired_bottom = max(positions[n][1] for n in ("in", "n1", "out", "a", "b"))
    assert positions["loose_a"][1] > wired_bottom  # unwired nodes go below the network
    wide = layered_layout(graph)
    assert wide["a"][0] < wide["b"][0] < wide["n1"][0]


def test_stray_source_sits_next_to_its_consumer() -> None:
    graph = long_chain(6)  # in, n1..n4, out
    graph.add_node("side", "ReLU")
    graph.add_node("join", "Add")
    graph.add_edge("n3", "join")
    graph.add_edge("side", "join")
    positions = layered_layout(graph)
    assert positions["side"][0] == positions["n3"][0]


@pytest.mark.parametrize("width", [None, 600, 1500])
def test_deterministic(width: float | None) -> None:
    first = layered_layout(flat_resnet_cifar(), max_width=width)
    again = layered_layout(flat_resnet_cifar(), max_width=width)
    assert first == again
    assert all(isinstance(v, int) for xy in first.values() for v in xy)


@pytest.mark.parametrize(("size", "least"), [((946, 597), 0.18), ((626, 317), 0.115)])
def test_a_177_node_network_in_a_short_view_is_laid_out_wide(size, least) -> None:
    """ResNet-50 in the canvas of a 1600x1000 and a 1280x720 window: rows wide enough that
    the whole network shows at a zoom where the cards' type names can still be read (rows
    at most 4 views wide left the small one taller than wide, at zoom 0.07)."""
    graph = resnet50_graph()
    positions = layout_for_view(graph, *size)
    assert not overlaps(positions)
    assert_flows(graph, positions)
    right = max(x for x, _ in positions.values()) + W
    bottom = max(y for _, y in positions.values()) + H
    assert min(size[0] / right, size[1] / bottom) >= least
