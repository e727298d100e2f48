"""The Look Inside tab: which weights, which sample (from the data, drawn, or an image file), the
network's answer, and the selected layer's maps, a convolution's filters and saliency; plus a
picture of each card's output for the canvas.

The panel keeps what the user chose (the weights, the sample, the layer) and asks the worker
for everything that shows it in one Request each time any of it changes; the worker answers
the newest. Nothing here computes: the answers arrive as numpy arrays and are drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from dlbuilder.backend.inside.samples import find_row
from dlbuilder.backend.module_names import NodePath
from dlbuilder.core.changes import Change
from dlbuilder.gui.canvas.card_thumbs import ThumbData, input_thumb, output_thumb
from dlbuilder.gui.document import Document
from dlbuilder.gui.inside import sources
from dlbuilder.gui.inside.panel_ui import (
    PAGE_DATA,
    PAGE_DRAW,
    TAB_FILTERS,
    TAB_SALIENCY,
    setup_ui,
)
from dlbuilder.gui.inside.worker import Answer, ProbeInfo, Request, Source
from dlbuilder.gui.look.theme import current, theme_manager

RELOAD_MS = 300  # after an edit, untrained weights follow the graph this much later
NO_SAMPLE = "No sample yet"  # the Data and Draw pages say how to get one


class InsidePanel(QWidget):
    """Everything of Look Inside, in one dock. `host` is the Training tab's host: its panel
    holds the data and the trained weights."""

    thumbnails_changed = Signal(object)  # dict: card id -> ThumbData (empty: none)
    message = Signal(str)  # for the status bar

    def __init__(self, doc: Document, host: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from dlbuilder.gui.inside.worker import InsideSession

        self.doc = doc
        self.host = host
        self.session = InsideSession(self)
        self.kind = "untrained"  # which weights: "last", "run", "file" or "untrained"
        self.source: Source | None = None
        self.sample: tuple[str, Any, int | None] | None = None  # (kind, raw|drawing, true)
        self.sample_words = ""
        self.layer: NodePath | None = None
        self.thumbnails_on = True
        self.answer: Answer | None = None
        self._file: Path | None = None  # the weights file chosen, for kind "file"
        self._run: tuple[Any, int] | None = None  # (store, run id), for kind "run"
        # a choice of weights being loaded: (source, kind, file, run), taken once loaded
        self._pending: tuple[Source, str, Path | None, tuple[Any, int] | None] | None = None
        self.image: Path | None = None  # the image file looked at, while it is
        self._file_sample: tuple[np.ndarray, str] | None = None  # its raw sample, its words
        setup_ui(self)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_MS)
        self._reload_timer.timeout.connect(self._on_reload_timer_timeout)
        self._connect()
        self._on_theme_changed(current())
        self.follow_training()

    def _connect(self) -> None:
        s = self.session
        s.loaded.connect(self._on_session_loaded)
        s.answered.connect(self._on_session_answered)
        s.failed.connect(self._on_session_failed)
        s.load_failed.connect(self._on_session_load_failed)
        s.sample_read.connect(self._on_session_sample_read)
        self.picker.picked.connect(self._on_picker_picked)
        self.pad.drawn.connect(self._on_pad_drawn)
        self.pad.cleared.connect(self._on_pad_cleared)
        self.clear_button.clicked.connect(self.pad.clear)
        self.open_button.clicked.connect(self.open_image_dialog)
        self.prepare_check.toggled.connect(self._on_prepare_check_toggled)
        self.source_tabs.currentChanged.connect(self._on_source_tabs_changed)
        self.view_tabs.currentChanged.connect(self._on_view_tabs_changed)
        self.maps.order_changed.connect(self._on_maps_order_changed)
        self.filters.layer_chosen.connect(self._on_filters_layer_chosen)
        self.saliency.changed.connect(self.ask)
        self.last_action.triggered.connect(self.use_last_run)
        self.file_action.triggered.connect(self.load_weights_dialog)
        self.untrained_action.triggered.connect(self.use_untrained)
        self.doc.changed.connect(self._on_doc_changed)
        self.doc.scope_changed.connect(self._on_doc_scope_changed)
        self.doc.selection_changed.connect(self._on_doc_selection_changed)
        theme_manager().changed.connect(self._on_theme_changed)

    # -- the training tab's data and weights ----------------------------------------------
    def training_panel(self) -> Any:
        return self.host.ensure_panel()

    def dataset(self) -> Any:
        return self.training_panel().data_panel.dataset()

    def follow_training(self) -> None:
        """Take the Training tab's data, and its trained weights (or random ones)."""
        panel = self.training_panel()
        panel.data_panel.loaded_changed.connect(self._on_data_loaded_changed)
        panel.training_changed.connect(self._on_training_changed)
        self._set_picker_data(panel.data_panel.dataset())
        self.use_latest()

    def _set_picker_data(self, dataset: Any) -> None:
        """The data to pick from, split as the graph's run splits it."""
        from dlbuilder.backend.settings import SettingsError, resolve_settings

        try:
            settings = resolve_settings(self.doc.graph.training)
        except SettingsError:
            settings = resolve_settings({})
        self.picker.set_dataset(dataset, settings.val_split, settings.seed)

    def use_latest(self) -> None:
        """The newest trained weights there are: the last run's in this session, else the
        newest run kept for the graph; random ones when there are none."""
        if self.use_last_run(quiet=True):
            return
        store = self.training_panel().store
        run_id = sources.newest_run(store)
        if run_id is None or not self.use_run(store, run_id):
            self.use_untrained()

    # -- which weights ---------------------------------------------------------------------
    def use_last_run(self, quiet: bool = False) -> bool:
        panel = self.training_panel()
        source = sources.from_last_run(panel.weights, panel.store, self.doc.graph,
                                       self.dataset())
        if source is None:
            if not quiet:
                self.message.emit("There are no trained weights yet: train the graph (F5)")
            return False
        self._load(source, "last")
        return True

    def use_run(self, store: Any, run_id: int) -> bool:
        from dlbuilder.backend.runs.store import RunStoreError

        try:
            source = sources.from_run(store, run_id, self.doc.graph, self.dataset())
        except (RunStoreError, OSError) as err:
            self.message.emit(f"Look Inside cannot use run {run_id}: {err}")
            return False
        self._load(source, "run", run=(store, run_id))
        return True

    def use_file(self, path: Path) -> None:
        self._load(sources.from_file(Path(path), self.doc.graph, self.dataset()), "file",
                   file=Path(path))

    def use_untrained(self) -> None:
        self._load(sources.untrained(self.doc.graph, self.dataset()), "untrained")

    def load_weights_dialog(self) -> None:
        folder = self.doc.path.parent if self.doc.path is not None else Path.home()
        name, _ = QFileDialog.getOpenFileName(self, "Look into weights", str(folder),
                                              "PyTorch weights (*.pt *.pth);;All files (*)")
        if name:
            self.use_file(Path(name))

    def _load(self, source: Source, kind: str, *, file: Path | None = None,
              run: tuple[Any, int] | None = None) -> None:
        """Look into `source` (the network it names is loaded again only when it differs from
        the one loaded: an edit that leaves the network as it was costs nothing). Weights the
        user chose (a file, a run) become the dock's once they load: weights that do not fit
        are refused and the ones before kept (see _on_session_load_failed)."""
        self.last_action.setEnabled(self.training_panel().weights.trained is not None)
        choice = (source, kind, file or self._file, run or self._run)
        if self.source is not None and _same_network(self.source, source):
            self._pending = None
            self._take(choice)
            return
        self._pending = choice
        if kind not in ("file", "run") or self.source is None:
            self._take(choice)
        self.answer = None
        self.prediction.clear("Loading the network…")
        self.session.load(source)

    def _take(self, choice: tuple[Source, str, Path | None, tuple[Any, int] | None]) -> None:
        """Make a choice of weights the dock's, and say so."""
        source, self.kind, self._file, self._run = choice
        self.source = source
        self.weights_label.setText(f"Weights: <b>{source.label}</b>")
        self.weights_note.setText(source.note)
        self.weights_note.setVisible(bool(source.note))
        self.weights_error_area.hide()

    def _refresh_source(self) -> None:
        """The graph or the data changed: the same choice of weights, made again (untrained
        weights follow the graph; trained ones say whether it still is theirs)."""
        if self.kind == "last":
            self.use_latest()
        elif self.kind == "run" and self._run is not None:
            if not self.use_run(*self._run):
                self.use_untrained()
        elif self.kind == "file" and self._file is not None:
            self.use_file(self._file)
        else:
            self.use_untrained()

    # -- samples ---------------------------------------------------------------------------
    def pick_sample(self, split: str, index: int) -> bool:
        """Look at sample `index` of `split` ("test", "val" or "train", as inspect counts)."""
        self.source_tabs.setCurrentIndex(0)
        return self.picker.pick(split, index)

    def pick_row(self, array: str, row: int) -> bool:
        """Look at row `row` of the dataset's `array` ("test", or "train": the training
        array the validation split is drawn from), named by the split it is in."""
        found = find_row(self.picker.splits, array, row)
        return found is not None and self.pick_sample(*found)

    def show_samples(self, title: str, array: str, rows: np.ndarray) -> bool:
        """Walk through these rows of the dataset's `array` (a confusion cell's), from the
        first, in the split the first is in."""
        found = [find_row(self.picker.splits, array, int(row)) for row in rows]
        found = [f for f in found if f is not None]
        if not found:
            return False
        split = found[0][0]
        self.source_tabs.setCurrentIndex(0)
        return self.picker.show_list(title, split, np.array([i for s, i in found if s == split]))

    def pick_file(self, path: Path) -> None:
        """Look at an image file (read in the worker, prepared like the training data unless
        the user says otherwise)."""
        self.image = Path(path)
        self.session.read(self.image, self.prepare_check.isChecked())

    def open_image_dialog(self) -> None:
        folder = self.doc.path.parent if self.doc.path is not None else Path.home()
        name, _ = QFileDialog.getOpenFileName(self, "Look at an image", str(folder),
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif)")
        if name:
            self.pick_file(Path(name))

    def look_at(self, raw: np.ndarray, true: int | None = None, words: str = "") -> None:
        """Look at a raw sample given as it is (in the data's units and shape)."""
        self._set_sample("given", np.asarray(raw), true, words or "a sample")

    def _set_sample(self, kind: str, value: Any, true: int | None, words: str) -> None:
        self.sample = (kind, value, true)
        self.sample_words = words
        self.ask()

    # -- asking ----------------------------------------------------------------------------
    def set_layer(self, path: NodePath | None) -> None:
        self.layer = path
        info = self.session.info
        if info is not None and path in info.convolutions:
            self.filters.path = path
        self.ask()

    def set_thumbnails_enabled(self, on: bool) -> None:
        self.thumbnails_on = on
        if not on:
            self.thumbnails_changed.emit({})
        else:
            self.ask()

    def card_paths(self) -> dict[str, NodePath]:
        """The shown cards' node paths: top-level ids, or inside an opened block the
        instance shown (its first run)."""
        info = self.session.info
        if info is None:
            return {}
        prefix = tuple(part for crumb in self.doc.scope.trail for part in (crumb.node, 0))
        paths = {node: prefix + (node,) for node in self.doc.scope.graph.nodes()}
        return {node: path for node, path in paths.items() if path in info.shapes}

    def request(self) -> Request | None:
        """Everything the views need for the current choices, or None (nothing to ask)."""
        info = self.session.info
        if info is None or self.sample is None:
            return None
        kind, value, _ = self.sample
        tab = self.view_tabs.currentIndex()
        filters = None
        if tab == TAB_FILTERS and info.convolutions:
            filters = self.filters.path if self.filters.path in info.convolutions \
                else info.convolutions[0]
        saliency = self.saliency.wanted() if tab == TAB_SALIENCY and info.classifier \
            and info.image else None
        thumbs = tuple(self.card_paths().values()) if self.thumbnails_on else ()
        return Request(probe=info.serial, raw=value if kind != "drawing" else None,
                       drawing=value if kind == "drawing" else None, layer=self.layer,
                       order=self.maps.order, thumbs=thumbs, saliency=saliency,
                       filters=filters)

    def ask(self) -> None:
        request = self.request()
        if request is not None:
            self.session.ask(request)

    # -- answers ---------------------------------------------------------------------------
    def _on_session_loaded(self, info: ProbeInfo) -> None:
        if self._pending is not None and self._pending[0] is info.source:
            self._take(self._pending)
            self._pending = None
        self.pad.set_style(info.style)
        self.source_tabs.setTabEnabled(PAGE_DRAW, info.style is not None)
        self.draw_note.setText(info.style_note or (
            "Made to look like the training data" if info.style is not None else ""))
        self.draw_note.setToolTip("A drawing is scaled, thickened or thinned and centred the "
                                  "way the training samples are (measured on them)")
        self.filters.set_layers(info.convolutions, info.texts)
        self.saliency.set_choices(info.classes, info.image_layers, info.texts, info.default_cam)
        if not (info.classifier and info.image):
            self.saliency.show_hint()
        self.layer = self._selected_path(tuple(self.doc.selection()))  # chosen before it loaded
        if self.sample is None:
            self._sample_from_tab()
        self.ask()
        if self.sample is None:
            self.prediction.clear(NO_SAMPLE)

    def _on_session_answered(self, answer: Answer) -> None:
        self.answer = answer
        look = answer.look
        true = self.sample[2] if self.sample is not None else None
        self.prediction.show_look(look, true, self.sample_words)
        self._show_layer(answer)
        if answer.filters is not None and answer.request.filters is not None:
            self.filters.show_filters(answer.request.filters, answer.filters)
        if answer.saliency is not None:
            info = self.session.info
            layer = answer.saliency.cam_layer
            self.saliency.show_saliency(answer.saliency, look.picture, look.classes,
                                        info.texts.get(layer, "") if info and layer else "")
        if answer.problem:
            self.message.emit(answer.problem)
        if self.thumbnails_on:
            self.thumbnails_changed.emit(self.thumbnails(answer))

    def thumbnails(self, answer: Answer) -> dict[str, ThumbData]:
        """Each shown card's strip for `answer`: the Input's picture, the Output's classes,
        every other card's output."""
        info = self.session.info
        look = answer.look
        out: dict[str, ThumbData] = {}
        for node, path in self.card_paths().items():
            data = input_thumb(look) if info is not None and path == info.input_path \
                else answer.thumbs.get(path)
            if data is not None:
                out[node] = data
        if not self.doc.scope.trail:  # the Output cards of the top level: the answer
            role = self.doc.registry.role_of
            graph = self.doc.scope.graph
            data = output_thumb(look)
            for node in graph.nodes():
                if data is not None and role(graph.type_of(node)) == "output":
                    out[node] = data
        return out

    def _show_layer(self, answer: Answer) -> None:
        info = self.session.info
        path = answer.request.layer
        look = answer.look
        if info is None or path is None or path not in look.outputs:
            self.maps.show_hint("Select a layer on the canvas to see all its channels for "
                                "this sample" if path is None else
                                "This card has no output of its own to show (select a layer)")
            return
        output = look.outputs[path]
        kind = info.types.get(path, "")
        classes = len(output.shape) == 1 and len(output) == len(info.classes) \
            and (path == look.result or kind in ("Softmax", "LogSoftmax"))
        self.maps.show_layer(path, f"{info.texts.get(path, path)} ({kind})", output,
                             answer.tiles, info.classes if classes else (),
                             percent=kind == "Softmax")

    def _on_session_load_failed(self, text: str) -> None:
        """Weights the user chose that cannot be looked into are refused, saying why in full,
        and the ones before are loaded again; any other network's failure is shown."""
        pending, self._pending = self._pending, None
        if pending is None or pending[0] is self.source or self.source is None:
            self._on_session_failed(text)
            return
        self.weights_error.setText(f"Not loaded: {text}")
        self.weights_error_area.show()
        self.message.emit(f"Look Inside kept {self.source.label}: {text.splitlines()[0]}")
        self.prediction.clear("Loading the network…")
        self.session.load(self.source)

    def _on_session_failed(self, text: str) -> None:
        self.prediction.clear(text)
        self.message.emit(text.splitlines()[0])

    def _on_session_sample_read(self, path: Path, raw: np.ndarray, notes: list[str]) -> None:
        self.image = Path(path)
        self._file_sample = (raw, path.name + (f" ({'; '.join(notes)})" if notes else ""))
        self.picker.show_file(path.name, [note.removeprefix(f"{path.name}: ") for note in notes])
        if self.source_tabs.currentIndex() != PAGE_DATA:
            self.source_tabs.setCurrentIndex(PAGE_DATA)  # says it, showing the file
        else:
            self._sample_from_tab()

    # -- the user's choices ----------------------------------------------------------------
    def _sample_from_tab(self) -> None:
        if self.source_tabs.currentIndex() == PAGE_DRAW:
            if self.pad.is_blank():
                self._on_pad_cleared()
            else:
                self._set_sample("drawing", self.pad.picture(), None, "your drawing")
            return
        if self._file_sample is not None:
            self._set_sample("file", self._file_sample[0], None, self._file_sample[1])
            return
        picked = self.picker.sample()
        if picked is not None:
            self._set_sample("data", picked[0], picked[1], self.picker.name())

    def _on_picker_picked(self, _split: str, _index: int) -> None:
        self.image = self._file_sample = None  # a sample of the data instead of the file
        self._sample_from_tab()

    def _on_pad_drawn(self, picture: np.ndarray) -> None:
        self._set_sample("drawing", picture, None, "your drawing")

    def _on_pad_cleared(self) -> None:
        """No sample: nothing of the last one stays on show."""
        self.sample = None
        self.answer = None
        self.prediction.clear("Draw a digit on the pad")
        self.maps.show_hint("Draw a digit to see what each layer makes of it")
        self.saliency.show_hint("Draw a digit to see what drives the decision")
        self.thumbnails_changed.emit({})

    def _on_prepare_check_toggled(self, _on: bool) -> None:
        if self.image is not None and self.sample is not None and self.sample[0] == "file":
            self.pick_file(self.image)

    def _on_source_tabs_changed(self, _index: int) -> None:
        self._sample_from_tab()

    def _on_view_tabs_changed(self, _index: int) -> None:
        self.ask()

    def _on_maps_order_changed(self, _order: str) -> None:
        self.ask()

    def _on_filters_layer_chosen(self, path: NodePath) -> None:
        self.filters.path = path
        self.ask()

    def _on_doc_selection_changed(self, nodes: tuple[str, ...]) -> None:
        self.set_layer(self._selected_path(nodes))

    def _selected_path(self, nodes: tuple[str, ...]) -> NodePath | None:
        """The one selected card's node path (None: none, several, or no output of its
        own)."""
        paths = self.card_paths()
        info = self.session.info
        if info is not None and not self.doc.scope.trail:  # an Output card: the answer
            graph, role = self.doc.graph, self.doc.registry.role_of
            paths.update({n: info.result for n in graph.nodes()
                          if role(graph.type_of(n)) == "output" and info.result is not None})
        chosen = [paths[n] for n in nodes if n in paths]
        return chosen[0] if len(chosen) == 1 else None

    def _on_doc_scope_changed(self, _scope: object) -> None:
        self.layer = None
        self.ask()  # the cards shown are another graph's: their strips too

    def _on_doc_changed(self, change: Change) -> None:
        if change.replaced:
            self.kind = "last"  # another graph: its own weights, if it has any
            self._reload_timer.start(0)
        elif change.inferred:
            self._reload_timer.start()

    def _on_reload_timer_timeout(self) -> None:
        self._refresh_source()

    def _on_data_loaded_changed(self, dataset: Any) -> None:
        self._set_picker_data(dataset)
        self.sample = None if self.sample is not None and self.sample[0] == "data" \
            else self.sample
        self._refresh_source()

    def _on_training_changed(self, running: bool) -> None:
        if not running and self.kind in ("last", "untrained"):
            self.use_last_run(quiet=True)  # the run's weights, now that it ended

    def _on_theme_changed(self, theme: Any) -> None:
        self.weights_note.setStyleSheet(f"color: {theme.warning};")
        self.weights_error.setStyleSheet(f"color: {theme.error};")
        self.draw_note.setStyleSheet(f"color: {theme.muted};")

    def shutdown(self) -> bool:
        return self.session.shutdown()

    def focus_draw(self) -> None:
        self.source_tabs.setCurrentIndex(PAGE_DRAW)
        self.pad.setFocus(Qt.FocusReason.OtherFocusReason)


def _same_network(a: Source, b: Source) -> bool:
    """Whether two sources name the same network: weights, data and layers."""
    from dlbuilder.gui.training.weights_files import same_network

    return a.weights == b.weights and a.dataset is b.dataset \
        and same_network(a.graph, b.graph)
