"""The user's own images: a folder of class sub-folders (root/<class>/<image>), or the same
under root/train/ and root/test/ for a dataset with its own test split.

Pillow is imported only here, and only when a folder is read: the rest of dlbuilder works
without it. Images are never resized: a size that differs is an error naming the file.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np

from dlbuilder.backend.datasets.base import Dataset, DatasetError, Split

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
PILLOW_HINT = 'reading an image folder needs Pillow: python -m pip install "dlbuilder[images]"'
_GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_LAYOUT = (f"an image folder holds one sub-folder of images per class (FOLDER/<class>/<image>, "
           f"images {', '.join(IMAGE_SUFFIXES)}), "
           f"or FOLDER/train/<class>/ and FOLDER/test/<class>/")

Files = list[tuple[Path, int]]


def _pillow() -> ModuleType:
    try:
        from PIL import Image
    except ImportError as error:
        raise DatasetError(PILLOW_HINT) from error
    return Image


def load_image_folder(root: Path) -> Dataset:
    """Every image under `root`, converted to grayscale (1, H, W) when all of them are
    grayscale, else to RGB (3, H, W)."""
    image = _pillow()
    train_root, test_root = _split_roots(root)
    classes = _subfolders(train_root)
    if not classes:
        raise DatasetError(f"{train_root} holds no class sub-folders; {_LAYOUT}")
    train_files = _files_by_class(train_root, classes)
    test_files = None
    if test_root is not None:
        unknown = sorted(set(_subfolders(test_root)) - set(classes))
        if unknown:
            raise DatasetError(f"{test_root / unknown[0]}: class {unknown[0]!r} is not among the "
                               f"training classes in {train_root}: {', '.join(classes)}")
        test_files = _files_by_class(test_root, _subfolders(test_root), classes)
    mode, size = _survey(image, train_files + (test_files or []))
    train = _decode(image, train_files, mode, size)
    test = _decode(image, test_files, mode, size) if test_files else None
    return Dataset(name=root.resolve().name, sample_shape=tuple(train.x.shape[1:]),
                   classes=tuple(classes), train=train, test=test, scale=255.0, kind="image",
                   source=str(root))


def _subfolders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _split_roots(root: Path) -> tuple[Path, Path | None]:
    """root/train (+ root/test) when those are root's only sub-folders, else root itself."""
    names = set(_subfolders(root))
    if names in ({"train"}, {"train", "test"}):
        test = root / "test"
        return root / "train", (test if test.is_dir() else None)
    return root, None


def _files_by_class(folder: Path, names: list[str], classes: list[str] | None = None) -> Files:
    classes = classes or names
    files: Files = []
    for name in names:
        images = sorted(p for p in (folder / name).iterdir()
                        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                        and not p.name.startswith("."))
        if not images:
            raise DatasetError(f"class folder {folder / name} holds no images "
                               f"({', '.join(IMAGE_SUFFIXES)})")
        files.extend((p, classes.index(name)) for p in images)
    return files


def _unreadable(path: Path, error: Exception) -> DatasetError:
    return DatasetError(f"cannot read the image {path}: {error}")


def _survey(image: ModuleType, files: Files) -> tuple[str, tuple[int, int]]:
    """One mode and one size for all: headers only, so a mismatch is found before decoding."""
    gray = True
    first: tuple[Path, tuple[int, int]] | None = None
    for path, _ in files:
        try:
            with image.open(path) as im:
                mode, size = im.mode, im.size
        except (OSError, ValueError, SyntaxError, image.DecompressionBombError) as error:
            raise _unreadable(path, error) from error
        gray = gray and mode in _GRAY_MODES
        if first is None:
            first = (path, size)
        elif size != first[1]:
            raise DatasetError(f"{path} is {size[0]}x{size[1]} pixels but {first[0]} is "
                               f"{first[1][0]}x{first[1][1]}; all images must have one size "
                               "(dlbuilder does not resize them: resize them first)")
    assert first is not None  # every class folder holds an image
    return ("L" if gray else "RGB"), first[1]


def _decode(image: ModuleType, files: Files, mode: str, size: tuple[int, int]) -> Split:
    width, height = size
    channels = 1 if mode == "L" else 3
    x = np.empty((len(files), channels, height, width), dtype=np.uint8)
    for i, (path, _) in enumerate(files):
        try:
            with image.open(path) as im:
                pixels = np.asarray(im.convert(mode), dtype=np.uint8)
        except (OSError, ValueError, SyntaxError, image.DecompressionBombError) as error:
            raise _unreadable(path, error) from error
        x[i] = pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    y = np.array([label for _, label in files], dtype=np.int64)
    return Split(x=x, y=y)


def read_image(path: str | Path, channels: int,
               size: tuple[int, int] | None) -> tuple[np.ndarray, tuple[int, int]]:
    """One image for prediction, as (channels, height, width) uint8 at `size` (width, height;
    None: as it is), and its original (width, height): the caller says when it was resized,
    since a network only takes the size it was trained on."""
    image = _pillow()
    path = Path(path)
    try:
        with image.open(path) as im:
            original = im.size
            converted = im.convert("L" if channels == 1 else "RGB")
    except (OSError, ValueError, SyntaxError, image.DecompressionBombError) as error:
        raise _unreadable(path, error) from error
    if size is not None and converted.size != tuple(size):
        converted = converted.resize(tuple(size), getattr(image, "Resampling", image).LANCZOS)
    pixels = np.asarray(converted, dtype=np.uint8)
    return (pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)).copy(), original
