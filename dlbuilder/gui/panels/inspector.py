"""The inspector: the selected layer's fields, its problems, and how its numbers come about;
inside an open block with nothing selected, the block's own name and parameters.

Fields are built from the layer's declaration and apply live: each change is one SetParams
pushed with a merge key, so typing 1, 12, 128 into a field is one undo step, the engine re-infers
at once and every view repaints without an Apply button. The panel only listens otherwise:
undo, the canvas or a fix change the graph, and the fields follow without echoing the change.
"""

from __future__ import annotations

import html
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QDockWidget,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.core.blocks import BLOCK, instance_definition
from dlbuilder.core.changes import Change
from dlbuilder.core.commands import Macro, SetParams
from dlbuilder.core.diagnostics import Diagnostic, Fix
from dlbuilder.core.hints import SetDismissed
from dlbuilder.core.params import ParamSpec
from dlbuilder.core.receptive_text import explain as explain_receptive
from dlbuilder.core.registry import LayerSpec
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.icons import category_icon, icon, severity_icon
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.panels.block_inspector import (
    block_header,
    fields_stale,
    instance_buttons,
    instance_groups,
    repeat_totals,
)
from dlbuilder.gui.panels.block_params import BlockParamsEditor
from dlbuilder.gui.panels.inspector_text import (
    explain_html,
    field_groups,
    many_selected,
    result_text,
)
from dlbuilder.gui.panels.receptive_view import ReceptiveBox
from dlbuilder.gui.panels.solve_box import SolveBox
from dlbuilder.gui.panels.tuning_box import TuningBox
from dlbuilder.gui.scope import Scope
from dlbuilder.gui.widgets.curve_plot import CurvePlotWidget
from dlbuilder.gui.widgets.fields import FieldWidget
from dlbuilder.gui.widgets.labels import section_label as _section_label
from dlbuilder.gui.widgets.labels import section_style as _section_style
from dlbuilder.gui.widgets.labels import wrapped_label as _wrapped_label
from dlbuilder.gui.widgets.layer_search import category_title
from dlbuilder.gui.widgets.ref_field import RefFieldWidget, make_ref_field
from dlbuilder.gui.widgets.wrap_button import WrapButton

NO_SELECTION = ("Select a layer on the canvas to see and edit its parameters here.\n\n"
                "To add one, drag it from the Layers palette, double-click it there, or press "
                "Tab on the canvas.")
EXPLAIN_TITLE = "How these numbers come about"
BLOCKED = ("The output is not known yet: a layer before this one has a problem, or nothing "
           "is connected to it. Fix that first (see the Problems tab).")
