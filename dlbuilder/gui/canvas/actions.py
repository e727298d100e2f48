"""The canvas's edit actions, each one undo step: delete, cut, copy, paste, duplicate, rename,
select all, auto-layout, and the node's context menu with its problems' fixes.

The view owns one QAction per command (`edit_actions`); the main window puts the same objects
in its menus and toolbar, so every menu shows one name and its shortcut, and each action is on
only when it can act on the selection.

`CanvasEdits` is owned by the view (`view.edits`): it is given the view and the view's way of
telling the status bar when it is made, and works through the view's public methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu
from shiboken6 import isValid

from dlbuilder.core.blocks import BLOCK, BLOCK_TYPES
from dlbuilder.core.changes import Change
from dlbuilder.core.commands import RenameNode
from dlbuilder.core.diagnostics import CODES
from dlbuilder.core.fragment import FragmentError, copy_fragment, paste_commands
from dlbuilder.core.layout import layout_for_view
from dlbuilder.core.solve import can_solve
from dlbuilder.gui.canvas.block_edits import BlockEdits
from dlbuilder.gui.canvas.edit_ops import (
    RenameEditWidget,
    delete_command,
    fragment_from_clipboard,
    paste_offset,
    put_fragment_on_clipboard,
)
from dlbuilder.gui.canvas.style import HEADER_H, NODE_W
from dlbuilder.gui.canvas.tuning_edits import (
    all_frozen,
    freeze_before_command,
    freeze_command,
    tunable,
)
from dlbuilder.gui.look.icons import icon
from dlbuilder.gui.widgets.text import plural
from dlbuilder.gui.window.actions import make_actions

if TYPE_CHECKING:
    from dlbuilder.gui.canvas.view import CanvasView

# The canvas's actions, by the name of the method each one runs (CanvasEdits's, else the
# view's).
TRIGGERS = {"cut": "cut", "copy": "copy", "paste": "paste", "duplicate": "duplicate",
            "delete": "delete_selected", "rename": "rename_selected",
            "select_all": "select_all", "add_layer": "request_quick_add", "zoom_in": "zoom_in",
            "zoom_out": "zoom_out", "fit": "fit", "layout": "auto_layout",
            "group": "group_selected", "ungroup": "ungroup_selected",
            "open_block": "open_selected", "leave_block": "leave_block"}
# Actions whose keys act on the canvas only (Delete in the summary table must not delete
# layers); their menu entries work from anywhere.
CANVAS_KEYS = ("cut", "copy", "paste", "duplicate", "delete", "rename", "select_all", "fit",
               "group", "ungroup", "leave_block")


class CanvasEdits(QObject):
    """The canvas's edit actions and what they do, for one view. `say` puts a line in the
    status bar."""

    def __init__(self, view: CanvasView, say: Callable[[str], None]) -> None:
        super().__init__(view)
        self.view = view
        self.doc = view.doc
        self.graph_scene = view.graph_scene
        self._say = say
        self._rename: RenameEditWidget | None = None
        self.blocks = BlockEdits(view, say)
        self.edit_actions: dict[str, QAction] = make_actions(view, icon, TRIGGERS)
        for name, method in TRIGGERS.items():
            owner = next(o for o in (self, self.blocks, view) if hasattr(o, method))
            slot = getattr(owner, method)
            self.edit_actions[name].triggered.connect(lambda _=False, f=slot: f())
        for name in CANVAS_KEYS:
            self.edit_actions[name].setShortcutContext(
                Qt.ShortcutContext.WidgetWithChildrenShortcut)
            view.addAction(self.edit_actions[name])
        # the scene's selection is what they act on (the document's follows it; wires are
        # the scene's alone)
        self.graph_scene.selectionChanged.connect(self.update_edit_actions)
        self.update_edit_actions()

    def update_edit_actions(self, *_: object) -> None:
        """On only what can act now: on the selected layers (Rename: exactly one), wires
        (Delete), a graph that has layers. While the graph is locked (training) only Copy may
        be on. Paste stays on (its keys must work whatever filled the clipboard; it says when
        nothing was copied)."""
        if not isValid(self.graph_scene):  # a scene being destroyed drops its selection
            return
        selected = self.graph_scene.selected_nodes()
        nodes = len(selected)
        free = not self.doc.read_only_reason
        one_block = nodes == 1 and self.doc.scope.graph.type_of(selected[0]) == BLOCK
        can = {"copy": nodes > 0, "cut": free and nodes > 0, "duplicate": free and nodes > 0,
               "delete": free and bool(nodes or self.graph_scene.selected_wires()),
               "rename": free and nodes == 1,
               "select_all": len(self.doc.scope.graph) > 0,
               "layout": free and len(self.doc.scope.graph) > 0,
               "group": free and nodes > 0, "ungroup": free and one_block,
               "open_block": one_block, "leave_block": bool(self.doc.scope.trail)}
        for name, on in can.items():
            self.edit_actions[name].setEnabled(on)

    def follow_change(self, change: Change) -> None:
        """Another graph, or an undo (or any edit) that removes the node being renamed, closes
        its editor; the actions follow what the graph now holds (the view calls this)."""
        if self._rename is not None and (change.replaced
                                         or self._rename.node in change.nodes_removed):
            self.cancel_rename()
        self.update_edit_actions()

    # -- delete and clipboard --------------------------------------------------------------
    def delete_selected(self) -> bool:
        """Delete the selected layers and wires as one undo step."""
        command = delete_command(self.doc.scope.graph, self.graph_scene.selected_nodes(),
                                 self.graph_scene.selected_wires())
        if command is None:
            self._say("Select layers or wires to delete")
            return False
        return self.doc.push(command)

    def delete_wire(self, wire: tuple[str, str]) -> bool:
        command = delete_command(self.doc.scope.graph, [], [wire])
        return command is not None and self.doc.push(command)

    def copy(self) -> bool:
        nodes = self.graph_scene.selected_nodes()
        if not nodes:
            self._say("Select layers to copy")
            return False
        put_fragment_on_clipboard(copy_fragment(self.doc.scope.graph, nodes))
        self._say(f"Copied {plural(len(nodes), 'layers')}")
        return True

    def cut(self) -> bool:
        """Copy the selected layers, then delete them (one undo step)."""
        nodes = self.graph_scene.selected_nodes()
        if not nodes:
            self._say("Select layers to cut")
            return False
        put_fragment_on_clipboard(copy_fragment(self.doc.scope.graph, nodes))
        command = delete_command(self.doc.scope.graph, nodes, self.graph_scene.selected_wires(),
                                 verb="Cut")
        return command is not None and self.doc.push(command)

    def paste(self) -> list[str]:
        """Add the copied layers under fresh ids, below the cards they would cover; selects
        them. Returns the new ids."""
        try:
            fragment = fragment_from_clipboard([*self.doc.registry.types(), *BLOCK_TYPES])
        except ValueError as err:
            self._say(str(err))
            return []
        return self._paste_fragment(fragment)

    def duplicate(self) -> list[str]:
        """Copy and paste the selection in one go, leaving the clipboard alone."""
        nodes = self.graph_scene.selected_nodes()
        if not nodes:
            self._say("Select layers to duplicate")
            return []
        return self._paste_fragment(copy_fragment(self.doc.scope.graph, nodes), "Duplicate")

    def _paste_fragment(self, fragment: dict[str, Any], verb: str = "Paste") -> list[str]:
        if not fragment["nodes"]:
            return []
        rects = [item.card_rect() for item in self.graph_scene.nodes.values()]
        scope = self.doc.scope
        try:
            command, new_ids = paste_commands(scope.graph, fragment, paste_offset(rects, fragment),
                                              self.doc.registry, scope.block)
        except FragmentError as err:
            self._say(f"Cannot {verb.lower()}: {err}")
            return []
        command.text = f"{verb} {plural(len(new_ids), 'nodes')}"
        if not self.doc.push(command):
            return []
        self.doc.select(new_ids)
        return new_ids

    def select_all(self) -> None:
        self.doc.select(self.doc.scope.graph.nodes())

    # -- rename ----------------------------------------------------------------------------
    def rename_selected(self) -> bool:
        nodes = self.graph_scene.selected_nodes()
        if len(nodes) != 1:
            self._say("Select one layer to rename")
            return False
        return self.rename_node(nodes[0])

    def rename_node(self, node: str) -> bool:
        """Open the in-place editor over the node's id."""
        item = self.graph_scene.nodes.get(node)
        if item is None:
            return False
        self.cancel_rename()
        if not self.view.shows(item.card_rect()):
            self.view.center_on_node(node)
        header = QRectF(item.pos(), QPointF(item.x() + NODE_W, item.y() + HEADER_H))
        box = self.view.mapFromScene(header).boundingRect()
        editor = RenameEditWidget(node, self.view.viewport(), self.doc, self._on_rename_commit,
                                  self._on_rename_cancel)
        editor.setGeometry(box.x(), box.y(), max(box.width(), 140), max(box.height(), 24))
        editor.show()
        editor.setFocus()
        self._rename = editor
        self._say("Type a new id; Enter to rename, Esc to cancel")
        return True

    def _on_rename_commit(self, editor: RenameEditWidget, text: str, leaving: bool) -> None:
        new = text.strip() if leaving else text
        if new == editor.node or (leaving and not new):
            self._close_rename(editor)
            return
        reasons: list[str] = []
        self.doc.refused.connect(reasons.append)
        try:
            ok = self.doc.push(RenameNode(editor.node, new))
        finally:
            self.doc.refused.disconnect(reasons.append)
        if ok:
            self._close_rename(editor)
            self.doc.select([new])
            return
        reason = reasons[-1] if reasons else f"cannot rename {editor.node} to {new!r}"
        if leaving:  # the box is gone: the status bar is the only place left to say why
            self._close_rename(editor)
        else:
            editor.show_problem(reason)
        self._say(f"Cannot rename: {reason}")

    def _on_rename_cancel(self, editor: RenameEditWidget) -> None:
        self._close_rename(editor)

    def _close_rename(self, editor: RenameEditWidget) -> None:
        """Close the editor and clear its prompt or refusal from the status bar."""
        editor.close_editor()
        self._say("")
        if self._rename is editor:
            self._rename = None
        self.view.setFocus()

    def cancel_rename(self) -> None:
        if self._rename is not None:
            self._close_rename(self._rename)

    def rename_editor(self) -> RenameEditWidget | None:
        """The open rename editor, if any."""
        return self._rename

    # -- layout ----------------------------------------------------------------------------
    def auto_layout(self) -> bool:
        """Lay the graph out (one undo step, "Auto-layout"), wrapped to this view, then fit."""
        if len(self.doc.scope.graph) == 0:
            return False
        done = self.doc.move_nodes(self.layout_positions(), text="Auto-layout")
        self.view.fit()
        return done

    def layout_positions(self) -> dict[str, tuple[int, int]]:
        """The layout for this view: wrapped to its width at 1:1 (wider only where that shows
        the whole graph larger)."""
        return layout_for_view(self.doc.scope.graph, *self.view.layout_size())

    # -- menus -----------------------------------------------------------------------------
    def canvas_menu(self, scene_pos: QPointF) -> QMenu:
        """The menu of empty canvas: add a layer there, paste, select all, fit, lay out."""
        a = self.edit_actions
        self.update_edit_actions()
        menu = QMenu(self.view)
        add = menu.addAction(a["add_layer"].icon(), a["add_layer"].text(),
                             lambda: self.view.request_quick_add(scene_pos))  # here, not centred
        add.setEnabled(a["add_layer"].isEnabled())
        menu.addSeparator()
        menu.addActions([a["paste"], a["select_all"]])
        menu.addSeparator()
        menu.addActions([a["fit"], a["layout"]])
        if self.doc.scope.trail:
            menu.addSeparator()
            menu.addAction(a["leave_block"])
        return menu

    def node_menu(self, node: str) -> QMenu:
        """Fixes for the node's problems, then rename, duplicate and delete (the selection,
        which the right click made `node` when it was not in it)."""
        menu = QMenu(self.view)
        item = self.graph_scene.nodes.get(node)
        for diagnostic in item.diagnostics if item is not None else ():
            for fix in self.doc.fixes_for(diagnostic):
                action = menu.addAction(f"Fix: {fix.label}")
                action.setToolTip(diagnostic.message)
                action.triggered.connect(lambda _=False, f=fix: self.doc.apply_fix(f))
            if diagnostic.severity == "hint":  # advice the user may decline, kept in the file
                action = menu.addAction(f"Dismiss hint: {CODES[diagnostic.code]}")
                action.setToolTip(diagnostic.message)
                action.triggered.connect(lambda _=False, d=diagnostic: self.doc.dismiss_hint(d))
        if not menu.isEmpty():
            menu.addSeparator()
        self.update_edit_actions()
        a = self.edit_actions
        if a["open_block"].isEnabled():
            menu.addAction(a["open_block"])
            self.view.add_expand_entry(menu, node)
            menu.addAction(a["ungroup"])
        menu.addAction(a["group"])
        if can_solve(self.doc.scope.engine, node):
            action = menu.addAction("Solve for Size...",
                                    lambda: self.view.solve_requested.emit(node))
            action.setToolTip("Type the output size you want and see the settings that give it")
        menu.addSeparator()
        self._add_freeze_entries(menu, node)
        menu.addActions([a[n] for n in ("rename", "duplicate", "delete")])
        return menu

    def _add_freeze_entries(self, menu: QMenu, node: str) -> None:
        """Freeze / Unfreeze the selection, and Freeze Everything Before This (transfer
        learning in one click: all but the head)."""
        chosen = tunable(self.doc, self.graph_scene.selected_nodes() or [node])
        free = not self.doc.read_only_reason
        if chosen:
            frozen = all_frozen(self.doc, chosen)
            many = f" {len(chosen)} Layers" if len(chosen) > 1 else ""
            action = menu.addAction(("Unfreeze" if frozen else "Freeze") + many,
                                    lambda: self._push_if_any(
                                        freeze_command(self.doc, chosen, not frozen)))
            action.setToolTip("A frozen layer keeps its weights while the rest trains")
            action.setEnabled(free)
        before = freeze_before_command(self.doc, node)
        if before is not None:
            action = menu.addAction("Freeze Everything Before This",
                                    lambda: self._push_if_any(before))
            action.setToolTip(f"Freeze every layer with weights upstream of {node}: only "
                              "it and what follows train (transfer learning)")
            action.setEnabled(free)
        if chosen or before is not None:
            menu.addSeparator()

    def _push_if_any(self, command: Any) -> None:
        if command is not None:
            self.doc.push(command)
