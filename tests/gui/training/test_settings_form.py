"""The training settings form: shows a `training` section without echo, emits {key: value}
for the user's edits (None for a default), survives a bad section and shows its problems,
and goes read-only while training."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QSpinBox

from dlbuilder.gui.look.theme import current
from dlbuilder.gui.training.number_box import (
    CountSpinBox,
    NumberSpinBox,
    format_number,
    ladder_step,
)
from dlbuilder.gui.training.settings_form import (
    CHOICES,
    SettingsForm,
    same_value,
)


@pytest.fixture
def form(qtbot) -> SettingsForm:
    widget = SettingsForm()
    qtbot.addWidget(widget)
    widget.resize(360, 800)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def emitted(form: SettingsForm) -> list[dict]:
    seen: list[dict] = []
    form.changed.connect(seen.append)
    return seen


def type_into(qtbot, form: SettingsForm, key: str, text: str) -> None:
    """What a user does: open the section, select the field's text, type, press Enter."""
    editor = form.editors[key]
    for section in form.sections.values():
        if section.body.isAncestorOf(editor):
            section.set_expanded(True)
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


def choose(qtbot, form: SettingsForm, key: str, value) -> None:
    """Pick the item of `value` in a combo's list, as a click in its popup does."""
    combo = form.editors[key]
    assert isinstance(combo, QComboBox)
    target = [v for _, v in CHOICES[key]].index(value)
    combo.setCurrentIndex(target)
    combo.activated.emit(target)


def test_set_training_shows_values_without_emitting(qtbot, form: SettingsForm,
                                                    emitted: list[dict]) -> None:
    form.set_training({"epochs": 5, "lr": 0.01, "optimizer": "sgd", "momentum": 0.9,
                       "normalize": False, "patience": 3, "val_split": 0.2, "dataset": "mnist"})
    editors = form.editors
    assert editors["epochs"].value() == 5
    assert editors["lr"].text() == "0.01"
    assert editors["optimizer"].currentText() == "SGD"
    assert editors["momentum"].isEnabled() and editors["nesterov"].isEnabled()
    assert editors["normalize"].currentText() == "off"
    assert editors["patience"].text() == "3 epochs"
    assert editors["val_split"].text() == "20 %"
    assert editors["step_size"].text() == "default (1)"  # a third of 5 epochs
    assert form.problems() == [] and emitted == []
    form.set_training({})  # missing keys show the defaults
    assert editors["epochs"].value() == 10 and editors["lr"].text() == "0.001"
    assert editors["patience"].text() == "off" and not editors["momentum"].isEnabled()
    assert emitted == []


def test_typing_a_learning_rate_emits_once(qtbot, form: SettingsForm,
                                           emitted: list[dict]) -> None:
    type_into(qtbot, form, "lr", "0.01")
    assert emitted == [{"lr": 0.01}]
    type_into(qtbot, form, "lr", "1e-3")  # back to the default: remove the key
    assert emitted == [{"lr": 0.01}, {"lr": None}]
    assert "lr" not in form.training()


def test_a_value_out_of_range_is_refused_with_a_reason(qtbot, form: SettingsForm,
                                                      emitted: list[dict]) -> None:
    """The spin box puts the last value back, and the form says what was not taken and why
    (it used to return to the old value without a word)."""
    type_into(qtbot, form, "lr", "0")
    assert form.editors["lr"].text() == "0.001" and emitted == []
    error = form.errors["lr"]
    assert error.isVisibleTo(form)
    assert error.text() == "0 was not taken: this field takes 1e-12 to 1000000"
    type_into(qtbot, form, "epochs", "0")
    assert form.errors["epochs"].text() == "0 was not taken: this field takes a whole " \
                                           "number, 1 or more"
    assert form.problems() == []  # nothing wrong with the settings: the old values stand
    type_into(qtbot, form, "lr", "0.01")  # a value it takes: the message goes
    assert emitted == [{"lr": 0.01}] and not error.isVisibleTo(form)


def test_a_negative_count_is_said_not_turned_positive(qtbot, form: SettingsForm,
                                                      emitted: list[dict]) -> None:
    """Qt dropped the '-' key of a field whose minimum is 1, so "-3" became 3 epochs."""
    type_into(qtbot, form, "epochs", "-3")
    assert emitted == []
    assert form.errors["epochs"].text() == "-3 was not taken: this field takes a whole " \
                                           "number, 1 or more"


def test_arrows_step_the_learning_rate_along_1_2_5(qtbot, form: SettingsForm,
                                                   emitted: list[dict]) -> None:
    form.editors["lr"].stepBy(1)
    form.editors["lr"].stepBy(2)
    assert emitted == [{"lr": 0.002}, {"lr": 0.01}]
    assert [ladder_step(v, 1) for v in (0.001, 0.002, 0.005, 0.003, 0.0)] == [
        0.002, 0.005, 0.01, 0.005, 1e-6]
    assert [ladder_step(v, -1) for v in (0.001, 0.002, 0.003, 1e-6)] == [
        0.0005, 0.001, 0.002, 0.0]
    assert format_number(1e-6) == "1e-6" and format_number(0.001) == "0.001"


