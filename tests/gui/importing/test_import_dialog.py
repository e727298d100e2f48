"""The import dialog before anything runs: the input shape is checked as it is typed, and a
model file's NAMEs are listed by reading it, never by running it (issue 15)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from dlbuilder.core.shape_text import ShapeTextError, read_sample_shape
from dlbuilder.gui.importing.import_dialog import ImportDialog
from dlbuilder.gui.importing.import_worker import (
    ONNX,
    PYTORCH,
    ImportJob,
    ImportOutcome,
    ImportRunner,
    run_import,
)
from dlbuilder.gui.importing.sources import is_module_spec, names_in, split_spec

# Importing (or running) this file would raise: only reading it can list its names.
MODEL_FILE = '''
import torch
from torch import nn
import torch.nn.functional as F

raise RuntimeError("this file was run")


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv(x)) + x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.fc = nn.Linear(3 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.block(x), 1))


class Deeper(Block):
    pass


class Helper:
    pass


def make_net():
    return Net()


def _private():
    return None
'''


@pytest.fixture
def dialog(qtbot, settings: QSettings):
    def make(kind: str = PYTORCH) -> ImportDialog:
        made = ImportDialog(kind, ImportRunner(), settings)
        qtbot.addWidget(made)
        made.show()
        return made
    return make


@pytest.mark.parametrize(("text", "shape"), [
    ("3x224x224", (3, 224, 224)), ("784", (784,)), ("3, 32, 32", (3, 32, 32)),
    (" 1×28×28 ", (1, 28, 28))])
def test_a_typed_shape_is_read(text, shape) -> None:
    assert read_sample_shape(text) == shape


@pytest.mark.parametrize(("text", "says"), [("3x", "not finished"), ("0x3", "not a shape"),
                                            ("1x2x3x4", "not a shape"), ("abc", "not a shape"),
                                            ("3x-2x2", "not a shape")])
def test_a_shape_that_is_not_one_says_why_with_the_example(text, says) -> None:
    with pytest.raises(ShapeTextError) as err:
        read_sample_shape(text)
    assert says in str(err.value) and "3x224x224" in str(err.value)


def test_the_shape_is_checked_as_it_is_typed(dialog, tmp_path) -> None:
    box = dialog()
    model = tmp_path / "model.py"
    model.write_text(MODEL_FILE)
    box.source.setText(str(model))
    box.source.editingFinished.emit()
    box.shape.setText("3x8x")
    assert not box.import_button.isEnabled()
    assert box.shape_hint.isVisible() and "not finished" in box.shape_hint.text()
    assert box.job() is None
    box.shape.setText("3x8x8")
    assert box.import_button.isEnabled() and box.shape_hint.text() == ""
    job = box.job()
    assert job.source == f"{model}:Net" and job.input_shape == (3, 8, 8)
    assert job.kind == PYTORCH and job.weights.suffix == ".pt"


def test_names_are_listed_by_reading_the_file_not_running_it(dialog, tmp_path) -> None:
    model = tmp_path / "model.py"
    model.write_text(MODEL_FILE)
    box = dialog()
    box.source.setText(f"{model}:Deeper")  # a typed spec splits into the file and the NAME
    box.source.editingFinished.emit()
    assert box.source.text() == str(model)
    listed = [box.name.itemText(i) for i in range(box.name.count())]
    assert listed == ["Block", "Net", "Deeper", "make_net"]
    assert box.name.currentText() == "Deeper"
    assert "3 nn.Module subclasses and 1 function" in box.name_hint.text()
    assert "model" not in sys.modules  # never imported
    box.source.setText(str(model))
    box.name.setCurrentText("NotThere")
    box.source.editingFinished.emit()
    assert box.name.currentText() == "Net"  # the model no other class uses, written last


def test_the_dialog_says_it_runs_the_python_code_and_onnx_is_only_read(dialog) -> None:
    assert "runs this Python file's code" in dialog(PYTORCH).note.text()
    onnx = dialog(ONNX)
    assert "only read" in onnx.note.text() and not onnx.name.isVisible()
    onnx.source.setText("/some/model.onnx")
    assert onnx.import_button.isEnabled()  # the shape is optional for ONNX
    assert onnx.job().input_shape is None


def test_unreadable_sources_say_why(dialog, tmp_path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("class Net(nn.Module:\n    pass\n")
    box = dialog()
    box.source.setText(str(broken))
    box.source.editingFinished.emit()
    assert "broken.py line 1" in box.name_hint.text() and box.name.count() == 0
    box.source.setText(str(tmp_path / "missing.py"))
    box.source.editingFinished.emit()
    assert "There is no file" in box.name_hint.text()
    box.source.setText("torchvision.models")
    box.source.editingFinished.emit()
    assert "Type the NAME" in box.name_hint.text()
    assert not box.import_button.isEnabled() or box.name.currentText()


def test_specs_split_into_source_and_name() -> None:
    assert split_spec("path/model.py:Net") == ("path/model.py", "Net")
    assert split_spec("torchvision.models:resnet18") == ("torchvision.models", "resnet18")
    assert split_spec(r"C:\models\net.py") == (r"C:\models\net.py", "")
    assert split_spec("model.py") == ("model.py", "")
    assert is_module_spec("torchvision.models") and not is_module_spec("model.py")
    assert not is_module_spec("models/net.py")


def test_names_in_a_file_without_torch_imports_still_find_nn_bases() -> None:
    names = names_in("import torch.nn as nn\nclass A(nn.Module): pass\nclass B(A): pass\n"
                     "class C(object): pass\n")
    assert names.classes == ("A", "B") and names.suggested == "B"
    assert names_in("x = (\n").problem.startswith("the file line")


def test_the_last_fields_are_remembered(dialog, tmp_path: Path, settings) -> None:
    model = tmp_path / "model.py"
    model.write_text(MODEL_FILE)
    box = dialog()
    box.source.setText(str(model))
    box.source.editingFinished.emit()
    box.shape.setText("3x8x8")
    box.runner.start = lambda job: None  # only the remembering is under test here
    box.import_button.click()
    again = dialog()
    assert (again.source.text(), again.name.currentText(), again.shape.text()) == (
        str(model), "Net", "3x8x8")


def test_return_in_a_field_imports_and_never_cancels(dialog, tmp_path, monkeypatch) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QFileDialog

    browsed = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *a, **k: (browsed.append(a), ("", ""))[1])

    model = tmp_path / "model.py"
    model.write_text(MODEL_FILE)
    box = dialog()
    started = []
    box.runner.start = started.append
    QTest.keyClick(box.shape, Qt.Key.Key_Return)  # nothing to import yet: nothing happens
    assert box.isVisible() and not started
    box.source.setText(str(model))
    box.source.editingFinished.emit()
    box.shape.setText("3x8x8")
    box.browse.setFocus()
    box.shape.setFocus()  # the Browse button had focus once: Return still imports
    QTest.keyClick(box.shape, Qt.Key.Key_Return)
    assert box.isVisible() and [job.source for job in started] == [f"{model}:Net"]
    assert not browsed


def test_a_pytorch_model_needs_the_shape_and_the_field_says_so(dialog, tmp_path) -> None:
    """The importer would refuse it anyway, naming the command line's --input."""
    model = tmp_path / "model.py"
    model.write_text(MODEL_FILE)
    box = dialog()
    box.source.setText(str(model))
    box.source.editingFinished.emit()
    assert box.name.currentText() == "Net" and box.shape.text() == ""
    assert not box.import_button.isEnabled() and box.job() is None
    assert "Needed" in box.shape_hint.text() and "--input" not in box.shape_hint.text()
    box.shape.setText("3x8x8")
    assert box.import_button.isEnabled()


