"""The user's own arrays: a CSV table of numeric features and a label column, or a .npz file.

The .npz is read with allow_pickle=False: an object array inside would need unpickling, which can
run code, so it is refused with a message that says so.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from dlbuilder.backend.datasets.base import Dataset, DatasetError, Split, class_indices

LABEL_COLUMNS = ("label", "target", "class", "y")


def load_csv(path: Path) -> Dataset:
    """A header row, then one sample per line: numeric features and one label column (named
    label, target, class or y, else the last column). Labels may be integers or text."""
    header, rows, lines = _read_rows(path)
    lowered = [name.strip().lower() for name in header]
    label_at = next((lowered.index(n) for n in LABEL_COLUMNS if n in lowered), len(header) - 1)
    features = [i for i in range(len(header)) if i != label_at]
    labels = [row[label_at].strip() for row in rows]
    for line, text in zip(lines, labels, strict=True):
        if not text:
            raise DatasetError(f"{path}, line {line}: the label column "
                               f"{header[label_at].strip()!r} is empty")
    x = _numbers(path, header, rows, lines, features)
    y, classes = class_indices(labels, str(path))
    return Dataset(name=path.name, sample_shape=(len(features),), classes=classes,
                   train=Split(x=x, y=y), test=None, scale=1.0, kind="features",
                   source=str(path))


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """The header, the data rows (blank lines skipped) and each row's line number."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or not any(cell.strip() for cell in header):
                raise DatasetError(f"{path} is empty; a CSV dataset starts with a header row")
            if len(header) < 2:
                raise DatasetError(f"{path}, line 1: the header names {len(header)} column; a "
                                   "CSV dataset needs feature columns and a label column")
            rows, lines = [], []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise DatasetError(f"{path}, line {reader.line_num}: {len(row)} cells, but "
                                       f"the header names {len(header)} columns")
                rows.append(row)
                lines.append(reader.line_num)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"cannot read {path}: {error}") from error
    if not rows:
        raise DatasetError(f"{path} has a header but no data rows")
    return header, rows, lines


def _numbers(path: Path, header: list[str], rows: list[list[str]], lines: list[int],
             columns: list[int]) -> np.ndarray:
    """The feature cells as float32; a cell that is empty, not a number or not finite is an
    error naming its line and column."""
    cells = [[row[i] for i in columns] for row in rows]
    try:
        values = np.array(cells, dtype=str).astype(np.float64)
    except ValueError:
        values = None
    if values is not None and np.isfinite(values).all():
        return values.astype(np.float32)
    for row, line in zip(cells, lines, strict=True):
        for text, column in zip(row, columns, strict=True):
            where = f"{path}, line {line}, column {header[column].strip()!r}"
            if not text.strip():
                raise DatasetError(f"{where}: missing value")
            try:
                number = float(text)
            except ValueError:
                raise DatasetError(f"{where}: {text.strip()!r} is not a number") from None
            if not np.isfinite(number):
                raise DatasetError(f"{where}: {text.strip()!r} is not a finite number")
    raise AssertionError("a cell failed to convert but none was found")  # pragma: no cover


