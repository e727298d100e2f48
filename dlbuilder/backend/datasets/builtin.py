"""The built-in datasets read from a folder: the embedded digits, and MNIST / Fashion-MNIST in
their four standard IDX files. CIFAR-10 lives in cifar.py."""

from __future__ import annotations

from pathlib import Path

from dlbuilder.backend.datasets.base import Dataset, DatasetError
from dlbuilder.backend.datasets.idx import find_idx, read_idx_split
from dlbuilder.resources import resources_dir

DIGIT_CLASSES = tuple(str(i) for i in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
IDX_CLASSES = {"mnist": DIGIT_CLASSES, "fashion-mnist": FASHION_CLASSES}
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def digits_dir() -> Path:
    return resources_dir() / "datasets" / "digits"


def load_digits() -> Dataset:
    """The UCI 8x8 digits shipped with dlbuilder: 1,797 images, values 0..16, no test split."""
    folder = digits_dir()
    images = folder / "digits-images-idx3-ubyte.gz"
    labels = folder / "digits-labels-idx1-ubyte.gz"
    if not images.is_file() or not labels.is_file():
        raise DatasetError(f"the embedded digits files are missing from {folder}; "
                           "the installation is incomplete (reinstall dlbuilder)")
    train = read_idx_split(images, labels, len(DIGIT_CLASSES))
    return Dataset(name="digits", sample_shape=tuple(train.x.shape[1:]), classes=DIGIT_CLASSES,
                   train=train, test=None, scale=16.0, kind="image", source="built in")


def missing_idx_files(folder: Path) -> list[str]:
    return [stem for stem in IDX_FILES if find_idx(folder, stem) is None]


def load_idx_folder(name: str, folder: Path) -> Dataset:
    """MNIST or Fashion-MNIST from a folder holding the four IDX files, each .gz or not."""
    missing = missing_idx_files(folder)
    if missing:
        raise DatasetError(f"{name}: {folder} lacks " + ", ".join(f"{m}(.gz)" for m in missing)
                           + f"; a {name} folder holds the four files " + ", ".join(IDX_FILES)
                           + ", each gzip-compressed or not")
    classes = IDX_CLASSES[name]
    paths = [find_idx(folder, stem) for stem in IDX_FILES]
    train = read_idx_split(paths[0], paths[1], len(classes))  # type: ignore[arg-type]
    test = read_idx_split(paths[2], paths[3], len(classes))  # type: ignore[arg-type]
    if train.x.shape[1:] != test.x.shape[1:]:
        raise DatasetError(f"{name}: training images are {train.x.shape[2:]} but test images are "
                           f"{test.x.shape[2:]} ({folder})")
    return Dataset(name=name, sample_shape=tuple(train.x.shape[1:]), classes=classes,
                   train=train, test=test, scale=255.0, kind="image", source=str(folder))
