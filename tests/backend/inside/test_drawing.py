"""The drawing pad's conversion: a drawn digit comes out measuring like the training data's
samples (ink box, centre of mass, stroke width, ink and background), on MNIST and on the
built-in 8x8 digits; and the measures themselves, on pictures whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from dlbuilder.backend.datasets import load_dataset
from dlbuilder.backend.inside.drawing import (
    EXTENT_SHARE,
    InkStyle,
    Measures,
    drawing_to_sample,
    ink_measures,
    ink_style,
)

PAD = 224


def ring(pen: float, radius: float, centre: tuple[float, float] = (100, 120),
         squash: float = 0.6) -> np.ndarray:
    """A drawn "0": an ellipse's outline `pen` pixels wide on a PAD x PAD pad."""
    yy, xx = np.mgrid[0:PAD, 0:PAD]
    r = np.hypot(yy - centre[0], (xx - centre[1]) / squash)
    return (np.abs(r - radius) < pen / 2).astype(np.float32)


def seven(pen: float, size: float, corner: tuple[float, float] = (40, 50)) -> np.ndarray:
    """A drawn "7": a bar and a slanted stroke, as polylines `pen` wide."""
    top, left = corner
    return polyline([(top, left), (top, left + size * 0.7), (top + size, left + size * 0.25)],
                    pen)


def polyline(points: list[tuple[float, float]], pen: float) -> np.ndarray:
    yy, xx = np.mgrid[0:PAD, 0:PAD].astype(np.float64)
    ink = np.zeros((PAD, PAD), dtype=bool)
    for (y0, x0), (y1, x1) in zip(points, points[1:], strict=False):
        dy, dx = y1 - y0, x1 - x0
        t = np.clip(((yy - y0) * dy + (xx - x0) * dx) / (dy * dy + dx * dx), 0, 1)
        ink |= np.hypot(yy - (y0 + t * dy), xx - (x0 + t * dx)) <= pen / 2
    return ink.astype(np.float32)


def measured(sample: np.ndarray, style: InkStyle) -> tuple[float, float, float, float]:
    """The sample's (box, centre y, centre x, stroke), its ink scaled as the style's, the
    centre the one the style centres by."""
    grey = np.asarray(sample, dtype=np.float64).reshape(-1, *style.size).mean(axis=0)
    v = np.clip((grey / style.scale - style.background) / (style.ink - style.background), 0, 1)
    m = ink_measures(v)
    cy, cx = (m.box_y, m.box_x) if style.centring == "box" else (m.mass_y, m.mass_x)
    return float(m.box[0]), float(cy[0]), float(cx[0]), float(m.stroke[0])


def data_measures(x: np.ndarray, style: InkStyle) -> Measures:
    grey = x[:3000].astype(np.float64).reshape(-1, *style.size) / style.scale
    v = np.clip((grey - style.background) / (style.ink - style.background), 0, 1)
    return ink_measures(v)


# -- the measures ------------------------------------------------------------------------
def test_measures_of_a_bar_match_their_definitions():
    v = np.zeros((28, 28))
    v[4:24, 10:13] = 1.0  # 20 rows, 3 columns
    m = ink_measures(v)
    assert m.mass_y[0] == pytest.approx(14 / 28)  # rows 4..23: their centres average 14.0
    assert m.mass_x[0] == pytest.approx(11.5 / 28)
    assert m.box_y[0] == pytest.approx(14 / 28) and m.box_x[0] == pytest.approx(11.5 / 28)
    assert m.stroke[0] == pytest.approx(2 * 60 / (2 * 20 + 2 * 3))  # twice area / perimeter
    assert m.box[0] == pytest.approx(20 * (1 - 2 * EXTENT_SHARE) / 28)


def test_the_box_centre_and_the_mass_centre_differ_for_a_top_heavy_seven():
    v = np.zeros((28, 28))
    v[4, 4:20] = 1.0  # the bar
    v[5:24, 10] = 1.0  # a thin stem
    m = ink_measures(v)
    assert m.box_y[0] == pytest.approx(14 / 28, abs=0.02)
    assert m.mass_y[0] == pytest.approx((16 * 4.5 + sum(r + 0.5 for r in range(5, 24))) / 35
                                        / 28)


def test_a_blank_picture_measures_nothing():
    assert all(np.isnan(values[0]) for values in ink_measures(np.zeros((8, 8))))


def test_grey_strokes_measure_their_width_at_every_level():
    """Stroke width by total variation: a bar whose edge columns are half ink is as wide as
    its mass says (two full columns plus two halves: 3)."""
    v = np.zeros((40, 40))
    v[:, 18:20] = 1.0
    v[:, 17] = v[:, 20] = 0.5
    v[0, :] = v[-1, :] = 0.0
    stroke = float(ink_measures(v).stroke[0])
    assert stroke == pytest.approx(2 * v.sum() / (2 * 3 * 38 / 3 + 2 * 3), rel=0.05)


# -- the data's style --------------------------------------------------------------------
def test_mnist_style_is_bright_ink_in_a_box_centred_by_mass(mnist_dir):
    data = load_dataset("mnist", mnist_dir)
    style = ink_style(data.train.x, data.scale)
    assert style.sample_shape == (1, 28, 28)
    assert style.bright_ink and style.background == 0.0 and style.ink == 1.0
    # MNIST: fitted into 20x20, centred by mass in 28x28
    m = data_measures(data.train.x, style)
    assert style.centring == "mass"
    assert style.box == pytest.approx(np.median(m.box), rel=0.01)  # from another 3000
    assert 19 / 28 <= style.box * (1 + 2 * EXTENT_SHARE) <= 21 / 28
    assert style.centre == pytest.approx((np.median(m.mass_y), np.median(m.mass_x)), abs=0.01)
    assert abs(style.centre[0] - 0.5) < 0.04 and abs(style.centre[1] - 0.5) < 0.04
    assert style.stroke == pytest.approx(np.median(m.stroke), rel=0.03)


