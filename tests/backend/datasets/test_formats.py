"""The built-in formats read from small files written in the real layouts: IDX (MNIST,
Fashion-MNIST) and CIFAR-10 binary; their damaged forms give errors that name the file."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from datafiles import cifar_blobs, write_cifar_files, write_cifar_tar, write_mnist_like

from dlbuilder.backend.datasets import DatasetError, load_dataset
from dlbuilder.backend.datasets.builtin import FASHION_CLASSES
from dlbuilder.backend.datasets.cifar import CIFAR_CLASSES, RECORD
from dlbuilder.backend.datasets.idx import idx_bytes, read_idx, write_idx


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path: Path, suffix: str) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / f"a-idx3-ubyte{suffix}", array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    result = read_idx(path, 3)
    assert result.dtype == np.uint8 and result.flags.writeable
    np.testing.assert_array_equal(result, array)


def test_gzip_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(5, dtype=np.uint8))))
    np.testing.assert_array_equal(read_idx(path, 1), np.arange(5))


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_data_dir(tmp_path: Path, gz: bool) -> None:
    arrays = write_mnist_like(tmp_path, train=12, test=5, gz=gz)
    data = load_dataset("mnist", data_dir=tmp_path)
    assert data.name == "mnist" and data.kind == "image" and data.scale == 255.0
    assert data.sample_shape == (1, 28, 28) and data.classes == tuple("0123456789")
    assert data.train.x.shape == (12, 1, 28, 28) and data.train.x.dtype == np.uint8
    assert data.train.y.dtype == np.int64 and data.test is not None and len(data.test) == 5
    np.testing.assert_array_equal(data.train.x[:, 0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(data.test.y, arrays["t10k-labels-idx1-ubyte"])
    assert data.source == str(tmp_path)


def test_fashion_mnist_classes_and_shape_from_header(tmp_path: Path) -> None:
    write_mnist_like(tmp_path / "fashion-mnist", rows=10, cols=12)
    data = load_dataset("Fashion_MNIST", data_dir=tmp_path)  # finds the per-dataset folder
    assert data.name == "fashion-mnist" and data.classes == FASHION_CLASSES
    assert data.sample_shape == (1, 10, 12) and data.classes[9] == "Ankle boot"


def test_missing_idx_files_are_named(tmp_path: Path) -> None:
    write_mnist_like(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", data_dir=tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message
    assert "train-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message
    assert "train-labels" not in message.split("lacks")[1].split(";")[0]


def test_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("mnist", data_dir=tmp_path / "nowhere")


@pytest.mark.parametrize("cut", [-1, +1])
def test_wrong_idx_size_names_file_and_sizes(tmp_path: Path, cut: int) -> None:
    write_mnist_like(tmp_path, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut < 0 else data + b"\0")
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", data_dir=tmp_path)
    message = str(error.value)
    assert str(path) in message and f"{len(data)} bytes" in message
    assert f"holds {len(data) + cut} bytes" in message
    assert ("truncated" if cut < 0 else "too long") in message


def test_gzip_header_promising_too_much_is_caught_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(struct.pack(">IIII", 0x803, 60000, 28, 28) + b"\0" * 100))
    with pytest.raises(DatasetError, match=r"needs 47040016 bytes .* holds at most \d+ bytes"):
        read_idx(path, 3)


def test_truncated_gzip_names_file(tmp_path: Path) -> None:
    write_mnist_like(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz"):
        load_dataset("mnist", data_dir=tmp_path)


def test_bad_magic(tmp_path: Path) -> None:
    write_mnist_like(tmp_path, gz=False)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x0d\x01" + path.read_bytes()[4:])
    with pytest.raises(DatasetError, match=r"magic number 0x00000D01, expected 0x00000801"):
        load_dataset("mnist", data_dir=tmp_path)


def test_image_and_label_counts_must_agree(tmp_path: Path) -> None:
    write_mnist_like(tmp_path, train=12)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(11, dtype=np.uint8))
    with pytest.raises(DatasetError, match="holds 12 images but .* holds 11 labels"):
        load_dataset("mnist", data_dir=tmp_path)


def test_label_beyond_classes(tmp_path: Path) -> None:
    write_mnist_like(tmp_path)
    labels = np.zeros(5, dtype=np.uint8)
    labels[3] = 10
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    with pytest.raises(DatasetError, match="label 10 at sample 3 is not a class index 0..9"):
        load_dataset("mnist", data_dir=tmp_path)


def _check_cifar(data_dir: Path, blobs: dict[str, bytes]) -> None:
    data = load_dataset("cifar10", data_dir=data_dir)
    assert data.sample_shape == (3, 32, 32) and data.classes == CIFAR_CLASSES
    assert data.scale == 255.0 and data.kind == "image"
    assert data.train.x.shape == (20, 3, 32, 32) and data.test is not None
    assert len(data.test) == 4 and data.train.x.flags.writeable
    first = np.frombuffer(blobs["data_batch_1.bin"], dtype=np.uint8)[:RECORD]
    assert data.train.y[0] == first[0]
    np.testing.assert_array_equal(data.train.x[0, 0].ravel(), first[1:1025])  # red plane first
    np.testing.assert_array_equal(data.train.x[0, 2, 31], first[-32:])
    last = np.frombuffer(blobs["test_batch.bin"], dtype=np.uint8)[-RECORD:]
    np.testing.assert_array_equal(data.test.x[-1].ravel(), last[1:])


def test_cifar_from_archive(tmp_path: Path) -> None:
    blobs = cifar_blobs()
    write_cifar_tar(tmp_path / "cifar-10-binary.tar.gz", blobs,
                    extra={"cifar-10-batches-bin/batches.meta.txt": b"airplane\n"})
    _check_cifar(tmp_path, blobs)


def test_cifar_from_extracted_folder(tmp_path: Path) -> None:
    blobs = cifar_blobs()
    write_cifar_files(tmp_path / "cifar-10-batches-bin", blobs)
    _check_cifar(tmp_path, blobs)


def test_cifar_from_loose_files(tmp_path: Path) -> None:
    blobs = cifar_blobs()
    write_cifar_files(tmp_path, blobs)
    _check_cifar(tmp_path, blobs)


def test_cifar_bad_size(tmp_path: Path) -> None:
    blobs = cifar_blobs()
    blobs["data_batch_3.bin"] += b"\0" * 10
    write_cifar_files(tmp_path, blobs)
    with pytest.raises(DatasetError, match=r"data_batch_3.bin: 12302 bytes is not a whole number"):
        load_dataset("cifar10", data_dir=tmp_path)


def test_cifar_missing_batch_in_folder(tmp_path: Path) -> None:
    blobs = cifar_blobs()
    del blobs["data_batch_4.bin"]
    write_cifar_files(tmp_path, blobs)
    with pytest.raises(DatasetError, match="lacks data_batch_4.bin"):
        load_dataset("cifar10", data_dir=tmp_path)


def test_cifar_archive_missing_member(tmp_path: Path) -> None:
    blobs = cifar_blobs()
    del blobs["test_batch.bin"]
    write_cifar_tar(tmp_path / "cifar-10-binary.tar.gz", blobs)
    with pytest.raises(DatasetError, match="lacks test_batch.bin"):
        load_dataset("cifar10", data_dir=tmp_path)


@pytest.mark.parametrize("member", ["../evil.bin", "/abs/test_batch.bin"])
def test_cifar_archive_with_escaping_member_is_refused(tmp_path: Path, member: str) -> None:
    write_cifar_tar(tmp_path / "cifar-10-binary.tar.gz", cifar_blobs(), extra={member: b"x"})
    with pytest.raises(DatasetError, match="refusing the archive"):
        load_dataset("cifar10", data_dir=tmp_path)
    assert not (tmp_path.parent / "evil.bin").exists()


@pytest.mark.parametrize("pickled", ["data_batch_1", "cifar-10-batches-py",
                                     "cifar-10-python.tar.gz"])
def test_pickled_cifar_is_never_read(tmp_path: Path, pickled: str) -> None:
    if pickled.endswith("-py"):
        (tmp_path / pickled).mkdir()
    else:
        (tmp_path / pickled).write_bytes(b"\x80\x04not read")
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar10", data_dir=tmp_path)
    message = str(error.value)
    assert "pickled Python version" in message and "cifar-10-binary.tar.gz" in message


def test_cifar_nothing_there(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no CIFAR-10 binary data in"):
        load_dataset("cifar10", data_dir=tmp_path)
