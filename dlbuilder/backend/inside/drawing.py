"""A drawn picture as a sample of the training data: the same size, placement, stroke width and
ink as the data's own samples, so that what a network learned applies to it.

MNIST's digits, for instance, are scaled to fit a 20x20 box and centred by their centre of mass
in 28x28, bright ink on black; the built-in 8x8 digits fill their whole height and are centred
by their box. Nothing of this is assumed: `ink_style` measures it on the training samples (the
ink box, the centres of mass and of the box, the stroke width, the ink and background levels),
and `drawing_to_sample` makes a drawing measure the same. Which centre the data was centred by
is the one that varies least across its samples. numpy only: the pad's conversion needs
neither torch nor Qt.

Measures, for one picture `v` (H, W) scaled so that background is 0 and ink is 1:
- box: the ink's box, its longer side against the picture's side, as a fraction; a side is
  where the ink's mass begins and ends along it (all but EXTENT_SHARE at each end, measured
  within pixels, so that it changes smoothly as a drawing is scaled or moved);
- mass centre: the centre of mass (y, x) of `v`, as fractions of the height and width;
- box centre: the middle of the box (y, x), the same way;
- stroke: 2 * mass / boundary, where mass is the sum of `v` and boundary its total variation
  (the summed differences between neighbouring pixels): for a binary stroke, twice its area
  over its perimeter, which is its width; for grey strokes the same over every level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

INK_THRESHOLD = 0.3  # of the strongest pixel: where a drawing's ink begins, to crop it
EXTENT_SHARE = 0.01  # of the ink's mass left out at each end of its box
BLANK = 0.05  # a drawing whose strongest pixel is under this holds no ink
SUPERSAMPLE = 4  # the working resolution against the sample's, for the stroke correction
MAX_RADIUS = 12  # working pixels: the most a stroke is thickened or thinned by, each side
SAMPLES_MEASURED = 3000
PASSES = 3  # of the conversion, each correcting the last one's scale and stroke
# close enough: the stroke measure moves by a few percent with sub-pixel placement alone
STROKE_TOLERANCE, BOX_TOLERANCE = 0.08, 0.02
STALLED = 0.8  # a pass whose error is not below this share of the best one's ends the search
# ink on a plain background: this share of the samples' border pixels (at least) lies within
# PLAIN_LEVEL of the ink's contrast from the background (MNIST, the digits; not CIFAR's photos)
INK_LIKE_SHARE, PLAIN_LEVEL = 0.6, 0.1


@dataclass(frozen=True)
class InkStyle:
    """How the training data's samples are drawn (medians over the samples measured)."""

    sample_shape: tuple[int, ...]  # the raw sample's shape: (H, W) or (C, H, W)
    scale: float  # the raw value that means 1.0
    box: float  # the ink box's longer side, as a fraction of the picture's side
    centre: tuple[float, float]  # where samples are centred (y, x), as fractions of (H, W)
    stroke: float  # the stroke width in sample pixels
    ink: float  # the ink's value, as a fraction of `scale`
    background: float  # the background's value, as a fraction of `scale`
    centring: str = "mass"  # what sits at `centre`: the centre of "mass" or of the "box"
    plain: float = 1.0  # the share of the border's pixels at the background's level

    @property
    def ink_like(self) -> bool:
        """Ink on a plain background: pictures of such things are prepared like drawings."""
        return self.plain >= INK_LIKE_SHARE

    @property
    def bright_ink(self) -> bool:
        """Ink brighter than the background (MNIST: white on black)."""
        return self.ink >= self.background

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of a sample."""
        return int(self.sample_shape[-2]), int(self.sample_shape[-1])

    def pen_width(self, pad_side: float) -> float:
        """The pen width on a square pad `pad_side` pixels wide for a digit drawn as large as
        the data's (filling a box `box` of the pad) to come out with the data's stroke."""
        return self.stroke * pad_side / max(self.size)


def _grey(x: np.ndarray, sample_shape: tuple[int, ...]) -> np.ndarray:
    """(N, *sample_shape) -> (N, H, W) float32, channels averaged."""
    values = np.asarray(x, dtype=np.float32).reshape(len(x), *sample_shape)
    return values.mean(axis=1) if len(sample_shape) == 3 else values


def ink_style(dataset_x: np.ndarray, scale: float, *, limit: int = SAMPLES_MEASURED,
              seed: int = 0) -> InkStyle:
    """Measure the training samples `dataset_x` (N, *sample_shape), raw, `scale` meaning 1.0:
    at most `limit` of them, chosen by a seeded draw."""
    x = np.asarray(dataset_x)
    if x.ndim not in (3, 4) or not len(x):
        raise ValueError(f"ink_style needs image samples (N, H, W) or (N, C, H, W), got shape "
                         f"{list(x.shape)}")
    sample_shape = tuple(int(n) for n in x.shape[1:])
    if len(x) > limit:
        x = x[np.sort(np.random.default_rng(seed).choice(len(x), limit, replace=False))]
    grey = _grey(x, sample_shape) / np.float32(scale or 1.0)
    border = np.concatenate([grey[:, 0], grey[:, -1], grey[:, :, 0], grey[:, :, -1]], axis=1)
    background = float(np.median(border))
    high, low = (float(v) for v in np.percentile(grey, [99.5, 0.5]))
    ink = high if high - background >= background - low else low
    if abs(ink - background) < 1e-6:
        raise ValueError("the samples are blank: there is no ink to measure")
    plain = float(np.mean(np.abs(border - background) <= PLAIN_LEVEL * abs(ink - background)))
    m = ink_measures(np.clip((grey - background) / (ink - background), 0.0, 1.0))
    inked = np.isfinite(m.stroke)
    if not inked.any():
        raise ValueError("the samples are blank: there is no ink to measure")
    m = Measures(*(values[inked] for values in m))
    by_box = _spread(m.box_y) + _spread(m.box_x) < _spread(m.mass_y) + _spread(m.mass_x)
    cy, cx = (m.box_y, m.box_x) if by_box else (m.mass_y, m.mass_x)
    return InkStyle(sample_shape=sample_shape, scale=float(scale), box=_median(m.box),
                    centre=(_median(cy), _median(cx)), stroke=_median(m.stroke), ink=ink,
                    background=background, centring="box" if by_box else "mass", plain=plain)


def _spread(values: np.ndarray) -> float:
    """The interquartile range."""
    low, high = np.percentile(values, [25, 75])
    return float(high - low)


def _median(values: np.ndarray) -> float:
    return float(np.median(values))


class Measures(NamedTuple):
    """Per picture, as the module's docstring defines them; NaN for a blank picture."""

    box: np.ndarray
    mass_y: np.ndarray
    mass_x: np.ndarray
    box_y: np.ndarray
    box_x: np.ndarray
    stroke: np.ndarray


