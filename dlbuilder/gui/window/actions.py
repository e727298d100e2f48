"""The main window's actions and menus, kept apart from what they do (main_window.py and
file_ops.py). Standard shortcuts come from QKeySequence so each platform gets its own."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence

Key = QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    tip: str
    keys: tuple[QKeySequence.StandardKey | str, ...] = ()
    icon: str | None = None
    checkable: bool = False


SPECS = (
    ActionSpec("new", "&New", "Start a new, empty graph", (Key.New,), "new"),
    ActionSpec("open", "&Open…", "Open a graph file (.json)", (Key.Open,), "open"),
    ActionSpec("import_torch", "Import &PyTorch Model…", "Bring a PyTorch model (an nn.Module "
               "in a Python file) in as a graph you can edit, with its weights", (), None),
    ActionSpec("import_onnx", "&Import ONNX…", "Bring an ONNX model in as a graph you can "
               "edit, with its weights", (), None),
    ActionSpec("save", "&Save", "Save the graph to its file", (Key.Save,), "save"),
    ActionSpec("save_as", "Save &As…", "Save the graph under a new name", (Key.SaveAs,),
               "save-as"),
    ActionSpec("export_code", "&PyTorch code…", "Write the graph as a Python file",
               ("Ctrl+E",), "export"),
    ActionSpec("export_onnx", "&ONNX…", "Write the graph as an ONNX model (with the trained "
               "weights, if you choose them), in the background", (), None),
    ActionSpec("render", "Canvas as &image…", "Draw the whole graph to PNG or SVG", (),
               None),
    ActionSpec("quit", "&Quit", "Close dlbuilder", (Key.Quit,), None),
    ActionSpec("cut", "Cu&t", "Cut the selected layers", (Key.Cut,), "cut"),
    ActionSpec("copy", "&Copy", "Copy the selected layers", (Key.Copy,), "copy"),
    ActionSpec("paste", "&Paste", "Paste layers", (Key.Paste,), "paste"),
    ActionSpec("duplicate", "D&uplicate", "Duplicate the selected layers (new ids)",
               ("Ctrl+D",), "duplicate"),
    ActionSpec("delete", "&Delete", "Delete the selected layers and wires",
               (Key.Delete, "Backspace"), "delete"),
    ActionSpec("rename", "&Rename…", "Rename the selected layer (its id)", ("F2",), "rename"),
    ActionSpec("select_all", "Select &All", "Select every layer", (Key.SelectAll,), None),
    ActionSpec("add_layer", "&Add Layer…", "Search for a layer to add (Tab on the canvas)",
               (), "search"),
    ActionSpec("group", "&Group into Block", "Make the selected layers one block: one card "
               "whose ports are the wires that cross the selection's border", ("Ctrl+G",),
               None),
    ActionSpec("ungroup", "U&ngroup Block", "Put the selected block's layers back in its place",
               ("Ctrl+Shift+G",), None),
    ActionSpec("open_block", "&Open Block", "Show the selected block's inside, with the shapes "
               "of this instance (or double-click its card)", (), None),
    ActionSpec("leave_block", "&Up One Level", "Back to the graph that holds this block "
               "(Esc, or Backspace with nothing selected)", ("Alt+Up",), None),
    ActionSpec("zoom_in", "Zoom &In", "Zoom in", (Key.ZoomIn,), "zoom-in"),
    ActionSpec("zoom_out", "Zoom &Out", "Zoom out", (Key.ZoomOut,), "zoom-out"),
    ActionSpec("fit", "&Fit to View", "Show the whole graph", ("F",), "fit"),
    ActionSpec("layout", "Auto-&layout", "Arrange the layers in the direction of flow",
               ("Ctrl+L",), "layout"),
    ActionSpec("train", "&Train", "Train the graph on its data (the Training tab shows how)",
               ("F5",), "train"),
    ActionSpec("pause", "&Pause Training", "Pause the run after this batch; again to resume",
               (), "pause"),
    ActionSpec("stop", "S&top Training", "Stop the run after this batch, keeping the best weights",
               ("Shift+F5",), "stop"),
    ActionSpec("snap", "&Snap to Grid", "Snap moved layers to the grid", (), None, True),
    ActionSpec("look_inside", "&Look Inside", "What the network makes of a sample: pick or "
               "draw one, see each layer's output, the filters, saliency", ("F6",), None),
    ActionSpec("card_maps", "Feature &Maps on Cards", "Under each card, its output for the "
               "sample picked in Look Inside", (), None, True),
    ActionSpec("reset_layout", "Reset &Panels", "Put every panel back where it started", (),
               None),
    ActionSpec("shortcuts", "&Keyboard and Mouse", "The canvas gestures and shortcuts",
               (Key.HelpContents,), None),
    ActionSpec("about", "&About dlbuilder", "Version and licence", (), None),
)


def make_actions(owner: QObject, icon_for: Callable[[str], object] | None = None,
                 names: Iterable[str] | None = None) -> dict[str, QAction]:
    """One QAction per spec (or per spec in `names`), owned by `owner`, with tooltips that
    name the shortcut. The canvas owns its edit actions; the window makes the rest."""
    wanted = None if names is None else set(names)
    actions: dict[str, QAction] = {}
    for spec in (s for s in SPECS if wanted is None or s.name in wanted):
        action = QAction(spec.text, owner)
        action.setObjectName(f"action_{spec.name}")
        keys = [k if isinstance(k, QKeySequence) else QKeySequence(k) for k in spec.keys]
        if keys:
            action.setShortcuts(keys)
        shortcut = keys[0].toString(QKeySequence.SequenceFormat.NativeText) if keys else ""
        action.setToolTip(f"{spec.tip} ({shortcut})" if shortcut else spec.tip)
        action.setStatusTip(spec.tip)
        action.setCheckable(spec.checkable)
        if spec.icon and icon_for is not None:
            with contextlib.suppress(KeyError):
                action.setIcon(icon_for(spec.icon))
        actions[spec.name] = action
    return actions
