"""The code panel: live export_code text, the problems banner, Copy and Export."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import chain, flat_resnet_cifar
from PySide6.QtGui import QGuiApplication

from dlbuilder.backend.codegen import export_code
from dlbuilder.core.block_commands import RenameBlock
from dlbuilder.core.commands import SetParams
from dlbuilder.core.fileformat import load_graph
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.theme import theme_manager
from dlbuilder.gui.panels.code_panel import BANNER_TITLE, CodePanel, default_file_name
from dlbuilder.gui.widgets.highlighter import SYNTAX
from dlbuilder.layers import REGISTRY


@pytest.fixture
def lenet(qtbot) -> tuple[Document, CodePanel]:
    doc = Document(chain(("Conv2d", {"out_channels": 6, "kernel_size": 5}), ("ReLU", {}),
                         ("Flatten", {}), ("Linear", {"out_features": 10})))
    panel = CodePanel(doc)
    qtbot.addWidget(panel)
    panel.resize(700, 300)
    panel.show()
    return doc, panel


def test_shows_the_exported_code(lenet) -> None:
    doc, panel = lenet
    assert panel.text() == export_code(doc.engine, "Net") == panel.code()
    assert not panel.banner.isVisibleTo(panel)


def test_follows_an_edit_after_a_pause(qtbot, lenet) -> None:
    doc, panel = lenet
    doc.push(SetParams("n1", {"out_channels": 7}))
    assert "out_channels=7" not in panel.text()  # debounced, not yet
    qtbot.waitUntil(lambda: "out_channels=7" in panel.text(), timeout=2000)
    assert panel.text() == export_code(doc.engine, "Net")


def test_a_burst_of_edits_generates_once(qtbot, lenet) -> None:
    doc, panel = lenet
    changes: list[int] = []
    panel.code_changed.connect(lambda: changes.append(1))
    for width in (7, 8, 9):
        doc.push(SetParams("n1", {"out_channels": width}))
    qtbot.waitUntil(lambda: "out_channels=9" in panel.text(), timeout=2000)
    qtbot.wait(200)
    assert changes == [1]


def test_error_banner_then_recovery(qtbot, lenet) -> None:
    doc, panel = lenet
    doc.push(SetParams("n1", {"kernel_size": 40}))
    qtbot.waitUntil(lambda: panel.code() is None, timeout=2000)
    assert panel.banner.isVisibleTo(panel) and not panel.editor.isVisibleTo(panel)
    text = panel.banner_label.text()
    assert BANNER_TITLE in text and "n1" in text and "kernel" in text
    assert not panel.copy_button.isEnabled() and not panel.export_button.isEnabled()
    with qtbot.waitSignal(doc.focus_requested) as focused:
        panel.banner_label.linkActivated.emit("node:0")
    assert focused.args == ["n1"]
    doc.undo_stack.undo()
    qtbot.waitUntil(lambda: panel.code() is not None, timeout=2000)
    assert panel.text() == export_code(doc.engine, "Net")
    assert not panel.banner.isVisibleTo(panel) and panel.export_button.isEnabled()


def test_export_to_writes_code_that_compiles(tmp_path: Path, lenet) -> None:
    doc, panel = lenet
    target = tmp_path / "lenet.py"
    with_signal: list[object] = []
    panel.exported.connect(with_signal.append)
    assert panel.export_to(target)
    text = target.read_text(encoding="utf-8")
    assert text == export_code(doc.engine, "Net")
    compile(text, str(target), "exec")
    assert with_signal == [target] and str(target) in panel.status_label.text()


def test_export_failure_is_a_message_not_an_exception(tmp_path: Path, lenet) -> None:
    _doc, panel = lenet
    target = tmp_path / "missing-folder" / "net.py"
    assert not panel.export_to(target)
    assert not target.exists()
    assert "Cannot write" in panel.status_label.text()


def test_export_of_a_broken_graph_is_refused(qtbot, tmp_path: Path, lenet) -> None:
    doc, panel = lenet
    doc.push(SetParams("n1", {"kernel_size": 40}))
    assert not panel.export_to(tmp_path / "net.py")
    assert "fix the problems" in panel.status_label.text()


def test_copy_puts_the_code_on_the_clipboard(lenet) -> None:
    _doc, panel = lenet
    assert panel.copy_to_clipboard()
    assert QGuiApplication.clipboard().text() == panel.code()


def test_scroll_position_survives_an_update(qtbot) -> None:
    doc = Document(flat_resnet_cifar())
    panel = CodePanel(doc)
    qtbot.addWidget(panel)
    panel.resize(600, 200)
    panel.show()
    bar = panel.editor.verticalScrollBar()
    assert bar.maximum() > 20
    bar.setValue(20)
    doc.push(SetParams("fc", {"out_features": 12}))
    qtbot.waitUntil(lambda: "out_features=12" in panel.text(), timeout=2000)
    assert bar.value() == 20


def test_suggested_name_comes_from_the_graph(lenet) -> None:
    doc, panel = lenet
    assert default_file_name("resnet cifar-10") == "resnet_cifar_10.py"
    assert default_file_name("10 layers") == "model_10_layers.py"
    assert panel.suggested_path().name == f"{doc.graph.name}.py"


def test_highlighter_follows_the_theme(lenet) -> None:
    _doc, panel = lenet
    manager = theme_manager()
    before = manager.choice
    try:
        manager.apply("dark")
        assert panel.highlighter.format_for("keyword").foreground().color().name() == \
            SYNTAX["dark"].keyword
        manager.apply("light")
        assert panel.highlighter.format_for("keyword").foreground().color().name() == \
            SYNTAX["light"].keyword
    finally:
        manager.apply(before)


def _kinds(highlighter, doc, line: int) -> dict[str, str]:
    """The colour at each character of a line, mapped back to the format kind."""
    by_color = {highlighter.format_for(k).foreground().color().name(): k
                for k in ("keyword", "name", "builtin", "string", "number", "comment")}
    block = doc.findBlockByNumber(line)
    out = {}
    for fmt in block.layout().formats():
        text = block.text()[fmt.start:fmt.start + fmt.length]
        out[text] = by_color.get(fmt.format.foreground().color().name(), "?")
    return out


def test_highlighter_colours_python(qtbot) -> None:
    from PySide6.QtGui import QTextDocument

    from dlbuilder.gui.widgets.highlighter import PythonHighlighter

    text = ('"""Doc line one\nstill the docstring\n"""\n'
            "class Net(nn.Module):  # a comment with 'quotes'\n"
            "    x = self.fc(3, 'a') + 0.5\n")
    doc = QTextDocument()
    doc.setPlainText(text)
    highlighter = PythonHighlighter(doc)
    assert _kinds(highlighter, doc, 1) == {"still the docstring": "string"}
    line = _kinds(highlighter, doc, 3)
    assert line["class"] == "keyword" and line["Net"] == "name"
    assert line["# a comment with 'quotes'"] == "comment"
    line = _kinds(highlighter, doc, 4)
    assert line["'a'"] == "string" and line["3"] == "number" and line["0.5"] == "number"
    assert line["self"] == "builtin"


def test_renaming_a_block_from_inside_it_updates_the_code(qtbot) -> None:
    tiny = Path(__file__).resolve().parents[2] / "core" / "data" / "blocks_tiny.json"
    doc = Document(load_graph(tiny, REGISTRY))
    panel = CodePanel(doc)
    qtbot.addWidget(panel)
    doc.open_block("layer2")  # the canvas shows Stage's inside: no top-level node changes
    doc.push(RenameBlock("Stage", "Stage2"), scoped=False)
    qtbot.waitUntil(lambda: "class Stage2(" in panel.text(), timeout=2000)