def ink_measures(v: np.ndarray) -> Measures:
    """The measures of each picture of `v` (N, H, W) or of one (H, W), background 0, ink 1."""
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 2:
        v = v[None]
    n, h, w = v.shape
    mass = v.sum(axis=(1, 2))
    blank = mass <= 0
    safe = np.where(blank, 1.0, mass)
    rows, cols = v.sum(axis=2), v.sum(axis=1)
    mass_y = (rows * (np.arange(h) + 0.5)).sum(axis=1) / safe / h
    mass_x = (cols * (np.arange(w) + 0.5)).sum(axis=1) / safe / w
    (top, bottom), (left, right) = _ends(rows, safe), _ends(cols, safe)
    padded = np.pad(v, ((0, 0), (1, 1), (1, 1)))
    boundary = (np.abs(np.diff(padded, axis=1)).sum(axis=(1, 2))
                + np.abs(np.diff(padded, axis=2)).sum(axis=(1, 2)))
    stroke = 2.0 * mass / np.where(boundary > 0, boundary, 1.0)
    box = np.maximum((bottom - top) / h, (right - left) / w)
    found = (box, mass_y, mass_x, (top + bottom) / 2 / h, (left + right) / 2 / w, stroke)
    return Measures(*(np.where(blank, np.nan, values) for values in found))