class InspectorPanel(QWidget):
    """Shows and edits the one selected node of `doc`; a hint for none or many."""

    open_requested = Signal(str)  # an instance whose block's inside the user wants to see
    save_requested = Signal(str)  # a block of the file to keep in the user's library

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.node: str | None = None
        self.fields: dict[str, FieldWidget] = {}
        self._pushing = False
        self._explain_lines: list[str] = []
        self._shown_diagnostics: tuple[Diagnostic, ...] | None = None
        self._fix_buttons: list[WrapButton] = []
        self._build()
        doc.selection_changed.connect(self._on_doc_selection_changed)
        doc.changed.connect(self._on_doc_changed)
        theme_manager().changed.connect(self._on_theme_changed)
        doc.scope_changed.connect(self._on_doc_scope_changed)
        self._on_doc_selection_changed(doc.selection())

    @property
    def scope(self) -> Scope:
        """The graph the canvas shows (a block's inside, or the top level)."""
        return self.doc.scope

    # -- construction --------------------------------------------------------------------------
    def _build(self) -> None:
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        # Labels wrap and fix buttons grow taller, so the content fits the dock's width; a
        # horizontal bar appears only in a dock too narrow even for the fields (never a clip).
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        content = QWidget()
        self.content_layout = QVBoxLayout(content)
        self.content_layout.setContentsMargins(10, 8, 10, 10)
        self.content_layout.setSpacing(8)
        self.hint_label = _wrapped_label()
        self.hint_label.setObjectName("hintLabel")
        self.hint_label.setStyleSheet(f"color: {current().muted};")
        self.content_layout.addWidget(self.hint_label)
        self.block_editor = BlockParamsEditor(self.doc)
        self.content_layout.addWidget(self.block_editor)
        self.node_box = QWidget()
        self.node_layout = QVBoxLayout(self.node_box)
        self.node_layout.setContentsMargins(0, 0, 0, 0)
        self.node_layout.setSpacing(8)
        self._build_header()
        self.form_box = QWidget()
        self.form_layout = QVBoxLayout(self.form_box)
        self.form_layout.setContentsMargins(0, 0, 0, 0)
        self.node_layout.addWidget(self.form_box)
        self.tuning_box = TuningBox(self.doc)
        self.node_layout.addWidget(self.tuning_box)
        self.problems_box = QWidget()
        self.problems_layout = QVBoxLayout(self.problems_box)
        self.problems_layout.setContentsMargins(0, 0, 0, 0)
        self.problems_layout.setSpacing(6)
        self.node_layout.addWidget(self.problems_box)
        self._build_explain()
        self.solve_box = SolveBox(self.doc)  # under the output shape it solves for
        self.solve_box.answered.connect(self._on_solve_box_answered)
        self.node_layout.addWidget(self.solve_box)
        self.content_layout.addWidget(self.node_box)
        self.content_layout.addStretch(1)
        self.scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)

    def _build_header(self) -> None:
        row = QHBoxLayout()
        row.setSpacing(8)
        self.icon_label = QLabel()
        self.icon_label.setFixedSize(28, 28)
        self.title_label = QLabel()
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.title_label, 1)
        self.node_layout.addLayout(row)
        self.summary_label = _wrapped_label()
        self.node_layout.addWidget(self.summary_label)
        self.open_button, self.save_button, buttons = instance_buttons()
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.node_layout.addLayout(buttons)
        self.totals_label = _wrapped_label()
        self.node_layout.addWidget(self.totals_label)

    def _build_explain(self) -> None:
        self.explain_title = _section_label(EXPLAIN_TITLE)
        self.node_layout.addWidget(self.explain_title)
        self.explain_label = _wrapped_label()
        self.explain_label.setTextFormat(Qt.TextFormat.RichText)
        self.explain_label.setFont(_monospace_font())
        self.explain_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.explain_label.setToolTip("The formulas with this layer's numbers filled in "
                                      "(select the text to copy it)")
        self.node_layout.addWidget(self.explain_label)
        self.result_label = _wrapped_label()
        bold = QFont(self.result_label.font())
        bold.setBold(True)
        self.result_label.setFont(bold)
        self.node_layout.addWidget(self.result_label)
        self.receptive_box = ReceptiveBox()  # the region one output sees, over a sample
        self.node_layout.addWidget(self.receptive_box)
        self.curve_plot = CurvePlotWidget()
        self.node_layout.addWidget(self.curve_plot)

    # -- showing a node ------------------------------------------------------------------------
    def show_node(self, node: str | None) -> None:
        """Show `node` (None: the hint); fields are rebuilt from its declaration."""
        graph = self.scope.graph
        if node is not None and node not in graph:
            node = None
        self._clear_fields()  # first: a text field left half-typed applies to its own node
        self.node = node
        self._shown_diagnostics = None
        spec = self._spec()
        page = self.scope.block if node is None and not self.doc.selection() else None
        self.hint_label.setVisible(node is None and page is None)
        self.block_editor.show_block(page)  # the open block's own page: nothing selected
        self.node_box.setVisible(node is not None)
        self.solve_box.show_node(node)
        if node is None:
            return
        self._show_header(node, spec)
        instance = graph.type_of(node) == BLOCK
        defn = instance_definition(graph, node) if instance else None
        self.open_button.setVisible(defn is not None)
        self.save_button.setVisible(defn is not None)
        self.totals_label.setVisible(instance)
        if spec is not None:
            self._build_fields(field_groups(spec))
        elif instance:
            self._build_fields(instance_groups(instance_definition(graph, node)))
        self.refresh()

    def _on_solve_box_answered(self) -> None:
        # once the layouts have made room for the new buttons (the box grew, then the scroll
        # area's page with it, an event later), all of it in view
        for delay in (0, 60):
            QTimer.singleShot(delay, self, self._show_solve_box)

    def _show_solve_box(self) -> None:
        self.scroll.ensureWidgetVisible(self.solve_box, 0, 0)
        buttons = self.solve_box.proposal_buttons()
        if buttons:
            self.scroll.ensureWidgetVisible(buttons[-1], 0, 8)

    def ask_solve(self, node: str) -> None:
        """The card menu's "Solve for Size...": show `node`, the cursor in the size field."""
        self.doc.select([node])
        dock = self.parentWidget()
        if isinstance(dock, QDockWidget):
            dock.show()
            dock.raise_()
        self.scroll.ensureWidgetVisible(self.solve_box)
        self.solve_box.ask()

    def refresh(self) -> None:
        """Re-read the shown node: field values, problems, explanation, plot."""
        if self.node is None or self.node not in self.scope.graph:
            return
        self._load_values()
        self._refresh_results()

    def explain_text(self) -> str:
        """The explanation as plain text, one line each (what the label shows)."""
        return "\n".join(self._explain_lines)

    def _spec(self) -> LayerSpec | None:
        if self.node is None:
            return None
        type_name = self.scope.graph.type_of(self.node)
        return self.doc.registry.get(type_name) if type_name in self.doc.registry else None

    def _show_header(self, node: str, spec: LayerSpec | None) -> None:
        theme = current()
        graph = self.scope.graph
        type_name = graph.type_of(node)
        if spec is not None:
            self.icon_label.setPixmap(category_icon(spec.category).pixmap(28, 28))
            self.icon_label.setToolTip(category_title(spec.category))
            title, summary = type_name, spec.summary
        else:
            title, summary = block_header(graph, node)
            self.icon_label.setPixmap(icon("error" if summary is None else "block").pixmap(28, 28))
            self.icon_label.setToolTip("" if summary is None else "A block, or one of its ports")
        self.title_label.setText(
            f'<span style="font-size:large; font-weight:600">{html.escape(title)}</span>'
            f'&nbsp;&nbsp;<span style="color:{theme.muted}">{html.escape(node)}</span>')
        self.summary_label.setText(summary if summary is not None else
                                   f"{type_name} is not a layer type dlbuilder knows")
        self.summary_label.setStyleSheet(f"color: {theme.muted};")

    def _clear_fields(self) -> None:
        self.fields = {}
        while self.form_layout.count():
            item = self.form_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()

    def _build_fields(self, groups: list[tuple[str, list[ParamSpec]]]) -> None:
        block = self.scope.block
        inside = self.doc.graph.block(block).params if block is not None else None
        for title, params in groups:
            box = QWidget()
            form = QFormLayout(box)
            form.setContentsMargins(0, 0, 0, 0)
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
            if len(groups) > 1:
                self.form_layout.addWidget(_section_label(title))
            for param in params:
                field = make_ref_field(param, inside)
                field.value_changed.connect(partial(self._on_field_value_changed, param.name))
                label = QLabel(param.name)
                label.setToolTip(field.toolTip())
                label.setBuddy(field)
                form.addRow(label, field)
                self.fields[param.name] = field
            self.form_layout.addWidget(box)

    def _load_values(self) -> None:
        params = self.scope.graph.params(self.node)
        for name, field in self.fields.items():
            field.set_value(params.get(name))
        self._show_evaluated()

    def _show_evaluated(self) -> None:
        """What each reference evaluates to for the instance the canvas came from."""
        engine = self.scope.engine
        checked = (engine.checked_params(self.node) if engine is not None else None) or {}
        for name, field in self.fields.items():
            if isinstance(field, RefFieldWidget):
                field.set_evaluated(checked.get(name))

    # -- results -------------------------------------------------------------------------------
    def _refresh_results(self, own: tuple[Diagnostic, ...] | None = None) -> None:
        """Re-read the node's numbers, explanation and problems (`own`, when the caller has
        them already)."""
        node, engine = self.node, self.scope.engine
        if node is None or engine is None or node not in engine.graph:
            return
        if own is None:
            own = tuple(d for d in engine.diagnostics() if d.node == node)
        try:
            info = engine.info(node)
            self._explain_lines = [*engine.explain(node), *explain_receptive(engine, node)]
        except Exception as err:  # noqa: BLE001 - a buggy explain must not break the panel
            self._explain_lines = [f"dlbuilder could not explain this layer ({err})"]
            info = None
        if info is not None and info.output_shape is None and not any(
                d.severity == "error" for d in own):
            self._explain_lines = [BLOCKED]
        self.explain_label.setText(explain_html(self._explain_lines, current()))
        if info is not None:
            self.result_label.setText(result_text(info.output_shape, info.params, info.buffers,
                                                  info.port_shapes))
            self.receptive_box.show_node(engine, node, self.scope.block is not None)
        if self.scope.graph.type_of(node) == BLOCK:
            repeat = (engine.checked_params(node) or {}).get("repeat", 1)
            self.totals_label.setText(repeat_totals(info, repeat))
        self._show_evaluated()
        self._refresh_problems(own)
        self._refresh_curve()

    def _refresh_curve(self) -> None:
        spec = self._spec()
        if spec is None or spec.curve is None:
            self.curve_plot.hide()
            return
        params = self.scope.engine.checked_params(self.node) or spec.defaults
        key = spec.key_params(params)
        self.curve_plot.set_curve(spec.curve, params, f"{spec.type}  {key}".strip())
        self.curve_plot.show()

    def _refresh_problems(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        named: dict[str, str] = {}
        for d in diagnostics:
            if d.field and named.get(d.field) != "error":
                named[d.field] = d.severity
        for name, field in self.fields.items():
            field.mark_problem(named.get(name))
            if isinstance(field, RefFieldWidget):
                field.set_diagnostic(next((d.message for d in diagnostics if d.field == name
                                           and d.code == "bad_reference"), None))
        if tuple(diagnostics) == self._shown_diagnostics:
            return  # keep the buttons: one of them may be the one being clicked
        self._shown_diagnostics = tuple(diagnostics)
        self._fix_buttons = []
        while self.problems_layout.count():
            widget = self.problems_layout.takeAt(0).widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        if diagnostics:
            advice = all(d.severity == "hint" for d in diagnostics)
            self.problems_layout.addWidget(_section_label("Hints" if advice else "Problems"))
        for diagnostic in diagnostics:
            self.problems_layout.addWidget(self._problem_row(diagnostic))
        dismissed = self.scope.graph.dismissed(self.node) if self.node in self.scope.graph \
            else ()
        if dismissed:
            again = WrapButton(icon("hint"), f"Show {len(dismissed)} dismissed hint"
                               f"{'s' * (len(dismissed) != 1)} again")
            again.setToolTip(f"Dismissed here: {', '.join(dismissed)} (one undo step)")
            again.clicked.connect(partial(self._on_show_dismissed_clicked, dismissed))
            self.problems_layout.addWidget(again, 0, Qt.AlignmentFlag.AlignLeft)
        self.problems_box.setVisible(bool(diagnostics or dismissed))

    def _problem_row(self, diagnostic: Diagnostic) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        badge = QLabel()
        badge.setPixmap(severity_icon(diagnostic.severity).pixmap(16, 16))
        layout.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        where = f"{diagnostic.field}: " if diagnostic.field else ""
        message = _wrapped_label(where + diagnostic.message)
        message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(message)
        for fix in self.doc.fixes_for(diagnostic):
            column.addWidget(self._fix_button(fix), 0, Qt.AlignmentFlag.AlignLeft)
        if diagnostic.severity == "hint":
            dismiss = WrapButton(icon("hint"), "Dismiss this hint")
            dismiss.setToolTip("Hide it on this layer; the file keeps the choice (one undo "
                               "step)")
            dismiss.clicked.connect(partial(self._on_dismiss_clicked, diagnostic))
            column.addWidget(dismiss, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(column, 1)
        return row

    def _on_dismiss_clicked(self, hint: Diagnostic, _checked: bool = False) -> None:
        self.doc.dismiss_hint(hint)

    def _on_show_dismissed_clicked(self, codes: tuple[str, ...], _checked: bool = False
                                   ) -> None:
        node = self.node
        self.doc.push(Macro(f"Show the dismissed hints of {node}",
                            [SetDismissed(node, code, dismiss=False) for code in codes]))

    def _fix_button(self, fix: Fix) -> WrapButton:
        button = WrapButton(icon("fix"), fix.label)
        button.setToolTip(f"Fix: {fix.label} (one undo step)")
        button.clicked.connect(partial(self._on_fix_clicked, fix))
        self._fix_buttons.append(button)
        return button

    def fix_buttons(self) -> list[WrapButton]:
        """The fix buttons of the problems shown now."""
        return list(self._fix_buttons)

    # -- handlers ------------------------------------------------------------------------------
    def _on_field_value_changed(self, name: str, raw: Any) -> None:
        node, graph = self.node, self.scope.graph
        if node is None or node not in graph:
            return
        if graph.raw_params(node).get(name) == raw:
            return
        self._pushing = True
        try:
            ok = self.doc.push(SetParams(node, {name: raw}), merge_key=(node, name))
        finally:
            self._pushing = False
        if not ok:  # refused (while training): show what the graph still holds
            self._load_values()

    def _on_open_button_clicked(self) -> None:
        if self.node is not None:
            self.open_requested.emit(self.node)

    def _on_save_button_clicked(self) -> None:
        defn = instance_definition(self.scope.graph, self.node) if self.node is not None else None
        if defn is not None:
            self.save_requested.emit(defn.name)

    def _on_doc_scope_changed(self, *_args: Any) -> None:
        self.show_node(None)

    def _on_fix_clicked(self, fix: Fix) -> None:
        self.doc.apply_fix(fix)

    def _on_doc_selection_changed(self, nodes: tuple[str, ...]) -> None:
        nodes = tuple(nodes)
        self.hint_label.setText(NO_SELECTION if len(nodes) != 1 else "")
        if len(nodes) > 1:
            self.hint_label.setText(many_selected(len(nodes)))
        chosen = nodes[0] if len(nodes) == 1 else None
        if chosen != self.node or chosen is None:
            self.show_node(chosen)
        self._place_tuning(nodes)

    def _place_tuning(self, nodes: tuple[str, ...]) -> None:
        """Under one node's fields; for several, under the hint (the node's page is hidden)."""
        if len(nodes) == 1:
            self.node_layout.insertWidget(self.node_layout.indexOf(self.form_box) + 1,
                                          self.tuning_box)
        else:
            self.content_layout.insertWidget(self.content_layout.indexOf(self.hint_label) + 1,
                                             self.tuning_box)
        self.tuning_box.show_nodes(nodes)

    def _on_doc_changed(self, change: Change) -> None:
        node, scope = self.node, self.scope
        if change.replaced:
            self.show_node(None)
        elif node is None:
            return
        elif node in change.nodes_removed or node not in scope.graph or self._fields_stale():
            # gone, made anew by an undo, or its block's parameters changed: start over
            self.show_node(node if node in scope.graph else None)
        elif scope.block is not None:  # inside a block: the change names the top level's nodes
            if not self._pushing:
                self._load_values()
            self._refresh_results()
        elif change.inferred:  # not for moves, or the training settings
            if node in change.params_changed and not self._pushing:  # undo, redo, a fix
                self._load_values()
            self._refresh_results(change.diagnostics_by_node.get(node, ()))

    def _fields_stale(self) -> bool:
        """Whether an instance's fields no longer match its block's parameters."""
        return self.node is not None and fields_stale(self.scope.graph, self.node,
                                                      list(self.fields))

    def _on_theme_changed(self, theme: Theme) -> None:
        for label in self.findChildren(QLabel, "sectionLabel"):
            label.setStyleSheet(_section_style(theme))
        self.hint_label.setStyleSheet(f"color: {theme.muted};")
        self._shown_diagnostics = None
        self.show_node(self.node)


def _monospace_font() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font