def test_digits_style_fills_the_height():
    data = load_dataset("digits")
    style = ink_style(data.train.x, data.scale)
    assert style.sample_shape == (1, 8, 8) and style.scale == 16.0
    assert style.bright_ink
    assert style.box > 0.9  # the 8x8 digits fill their height ...
    assert style.centring == "box"  # ... so they are centred by their box
    m = data_measures(data.train.x, style)
    assert style.centre == pytest.approx((np.median(m.box_y), np.median(m.box_x)))
    assert 0.8 < style.stroke < 2.0


def test_dark_ink_on_light_paper_is_recognised(mnist_dir):
    data = load_dataset("mnist", mnist_dir)
    paper = 255 - data.train.x[:2000]
    style = ink_style(paper, 255.0)
    assert not style.bright_ink
    assert style.background == 1.0 and style.ink == 0.0
    sample = drawing_to_sample(ring(20, 70), style)
    assert sample.shape == (1, 28, 28)
    assert sample[0, 0, 0] == pytest.approx(255.0)  # the paper
    assert sample.min() < 40  # the ink is dark


# -- drawn digits measure like the data --------------------------------------------------
@pytest.mark.parametrize("drawing", [
    pytest.param(lambda: ring(20, 70), id="zero-as-the-pen-suggests"),
    pytest.param(lambda: ring(8, 40, (60, 60)), id="small-thin-zero-off-centre"),
    pytest.param(lambda: ring(40, 90), id="large-thick-zero"),
    pytest.param(lambda: seven(18, 150), id="seven"),
    pytest.param(lambda: seven(10, 60, (140, 140)), id="small-seven-in-a-corner"),
])
@pytest.mark.parametrize("dataset", ["mnist", "digits"])
def test_a_drawn_digit_measures_like_the_data(drawing, dataset, request):
    folder = request.getfixturevalue("mnist_dir") if dataset == "mnist" else None
    data = load_dataset(dataset, folder)
    style = ink_style(data.train.x, data.scale)
    sample = drawing_to_sample(drawing(), style)
    assert sample.shape == data.train.x.shape[1:]
    assert sample.dtype == np.float32
    assert sample.min() >= 0 and sample.max() <= data.scale + 1e-3
    box, cy, cx, stroke = measured(sample, style)
    strokes = data_measures(data.train.x, style).stroke
    side = max(style.size)
    assert box == pytest.approx(style.box, abs=1 / side)  # within a pixel of the data's
    assert cy == pytest.approx(style.centre[0], abs=0.5 / side)
    assert cx == pytest.approx(style.centre[1], abs=0.5 / side)
    low, high = np.nanpercentile(strokes, [25, 75])
    assert low <= stroke <= high, (stroke, low, high)
    # the ink is the data's: its strongest pixels as strong as the data's strongest
    assert sample.max() == pytest.approx(style.ink * style.scale, rel=0.15)


def test_pen_width_makes_a_digit_drawn_in_the_box_need_no_correction(mnist_dir):
    data = load_dataset("mnist", mnist_dir)
    style = ink_style(data.train.x, data.scale)
    pen = style.pen_width(PAD)
    assert pen == pytest.approx(style.stroke * PAD / 28)
    # a bar as long as the box, drawn with that pen: its stroke scales to the data's
    length = style.box * PAD
    bar = polyline([(PAD / 2 - length / 2, PAD / 2), (PAD / 2 + length / 2, PAD / 2)], pen)
    stroke = measured(drawing_to_sample(bar, style), style)[3]
    assert stroke == pytest.approx(style.stroke, rel=0.15)


def test_a_blank_drawing_is_a_blank_sample():
    style = InkStyle((1, 8, 8), 16.0, 1.0, (0.5, 0.5), 1.2, 1.0, 0.0)
    assert not drawing_to_sample(np.zeros((100, 100)), style).any()
    paper = InkStyle((8, 8), 255.0, 1.0, (0.5, 0.5), 1.2, 0.0, 1.0)
    assert np.all(drawing_to_sample(np.zeros((100, 100)), paper) == 255.0)


def test_three_channel_samples_get_the_drawing_in_every_channel():
    style = InkStyle((3, 32, 32), 255.0, 0.7, (0.5, 0.5), 2.0, 1.0, 0.0)
    sample = drawing_to_sample(ring(20, 70), style)
    assert sample.shape == (3, 32, 32)
    assert np.array_equal(sample[0], sample[1]) and np.array_equal(sample[1], sample[2])


def test_bad_input_says_what_is_wrong():
    with pytest.raises(ValueError, match="image samples"):
        ink_style(np.zeros((10, 64)), 1.0)
    with pytest.raises(ValueError, match="blank"):
        ink_style(np.zeros((10, 8, 8)), 16.0)
    style = InkStyle((1, 8, 8), 16.0, 1.0, (0.5, 0.5), 1.2, 1.0, 0.0)
    with pytest.raises(ValueError, match="one grey picture"):
        drawing_to_sample(np.zeros((3, 10, 10)), style)