def _ends(profile: np.ndarray, mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `profile` (N, n): where its running sum passes EXTENT_SHARE and
    1 - EXTENT_SHARE of `mass`, interpolated within pixels."""
    edges = np.concatenate([np.zeros((len(profile), 1)), np.cumsum(profile, axis=1)], axis=1)
    share = edges / mass[:, None]
    rows = np.arange(len(profile))

    def crossing(level: float) -> np.ndarray:
        after = np.clip((share < level).sum(axis=1), 1, profile.shape[1])
        lo, hi = share[rows, after - 1], share[rows, after]
        return after - 1 + (level - lo) / np.where(hi > lo, hi - lo, 1.0)

    return crossing(EXTENT_SHARE), crossing(1 - EXTENT_SHARE)


def drawing_to_sample(canvas: np.ndarray, style: InkStyle) -> np.ndarray:
    """A drawing (h, w), 0..1 with the ink high (as a pad paints it, at any size), as a raw
    sample of `style.sample_shape` in the data's units: its ink box scaled to the data's, its
    stroke thickened or thinned to the data's width, its centre of mass where the data's is,
    its ink and background the data's values. A blank drawing gives a blank sample."""
    canvas = np.asarray(canvas, dtype=np.float32)
    if canvas.ndim != 2:
        raise ValueError(f"a drawing is one grey picture (h, w), got shape {list(canvas.shape)}")
    h, w = style.size
    v = np.zeros((h, w), dtype=np.float32)
    if canvas.size and float(canvas.max()) >= BLANK:
        v = _place(np.clip(canvas, 0.0, 1.0), style)
    raw = (style.background + (style.ink - style.background) * v) * style.scale
    shape = style.sample_shape
    if len(shape) == 3:
        raw = np.repeat(raw[None], shape[0], axis=0)
    return raw.astype(np.float32).reshape(shape)


def picture_to_sample(picture: np.ndarray, style: InkStyle) -> tuple[np.ndarray, bool]:
    """A picture of ink on paper (h, w), grey 0..1 at any size (an image file's), as a raw
    sample like the training data's, and whether its ink was inverted: the background is its
    border's median; ink is what differs from it, made a drawing (ink high) and placed as a
    drawing is (`drawing_to_sample`). Inverted: the picture's background is light where the
    data's is dark, or the other way round."""
    grey = np.asarray(picture, dtype=np.float32)
    if grey.ndim != 2 or not grey.size:
        raise ValueError(f"a picture is one grey image (h, w), got shape {list(grey.shape)}")
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    light_paper = float(np.median(border)) >= 0.5
    ink = 1.0 - grey if light_paper else grey
    paper = float(np.median(1.0 - border if light_paper else border))
    contrast = float(ink.max()) - paper
    canvas = np.clip((ink - paper) / contrast, 0.0, 1.0) if contrast > BLANK else \
        np.zeros_like(ink)
    return drawing_to_sample(canvas, style), light_paper == style.bright_ink


def _place(canvas: np.ndarray, style: InkStyle) -> np.ndarray:
    """The drawing's ink at the sample's size, 0..1: scaled, its stroke corrected, centred.

    The drawing is scaled so its box is the data's, to SUPERSAMPLE times the sample's size;
    its stroke, measured there, gives the first correction. The measures differ a little
    between resolutions (and with where a stroke falls on the pixels), so up to PASSES
    passes correct the stroke and the scale from what the sample measures; the closest is
    kept."""
    h, w = style.size
    k = SUPERSAMPLE
    inked = canvas >= INK_THRESHOLD * float(canvas.max())
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    crop = canvas[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    mass = np.array([max(float(crop.sum()), 1e-12)])
    extent = [float(np.diff(_ends(crop.sum(axis=axis)[None], mass), axis=0)[0, 0])
              for axis in (1, 0)]
    scale = style.box / max(extent[0] / h, extent[1] / w)  # sample pixels per canvas pixel
    work = _scaled(crop, scale)
    radius = (style.stroke - float(ink_measures(work).stroke[0]) / k) * k / 2
    best: tuple[float, np.ndarray] | None = None
    for _ in range(PASSES):
        v = _centred(_thicken(work, radius), style, k)
        measures = ink_measures(v)
        box, stroke = float(measures.box[0]), float(measures.stroke[0])
        if not np.isfinite(stroke):
            break
        stroke_error, box_error = abs(stroke / style.stroke - 1), abs(box / style.box - 1)
        error = stroke_error + box_error
        if best is not None and error > STALLED * best[0]:
            break  # no better (a blob, not a stroke: thinning it shortens it as much)
        if best is None or error < best[0]:
            best = (error, v)
        if stroke_error < STROKE_TOLERANCE and box_error < BOX_TOLERANCE:
            break
        step = (style.stroke - stroke) * k / 2  # a disc of r widens a stroke by 2r
        radius += step
        if box_error >= BOX_TOLERANCE:
            # the thickening widens the box as much: leave room for that; the box grows
            # faster than the scale where a stroke's end crosses a pixel: half steps
            scale *= np.sqrt((style.box - 2 * step / k / max(h, w)) / box)
            work = _scaled(crop, scale)
    return best[1] if best is not None else np.zeros((h, w), dtype=np.float32)


def _scaled(crop: np.ndarray, scale: float) -> np.ndarray:
    """`crop` scaled by `scale` (sample pixels per canvas pixel) to SUPERSAMPLE times the
    sample's resolution, with a blank margin for thickening."""
    k = SUPERSAMPLE
    size = (round(crop.shape[0] * scale * k), round(crop.shape[1] * scale * k))
    return np.pad(_resample(crop, size), MAX_RADIUS + 1)


def _centred(work: np.ndarray, style: InkStyle, k: int) -> np.ndarray:
    """`work` (at k times the sample's resolution) down to the sample's size, its centre (of
    mass or of its box, as the data's) on the data's."""
    h, w = style.size
    rows, cols = work.sum(axis=1), work.sum(axis=0)
    mass = float(rows.sum())
    if mass <= 0:
        return np.zeros((h, w), dtype=np.float32)
    cy, cx = (_middle(profile, mass) if style.centring == "box"
              else float((profile * (np.arange(len(profile)) + 0.5)).sum()) / mass
              for profile in (rows, cols))  # in work pixels
    rows = _area(work, h, 1 / k, style.centre[0] * h - cy / k)
    both = _area(rows.T, w, 1 / k, style.centre[1] * w - cx / k).T
    return np.clip(both, 0.0, 1.0).astype(np.float32)


def _middle(profile: np.ndarray, mass: float) -> float:
    """The middle of a profile's extent (as the box's centre is measured), in pixels."""
    top, bottom = _ends(profile[None], np.array([mass]))
    return float(top[0] + bottom[0]) / 2


def _resample(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` to `size` (h, w) by area averaging (its mean value kept)."""
    out_h, out_w = max(1, size[0]), max(1, size[1])
    rows = _area(image, out_h, out_h / image.shape[0], 0.0)
    return _area(rows.T, out_w, out_w / image.shape[1], 0.0).T.astype(np.float32)


def _area(image: np.ndarray, n_out: int, factor: float, offset: float) -> np.ndarray:
    """Resample `image` along its first axis: input row i covers [i, i + 1] * factor + offset
    of the output's axis, and each of the `n_out` output rows is the mean of what covers it
    (blank where nothing does). By differences of the running sum, read between rows: no
    matrix products, which small arrays pay for in BLAS threads."""
    n_in = image.shape[0]
    running = np.empty((n_in + 1, *image.shape[1:]), dtype=np.float64)
    running[0] = 0.0
    np.cumsum(image, axis=0, out=running[1:])
    edges = np.clip((np.arange(n_out + 1) - offset) / factor, 0, n_in)
    below = np.minimum(edges.astype(np.int64), n_in - 1)
    part = (edges - below)[:, None]
    at = running[below] + part * (running[below + 1] - running[below])
    return factor * np.diff(at, axis=0)


def _thicken(work: np.ndarray, radius: float) -> np.ndarray:
    """Grey dilation (radius > 0) or erosion (< 0) by a disc, to within a quarter pixel: the
    fractional part blends with the next larger one."""
    radius = float(np.clip(radius, -MAX_RADIUS, MAX_RADIUS))
    size = abs(radius)
    whole = int(np.floor(size))
    grow = radius > 0
    base = _morph(work, whole, grow)
    part = size - whole
    if part < 0.25:
        return base
    return (1 - part) * base + part * _morph(work, whole + 1, grow)


def _morph(image: np.ndarray, radius: int, grow: bool) -> np.ndarray:
    """Grey dilation (`grow`) or erosion by `radius` pixels: steps of a 3x3 square and of a
    3x3 cross taken in turn make an octagon, near enough a disc, at a few array operations a
    step (a disc's own pixels would be radius squared of them)."""
    pick = np.maximum if grow else np.minimum
    out = image
    for step in range(radius):
        padded = np.pad(out, 1)  # blank around: ink never reaches the margins
        centre = padded[1:-1, 1:-1]
        if step % 2 == 0:  # the square, as a column of three then a row of three
            column = pick(pick(padded[:-2], padded[1:-1]), padded[2:])
            out = pick(pick(column[:, :-2], column[:, 1:-1]), column[:, 2:])
        else:  # the cross
            out = pick(pick(pick(centre, padded[:-2, 1:-1]), pick(padded[2:, 1:-1],
                                                                  padded[1:-1, :-2])),
                       padded[1:-1, 2:])
    return out
