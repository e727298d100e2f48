"""Parameter editors built from ParamSpecs: raw JSON values out, set_value without echo,
the pair lock, string and default modes, and inline errors for what cannot be used."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from dlbuilder.core.params import ParamSpec
from dlbuilder.gui.widgets.fields import (
    SHAPE_PAUSE_MS,
    FloatFieldWidget,
    IntFieldWidget,
    PairFieldWidget,
    ShapeFieldWidget,
    SidesFieldWidget,
    make_field,
)
from dlbuilder.layers import REGISTRY


def spec_of(type_name: str, name: str) -> ParamSpec:
    return REGISTRY.get(type_name).param_index[name]


@pytest.fixture
def emitted():
    return []


def field_for(qtbot, type_name: str, name: str, emitted: list, raw=None):
    field = make_field(spec_of(type_name, name))
    qtbot.addWidget(field)
    field.set_value(raw)
    field.value_changed.connect(emitted.append)
    return field


def test_every_declared_parameter_gets_a_field_that_shows_its_default(qtbot) -> None:
    for spec in REGISTRY:
        for param in spec.params:
            field = make_field(param)
            qtbot.addWidget(field)
            field.set_value(param.start_value)
            assert field.error() is None, (spec.type, param.name)
            assert param.doc in field.toolTip()


def test_int_field_uses_the_declared_range_and_emits_ints(qtbot, emitted) -> None:
    field = field_for(qtbot, "Conv2d", "out_channels", emitted, 6)
    assert isinstance(field, IntFieldWidget)
    assert field.spin.minimum() == 1 and field.spin.maximum() == 2**31 - 1
    assert field.spin.value() == 6 and emitted == []  # set_value does not echo
    field.spin.setValue(12)
    assert emitted == [12] and isinstance(emitted[0], int)
    free = field_for(qtbot, "Flatten", "end_dim", [], None)
    assert free.spin.minimum() < 0 and free.spin.value() == -1  # no minimum; the default shows


def test_out_of_range_value_from_the_file_is_shown_inline(qtbot, emitted) -> None:
    field = field_for(qtbot, "Conv2d", "out_channels", emitted, 0)
    assert "at least 1" in field.error()
    assert field.error_label.isVisibleTo(field)
    field.spin.setValue(3)
    assert field.error() is None and emitted == [3]


def test_required_value_missing_is_shown_inline(qtbot, emitted) -> None:
    field = field_for(qtbot, "Linear", "out_features", emitted, None)
    assert "needs a value" in field.error()


def test_float_spin_and_typed_tiny_float(qtbot, emitted) -> None:
    dropout = field_for(qtbot, "Dropout", "p", emitted, None)
    assert isinstance(dropout, FloatFieldWidget) and not dropout.typed
    assert dropout.spin.value() == 0.5 and dropout.spin.maximum() == 1.0
    assert dropout.spin.text() == "0.5"
    dropout.spin.setValue(0.25)
    assert emitted == [0.25]
    eps_emitted: list = []
    eps = field_for(qtbot, "BatchNorm2d", "eps", eps_emitted, None)
    assert eps.typed
    qtbot.keyClicks(eps.line, "abc")
    assert eps.error() is not None and eps_emitted == []
    eps.line.clear()
    qtbot.keyClicks(eps.line, "-1")
    assert "at least 0" in eps.error() and eps_emitted == []
    eps.line.clear()
    qtbot.keyClicks(eps.line, "1e-3")
    assert eps.error() is None and eps_emitted == []  # applied on Enter
    qtbot.keyClick(eps.line, Qt.Key.Key_Return)
    assert eps_emitted == [0.001]


def test_bool_and_choice(qtbot, emitted) -> None:
    bias = field_for(qtbot, "Conv2d", "bias", emitted, None)
    assert bias.check.isChecked()
    bias.check.setChecked(False)
    loss = field_for(qtbot, "Output", "loss", emitted, "MSELoss")
    assert loss.combo.currentText() == "MSELoss"
    loss.combo.setCurrentText("L1Loss")
    assert emitted == [False, "L1Loss"]


def test_pair_lock_keeps_square_values_square(qtbot, emitted) -> None:
    field = field_for(qtbot, "Conv2d", "kernel_size", emitted, 3)
    assert isinstance(field, PairFieldWidget) and field.locked()
    field.first.setValue(5)
    assert field.second.value() == 5 and emitted == [5]
    field.lock.setChecked(False)
    assert emitted == [5]  # unlocking alone changes nothing
    field.first.setValue(7)
    assert field.second.value() == 5 and emitted[-1] == [7, 5]
    field.lock.setChecked(True)  # locking again makes it square, from the first number
    assert field.second.value() == 7 and emitted[-1] == 7


def test_pair_set_value_locks_only_square_values(qtbot, emitted) -> None:
    field = field_for(qtbot, "Conv2d", "kernel_size", emitted, [3, 5])
    assert not field.locked() and (field.first.value(), field.second.value()) == (3, 5)
    field.set_value(4)
    assert field.locked() and field.second.value() == 4
    field.set_value([2, 2])
    assert field.locked()
    assert emitted == []


def test_pair_strings_choose_between_numbers_and_same_or_valid(qtbot, emitted) -> None:
    field = field_for(qtbot, "Conv2d", "padding", emitted, "valid")
    assert field.mode.currentText() == "valid" and not field.first.isVisibleTo(field)
    field.mode.setCurrentText("same")
    field.mode.setCurrentText("number")
    assert emitted == ["same", 0]
    assert field.first.isVisibleTo(field)


def test_nullable_pair_offers_the_default(qtbot, emitted) -> None:
    field = field_for(qtbot, "MaxPool2d", "stride", emitted, None)
    assert field.mode.currentText() == "default"
    field.mode.setCurrentText("number")
    field.first.setValue(3)
    field.mode.setCurrentText("default")
    assert emitted == [1, 3, None]


def test_float_pair(qtbot, emitted) -> None:
    field = field_for(qtbot, "Upsample", "scale_factor", emitted, 2.0)
    assert field.mode.currentText() == "number" and field.first.value() == 2.0
    field.first.setValue(1.5)
    assert emitted == [1.5] and isinstance(emitted[0], float)


def test_shape_applies_as_it_is_typed_when_it_is_a_shape(qtbot, emitted) -> None:
    field = field_for(qtbot, "Input", "shape", emitted, [1, 28, 28])
    assert isinstance(field, ShapeFieldWidget)
    assert field.line.text() == "1, 28, 28"
    field.line.selectAll()
    qtbot.keyClicks(field.line, "3x32x")  # "3x32x" is not finished: said, not sent
    assert "not finished" in field.error()
    qtbot.wait(SHAPE_PAUSE_MS + 100)
    assert emitted == []
    qtbot.keyClicks(field.line, "32")  # [3], [3, 3], [3, 32] passed by while typing: not sent
    assert field.error() is None and emitted == []
    qtbot.waitUntil(lambda: emitted == [[3, 32, 32]], timeout=2000)  # once typing pauses
    qtbot.keyClick(field.line, Qt.Key.Key_Return)
    assert emitted == [[3, 32, 32]]


def test_enter_applies_a_typed_shape_at_once(qtbot, emitted) -> None:
    field = field_for(qtbot, "Input", "shape", emitted, [1, 28, 28])
    field.line.selectAll()
    qtbot.keyClicks(field.line, "3, 8, 8")
    qtbot.keyClick(field.line, Qt.Key.Key_Return)
    assert emitted == [[3, 8, 8]]
    qtbot.wait(SHAPE_PAUSE_MS + 100)
    assert emitted == [[3, 8, 8]]  # the pause applies nothing more


def test_shape_that_is_not_one_says_why_and_is_not_sent(qtbot, emitted) -> None:
    field = field_for(qtbot, "Input", "shape", emitted, [1, 28, 28])
    field.line.setText("3, 32, 32")
    field.line.selectAll()
    qtbot.keyClicks(field.line, "0")
    assert "positive whole numbers" in field.error() and emitted == []
    qtbot.keyClicks(field.line, ", 4")  # "0, 4": still not a shape
    assert emitted == []
    qtbot.keyClick(field.line, Qt.Key.Key_Return)  # the graph's shape comes back, with why
    assert field.line.text() == "1, 28, 28" and emitted == []
    assert field.error() == ("'0, 4' was not taken: shape takes a list of 1 to 3 positive "
                             "whole numbers, like [1, 28, 28]")
    field.set_value([0])  # a file's bad shape is shown as it is, with its problem
    assert field.line.text() == "0" and field.error() is not None
    qtbot.keyClick(field.line, Qt.Key.Key_Return)  # not edited: no refusal to report
    assert "was not taken" not in field.error()


def test_sides_take_one_number_or_four(qtbot, emitted) -> None:
    field = field_for(qtbot, "ZeroPad2d", "padding", emitted, [0, 1, 0, 1])
    assert isinstance(field, SidesFieldWidget)
    assert field.line.text() == "0, 1, 0, 1"
    field.line.selectAll()
    qtbot.keyClicks(field.line, "2")
    qtbot.keyClick(field.line, Qt.Key.Key_Return)
    assert emitted == [2]  # one number: every side
    field.line.selectAll()
    qtbot.keyClicks(field.line, "1, 2, 3")
    assert field.error() == ("'1, 2, 3' is not a padding: give one whole number, or four, "
                             "like 1 (every side) or 0, 1, 0, 1 (left, right, top, bottom)")
    qtbot.keyClicks(field.line, ", 4")
    qtbot.keyClick(field.line, Qt.Key.Key_Return)
    assert emitted == [2, [1, 2, 3, 4]] and field.error() is None


def test_spin_keys_edit_live(qtbot, emitted) -> None:
    field = field_for(qtbot, "Conv2d", "out_channels", emitted, 6)
    field.spin.selectAll()
    qtbot.keyClicks(field.spin, "32")
    assert emitted[-1] == 32
    qtbot.keyClick(field.spin, Qt.Key.Key_Up)
    assert emitted[-1] == 33


def test_emptied_tiny_float_goes_back_to_the_default(qtbot, emitted) -> None:
    eps = field_for(qtbot, "BatchNorm2d", "eps", emitted, 1e-3)
    assert eps.line.text() == "0.001"
    eps.line.clear()
    qtbot.keyClick(eps.line, Qt.Key.Key_Return)
    assert emitted == [None] and eps.error() is None
