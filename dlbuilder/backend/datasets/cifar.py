"""CIFAR-10 in its binary version: fixed 3,073-byte records (a label byte, then 3x32x32 pixels,
channel-major), read straight from the .tar.gz or from the extracted .bin files.

The Python version of CIFAR-10 is a set of pickles, and unpickling can run code, so it is never
read; a folder holding it gets a message naming the binary download instead.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from dlbuilder.backend.datasets.base import Dataset, DatasetError, Split, check_labels

CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                 "truck")
ARCHIVE = "cifar-10-binary.tar.gz"
BATCH_FOLDER = "cifar-10-batches-bin"
TRAIN_BATCHES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_BATCH = "test_batch.bin"
SAMPLE_SHAPE = (3, 32, 32)
RECORD = 1 + 3 * 32 * 32
BINARY_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
_PICKLED = ("data_batch_1", "cifar-10-batches-py", "cifar-10-python.tar.gz")


def has_cifar10(folder: Path) -> bool:
    """Whether `folder` holds the binary CIFAR-10 in one of the layouts load_cifar10 reads."""
    return ((folder / ARCHIVE).is_file() or (folder / BATCH_FOLDER / TEST_BATCH).is_file()
            or (folder / TEST_BATCH).is_file())


def load_cifar10(folder: Path) -> Dataset:
    """CIFAR-10 from `folder`: cifar-10-binary.tar.gz, or the extracted cifar-10-batches-bin/,
    or the six .bin files themselves."""
    if (folder / ARCHIVE).is_file():
        blobs = _read_archive(folder / ARCHIVE)
        source = folder / ARCHIVE
    else:
        source = folder / BATCH_FOLDER if (folder / BATCH_FOLDER).is_dir() else folder
        if not (source / TRAIN_BATCHES[0]).is_file():
            raise DatasetError(_not_found(folder))
        blobs = _read_files(source)
    train = _concat([_records(blobs[name], f"{source}: {name}") for name in TRAIN_BATCHES])
    test = _concat([_records(blobs[TEST_BATCH], f"{source}: {TEST_BATCH}")])
    return Dataset(name="cifar10", sample_shape=SAMPLE_SHAPE, classes=CIFAR_CLASSES, train=train,
                   test=test, scale=255.0, kind="image", source=str(source))


def _not_found(folder: Path) -> str:
    pickled = [name for name in _PICKLED if (folder / name).exists()]
    if pickled:
        return (f"cifar10: {folder / pickled[0]} is the pickled Python version of CIFAR-10, "
                "which dlbuilder does not read (unpickling a file can run code); download the "
                f"binary version instead: {BINARY_URL}")
    return (f"cifar10: no CIFAR-10 binary data in {folder}: expected {ARCHIVE}, or the folder "
            f"{BATCH_FOLDER}/, or the files {', '.join(TRAIN_BATCHES)} and {TEST_BATCH}")


def _read_files(folder: Path) -> dict[str, bytes]:
    missing = [name for name in (*TRAIN_BATCHES, TEST_BATCH) if not (folder / name).is_file()]
    if missing:
        raise DatasetError(f"cifar10: {folder} lacks {', '.join(missing)}")
    try:
        return {name: (folder / name).read_bytes() for name in (*TRAIN_BATCHES, TEST_BATCH)}
    except OSError as error:
        raise DatasetError(f"cifar10: cannot read {error.filename}: {error.strerror}") from error


def _read_archive(path: Path) -> dict[str, bytes]:
    """The six batch files from the archive, read in one pass; nothing is written to disk."""
    wanted = {*TRAIN_BATCHES, TEST_BATCH}
    blobs: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                parts = PurePosixPath(member.name).parts
                if member.name.startswith(("/", "\\")) or ".." in parts:
                    raise DatasetError(f"{path}: refusing the archive: member {member.name!r} "
                                       "points outside the archive")
                name = parts[-1] if parts else ""
                if name in wanted and member.isfile():
                    stream = archive.extractfile(member)
                    if stream is not None:
                        blobs[name] = stream.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"cannot read {path}: {error}") from error
    missing = sorted(wanted - blobs.keys())
    if missing:
        raise DatasetError(f"{path} lacks {', '.join(missing)}; is it the binary CIFAR-10?")
    return blobs


def _records(data: bytes, where: str) -> Split:
    if len(data) % RECORD:
        raise DatasetError(f"{where}: {len(data)} bytes is not a whole number of {RECORD}-byte "
                           f"records (1 label byte + 3x32x32 pixels); the file is damaged")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    y = records[:, 0].astype(np.int64)
    check_labels(y, len(CIFAR_CLASSES), where)
    return Split(x=records[:, 1:].reshape(-1, *SAMPLE_SHAPE), y=y)


def _concat(splits: list[Split]) -> Split:
    """One copy into fresh arrays: writable, and no longer holding the files' bytes."""
    return Split(x=np.concatenate([s.x for s in splits]), y=np.concatenate([s.y for s in splits]))
