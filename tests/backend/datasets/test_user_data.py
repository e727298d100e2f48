"""The user's own data: image folders (written with Pillow), CSV tables and .npz files."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from dlbuilder.backend.datasets import DatasetError, load_dataset
from dlbuilder.backend.datasets.images import PILLOW_HINT

Image = pytest.importorskip("PIL.Image", reason="Pillow writes the test images")


def save_image(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def gray(value: int, size: tuple[int, int] = (4, 6)) -> np.ndarray:
    return np.full(size, value, dtype=np.uint8)


def test_grayscale_folder(tmp_path: Path) -> None:
    save_image(tmp_path / "zebra" / "a.png", gray(10))
    save_image(tmp_path / "cat" / "b.png", gray(20))
    save_image(tmp_path / "cat" / "a.png", gray(30))
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    data = load_dataset(str(tmp_path))
    assert data.classes == ("cat", "zebra") and data.kind == "image" and data.scale == 255.0
    assert data.sample_shape == (1, 4, 6) and data.test is None
    assert data.name == tmp_path.name and data.source == str(tmp_path)
    np.testing.assert_array_equal(data.train.y, [0, 0, 1])
    np.testing.assert_array_equal(data.train.x[:, 0, 0, 0], [30, 20, 10])  # files sorted


def test_any_colour_image_makes_all_rgb(tmp_path: Path) -> None:
    save_image(tmp_path / "a" / "gray.png", gray(7))
    colour = np.zeros((4, 6, 3), dtype=np.uint8)
    colour[..., 0], colour[..., 2] = 200, 50
    save_image(tmp_path / "b" / "colour.bmp", colour)
    data = load_dataset(str(tmp_path))
    assert data.sample_shape == (3, 4, 6) and data.train.x.dtype == np.uint8
    np.testing.assert_array_equal(data.train.x[0, :, 0, 0], [7, 7, 7])
    np.testing.assert_array_equal(data.train.x[1, :, 0, 0], [200, 0, 50])  # channels first


def test_sizes_must_agree(tmp_path: Path) -> None:
    save_image(tmp_path / "a" / "1.png", gray(1, (4, 6)))
    odd = save_image(tmp_path / "b" / "2.png", gray(1, (5, 6)))
    with pytest.raises(DatasetError) as error:
        load_dataset(str(tmp_path))
    message = str(error.value)
    assert str(odd) in message and "6x5 pixels" in message and "6x4" in message


def test_train_and_test_folders(tmp_path: Path) -> None:
    for split, count in (("train", 3), ("test", 1)):
        for name in ("dog", "cat"):
            for i in range(count):
                save_image(tmp_path / split / name / f"{i}.jpg", gray(100))
    data = load_dataset(str(tmp_path))
    assert data.classes == ("cat", "dog") and len(data.train) == 6
    assert data.test is not None and len(data.test) == 2
    np.testing.assert_array_equal(data.test.y, [0, 1])


def test_test_folder_with_unknown_class(tmp_path: Path) -> None:
    save_image(tmp_path / "train" / "cat" / "0.png", gray(1))
    save_image(tmp_path / "test" / "cow" / "0.png", gray(1))
    with pytest.raises(DatasetError, match="class 'cow' is not among the training classes"):
        load_dataset(str(tmp_path))


def test_empty_class_folder(tmp_path: Path) -> None:
    save_image(tmp_path / "cat" / "0.png", gray(1))
    (tmp_path / "dog").mkdir()
    with pytest.raises(DatasetError, match=r"class folder .*dog holds no images"):
        load_dataset(str(tmp_path))


def test_folder_without_classes(tmp_path: Path) -> None:
    save_image(tmp_path / "0.png", gray(1))
    with pytest.raises(DatasetError, match="holds no class sub-folders"):
        load_dataset(str(tmp_path))


def test_unreadable_image_is_named(tmp_path: Path) -> None:
    save_image(tmp_path / "cat" / "0.png", gray(1))
    broken = tmp_path / "cat" / "1.png"
    broken.write_bytes(b"not a png at all")
    with pytest.raises(DatasetError, match=f"cannot read the image {broken}"):
        load_dataset(str(tmp_path))


def test_without_pillow_the_message_says_how_to_install(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    save_image(tmp_path / "cat" / "0.png", gray(1))
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(DatasetError) as error:
        load_dataset(str(tmp_path))
    assert str(error.value) == PILLOW_HINT
    assert 'python -m pip install "dlbuilder[images]"' in PILLOW_HINT


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_text_labels_in_a_named_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "iris.csv",
                     "\ufefflength,Class,width\n1.5,setosa,2\n\n3,virginica,-4e-1\n2,setosa,0\n")
    data = load_dataset(str(path))
    assert data.kind == "features" and data.scale == 1.0 and data.sample_shape == (2,)
    assert data.classes == ("setosa", "virginica") and data.name == "iris.csv"
    assert data.train.x.dtype == np.float32 and data.test is None
    np.testing.assert_allclose(data.train.x, [[1.5, 2], [3, -0.4], [2, 0]])
    np.testing.assert_array_equal(data.train.y, [0, 1, 0])


def test_csv_integer_labels_in_last_column_sort_numerically(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", "a,b,kind\n1,2,10\n3,4,2\n5,6,2\n")
    data = load_dataset(str(path))
    assert data.classes == ("2", "10")
    np.testing.assert_array_equal(data.train.y, [1, 0, 0])


@pytest.mark.parametrize(("row", "problem"), [
    ("1,abc,0", "line 3, column 'b': 'abc' is not a number"),
    ("1,,0", "line 3, column 'b': missing value"),
    ("1,nan,0", "line 3, column 'b': 'nan' is not a finite number"),
    ("1,2", "line 3: 2 cells, but the header names 3 columns"),
    ("1,2,", "line 3: the label column 'label' is empty"),
])
def test_csv_bad_cell_names_line_and_column(tmp_path: Path, row: str, problem: str) -> None:
    path = write_csv(tmp_path / "bad.csv", f"a,b,label\n1,2,0\n{row}\n")
    with pytest.raises(DatasetError) as error:
        load_dataset(str(path))
    assert str(error.value) == f"{path}, {problem}" or problem in str(error.value)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(("text", "problem"), [
    ("", "is empty"), ("a,label\n", "has a header but no data rows"),
    ("label\n1\n", "line 1: the header names 1 column"),
])
def test_csv_without_data(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(DatasetError, match=problem):
        load_dataset(str(write_csv(tmp_path / "e.csv", text)))


def test_npz_uint8_images(tmp_path: Path) -> None:
    x = np.arange(5 * 4 * 3, dtype=np.uint8).reshape(5, 4, 3)
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 2, 1, 0]))
    data = load_dataset(str(tmp_path / "d.npz"))
    assert data.kind == "image" and data.scale == 255.0 and data.sample_shape == (1, 4, 3)
    assert data.classes == ("0", "1", "2") and data.train.y.dtype == np.int64
    np.testing.assert_array_equal(data.train.x[:, 0], x)


def test_npz_train_and_test_with_class_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x_train=rng.random((6, 3)), y_train=np.arange(6) % 2,
             x_test=rng.random((2, 3)), y_test=np.array([1, 0]), classes=np.array(["no", "yes"]))
    data = load_dataset(str(tmp_path / "d.npz"))
    assert data.kind == "features" and data.scale == 1.0 and data.sample_shape == (3,)
    assert data.classes == ("no", "yes") and data.train.x.dtype == np.float32
    assert data.test is not None and list(data.test.y) == [1, 0]


def test_npz_string_labels_and_channels_last_images(tmp_path: Path) -> None:
    x = np.zeros((3, 8, 8, 3), dtype=np.uint8)
    x[..., 1] = 9
    np.savez(tmp_path / "d.npz", x=x, y=np.array(["dog", "cat", "dog"]))
    data = load_dataset(str(tmp_path / "d.npz"))
    assert data.sample_shape == (3, 8, 8) and data.classes == ("cat", "dog")
    np.testing.assert_array_equal(data.train.y, [1, 0, 1])
    assert data.train.x[0, 1].min() == 9 and data.train.x[0, 0].max() == 0


def test_npz_float_images_keep_scale_one(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.ones((2, 1, 5, 5)), y=np.array([0, 1]))
    data = load_dataset(str(tmp_path / "d.npz"))
    assert data.kind == "image" and data.scale == 1.0 and data.train.x.dtype == np.float32


def test_npz_object_array_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 3)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DatasetError, match="'y' is an object array, which dlbuilder does not read"):
        load_dataset(str(tmp_path / "d.npz"))


@pytest.mark.parametrize(("arrays", "problem"), [
    ({"a": np.zeros(2)}, r"holds the arrays \['a'\]; a dataset needs x and y"),
    ({"x_train": np.zeros((2, 2)), "y_train": np.zeros(2, int), "x_test": np.zeros((1, 2))},
     "x_test and y_test come together"),
    ({"x": np.zeros((2, 2)), "y": np.array([0, 5]), "classes": np.array(["a", "b"])},
     "label 5 at sample 1 is not a class index 0..1"),
    ({"x": np.zeros((2, 2)), "y": np.array([0.5, 1.0])}, "labels must be integer class indices"),
    ({"x": np.zeros((3, 2)), "y": np.array([0, 1])}, "x has 3 samples but its labels number 2"),
    ({"x": np.array([[0.0, np.inf]]), "y": np.array([0])}, "sample 0 holds a NaN or infinite"),
    ({"x": np.zeros(3), "y": np.zeros(3, int)}, r"x has shape \(3,\)"),
])
def test_npz_problems(tmp_path: Path, arrays: dict, problem: str) -> None:
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(DatasetError, match=problem):
        load_dataset(str(tmp_path / "d.npz"))


def test_not_an_npz(tmp_path: Path) -> None:
    (tmp_path / "d.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(DatasetError, match="cannot read .* as .npz"):
        load_dataset(str(tmp_path / "d.npz"))


def test_single_npy_under_npz_name(tmp_path: Path) -> None:
    with open(tmp_path / "d.npz", "wb") as handle:
        np.save(handle, np.zeros(3))
    with pytest.raises(DatasetError, match="single .npy array"):
        load_dataset(str(tmp_path / "d.npz"))


def test_pickle_under_npz_name_is_not_unpickled(tmp_path: Path) -> None:
    import pickle

    (tmp_path / "d.npz").write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(DatasetError, match="cannot read .* as .npz"):
        load_dataset(str(tmp_path / "d.npz"))


def test_read_image_for_prediction(tmp_path: Path) -> None:
    from dlbuilder.backend.datasets.images import read_image

    path = save_image(tmp_path / "big.png", gray(90, (16, 24)))
    pixels, original = read_image(path, channels=3, size=(6, 4))
    assert original == (24, 16) and pixels.shape == (3, 4, 6) and pixels.dtype == np.uint8
    assert pixels.min() == pixels.max() == 90
    pixels, original = read_image(path, channels=1, size=(24, 16))
    assert pixels.shape == (1, 16, 24) and original == (24, 16)
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(DatasetError, match="bad.png"):
        read_image(tmp_path / "bad.png", channels=1, size=(2, 2))
