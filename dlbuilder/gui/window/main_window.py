"""The main window: the canvas in the middle, the palette on the left, the inspector on the
right, the summary, code and problems as tabs below, a status bar with the totals.

The window only assembles; each panel listens to the Document itself. Dock layout, geometry,
theme and recent files live in QSettings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QCursor, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from dlbuilder import __version__
from dlbuilder.core.changes import Change
from dlbuilder.gui.canvas.breadcrumb import BreadcrumbWidget
from dlbuilder.gui.canvas.scene import GraphScene
from dlbuilder.gui.canvas.style import NODE_H, NODE_W
from dlbuilder.gui.canvas.view import CanvasView
from dlbuilder.gui.document import Document
from dlbuilder.gui.export.onnx_exporting import OnnxExportController
from dlbuilder.gui.importing.import_worker import ONNX, PYTORCH
from dlbuilder.gui.inside.host import InsideHostWidget, InsideWindowSide
from dlbuilder.gui.look.icons import app_icon, icon
from dlbuilder.gui.look.theme import THEME_NAMES, theme_manager
from dlbuilder.gui.panels.block_shelf import (
    BlockEntry,
    library_shelves,
    place_block,
    user_folder,
)
from dlbuilder.gui.panels.code_panel import CodePanel
from dlbuilder.gui.panels.inspector import InspectorPanel
from dlbuilder.gui.panels.palette import PalettePanel
from dlbuilder.gui.panels.problems_panel import ProblemsPanel
from dlbuilder.gui.panels.quick_add import QuickAddPopup
from dlbuilder.gui.panels.receptive_view import ReceptivePopup
from dlbuilder.gui.panels.summary_panel import SummaryPanel
from dlbuilder.gui.paths import data_dir
from dlbuilder.gui.window.actions import SPECS, make_actions
from dlbuilder.gui.window.banner import RecoveryBannerWidget
from dlbuilder.gui.window.export_side import ExportWindowSide
from dlbuilder.gui.window.file_ops import FileController
from dlbuilder.gui.window.import_side import ImportWindowSide
from dlbuilder.gui.window.recovery import RecoveryStore
from dlbuilder.gui.window.status import StatusWidget
from dlbuilder.gui.window.training_host import (
    LOCKED_TEXT,
    LockBannerLabel,
    TrainingHostWidget,
    TrainingWindowSide,
)
from dlbuilder.gui.window.window_geometry import FIRST_SIZE, CanvasRoomKeeper, fit_to_screen
from dlbuilder.resources import example_names

STATE_VERSION = 1
CANVAS_HINT = ("Drag a layer from the palette, or press Tab to add one · drag from a port to "
               "connect · wheel to zoom · F to fit")
GESTURES = """<table cellspacing=4>
<tr><td><b>Add a layer</b></td><td>drag it from the palette; Tab or right-click on the canvas;
 double-click in the palette adds it after the selected layer</td></tr>
<tr><td><b>Connect</b></td><td>drag from a layer's output port (right) to another's input (left);
 a wire that cannot work turns red and says why</td></tr>
<tr><td><b>Select</b></td><td>click; drag on empty canvas for a rectangle; Ctrl+click adds</td></tr>
<tr><td><b>Move</b></td><td>drag a layer; View ▸ Snap to Grid aligns it</td></tr>
<tr><td><b>Zoom and pan</b></td><td>wheel zooms around the cursor; middle button or
 Space+drag pans; F fits the graph</td></tr>
<tr><td><b>Edit</b></td><td>Delete, Ctrl+C / Ctrl+X / Ctrl+V, Ctrl+D duplicates, F2 renames,
 Ctrl+Z / Ctrl+Shift+Z undo and redo, Ctrl+L arranges the graph</td></tr>
<tr><td><b>Blocks</b></td><td>Ctrl+G groups the selected layers into a block, Ctrl+Shift+G
 ungroups; double-click a block to open it, Esc or Alt+Up to go back up</td></tr>
<tr><td><b>Fix a problem</b></td><td>red or amber layers: hover to read why; the fix is in the
 inspector, the Problems tab and the layer's right-click menu</td></tr>
