"""Statistics and pictures of a Look, against torch and numpy computed here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import example_graph

from dlbuilder.backend.inside.probe import Filters, Probe
from dlbuilder.backend.inside.stats import map_stats, output_stats
from dlbuilder.backend.inside.tiles import (
    HEAT_LUT,
    filter_tiles,
    heat,
    map_tiles,
    mosaic,
    overlay,
)


@pytest.fixture(scope="module")
def lenet_look():
    torch.manual_seed(0)
    probe = Probe(example_graph("lenet5"))
    raw = np.random.default_rng(0).random((1, 28, 28)).astype(np.float32)
    return probe, probe.look(raw)


def test_map_stats_follow_torch(lenet_look):
    probe, look = lenet_look
    stats = map_stats(look)
    assert [s.node for s in stats] == list(look.outputs)
    by_node = {s.node: s for s in stats}
    for node, value in look.outputs.items():
        t = torch.from_numpy(value).double()
        s = by_node[node]
        assert s.shape == tuple(t.shape)
        assert s.mean == pytest.approx(float(t.mean()), abs=1e-9)
        assert s.std == pytest.approx(float(t.std(unbiased=False)), abs=1e-9)
        assert (s.low, s.high) == (float(t.min()), float(t.max()))
        assert s.zero_share == pytest.approx(float((t == 0).double().mean()))
        if t.dim() == 3:
            expected = t.mean(dim=(1, 2)).tolist()
            assert s.channel_means == pytest.approx(expected, abs=1e-9)
        else:
            assert s.channel_means == ()


def test_zero_share_counts_relu_units_that_are_off():
    values = np.array([[[0.0, 1.0], [0.0, 0.0]], [[2.0, 0.0], [3.0, 4.0]]])
    s = output_stats(("relu",), values)
    assert s.zero_share == 4 / 8
    assert s.channel_means == (0.25, 2.25)
    assert s.as_dict()["node"] == ["relu"]


def test_map_tiles_share_one_range_per_layer():
    rng = np.random.default_rng(1)
    maps = rng.normal(size=(4, 5, 6)) * np.array([1, 3, 0.1, 2])[:, None, None]
    tiles = map_tiles(maps)
    low, high = maps.min(), maps.max()
    expected = np.rint((maps - low) / (high - low) * 255).astype(np.uint8)
    np.testing.assert_array_equal(tiles.pixels, expected)
    assert (tiles.low, tiles.high) == (low, high) and tiles.order == (0, 1, 2, 3)
    assert tiles.bars is None


def test_map_tiles_by_mean_put_the_strongest_first():
    maps = np.stack([np.full((2, 2), v) for v in (0.5, 3.0, -1.0, 2.0)])
    tiles = map_tiles(maps, order="mean")
    assert tiles.order == (1, 3, 0, 2)
    assert tiles.means == (3.0, 2.0, 0.5, -1.0)
    assert tiles.pixels[0].min() == 255 and tiles.pixels[-1].max() == 0
    with pytest.raises(ValueError, match="order must be one of index, mean"):
        map_tiles(maps, order="size")


def test_a_vector_becomes_bars():
    tiles = map_tiles(np.array([1.0, -4.0, 2.0]))
    np.testing.assert_allclose(tiles.bars, [0.25, -1.0, 0.5])
    assert tiles.pixels.shape[0] == 0 and (tiles.low, tiles.high) == (-4.0, 2.0)


def test_a_flat_layer_is_dark_not_an_error():
    tiles = map_tiles(np.zeros((3, 4, 4)))
    assert tiles.pixels.shape == (3, 4, 4) and tiles.pixels.max() == 0


def test_heat_ramp_runs_dark_to_bright_through_its_stops():
    assert tuple(heat(np.array([[0.0]]))[0, 0]) == (0, 0, 4)
    assert tuple(heat(np.array([[1.0]]))[0, 0]) == (252, 255, 164)
    lightness = HEAT_LUT.astype(float) @ np.array([0.2126, 0.7152, 0.0722])
    assert np.all(np.diff(lightness) > 0)  # rises everywhere: a perceptual order
    values = np.linspace(0, 1, 12).reshape(3, 4)
    assert heat(values).shape == (3, 4, 3) and heat(values).dtype == np.uint8
    np.testing.assert_array_equal(heat(np.array([[np.nan, 2.0]])), HEAT_LUT[[0, 255]][None])


def test_overlay_blends_the_heat_over_the_picture():
    picture = np.full((2, 3), 100, dtype=np.uint8)
    values = np.array([[0.0, 0.5, 1.0], [1.0, 0.0, 0.25]])
    out = overlay(picture, values, alpha=0.25)
    expected = np.rint(0.75 * 100 + 0.25 * heat(values).astype(float)).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(overlay(picture, values, 0.0)[..., 0], picture)
    with pytest.raises(ValueError, match="the picture is 3x2 but the map is 2x2"):
        overlay(picture, np.zeros((2, 2)))


def test_filter_tiles_grey_per_input_channel_and_rgb(lenet_look):
    probe, _ = lenet_look
    filters = probe.filters(("c3",))
    tiles = filter_tiles(filters)
    w = probe.model.get_submodule("c3").weight.detach().double().numpy()
    expected = np.rint((w - w.min()) / (w.max() - w.min()) * 255).astype(np.uint8)
    np.testing.assert_array_equal(tiles.pixels, expected)
    assert not tiles.rgb and tiles.pixels.shape == (16, 6, 5, 5)
    weights = np.random.default_rng(2).normal(size=(4, 3, 3, 3)).astype(np.float32)
    rgb = filter_tiles(Filters(("c",), weights, True, float(weights.min()),
                               float(weights.max())))
    assert rgb.pixels.shape == (4, 3, 3, 3) and rgb.rgb
    # the red channel of filter 2's top-left pixel is its input channel 0's weight there
    low, high = weights.min(), weights.max()
    assert rgb.pixels[2, 0, 0, 0] == round((weights[2, 0, 0, 0] - low) / (high - low) * 255)


def test_mosaic_lays_tiles_in_rows():
    tiles = np.arange(1, 6, dtype=np.uint8)[:, None, None] * np.ones((5, 2, 3), np.uint8)
    grid = mosaic(tiles, columns=3, gap=1, fill=9)
    assert grid.shape == (2 * 2 + 1, 3 * 3 + 2)
    assert grid[0, 0] == 1 and grid[0, 4] == 2 and grid[3, 4] == 5
    assert grid[2, 0] == 9 and grid[3, 8] == 9  # the gap row, the empty place