def load_npz(path: Path) -> Dataset:
    """Arrays x and y (or x_train, y_train and optionally x_test, y_test), optional classes.
    uint8 x of 3 or 4 dims is images; 2-D x is feature vectors."""
    arrays = _npz_arrays(path)
    keys = set(arrays)
    if {"x_train", "y_train"} <= keys:
        train_x, train_y = arrays["x_train"], arrays["y_train"]
        if ("x_test" in keys) != ("y_test" in keys):
            raise DatasetError(f"{path}: x_test and y_test come together; found only "
                               f"{'x_test' if 'x_test' in keys else 'y_test'}")
        test_pair = (arrays["x_test"], arrays["y_test"]) if "x_test" in keys else None
    elif {"x", "y"} <= keys:
        train_x, train_y, test_pair = arrays["x"], arrays["y"], None
    else:
        raise DatasetError(f"{path} holds the arrays {sorted(keys)}; a dataset needs x and y, or "
                           "x_train and y_train (with x_test and y_test optional)")
    names = _npz_classes(path, arrays.get("classes"))
    ys = [train_y] + ([test_pair[1]] if test_pair else [])
    y_parts, classes = _npz_labels(path, ys, names)
    x, kind, scale = _npz_samples(path, "x_train" if test_pair else "x", train_x, y_parts[0])
    test = None
    if test_pair is not None:
        test_x, _, _ = _npz_samples(path, "x_test", test_pair[0], y_parts[1])
        if test_x.shape[1:] != x.shape[1:] or test_x.dtype != x.dtype:
            raise DatasetError(f"{path}: x_test samples are {test_pair[0].dtype} "
                               f"{test_x.shape[1:]} but x_train samples are {train_x.dtype} "
                               f"{x.shape[1:]}; both must be alike")
        test = Split(x=test_x, y=y_parts[1])
    return Dataset(name=path.name, sample_shape=tuple(x.shape[1:]), classes=classes,
                   train=Split(x=x, y=y_parts[0]), test=test, scale=scale, kind=kind,
                   source=str(path))


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        # the file is opened here, not by np.load, which leaves it open when the zip is broken
        with open(path, "rb") as handle:
            npz = np.load(handle, allow_pickle=False)
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise DatasetError(f"{path} is a single .npy array, not an .npz archive of "
                                   "named arrays (x, y, ...)")
            with npz:
                return {key: _npz_array(path, npz, key) for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DatasetError(f"cannot read {path} as .npz: {error}") from error


def _npz_array(path: Path, npz: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as error:
        raise DatasetError(
            f"{path}: the array {key!r} is an object array, which dlbuilder does not read "
            "(loading it would unpickle, which can run code); save plain numeric or string "
            "arrays") from error


def _npz_classes(path: Path, classes: np.ndarray | None) -> tuple[str, ...] | None:
    if classes is None:
        return None
    if classes.ndim != 1 or classes.dtype.kind not in "US":
        raise DatasetError(f"{path}: 'classes' must be a 1-D array of strings, not "
                           f"{classes.dtype} with shape {classes.shape}")
    names = tuple(str(c) for c in classes.astype(str))
    if len(set(names)) != len(names):
        raise DatasetError(f"{path}: 'classes' names a class twice: {list(names)}")
    return names


def _npz_labels(path: Path, ys: list[np.ndarray],
                names: tuple[str, ...] | None) -> tuple[list[np.ndarray], tuple[str, ...]]:
    """Integer labels as class indices, or text labels mapped to sorted class names."""
    for y in ys:
        if y.ndim != 1:
            raise DatasetError(f"{path}: labels must be 1-D, one per sample; found shape {y.shape}")
    if all(y.dtype.kind in "US" for y in ys):
        indices, classes = class_indices(np.concatenate(ys).astype(str), str(path), names)
        return list(np.split(indices, [len(ys[0])])[:len(ys)]), classes
    if not all(y.dtype.kind in "iu" for y in ys):
        raise DatasetError(f"{path}: labels must be integer class indices or strings, not "
                           f"{', '.join(str(y.dtype) for y in ys)}")
    parts = [y.astype(np.int64) for y in ys]
    top = max((int(p.max()) for p in parts if len(p)), default=-1)
    classes = names or tuple(str(i) for i in range(top + 1))
    for part in parts:
        bad = np.flatnonzero((part < 0) | (part >= len(classes)))
        if len(bad):
            raise DatasetError(f"{path}: label {int(part[bad[0]])} at sample {int(bad[0])} is not "
                               f"a class index 0..{len(classes) - 1} ({len(classes)} classes)")
    return parts, classes


def _npz_samples(path: Path, key: str, x: np.ndarray,
                 y: np.ndarray) -> tuple[np.ndarray, str, float]:
    """(samples, kind, scale): uint8 images keep raw bytes (scale 255); the rest is float32."""
    if len(x) != len(y):
        raise DatasetError(f"{path}: {key} has {len(x)} samples but its labels number {len(y)}")
    if x.dtype.kind not in "biuf":
        raise DatasetError(f"{path}: {key} must be numeric, not {x.dtype}")
    if x.ndim == 2:
        return _finite(path, key, x.astype(np.float32)), "features", 1.0
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[1] not in (1, 3, 4) and x.shape[3] in (1, 3, 4):
        x = x.transpose(0, 3, 1, 2)  # channels-last (N, H, W, C), as Keras saves images
    elif x.ndim != 4:
        raise DatasetError(f"{path}: {key} has shape {x.shape}; expected (N, F) features, "
                           "(N, H, W) or (N, C, H, W) images")
    if x.dtype == np.uint8:
        return np.ascontiguousarray(x), "image", 255.0
    return _finite(path, key, np.ascontiguousarray(x, dtype=np.float32)), "image", 1.0


def _finite(path: Path, key: str, x: np.ndarray) -> np.ndarray:
    if not np.isfinite(x).all():
        sample = int(np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))[0])
        raise DatasetError(f"{path}: {key} sample {sample} holds a NaN or infinite value")
    return x
