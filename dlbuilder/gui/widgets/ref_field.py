"""A parameter field that can also hold a reference to the enclosing block's parameters.

Inside a block definition a whole-number field may say `channels * 4` instead of a number. The
user types `=` in the field (or picks a block parameter from the small menu beside it) and the
field turns into an expression line with a look of its own, followed by the value it has for
the instance being shown. The file then holds `{"expr": "channels * 4"}` (core/blocks.ref). The
text is stored as typed, even when it cannot be evaluated: the engine's diagnostic (code
bad_reference) is shown under the field and the text stays there to be corrected.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QWidget,
)

from dlbuilder.core.blocks import BlockParam, is_ref, ref
from dlbuilder.core.params import ParamSpec
from dlbuilder.gui.look.theme import Theme
from dlbuilder.gui.widgets.fields import FieldWidget, make_field

REF_KINDS = ("int", "pair")  # the fields whose value may be a whole-number expression
NUMBER_ACTION = "Use a number"
EXPRESSION_ACTION = "Type an expression…"


def can_refer(spec: ParamSpec) -> bool:
    """Whether a field of this declaration may hold a reference (whole numbers only)."""
    return spec.kind in REF_KINDS and spec.element == "int"


def expression_text(text: str) -> str:
    """What the user typed, without the `=` that starts an expression."""
    text = text.strip()
    return text[1:].strip() if text.startswith("=") else text


class RefFieldWidget(FieldWidget):
    """A field (`inner`, the usual editor for the declaration) that may instead hold an
    expression over `block_params`. `value_changed` carries a number as the inner field's does,
    or `{"expr": text}`."""

    def __init__(self, spec: ParamSpec, block_params: tuple[BlockParam, ...],
                 parent: QWidget | None = None) -> None:
        self.block_params = tuple(block_params)
        self.inner = make_field(spec)
        self.expr_line = QLineEdit()
        self.value_label = QLabel()
        self.ref_button = QToolButton()
        self._evaluated: Any = None
        self._diagnostic: str | None = None
        super().__init__(spec, parent)
        self.inner.setParent(self)
        self.inner.value_changed.connect(self._on_inner_value_changed)
        self._add(self.inner, 1)
        self.expr_line.setObjectName("expressionLine")
        self.expr_line.setPlaceholderText("e.g. " + self._example())
        self.expr_line.setToolTip(self._expression_tip())
        self.expr_line.editingFinished.connect(self._on_expr_line_editing_finished)
        self.row.addWidget(self.expr_line, 1)
        self.value_label.setObjectName("expressionValue")
        self.row.addWidget(self.value_label)
        self._build_menu()
        for editor in self.inner.findChildren(QAbstractSpinBox):
            editor.installEventFilter(self)
        self._set_mode(False)

    # -- public ---------------------------------------------------------------------------------
    def is_expression(self) -> bool:
        return is_ref(self._raw)

    def expression(self) -> str | None:
        """The expression shown (as typed), or None when the field holds a number."""
        return self.expr_line.text() if not self.expr_line.isHidden() else None

    def set_evaluated(self, value: Any) -> None:
        """The value the expression has for the instance shown (None: not known)."""
        self._evaluated = value
        self.value_label.setText(f"= {_plain(value)}" if value is not None else "= ?")

    def set_diagnostic(self, message: str | None) -> None:
        """The engine's word on the reference (bad_reference), shown under the field."""
        self._diagnostic = message
        self.show_error(message)

    def start_expression(self, text: str = "") -> None:
        """Turn the field into an expression line holding `text`, focused, not yet applied."""
        self._set_mode(True)
        self.expr_line.setText(text)
        self.expr_line.setFocus(Qt.FocusReason.OtherFocusReason)

    def choose_number(self) -> None:
        """Back to a number: the expression's value where known, else the default."""
        value = _raw_number(self._evaluated)
        self._set_mode(False)
        self.inner.set_value(value)
        if self.is_expression():
            self._emit(value)

    # -- FieldWidget ----------------------------------------------------------------------------
    def _show_value(self, raw: Any) -> None:
        expression = is_ref(raw)
        self._set_mode(expression)
        if expression:
            if not self.expr_line.hasFocus():  # keep what is being typed
                self.expr_line.setText(raw["expr"])
        else:
            self.inner.set_value(raw)

    def _display_value(self, raw: Any) -> Any:
        return raw

    def _problem_with(self, raw: Any) -> str | None:
        return self._diagnostic if is_ref(raw) else None

    def _restyle(self, theme: Theme) -> None:
        super()._restyle(theme)
        self.expr_line.setStyleSheet(
            f"QLineEdit#expressionLine {{ color: {theme.highlight}; background: {theme.alt_base};"
            f" border: 1px dashed {theme.highlight}; border-radius: 3px; padding: 1px 4px; }}")
        self.value_label.setStyleSheet(f"color: {theme.muted};")

    # -- building -------------------------------------------------------------------------------
    def _build_menu(self) -> None:
        self.ref_button.setText("=")
        bold = QFont(self.ref_button.font())
        bold.setBold(True)
        self.ref_button.setFont(bold)
        self.ref_button.setAutoRaise(True)
        self.ref_button.setToolTip("Refer to a parameter of this block (or type = in the field)")
        self.ref_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self.ref_button)
        for param in self.block_params:
            action = self.menu.addAction(param.describe())
            action.triggered.connect(partial(self._on_param_chosen, param.name))
        if self.block_params:
            self.menu.addSeparator()
        self.menu.addAction(EXPRESSION_ACTION).triggered.connect(self._on_expression_chosen)
        self.number_action = self.menu.addAction(NUMBER_ACTION)
        self.number_action.triggered.connect(self.choose_number)
        self.ref_button.setMenu(self.menu)
        self.row.addWidget(self.ref_button)

    def _example(self) -> str:
        name = self.block_params[0].name if self.block_params else "channels"
        return f"{name} * 2"

    def _expression_tip(self) -> str:
        names = ", ".join(p.name for p in self.block_params) or "none yet"
        return (f"<b>{self.spec.name}</b> follows this block's parameters: whole numbers, "
                f"names ({names}), + - * // % and parentheses.<br>Enter or leaving the field "
                "applies it; the menu beside it goes back to a number.")

    def _set_mode(self, expression: bool) -> None:
        self.inner.setVisible(not expression)
        self.expr_line.setVisible(expression)
        self.value_label.setVisible(expression)
        self.number_action.setEnabled(expression)

    # -- handlers -------------------------------------------------------------------------------
    def _on_inner_value_changed(self, raw: Any) -> None:
        self._diagnostic = None
        self._emit(raw)

    def _on_param_chosen(self, name: str) -> None:
        self._set_mode(True)
        self.expr_line.setText(name)
        self._apply_expression()

    def _on_expression_chosen(self) -> None:
        self.start_expression(self.expr_line.text() if self.is_expression() else "")

    def _on_expr_line_editing_finished(self) -> None:
        self._apply_expression()

    def _apply_expression(self) -> None:
        text = expression_text(self.expr_line.text())
        if not text:  # emptied: what the graph holds comes back
            self._show_value(self._raw)
            return
        self.expr_line.setText(text)
        if ref(text) != self._raw:
            self._diagnostic = None
            self._emit(ref(text))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """`=` typed into the number turns the field into an expression."""
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) \
                and event.text() == "=":
            self.start_expression()
            return True
        return super().eventFilter(watched, event)


def _raw_number(value: Any) -> Any:
    """A checked value as the file writes it: 3 for 3 or (3, 3), [3, 5] for (3, 5); None for
    anything else (the field then shows its default)."""
    if isinstance(value, (list, tuple)) and value:
        return value[0] if len(set(value)) == 1 else list(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _plain(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "x".join(str(v) for v in value) if len(set(value)) > 1 else str(value[0])
    return str(value)


def make_ref_field(spec: ParamSpec, block_params: tuple[BlockParam, ...] | None,
                   parent: QWidget | None = None) -> FieldWidget:
    """The editor for one parameter: one that may refer to `block_params` where the field
    takes whole numbers and the layer is inside a block (`block_params` not None), else the
    usual one."""
    if block_params is not None and can_refer(spec):
        return RefFieldWidget(spec, block_params, parent)
    return make_field(spec, parent)
