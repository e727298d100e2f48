"""The inspector: live edits as one undo step per field, following undo and other views,
inline errors that change nothing, the explanation with the user's numbers, fixes, curves."""

from __future__ import annotations

import pytest
from helpers import chain, example_graph
from PySide6.QtCore import Qt

from dlbuilder.core.commands import SetParams
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.theme import theme_manager
from dlbuilder.gui.panels.inspector import InspectorPanel
from dlbuilder.gui.panels.inspector_text import split_formula


@pytest.fixture
def lenet(qtbot):
    doc = Document(example_graph("lenet5"))
    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(300, 800)
    panel.show()
    return doc, panel


def test_hint_for_no_or_many_selected(lenet) -> None:
    doc, panel = lenet
    assert panel.node is None and panel.hint_label.isVisibleTo(panel)
    assert "Select a layer" in panel.hint_label.text()
    doc.select(["c1", "c3"])
    assert panel.node is None and "2 layers" in panel.hint_label.text()
    doc.select(["c1"])
    assert panel.node == "c1" and not panel.hint_label.isVisibleTo(panel)
    assert panel.node_box.isVisibleTo(panel)
    assert "Conv2d" in panel.title_label.text() and "c1" in panel.title_label.text()
    assert panel.summary_label.text() == doc.registry.get("Conv2d").summary


def test_fields_come_from_the_declaration(lenet) -> None:
    doc, panel = lenet
    doc.select(["c1"])
    assert list(panel.fields) == [p.name for p in doc.registry.get("Conv2d").params]
    assert panel.fields["out_channels"].spin.value() == 6
    assert panel.fields["kernel_size"].first.value() == 5
    assert panel.fields["padding"].first.value() == 2


def test_changing_a_field_edits_the_graph_live_as_one_undo_step(lenet) -> None:
    doc, panel = lenet
    doc.select(["c1"])
    steps = doc.undo_stack.count()
    kernel = panel.fields["kernel_size"]
    kernel.first.setValue(3)
    assert doc.graph.params("c1")["kernel_size"] == 3
    assert doc.engine.info("c1").output_shape == (6, 30, 30)  # (28 - 3 + 2*2)/1 + 1
    assert "(28 - 3 + 2*2)/1 + 1 = 30" in panel.explain_text()
    kernel.first.setValue(7)
    kernel.first.setValue(9)
    assert doc.engine.info("c1").output_shape == (6, 24, 24)
    assert "(28 - 9 + 2*2)/1 + 1 = 24" in panel.explain_text()
    assert "Output 6x24x24" in panel.result_label.text()
    assert doc.undo_stack.count() == steps + 1  # merged: one step for the field
    panel.fields["out_channels"].spin.setValue(8)
    assert doc.undo_stack.count() == steps + 2  # another field, another step
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.graph.params("c1")["kernel_size"] == 5
    assert kernel.first.value() == 5 and kernel.second.value() == 5  # the field followed
    assert panel.fields["out_channels"].spin.value() == 6
    assert "(28 - 5 + 2*2)/1 + 1 = 28" in panel.explain_text()


def test_unlocked_pair_writes_a_list(lenet) -> None:
    doc, panel = lenet
    doc.select(["c1"])
    kernel = panel.fields["kernel_size"]
    kernel.lock.setChecked(False)
    kernel.second.setValue(3)
    assert doc.graph.params("c1")["kernel_size"] == [5, 3]
    assert doc.engine.info("c1").output_shape == (6, 28, 30)


def test_external_changes_update_the_fields_without_an_echo(lenet) -> None:
    doc, panel = lenet
    doc.select(["c1"])
    steps = doc.undo_stack.count()
    doc.push(SetParams("c1", {"out_channels": 12}))
    assert panel.fields["out_channels"].spin.value() == 12
    assert doc.undo_stack.count() == steps + 1  # the field did not push it again
    assert "D2 = K = 12" in panel.explain_text()


def test_input_shape_applies_as_it_is_typed_as_one_undo_step(lenet, qtbot) -> None:
    doc, panel = lenet
    doc.select(["input"])
    steps = doc.undo_stack.count()
    line = panel.fields["shape"].line
    line.selectAll()
    qtbot.keyClicks(line, "1, 32, 32")  # no Enter: applied once typing pauses
    qtbot.waitUntil(lambda: doc.graph.params("input")["shape"] == [1, 32, 32], timeout=2000)
    assert doc.engine.info("c1").output_shape == (6, 32, 32)
    assert doc.undo_stack.count() == steps + 1
    qtbot.keyClicks(line, ", 0")  # not a shape: said, not applied
    assert panel.fields["shape"].error() is not None
    assert doc.graph.params("input")["shape"] == [1, 32, 32]
    doc.undo_stack.undo()
    assert doc.graph.params("input")["shape"] == [1, 28, 28]
    assert line.text() == "1, 28, 28"