def test_the_onnx_dialog_asks_for_no_name(dialog) -> None:
    for kind, source in ((PYTORCH, "m.py:Net"), (ONNX, "m.onnx")):
        box = dialog(kind)
        job = ImportJob(kind, source, None, Path("w.pt"))
        box.runner.finished.emit(ImportOutcome(job, report="the model file is broken"))
        assert box.report.toPlainText() == "the model file is broken"
        assert ("NAME" in box.report_heading.text()) == (kind == PYTORCH)
        assert "input shape" in box.report_heading.text()


@pytest.mark.slow
def test_a_shape_the_model_does_not_run_on_is_reported_without_the_cli_flag(dialog) -> None:
    model = Path(__file__).parents[2] / "import_models" / "tutorial.py"
    box = dialog()
    outcome = run_import(ImportJob(PYTORCH, f"{model}:Net", (3, 2, 2), Path("unused.pt")))
    assert not outcome.ok
    box.runner.finished.emit(outcome)
    said = box.report.toPlainText()
    assert "does not run on an input of 3x2x2" in said and "--input" not in said


def test_the_import_button_stays_put_while_hints_come_and_go(dialog, tmp_path, qtbot) -> None:
    """A hint appearing or going under the user's typing moved the button (the click missed)."""
    from PySide6.QtWidgets import QApplication

    model = tmp_path / "model.py"
    model.write_text(MODEL_FILE)
    box = dialog()
    qtbot.waitExposed(box)

    def where():
        QApplication.processEvents()
        return box.import_button.mapToGlobal(box.import_button.rect().center())

    start = where()
    box.source.setText(str(model))
    box.source.editingFinished.emit()  # the NAME hint appears
    assert where() == start
    for typed in ("3", "3x", "3x8x", "3x8x8", ""):  # the shape hint changes, goes, comes back
        box.shape.setText(typed)
        assert where() == start, typed
