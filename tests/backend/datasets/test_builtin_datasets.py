"""The embedded digits, the real MNIST from ../shared, and how names are resolved."""

from __future__ import annotations

import gzip
import hashlib
import re
import time
from pathlib import Path

import numpy as np
import pytest
from digits_source import IMAGES, LABELS, convert_digits_csv

from dlbuilder.backend.datasets import BUILTIN, DatasetError, builtin_name, cache_dir, load_dataset
from dlbuilder.backend.datasets.builtin import digits_dir
from dlbuilder.backend.datasets.idx import idx_bytes, read_idx


def test_digits_known_facts() -> None:
    data = load_dataset("digits")
    assert data.name == "digits" and data.source == "built in" and data.test is None
    assert data.sample_shape == (1, 8, 8) and data.scale == 16.0 and data.kind == "image"
    assert data.classes == tuple(str(i) for i in range(10))
    assert data.train.x.shape == (1797, 1, 8, 8) and data.train.x.dtype == np.uint8
    assert data.train.y.dtype == np.int64 and len(data.train) == 1797
    assert data.train.x.min() == 0 and data.train.x.max() == 16
    assert list(data.train.x[0, 0, 0]) == [0, 0, 5, 13, 9, 1, 0, 0] and data.train.y[0] == 0
    counts = np.bincount(data.train.y, minlength=10)
    assert counts.sum() == 1797 and counts.min() >= 170 and counts.max() <= 190


def test_digits_ignores_data_dir_and_never_downloads(tmp_path: Path) -> None:
    data = load_dataset("digits", data_dir=tmp_path / "nowhere", download=False)
    assert len(data.train) == 1797
    assert not cache_dir().exists()


def test_digits_files_match_their_readme() -> None:
    readme = (digits_dir() / "README.md").read_text(encoding="utf-8")
    for name in (IMAGES, LABELS):
        data = (digits_dir() / name).read_bytes()
        rows = [re.findall(r"`([0-9a-f]{32})`", line) for line in readme.splitlines()
                if line.startswith(f"| `{name}`")]
        packed, raw = next(found for found in rows if found)
        assert hashlib.md5(data).hexdigest() == packed
        assert hashlib.md5(gzip.decompress(data)).hexdigest() == raw


def test_idx_writer_reproduces_the_digits_content() -> None:
    data = load_dataset("digits")
    images = gzip.decompress((digits_dir() / IMAGES).read_bytes())
    labels = gzip.decompress((digits_dir() / LABELS).read_bytes())
    assert idx_bytes(data.train.x[:, 0]) == images
    assert idx_bytes(data.train.y.astype(np.uint8)) == labels


def test_digits_conversion_record(tmp_path: Path) -> None:
    rows = [[*range(17), *range(16, -1, -1), *([3] * 30), label] for label in (4, 9)]
    source = tmp_path / "digits.csv.gz"
    source.write_bytes(gzip.compress("\n".join(",".join(map(str, r)) for r in rows).encode()))
    images, labels = convert_digits_csv(source, tmp_path / "out")
    assert read_idx(images, 3).shape == (2, 8, 8) and list(read_idx(labels, 1)) == [4, 9]
    assert list(read_idx(images, 3)[0, 0]) == list(range(8))


def test_real_mnist(mnist_dir: Path) -> None:
    started = time.perf_counter()
    data = load_dataset("mnist", data_dir=mnist_dir)
    seconds = time.perf_counter() - started
    assert data.sample_shape == (1, 28, 28) and data.test is not None
    assert data.train.x.shape == (60000, 1, 28, 28) and data.test.x.shape == (10000, 1, 28, 28)
    assert np.bincount(data.train.y).sum() == 60000 and np.bincount(data.test.y).sum() == 10000
    assert set(np.unique(data.train.y)) == set(range(10))
    assert data.train.y[:5].tolist() == [5, 0, 4, 1, 9]  # the well-known first training labels
    assert seconds < 10, f"reading MNIST took {seconds:.1f} s"


@pytest.mark.parametrize(("given", "expected"), [
    ("MNIST", "mnist"), ("fashion_mnist", "fashion-mnist"), ("Fashion-MNIST", "fashion-mnist"),
    ("CIFAR-10", "cifar10"), ("digits", "digits"), ("./mnist", None), ("svhn", None),
])
def test_builtin_names(given: str, expected: str | None) -> None:
    assert builtin_name(given) == expected


def test_unknown_name_lists_what_is_accepted() -> None:
    with pytest.raises(DatasetError) as error:
        load_dataset("no-such-dataset")
    message = str(error.value)
    assert all(name in message for name in BUILTIN)
    assert "folder of class sub-folders" in message and ".csv" in message and ".npz" in message


def test_unsupported_file_type(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_text("{}")
    with pytest.raises(DatasetError, match=r"does not read \.json files"):
        load_dataset(str(tmp_path / "data.json"))


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setenv("DLBUILDER_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("DLBUILDER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "dlbuilder"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "dlbuilder"


def test_download_off_and_not_cached(offline_cache: Path) -> None:
    with pytest.raises(DatasetError) as error:
        load_dataset("fashion-mnist", download=False)
    message = str(error.value)
    assert str(offline_cache / "fashion-mnist") in message and "downloading is off" in message


def test_loading_digits_imports_neither_pillow_nor_torch() -> None:
    import subprocess
    import sys

    code = ("import sys; from dlbuilder.backend.datasets import load_dataset; "
            "load_dataset('digits'); print('PIL' in sys.modules, 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, timeout=120)
    assert result.stdout.split() == ["False", "False"], result.stderr