def test_explain_lines_carry_the_users_numbers(lenet) -> None:
    doc, panel = lenet
    doc.select(["c3"])
    text = panel.explain_text()
    assert "(14 - 5 + 2*0)/1 + 1 = 10" in text
    assert "(5*5*6)*16 + 16 = 2,416" in text
    assert "2,416 parameters" in panel.result_label.text()
    assert panel.explain_label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse


def test_split_formula_puts_formula_and_numbers_on_lines_of_their_own() -> None:
    assert split_formula("H = (H1 - F + 2P)/S + 1: H = (28 - 5 + 2*2)/1 + 1 = 28") == (
        "H = (H1 - F + 2P)/S + 1", "H = (28 - 5 + 2*2)/1 + 1 = 28")
    assert split_formula("params = (F*F*D1)*K + K = (5*5*1)*6 + 6 = 156") == (
        "params = (F*F*D1)*K + K", "= (5*5*1)*6 + 6 = 156")
    assert split_formula("output = input = 6x28x28") is None


def test_activation_shows_its_curve(lenet) -> None:
    doc, panel = lenet
    doc.select(["c1"])
    assert not panel.curve_plot.isVisibleTo(panel)
    doc.select(["tanh1"])
    assert panel.curve_plot.isVisibleTo(panel)
    xs, ys, ds = panel.curve_plot.curve_data()
    assert len(xs) == len(ys) == len(ds) > 100
    assert max(ys) == pytest.approx(0.99933, abs=1e-4) and max(ds) == pytest.approx(1.0)
    assert panel.curve_plot.title().startswith("Tanh")


def test_curve_follows_the_parameters(qtbot) -> None:
    doc = Document(chain(("Linear", {"out_features": 4}), ("LeakyReLU", {}), shape=[8]))
    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    doc.select(["n2"])
    panel.fields["negative_slope"].spin.setValue(0.2)
    assert doc.graph.params("n2") == {"negative_slope": 0.2}
    _, ys, _ = panel.curve_plot.curve_data()
    assert ys[0] == pytest.approx(-0.8)  # f(-4) = 0.2 * -4
    assert "0.2" in panel.curve_plot.title()


def test_problems_offer_their_fixes(qtbot) -> None:
    doc = Document(chain(("Conv2d", {"out_channels": 8, "kernel_size": 7}), shape=[1, 4, 4]))
    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    doc.select(["n1"])
    assert panel.problems_box.isVisibleTo(panel)
    assert panel.fields["kernel_size"]._marked == "error"  # the field the problem names
    assert theme_manager().theme.error in panel.fields["kernel_size"].frame.styleSheet()
    assert panel.fields["stride"]._marked is None
    buttons = panel.fix_buttons()
    assert [b.text() for b in buttons] == ["Set padding = 2"]
    buttons[0].click()
    assert doc.graph.params("n1")["padding"] == 2
    assert panel.fields["padding"].first.value() == 2
    assert doc.engine.info("n1").output_shape == (8, 2, 2)
    assert not panel.problems_box.isVisibleTo(panel)
    assert panel.fields["kernel_size"]._marked is None


def test_downstream_of_a_problem_says_why_it_has_no_numbers(qtbot) -> None:
    doc = Document(chain(("Conv2d", {"out_channels": 8, "kernel_size": 7}), ("ReLU", {}),
                         shape=[1, 4, 4]))
    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    doc.select(["n2"])
    assert "a layer before this one has a problem" in panel.explain_text()


def test_removed_node_and_replaced_graph_clear_the_panel(lenet) -> None:
    doc, panel = lenet
    doc.select(["c1"])
    doc.replace(example_graph("digits_cnn"))
    assert panel.node is None and panel.fields == {}
    doc.select(["conv1"])
    assert panel.node == "conv1"
    doc.graph.remove_node("conv1")
    assert panel.node is None


def test_refused_edit_puts_the_graph_value_back(lenet) -> None:
    doc, panel = lenet
    doc.select(["c1"])
    doc.read_only_reason = "training is running"
    panel.fields["out_channels"].spin.setValue(9)
    assert doc.graph.params("c1")["out_channels"] == 6
    assert panel.fields["out_channels"].spin.value() == 6


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_theme_switch_keeps_the_node(lenet, theme: str) -> None:
    doc, panel = lenet
    doc.select(["tanh1"])
    theme_manager().apply(theme)
    assert panel.node == "tanh1" and panel.curve_plot.isVisibleTo(panel)
    panel.grab()  # paints without error
