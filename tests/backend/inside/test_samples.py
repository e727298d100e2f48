"""Image files read as the training data's samples look (backend.inside.samples): a dark-on-light
rendering of a real training sample comes back as that sample; photos are only resized; the
splits are the run's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlbuilder.backend.datasets import Dataset, Split, load_dataset
from dlbuilder.backend.inside.samples import (
    PREPARED,
    data_splits,
    data_style,
    find_row,
    read_image_sample,
)
from dlbuilder.backend.predict import read_samples
from dlbuilder.backend.prepare import stratified_split
from dlbuilder.backend.preprocessing import Preprocessing

SHOWN = 12  # training samples rendered per dataset


def prep_of(data) -> Preprocessing:
    shape = tuple(data.sample_shape)
    return Preprocessing(dataset=data.name, sample_shape=shape, input_shape=shape,
                         classes=tuple(data.classes), scale=data.scale)


def render(sample: np.ndarray, scale: float, path: Path, dark_on_light: bool) -> Path:
    """`sample` (1, H, W) as a photo would show it: 96 pixels across, a margin round it."""
    grey = sample[0].astype(np.float64) / scale
    k = 96 // grey.shape[-1]
    big = np.pad(np.kron(grey, np.ones((k, k))), 2 * k)
    pixels = 1.0 - big if dark_on_light else big
    Image.fromarray((pixels * 255).round().clip(0, 255).astype(np.uint8)).save(path)
    return path


def nearest_mean(data, samples: np.ndarray) -> np.ndarray:
    """Each sample's class by the nearest class mean of the training data: a classifier
    that needs no training, to compare the prepared sample's reading with the original's."""
    x = data.train.x.reshape(len(data.train.x), -1).astype(np.float64)
    means = np.stack([x[data.train.y == k].mean(axis=0) for k in range(len(data.classes))])
    flat = samples.reshape(len(samples), -1).astype(np.float64)
    return ((flat[:, None] - means[None]) ** 2).sum(axis=2).argmin(axis=1)


@pytest.fixture(params=["digits", "mnist"])
def data(request):
    if request.param == "mnist":
        return load_dataset("mnist", request.getfixturevalue("mnist_dir"))
    return load_dataset("digits")


def test_a_dark_on_light_rendering_is_prepared_back_into_the_sample(data, tmp_path):
    style = data_style(data, data.sample_shape)
    assert style is not None and style.ink_like and style.bright_ink
    prep = prep_of(data)
    originals = data.train.x[:SHOWN].astype(np.float32)
    prepared, as_is = [], []
    for i, original in enumerate(originals):
        path = render(original, data.scale, tmp_path / f"s{i}.png", dark_on_light=True)
        raw, notes = read_image_sample(path, prep, style)
        assert notes == [f"s{i}.png: {PREPARED}: inverted, centred"]
        assert raw.shape == tuple(data.sample_shape)
        prepared.append(raw)
        as_is.append(read_image_sample(path, prep, style, prepare=False)[0])
        assert np.array_equal(as_is[-1], read_samples([path], prep)[1][0])
    prepared, as_is = np.stack(prepared), np.stack(as_is)
    # each is its sample, its stroke made the data's usual width (a thick 1 comes out thinner)
    near = [np.corrcoef(raw.ravel(), original.ravel())[0, 1] for raw, original in
            zip(prepared, originals, strict=True)]
    assert min(near) > 0.75 and np.median(near) > 0.9
    assert all(np.corrcoef(plain.ravel(), original.ravel())[0, 1] < 0  # as is: inverted
               for plain, original in zip(as_is, originals, strict=True))
    levels = np.abs(prepared.mean(axis=(1, 2, 3)) - originals.mean(axis=(1, 2, 3)))
    assert np.median(levels) < 0.1 * data.scale
    read_back = nearest_mean(data, prepared)
    assert (read_back == nearest_mean(data, originals)).mean() >= 0.8
    assert (nearest_mean(data, as_is) == nearest_mean(data, originals)).mean() < 0.5


def test_an_image_of_the_datas_polarity_is_centred_not_inverted(tmp_path):
    data = load_dataset("digits")
    style = data_style(data, data.sample_shape)
    path = render(data.train.x[3], data.scale, tmp_path / "light.png", dark_on_light=False)
    raw, notes = read_image_sample(path, prep_of(data), style)
    assert notes == [f"light.png: {PREPARED}: centred"]
    assert np.corrcoef(raw.ravel(), data.train.x[3].ravel().astype(float))[0, 1] > 0.85


def photos(n: int = 200, seed: int = 0) -> Dataset:
    """Smooth random colour pictures: no plain background, like CIFAR's photos."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (n, 3, 4, 4)).astype(np.float64)
    x = np.kron(coarse, np.ones((1, 1, 8, 8))).round().astype(np.uint8)
    y = rng.integers(0, 2, n).astype(np.int64)
    return Dataset("photos", (3, 32, 32), ("a", "b"), Split(x, y), None, 255.0, "image", "")


def test_photos_are_only_resized(tmp_path):
    data = photos()
    style = data_style(data, data.sample_shape)
    assert style is not None and not style.ink_like
    path = tmp_path / "photo.png"
    Image.fromarray(np.full((64, 64, 3), 250, np.uint8)).save(path)
    prep = prep_of(data)
    raw, notes = read_image_sample(path, prep, style)
    assert np.array_equal(raw, read_samples([path], prep)[1][0])
    assert not any(PREPARED in note for note in notes)


def test_the_splits_are_the_runs():
    data = load_dataset("digits")
    splits = data_splits(data, 0.1, 0)
    train_rows, val_rows = stratified_split(data.train.y, 0.1, 0)
    assert list(splits) == ["val", "train"]  # the digits have no test split
    assert np.array_equal(splits["val"].sample(5)[0], data.train.x[val_rows[5]])
    assert len(splits["val"]) + len(splits["train"]) == len(data.train.y)
    assert find_row(splits, "train", int(val_rows[5])) == ("val", 5)
    assert find_row(splits, "train", int(train_rows[7])) == ("train", 7)
    assert list(data_splits(data, 0.0, 0)) == ["train"]
