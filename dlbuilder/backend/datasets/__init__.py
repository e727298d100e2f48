"""Datasets as plain numpy arrays, read without torch: the embedded digits, MNIST, Fashion-MNIST
and CIFAR-10 (from a folder, or downloaded into the cache), and the user's own images, CSV and
.npz files. Raw values are kept (bytes for images); `Dataset.scale` says what 1.0 is.

Nothing here unpickles: the .npz reader refuses object arrays and CIFAR-10 is read in its binary
version only, because unpickling a file can run code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dlbuilder.backend.datasets.base import Dataset, DatasetError, Split, cache_dir
from dlbuilder.backend.datasets.builtin import load_digits, load_idx_folder, missing_idx_files
from dlbuilder.backend.datasets.cifar import has_cifar10, load_cifar10
from dlbuilder.backend.datasets.download import Progress, fetch_dataset
from dlbuilder.backend.datasets.images import load_image_folder
from dlbuilder.backend.datasets.tables import load_csv, load_npz

__all__ = ["BUILTIN", "Dataset", "DatasetError", "Split", "builtin_name", "cache_dir",
           "load_dataset"]

BUILTIN = ("digits", "mnist", "fashion-mnist", "cifar10")
USER_FORMATS = ("a folder of class sub-folders of images (.png, .jpg, .jpeg, .bmp, .gif), "
                "a .csv file with a header row, or a .npz file with arrays x and y")
_ALIASES = {"fashion": "fashion-mnist", "fashionmnist": "fashion-mnist", "cifar-10": "cifar10"}


def builtin_name(name: str) -> str | None:
    """The built-in dataset `name` means (case and _ vs - do not matter), else None."""
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    return key if key in BUILTIN else None


def load_dataset(name: str | os.PathLike, data_dir: str | os.PathLike | None = None, *,
                 download: bool = True, progress: Progress | None = None,
                 table: Mapping[str, Any] | None = None) -> Dataset:
    """name: a built-in name, or a path to the user's own data: a folder of class sub-folders
    of images, a .csv, or a .npz. A built-in name wins over a file of the same name (write
    ./mnist for the file). data_dir: for built-ins, a folder holding the dataset's files (read
    from there, never downloaded; digits is embedded and ignores it). Without data_dir,
    built-ins other than digits come from the cache folder, downloaded there first if missing
    (when download=True). progress(file_name, bytes_done, bytes_total_or_None) is called during
    downloads. table: replaces the download table (see download.DOWNLOADS)."""
    name = os.fspath(name)
    builtin = builtin_name(name)
    if builtin is not None:
        return _load_builtin(builtin, data_dir, download, progress, table)
    path = Path(name).expanduser()
    if path.is_dir():
        return load_image_folder(path)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return load_csv(path)
        if suffix == ".npz":
            return load_npz(path)
        raise DatasetError(f"{path}: dlbuilder does not read {suffix or 'suffix-less'} files as "
                           f"datasets; your own data can be {USER_FORMATS}")
    raise DatasetError(f"unknown dataset {name!r}: it is not a built-in dataset "
                       f"({', '.join(BUILTIN)}) and no file or folder of that name exists; your "
                       f"own data can be {USER_FORMATS}")


def _load_builtin(name: str, data_dir: str | os.PathLike | None, download: bool,
                  progress: Progress | None, table: Mapping[str, Any] | None) -> Dataset:
    if name == "digits":
        return load_digits()
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        if not folder.is_dir():
            raise DatasetError(f"the data folder {folder} for {name} does not exist")
        if not _present(name, folder) and _present(name, folder / name):
            folder = folder / name  # a parent folder of per-dataset folders, like the cache
        return _read(name, folder)
    folder = cache_dir() / name
    if download:
        fetch_dataset(name, folder, table=table, progress=progress)
    elif not _present(name, folder):
        raise DatasetError(f"{name} is not in the cache folder {folder} and downloading is off; "
                           "allow the download, or name the folder holding its files as the "
                           "data folder (--data-dir on the command line)")
    return _read(name, folder)


def _present(name: str, folder: Path) -> bool:
    if not folder.is_dir():
        return False
    return has_cifar10(folder) if name == "cifar10" else not missing_idx_files(folder)


def _read(name: str, folder: Path) -> Dataset:
    return load_cifar10(folder) if name == "cifar10" else load_idx_folder(name, folder)