def test_fields_of_every_kind_emit_the_file_values(qtbot, form: SettingsForm,
                                                   emitted: list[dict]) -> None:
    type_into(qtbot, form, "patience", "3")
    type_into(qtbot, form, "val_split", "20")
    form.sections["Data and device"].set_expanded(True)
    choose(qtbot, form, "normalize", False)
    flip = form.editors["augment_flip"]
    assert isinstance(flip, QCheckBox)
    form.sections["Regularization"].set_expanded(True)
    qtbot.mouseClick(flip, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(flip, Qt.MouseButton.LeftButton)
    type_into(qtbot, form, "patience", "0")
    assert emitted == [{"patience": 3}, {"val_split": 0.2}, {"normalize": False},
                       {"augment_flip": True}, {"augment_flip": None}, {"patience": None}]
    assert form.training() == {"val_split": 0.2, "normalize": False}


def test_choosing_the_shown_item_again_emits_nothing(qtbot, form: SettingsForm,
                                                     emitted: list[dict]) -> None:
    combo = form.editors["optimizer"]
    combo.activated.emit(combo.currentIndex())  # what re-picking the shown item sends
    assert emitted == []


def test_a_bad_section_shows_its_problems_without_crashing(qtbot, form: SettingsForm,
                                                           emitted: list[dict]) -> None:
    form.set_training({"lr": "fast", "epochs": -3, "bogus": 1})
    problems = form.problems()
    assert len(problems) == 3
    assert any(p.startswith("training.lr: must be a number") for p in problems)
    assert form.errors["lr"].isVisibleTo(form) and "'fast'" in form.errors["lr"].text()
    assert form.errors["epochs"].isVisibleTo(form) and "-3" in form.errors["epochs"].text()
    assert "training.bogus: unknown training setting" in form.message_label.text()
    assert current().error in form.frames["lr"].styleSheet()
    assert current().error not in form.frames["batch_size"].styleSheet()
    assert form.editors["lr"].text() == "0.001" and emitted == []  # the default, shown
    form.set_training(["not", "a", "section"])
    assert form.problems() == ["training: must be an object of settings, not list"]


def test_leaving_a_field_with_an_unusable_value_replaces_it(qtbot, form: SettingsForm,
                                                            emitted: list[dict]) -> None:
    form.set_training({"lr": "fast", "optimizer": "turbo"})
    type_into(qtbot, form, "lr", "0.002")
    choose(qtbot, form, "optimizer", "sgd")
    assert emitted == [{"lr": 0.002}, {"optimizer": "sgd"}]
    assert form.problems() == [] and not form.errors["lr"].isVisibleTo(form)


def test_problems_follow_nesterov_without_sgd(qtbot, form: SettingsForm,
                                              emitted: list[dict]) -> None:
    form.set_training({"nesterov": True})
    assert form.problems() == ["nesterov: needs optimizer sgd with a momentum above 0"]
    assert form.editors["nesterov"].isEnabled()  # so that it can be unticked
    assert form.errors["nesterov"].isVisibleTo(form)
    form.set_training({"optimizer": "sgd", "momentum": 0.9, "nesterov": True})
    assert form.problems() == []
    choose(qtbot, form, "optimizer", "adam")  # Nesterov is SGD's: it goes with it
    assert emitted == [{"optimizer": None, "nesterov": None}]
    assert form.problems() == [] and not form.editors["nesterov"].isChecked()
    assert not form.editors["nesterov"].isEnabled() and not form.editors["momentum"].isEnabled()


def test_locked_disables_every_field(qtbot, form: SettingsForm) -> None:
    form.set_training({"optimizer": "sgd", "schedule": "step"})
    form.set_locked(True)
    assert not any(editor.isEnabled() for editor in form.editors.values())
    form.set_locked(False)
    assert all(form.editors[k].isEnabled() for k in ("epochs", "momentum", "step_size", "gamma"))


def test_sections_fold_and_count_what_is_set(qtbot, form: SettingsForm) -> None:
    section = form.sections["Regularization"]
    assert not section.expanded()
    form.set_training({"weight_decay": 5e-4, "augment_shift": 2})
    assert section.header.text().endswith("2 set") and not section.expanded()
    form.set_training({"augment_shift": "two"})  # a problem inside opens the section
    assert section.expanded()
    qtbot.mouseClick(section.header, Qt.MouseButton.LeftButton)
    assert not section.expanded()


def test_every_control_explains_itself(form: SettingsForm) -> None:
    for key, editor in form.editors.items():
        assert "Default:" in editor.toolTip(), key
        assert form.labels[key].toolTip() == editor.toolTip()
    spin = form.editors["epochs"]
    assert isinstance(spin, QSpinBox) and not spin.keyboardTracking()
    lr = form.editors["lr"]
    assert isinstance(lr, NumberSpinBox) and not lr.keyboardTracking()


def test_number_boxes_show_only_values_they_can_hold(qtbot) -> None:
    share = NumberSpinBox(0.0, 0.999999, factor=100.0, suffix=" %")
    qtbot.addWidget(share)
    assert share.set_number(0.25) and share.text() == "25 %" and share.number() == 0.25
    for bad in (1.5, -0.1, float("nan"), True, "0.2", None):
        assert not share.set_number(bad), bad
    assert share.number() == 0.25  # a refused value leaves the shown one
    count = CountSpinBox(0, suffix=" px", special="off")
    qtbot.addWidget(count)
    assert count.set_count(0) and count.text() == "off"
    assert count.set_count(3) and count.text() == "3 px"
    for bad in (3.0, True, -1, 2**31, "3"):
        assert not count.set_count(bad), bad
    assert count.value() == 3


def test_same_value_tells_flags_from_numbers() -> None:
    assert same_value(0.1, 0.1 + 1e-17) and not same_value(True, 1)
    assert not same_value(None, 0) and same_value("adam", "adam")