</table>"""


class MainWindow(QMainWindow):
    def __init__(self, doc: Document, settings: QSettings,
                 recovery: RecoveryStore | None = None, interactive: bool = True) -> None:
        super().__init__()
        # The window owns its document and scene on the C++ side, so they go with the window's
        # widgets, while their Python objects live: freed by a cyclic collection instead, the
        # undo stack's and the scene's destructors would reach wrappers already freed (a crash)
        doc.setParent(self)
        self.doc = doc
        self.settings = settings
        self.interactive = interactive
        self.setWindowIcon(app_icon())
        self.files = FileController(doc, settings, self, recovery, interactive)
        self._build_center()
        self._build_docks()
        self.actions = _window_actions(self, self.view.edits.edit_actions)
        self._build_menus()
        self._build_toolbar()
        self.status = StatusWidget(doc, self)
        self.statusBar().addPermanentWidget(self.status)
        self.onnx = OnnxExportController(self, settings)
        self.statusBar().addPermanentWidget(self.onnx.busy_bar)
        self.hint = QLabel(CANVAS_HINT)  # shown whenever no message is (Qt hides it meanwhile)
        self.hint.setToolTip("Help ▸ Keyboard and Mouse lists every gesture")
        self.statusBar().addWidget(self.hint, 1)
        self.training_side = TrainingWindowSide(self)
        self.inside_side = InsideWindowSide(self)
        self.import_side = ImportWindowSide(self)
        self.export_side = ExportWindowSide(self)
        self._connect()
        self._default_state = self.saveState(STATE_VERSION)
        self._restore_settings()
        self._on_doc_path_changed(doc.path)

    # -- building ------------------------------------------------------------------------------
    def _build_center(self) -> None:
        self.scene = GraphScene(self.doc, parent=self)
        self.view = CanvasView(self.scene)
        self.receptive_popup = ReceptivePopup(self.doc, self.view)  # hover a card: what it sees
        self.view.setToolTip("")
        self.banner = RecoveryBannerWidget()
        center = QWidget()
        layout = QVBoxLayout(center)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        self.lock_banner = LockBannerLabel()
        layout.addWidget(self.lock_banner)
        self.breadcrumb = BreadcrumbWidget(self.doc)
        layout.addWidget(self.breadcrumb)
        layout.addWidget(self.view, 1)
        self.setCentralWidget(center)
        self.quick_add = QuickAddPopup(self.doc.registry, self)
        self._quick_add_at: tuple[QPointF, str | None, bool] | None = None

    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea,
              tip: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")
        dock.setWidget(widget)
        dock.setToolTip(tip)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        doc = self.doc
        self.palette = PalettePanel(doc.registry, doc=doc, user_folder=user_folder(data_dir()),
                                    library=lambda: library_shelves(doc.registry,
                                                                    user_folder(data_dir())))
        self.inspector = InspectorPanel(doc)
        self.summary = SummaryPanel(doc)
        self.code = CodePanel(doc, settings=self.settings)
        self.problems = ProblemsPanel(doc)
        self.training = TrainingHostWidget(doc, settings=self.settings)
        self.inside = InsideHostWidget(doc, self.training)
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.docks = {
            "palette": self._dock("palette", "Layers", self.palette, left,
                                  "Drag a layer onto the canvas, or double-click it"),
            "inspector": self._dock("inspector", "Inspector", self.inspector, right,
                                    "The selected layer's settings and how its numbers come about"),
            "summary": self._dock("summary", "Summary", self.summary, bottom,
                                  "Every layer's output shape, parameters and mult-adds"),
            "code": self._dock("code", "Code", self.code, bottom,
                               "The graph as PyTorch code, updated as you edit"),
            "problems": self._dock("problems", "Problems", self.problems, bottom,
                                   "What does not fit, with one-click fixes"),
            "training": self._dock("training", "Training", self.training, bottom,
                                   "Train the graph: data, settings, live curves, results, runs"),
            "inside": self._dock("inside", "Look Inside", self.inside, bottom,
                                 "What the network makes of a sample: each layer's output, "
                                 "filters, saliency; draw a digit and watch it answer"),
        }
        self.tabifyDockWidget(self.docks["summary"], self.docks["code"])
        self.tabifyDockWidget(self.docks["code"], self.docks["problems"])
        self.tabifyDockWidget(self.docks["problems"], self.docks["training"])
        self.tabifyDockWidget(self.docks["training"], self.docks["inside"])
        self.docks["summary"].raise_()
        self.docks["summary"].visibilityChanged.connect(self._on_summary_dock_visibility_changed)
        self.docks["training"].visibilityChanged.connect(
            self._on_training_dock_visibility_changed)
        self.setCorner(Qt.Corner.BottomLeftCorner, left)
        self.setCorner(Qt.Corner.BottomRightCorner, right)
        self.resizeDocks([self.docks["palette"], self.docks["inspector"]], [230, 330],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["summary"]], [230], Qt.Orientation.Vertical)

    def _build_menus(self) -> None:
        a = self.actions
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([a["new"], a["open"]])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.examples_menu = file_menu.addMenu("&Examples")
        self.examples_menu.setIcon(_try_icon("example"))
        for name in example_names():
            action = self.examples_menu.addAction(name)
            action.setToolTip(f"Open the shipped example {name}")
            action.triggered.connect(lambda _=False, n=name: self._open_example(n))
        file_menu.addSeparator()
        file_menu.addActions([a["import_torch"], a["import_onnx"]])
        file_menu.addSeparator()
        file_menu.addActions([a["save"], a["save_as"]])
        file_menu.addSeparator()
        export = file_menu.addMenu("&Export")
        export.setIcon(_try_icon("export"))
        export.addActions([a["export_code"], a["export_onnx"], a["render"]])
        file_menu.addSeparator()
        file_menu.addAction(a["quit"])
        self._rebuild_recent(self.files.recent())

        edit = bar.addMenu("&Edit")
        self.undo_action = self.doc.undo_stack.createUndoAction(self, "&Undo")
        self.redo_action = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.undo_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Undo))
        self.redo_action.setShortcuts(_redo_keys())
        self.undo_action.setIcon(_try_icon("undo"))
        self.redo_action.setIcon(_try_icon("redo"))
        edit.addActions([self.undo_action, self.redo_action])
        edit.addSeparator()
        edit.addActions([a["cut"], a["copy"], a["paste"], a["duplicate"], a["delete"]])
        edit.addSeparator()
        edit.addActions([a["rename"], a["add_layer"], a["select_all"]])
        edit.addSeparator()
        edit.addActions([a["group"], a["ungroup"]])

        self._build_view_menu(bar.addMenu("&View"))
        training = bar.addMenu("T&raining")
        training.addActions([a["train"], a["pause"], a["stop"]])

        help_menu = bar.addMenu("&Help")
        help_menu.addActions([a["shortcuts"], a["about"]])

    def _build_view_menu(self, view: QMenu) -> None:
        a = self.actions
        view.addActions([a["zoom_in"], a["zoom_out"], a["fit"]])
        view.addSeparator()
        view.addActions([a["layout"], a["snap"]])
        view.addSeparator()
        view.addActions([a["open_block"], a["leave_block"]])
        view.addSeparator()
        view.addActions([a["look_inside"], a["card_maps"]])
        view.addSeparator()
        theme = view.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        for name in THEME_NAMES:
            action = theme.addAction(name.capitalize() if name != "system" else "System")
            action.setCheckable(True)
            action.setData(name)
            self.theme_group.addAction(action)
        self.theme_group.triggered.connect(self._on_theme_chosen)
        panels = view.addMenu("&Panels")
        for dock in self.docks.values():
            panels.addAction(dock.toggleViewAction())
        panels.addSeparator()
        panels.addAction(a["reset_layout"])

    def _build_toolbar(self) -> None:
        a = self.actions
        bar = self.addToolBar("Main")
        bar.setObjectName("toolbar_main")
        bar.setMovable(False)
        bar.addActions([a["new"], a["open"], a["save"]])
        bar.addSeparator()
        bar.addActions([self.undo_action, self.redo_action])
        bar.addSeparator()
        bar.addActions([a["add_layer"], a["delete"], a["layout"], a["fit"], a["zoom_in"],
                        a["zoom_out"]])
        bar.addSeparator()
        bar.addAction(a["export_code"])
        bar.addSeparator()
        bar.addActions([a["train"], a["pause"], a["stop"]])
        train_button = bar.widgetForAction(a["train"])
        if train_button is not None:  # the one button a newcomer looks for: with its word
            train_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

    def _connect(self) -> None:
        a, view, doc = self.actions, self.view, self.doc
        triggers = {
            "new": self.files.new, "open": self.files.open_dialog, "save": self.files.save,
            "save_as": self.files.save_as, "export_code": self.export_side.export_code,
            "export_onnx": self.export_side.export_onnx,
            "import_torch": lambda: self.import_side.ask(PYTORCH),
            "import_onnx": lambda: self.import_side.ask(ONNX),
            "render": self.export_side.render_image, "quit": self.close,
            "reset_layout": self._reset_panels,
            "shortcuts": self._show_gestures, "about": self._show_about,
            "train": self.training_side.train, "pause": self.training.toggle_pause,
            "stop": self.training.stop,
        }
        for name, slot in triggers.items():
            a[name].triggered.connect(lambda _=False, s=slot: s())
        a["snap"].setChecked(bool(self.scene.snap_to_grid))
        a["snap"].toggled.connect(self._on_snap_toggled)
        doc.path_changed.connect(self._on_doc_path_changed)
        doc.undo_stack.cleanChanged.connect(self._on_stack_clean_changed)
        doc.refused.connect(self._show_message)
        doc.changed.connect(self._on_doc_changed)
        view.status_message.connect(self._show_message)
        view.quick_add_requested.connect(self._on_view_quick_add_requested)
        view.solve_requested.connect(self.inspector.ask_solve)
        self.quick_add.chosen.connect(self._on_quick_add_chosen)
        self.palette.add_requested.connect(self._on_palette_add_requested)
        self.palette.block_requested.connect(self._on_palette_block_requested)
        view.block_dropped.connect(self._on_view_block_dropped)
        self.inspector.open_requested.connect(doc.open_block)
        view.card_hovered.connect(self.receptive_popup.follow)
        for box in (self.inspector.receptive_box, self.receptive_popup):
            self.training.sample_changed.connect(box.set_sample)
        self.inspector.block_editor.message.connect(self._show_message)
        self.palette.message.connect(self._show_message)
        self.inspector.save_requested.connect(self.palette.save_block)
        self.files.message.connect(self._show_message)
        self.files.recent_changed.connect(self._rebuild_recent)
        self.banner.recover_clicked.connect(self._on_banner_recover)
        self.banner.discard_clicked.connect(self._on_banner_discard)
        theme_manager().changed.connect(self._on_theme_changed)
        self.training.message.connect(self._show_message)
        self.training_side.message.connect(self._show_message)
        self.inside_side.message.connect(self._show_message)
        self.export_side.message.connect(self._show_message)
        self.import_side.message.connect(self.statusBar().showMessage)

    # -- settings ------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(FIRST_SIZE)
            fit_to_screen(self, centre=True)
        else:
            fit_to_screen(self)
        state = self.settings.value("window/state")
        if state is not None and self.restoreState(state, STATE_VERSION):
            CanvasRoomKeeper(self)  # docks saved in a bigger window may crowd the canvas
        snap = self.settings.value("canvas/snap", None)
        if snap is not None:
            self.actions["snap"].setChecked(str(snap).lower() in ("true", "1"))
        for action in self.theme_group.actions():
            action.setChecked(action.data() == theme_manager().choice)

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(STATE_VERSION))
        self.settings.setValue("canvas/snap", self.actions["snap"].isChecked())
        self.settings.setValue("theme", theme_manager().choice)

    def _reset_panels(self) -> None:
        self.restoreState(self._default_state, STATE_VERSION)
        for dock in self.docks.values():
            dock.show()

    # -- reactions -----------------------------------------------------------------------------
    def _on_doc_path_changed(self, path: Path | None) -> None:
        self.setWindowTitle(f"{self.doc.display_name()}[*] — dlbuilder")
        self.setWindowModified(self.doc.modified)

    def _on_stack_clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    def _on_doc_changed(self, change: Change) -> None:
        if not change.replaced:
            return
        self.statusBar().clearMessage()  # "Wrote lecture_model.py" belonged to the old graph
        self._on_doc_path_changed(self.doc.path)
        self.view.fit()

    def show_training(self) -> None:  # see TrainingWindowSide
        self.training_side.show_training()

    def _on_summary_dock_visibility_changed(self, visible: bool) -> None:
        if visible:
            self.summary.catch_up()

    def _on_training_dock_visibility_changed(self, visible: bool) -> None:
        if visible and self.training.panel is None:  # after this paint, not before it
            QTimer.singleShot(0, self, self.training.ensure_panel)

    def _show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _on_snap_toggled(self, on: bool) -> None:
        self.scene.snap_to_grid = on

    def _on_theme_chosen(self, action: QAction) -> None:
        theme_manager().apply(action.data())

    def _on_theme_changed(self, _theme: object) -> None:
        self.view.viewport().update()

    def _open_example(self, name: str) -> None:
        if self.files.open_example(name):
            self.view.fit()

    def _rebuild_recent(self, paths: list[Path]) -> None:
        menu = self.recent_menu
        menu.clear()
        for path in paths:
            action = menu.addAction(path.name)
            action.setToolTip(str(path))
            action.setStatusTip(str(path))
            action.triggered.connect(lambda _=False, p=path: self.files.open(p))
        if paths:
            menu.addSeparator()
            menu.addAction("Clear list", self.files.clear_recent)
        menu.setEnabled(bool(paths) and not self.training.running)

    # -- adding layers -------------------------------------------------------------------------
    def _selected_one(self) -> str | None:
        selected = self.doc.selection()
        return selected[0] if len(selected) == 1 else None

    def _on_view_quick_add_requested(self, scene_pos: QPointF) -> None:
        """Remember where, after which node, and whether into its chain the view asked for (a
        wire's source: a branch where the wire ended; Tab: after the selection), then ask
        which layer; the popup may be dismissed."""
        view = self.view
        self._quick_add_at = (QPointF(scene_pos), view.pending_source, view.pending_in_chain,
                              view.pending_from_port)
        view.pending_source, view.pending_in_chain, view.pending_from_port = None, False, 0
        self.quick_add.popup_at(QCursor.pos())

    def _on_quick_add_chosen(self, type_name: str) -> None:
        pos, after, in_chain, from_port = self._quick_add_at or (self._free_spot(), None,
                                                                   False, 0)
        self._quick_add_at = None
        after = after if after in self.doc.scope.graph else None
        if in_chain and after is not None:
            self.doc.add_layer(type_name, after=after)
        else:
            self.doc.add_layer(type_name, pos.x(), pos.y(), after=after, from_port=from_port)

    def _on_palette_add_requested(self, type_name: str) -> None:
        """After the selected layer (into its chain), else in the middle of the view."""
        after = self._selected_one()
        if after is not None:
            self.doc.add_layer(type_name, after=after)
        else:
            spot = self._free_spot()
            self.doc.add_layer(type_name, spot.x(), spot.y())

    def _on_palette_block_requested(self, entry: BlockEntry) -> None:
        """After the selected layer (into its chain), as a layer is; else mid-view."""
        after = self._selected_one()
        if after is not None:
            place_block(self.doc, entry, after=after)
        else:
            spot = self._free_spot()
            place_block(self.doc, entry, (spot.x(), spot.y()))

    def _on_view_block_dropped(self, source: str, name: str, corner: QPointF,
                               wire: tuple[str, str] | None) -> None:
        entry = self.palette.entry(source, name)
        if entry is None:
            self._show_message(f"block {name} is no longer in the palette")
        elif place_block(self.doc, entry, (corner.x(), corner.y()), on_wire=wire) is not None:
            self.view.setFocus()

    def _free_spot(self) -> QPointF:
        """Top-left of a card centred in the view (the document moves it to free space)."""
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        return centre - QPointF(NODE_W / 2, NODE_H / 2)

    # -- files, dialogs ------------------------------------------------------------------------
    def offer_recovery(self) -> None:
        found = self.files.left_behind()
        if found:
            self.banner.offer(found[0])

    def _on_banner_recover(self, recovered: object) -> None:
        if self.training.running:
            self._show_message(LOCKED_TEXT)
            return
        if self.files.maybe_save() and self.files.recover(recovered):
            self.banner.hide()
            self.view.fit()

    def _on_banner_discard(self, recovered: object) -> None:
        self.files.discard(recovered)
        self.banner.hide()
        self.offer_recovery()

    def _show_gestures(self) -> None:
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard and mouse", GESTURES,
                          QMessageBox.StandardButton.Close, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _show_about(self) -> None:
        QMessageBox.about(self, "About dlbuilder",
                          f"<b>dlbuilder {__version__}</b><p>Design neural networks visually: "
                          "every layer's shape and parameter count live, training with live "
                          "curves, and plain PyTorch code to take away.</p><p>MIT licence.</p>")

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.training.running and not self.training_side.stop_to_close():
            event.ignore()
            return
        if not self.files.maybe_save():
            event.ignore()
            return
        self.training.shutdown()
        self.inside.shutdown()
        self.save_settings()
        self.files.shutdown()
        event.accept()


def _window_actions(window: QMainWindow, canvas: dict[str, QAction]) -> dict[str, QAction]:
    """Every action by name, in menu order: the canvas's own (its edit commands) and the
    window's, made here."""
    made = make_actions(window, icon, [s.name for s in SPECS if s.name not in canvas])
    return {s.name: made.get(s.name) or canvas[s.name] for s in SPECS}


def _redo_keys() -> list[QKeySequence]:
    """The platform's redo keys, plus Ctrl+Shift+Z where that is not already one of them."""
    keys = [QKeySequence(QKeySequence.StandardKey.Redo)]
    extra = QKeySequence("Ctrl+Shift+Z")
    return keys + ([extra] if extra not in keys else [])


def _try_icon(name: str) -> QIcon:
    try:
        return icon(name)
    except KeyError:
        return QIcon()

