"""IDX files, the MNIST format, gzip-compressed or not: one reader serves the embedded digits,
MNIST and Fashion-MNIST; the writer builds the digits files and the tests' real-format files.

Layout: a big-endian magic (two zero bytes, a type byte 0x08 for unsigned bytes, the number of
dimensions), one big-endian uint32 per dimension, then the values, row-major.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from dlbuilder.backend.datasets.base import DatasetError, Split, check_labels

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
_UBYTE = 0x08
_GZIP = b"\x1f\x8b"
_MAX_RATIO = 1100  # more than deflate's best compression ratio (about 1032:1)


def _open(path: Path) -> BinaryIO:
    """The file's bytes, gunzipped when it starts with the gzip magic (whatever its name)."""
    with open(path, "rb") as peek:
        compressed = peek.read(2) == _GZIP
    return gzip.open(path, "rb") if compressed else open(path, "rb")  # type: ignore[return-value]


def _rest_length(stream: BinaryIO) -> int:
    total = 0
    while chunk := stream.read(1 << 20):
        total += len(chunk)
    return total


def read_idx(path: str | os.PathLike, ndim: int) -> np.ndarray:
    """An IDX file of unsigned bytes with `ndim` dimensions, as a writable uint8 array.

    The size must match the header exactly: a truncated or padded file is an error that says
    how many bytes the header promised and how many the file holds.
    """
    path = Path(path)
    try:
        with _open(path) as stream:
            dims = _header(stream, path, ndim)
            on_disk = path.stat().st_size
            if isinstance(stream, gzip.GzipFile):  # deflate packs at most ~1032:1
                return _read_values(stream, path, dims, on_disk * _MAX_RATIO, None)
            return _read_values(stream, path, dims, on_disk, on_disk)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"cannot read {path}: {error}") from error


def _header(stream: BinaryIO, path: Path, ndim: int) -> tuple[int, ...]:
    expected_magic = 0x0800 | ndim
    magic_bytes = stream.read(4)
    if len(magic_bytes) < 4:
        raise DatasetError(f"{path}: too short for an IDX file ({len(magic_bytes)} bytes)")
    (magic,) = struct.unpack(">I", magic_bytes)
    if magic != expected_magic:
        raise DatasetError(f"{path}: not an IDX file of {ndim}-D unsigned bytes: magic "
                           f"number 0x{magic:08X}, expected 0x{expected_magic:08X}")
    header = stream.read(4 * ndim)
    if len(header) < 4 * ndim:
        raise DatasetError(f"{path}: the header is cut short ({4 + len(header)} bytes, "
                           f"expected {4 + 4 * ndim})")
    return struct.unpack(f">{ndim}I", header)


def _size_error(path: Path, dims: tuple[int, ...], needed: int, found: int | str) -> DatasetError:
    shape = "x".join(str(d) for d in dims)
    verdict = "" if isinstance(found, str) else (
        "; it is truncated" if found < needed else "; it is too long")
    return DatasetError(f"{path}: the header says {shape} values, which needs {needed} bytes "
                        f"(uncompressed), but the file holds {found} bytes{verdict}")


def _read_values(stream: BinaryIO, path: Path, dims: tuple[int, ...], capacity: int,
                 exact: int | None) -> np.ndarray:
    """The values after the header. `capacity`: the most bytes the file can hold, checked
    before allocating, so a damaged header cannot ask for gigabytes; `exact`: its known size."""
    head = 4 + 4 * len(dims)
    count = int(np.prod(dims, dtype=np.int64))
    if exact is not None and head + count != exact:
        raise _size_error(path, dims, head + count, exact)
    if head + count > capacity:
        raise _size_error(path, dims, head + count, f"at most {capacity}")
    values = np.empty(count, dtype=np.uint8)
    got = 0
    while got < count:  # readinto may stop short of a full buffer on some streams
        more = stream.readinto(memoryview(values)[got:])  # type: ignore[attr-defined]
        if not more:
            break
        got += more
    extra = _rest_length(stream)
    if got < count or extra:
        raise _size_error(path, dims, head + count, head + got + extra)
    return values.reshape(dims)


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array (header then values)."""
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8 or array.ndim < 1:
        raise ValueError(f"IDX writing takes uint8 arrays with 1 or more dims, not "
                         f"{array.dtype} with shape {array.shape}")
    header = struct.pack(f">I{array.ndim}I", 0x0800 | array.ndim, *array.shape)
    return header + array.tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write an IDX file; gzip-compressed when the name ends in .gz, with mtime 0 and no file
    name in the gzip header, so the same array always gives the same bytes."""
    path = Path(path)
    data = idx_bytes(array)
    if path.suffix == ".gz":
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0,
                           compresslevel=9) as gz:
            gz.write(data)
        data = buffer.getvalue()
    path.write_bytes(data)
    return path


def find_idx(folder: Path, stem: str) -> Path | None:
    """`stem` or `stem.gz` in `folder`, whichever exists (the uncompressed one first)."""
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx_split(images: Path, labels: Path, num_classes: int) -> Split:
    """An image file and its label file as one split: images (N, 1, rows, cols)."""
    x = read_idx(images, 3)
    y = read_idx(labels, 1)
    if len(x) != len(y):
        raise DatasetError(f"{images} holds {len(x)} images but {labels} holds {len(y)} labels")
    y = y.astype(np.int64)
    check_labels(y, num_classes, str(labels))
    return Split(x=x.reshape(len(x), 1, *x.shape[1:]), y=y)
