"""Choosing the data to train on, and seeing it: a few sample images (or the first rows of a
table), what the data holds, the graph's Input beside it, and whether the two fit.

Loading runs in the background (DatasetLoader); a built-in dataset that is not on this computer
yet offers its download here, with progress, and a failed load shows the loader's message with
a Retry. Only the user's own choices emit `changed`; `set_source` shows a file's values quietly.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.backend.datasets import Dataset, builtin_name
from dlbuilder.backend.fit import Fit
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.training.data_folders import DataFolders
from dlbuilder.gui.training.dataset_loader import (
    DatasetLoader,
    dataset_key,
    dataset_title,
    describe,
    feature_rows,
    progress_text,
)
from dlbuilder.gui.training.samples_view import SamplesWidget

CHOICES = (  # (dataset, label, tooltip)
    ("digits", "Digits (8×8, built in)",
     "1,797 handwritten digits, 8×8 pixels, 10 classes. Embedded in dlbuilder: no download."),
    ("mnist", "MNIST (28×28 digits)",
     ("70,000 handwritten digits, 28×28 pixels, 10 classes. Downloaded once (about 12 MB) "
      "into the cache, or read from a data folder that holds its four files.")),
    ("fashion-mnist", "Fashion-MNIST (28×28 clothing)",
     ("70,000 pictures of clothing, 28×28 pixels, 10 classes. Downloaded once (about 31 MB) "
      "into the cache, or read from a data folder that holds its four files.")),
    ("cifar10", "CIFAR-10 (32×32 colour photos)",
     ("60,000 colour photos, 32×32 pixels, 10 classes. Downloaded once (about 170 MB) into "
      "the cache, or read from a data folder that holds cifar-10-binary.tar.gz.")),
)
ASK_FOLDER, ASK_FILE = "folder", "file"
ASK_ROLE = Qt.ItemDataRole.UserRole + 1


def _wrapped(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class DataPanel(QWidget):
    """The dataset for training: a choice, a preview, and how it fits the graph's Input."""

    changed = Signal(dict)  # {"dataset": str, "data_dir": str | None}: the user's choice
    loaded_changed = Signal(object)  # the current choice's Dataset, or None

    def __init__(self, parent: QWidget | None = None, loader: DatasetLoader | None = None,
                 folders: DataFolders | None = None) -> None:
        super().__init__(parent)
        self.loader = loader or DatasetLoader(self)
        self.folders = folders
        self._dataset_name = "digits"
        self._data_dir: str | None = None  # the folder read from: the graph's, or remembered
        self._remembered = False  # _data_dir is remembered, not the graph's
        self._key = ""
        self._state = "idle"  # loading, downloading, missing, failed, loaded
        self._download = False  # whether the current request may download
        self._data: Dataset | None = None
        self._input_shape: tuple[int, ...] | None = None
        self._fit: Fit | None = None
        self._locked = False
        self._message = ""  # the missing sentence or the failure's message
        self._progress_line = ""
        self._build()
        self.loader.loaded.connect(self._on_loader_loaded)
        self.loader.failed.connect(self._on_loader_failed)
        self.loader.missing.connect(self._on_loader_missing)
        self.loader.progressed.connect(self._on_loader_progressed)
        theme_manager().changed.connect(self._on_theme_changed)
        self._show_choice()
        self._show_status()

    # -- construction --------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Dataset", self._build_combo())
        form.addRow("Data folder", self._build_folder_row())
        form.labelForField(self.combo).setToolTip(self.combo.toolTip())
        form.labelForField(self.folder_row).setToolTip(self.folder_edit.toolTip())
        self.form = form
        layout.addLayout(form)
        layout.addWidget(self._build_status())
        self.samples = SamplesWidget()
        self.features_label = QLabel()
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.features_label.setFont(font)
        self.features_label.setToolTip("The first rows of the training data: features, then "
                                       "the class")
        self.features_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.samples)
        layout.addWidget(self.features_label)
        layout.addWidget(self._build_facts())
        layout.addStretch(1)
        self._restyle(current())

    def _build_facts(self) -> QWidget:
        """What the data holds; under it the graph's Input with the fit beside it (or, when
        they disagree, the problems below: they need the width)."""
        box = QWidget()
        self.facts = QGridLayout(box)
        self.facts.setContentsMargins(0, 0, 0, 0)
        self.facts.setHorizontalSpacing(12)
        self.facts.setVerticalSpacing(2)
        self.facts.setColumnStretch(1, 1)
        self.description_label = _wrapped()
        self.input_label = QLabel()
        self.input_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.input_label.setToolTip("The shape the graph's Input node takes, per sample")
        self.fit_label = _wrapped()
        self.fit_label.setToolTip("Whether the data's samples and classes fit the graph's "
                                  "Input and output")
        self.facts.addWidget(self.description_label, 0, 0, 1, 2)
        self.facts.addWidget(self.input_label, 1, 0)
        self._place_fit(beside=True)
        return box

    def _place_fit(self, beside: bool) -> None:
        """The fit line beside the graph input, or below it across the width."""
        self.facts.removeWidget(self.fit_label)
        if beside:
            self.facts.addWidget(self.fit_label, 1, 1)
        else:
            self.facts.addWidget(self.fit_label, 2, 0, 1, 2)

    def _build_combo(self) -> QComboBox:
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(12)
        self.combo.setToolTip("The data to train on: a built-in dataset, or your own folder of "
                              "images, .csv or .npz file")
        for name, label, tip in CHOICES:
            self.combo.addItem(label, name)
            self.combo.setItemData(self.combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.combo.insertSeparator(self.combo.count())
        asks = ((ASK_FOLDER, "Folder of images…",
                 ("A folder with one sub-folder of images per class (optionally train/ and "
                  "test/ above them); needs Pillow")),
                (ASK_FILE, "CSV or NPZ file…",
                 ("A .csv with a header row (the column label, target, class or y holds the "
                  "classes), or a .npz with arrays x and y")))
        for ask, label, tip in asks:
            self.combo.addItem(label)
            index = self.combo.count() - 1
            self.combo.setItemData(index, ask, ASK_ROLE)
            self.combo.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
        self.combo.activated.connect(self._on_combo_activated)
        return self.combo

    def _build_folder_row(self) -> QWidget:
        self.folder_row = QWidget()
        row = QHBoxLayout(self.folder_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.folder_edit = QLineEdit()
        self.folder_edit.setReadOnly(True)
        self.folder_edit.setPlaceholderText("the download cache")
        self.folder_edit.setToolTip("Where MNIST, Fashion-MNIST and CIFAR-10 are read from: "
                                    "a folder holding their files, or the download cache")
        self.folder_button = QPushButton("Choose…")
        self.folder_button.setToolTip("Read the built-in dataset from a folder that holds its "
                                      "files (no download)")
        self.folder_button.clicked.connect(self._on_folder_button_clicked)
        self.clear_button = QToolButton()
        self.clear_button.setText("×")
        self.clear_button.setToolTip("Go back to the download cache")
        self.clear_button.clicked.connect(self._on_clear_button_clicked)
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.folder_button)
        row.addWidget(self.clear_button)
        return self.folder_row

    def _build_status(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.status_box = box
        self.status_label = _wrapped()
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.progress.setToolTip("Loading or downloading the data")
        self.action_button = QPushButton()
        self.action_button.clicked.connect(self._on_action_button_clicked)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the download; what arrived is kept and the next "
                                    "download resumes it")
        self.stop_button.clicked.connect(self._on_stop_button_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.action_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        layout.addWidget(self.status_label)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)
        return box

    # -- public --------------------------------------------------------------------------------
    def set_source(self, dataset: str, data_dir: str | None) -> None:
        """Show the file's choice (no `changed`) and load it for the preview; a choice already
        shown is loaded again only when it failed or was missing (files may have appeared)."""
        data_dir, remembered = self._folder_for(dataset, str(data_dir) if data_dir else None)
        same = (dataset, data_dir) == (self._dataset_name, self._data_dir)
        if same and self._state in ("loading", "downloading", "loaded"):
            self._remembered = remembered  # the same folder, now the graph's or remembered
            self._show_choice()
            return
        usable = isinstance(dataset, str) and dataset.strip() != ""
        self._dataset_name, self._data_dir = (dataset if usable else str(dataset)), data_dir
        self._remembered = remembered
        self._show_choice()
        if usable:
            self._request(download=False)
            return
        self._key, self._state = "", "failed"  # the settings form names this problem too
        self._message = f"The file's dataset {dataset!r} is neither a dataset name nor a path."
        self._set_data(None)
        self._show_status()

    def dataset(self) -> Dataset | None:
        """The loaded data of the current choice, or None while it is not (yet) there."""
        return self._data

    def failure(self) -> str | None:
        """Why the chosen data cannot be read (a run would fail the same way), else None."""
        return self._message if self._state == "failed" else None

    def source(self) -> tuple[str, str | None]:
        return self._dataset_name, self._data_dir

    def remembered_folder(self) -> str | None:
        """The folder read from when it is remembered, not the graph's own."""
        return self._data_dir if self._remembered else None

    def _folder_for(self, dataset: object, data_dir: str | None) -> tuple[str | None, bool]:
        """The folder to read `dataset` from, and whether it is a remembered one: the graph's
        own wins; a built-in dataset without one takes the folder remembered for it."""
        name = builtin_name(dataset) if isinstance(dataset, str) else None
        if data_dir or self.folders is None or name in (None, "digits"):
            return data_dir, False
        remembered = self.folders.get(name)
        return remembered, remembered is not None

    def set_input_shape(self, shape: tuple[int, ...] | None) -> None:
        self._input_shape = tuple(shape) if shape is not None else None
        self._show_texts()

    def show_fit(self, fit: Fit | None) -> None:
        """How the data and the graph agree, as the caller checked it (None: not checked)."""
        self._fit = fit
        self._show_texts()

    def set_locked(self, locked: bool) -> None:
        """No other choice while a run trains on this one."""
        self._locked = locked
        self._show_choice()
        self._show_status()

    # -- requests and answers ------------------------------------------------------------------
    def _request(self, download: bool) -> None:
        self._download = download
        self._fit = None
        self._set_data(None)
        self._key = dataset_key(self._dataset_name, self._data_dir)
        self._state = "downloading" if download else "loading"
        self._progress_line = ""
        self.loader.request(self._dataset_name, self._data_dir, download=download)
        self._show_status()

    def _on_loader_loaded(self, key: str, data: Dataset) -> None:
        if key == self._key:
            self._state = "loaded"
            self._set_data(data)
            self._show_status()

    def _on_loader_failed(self, key: str, message: str) -> None:
        if key == self._key:
            self._state, self._message = "failed", message
            self._set_data(None)
            self._show_status()

    def _on_loader_missing(self, key: str, sentence: str) -> None:
        if key == self._key:
            self._state, self._message = "missing", sentence
            self._set_data(None)
            self._show_status()

    def _on_loader_progressed(self, key: str, file_name: str, done: int,
                              total: int | None) -> None:
        if key != self._key or self._state not in ("loading", "downloading"):
            return
        if self._state == "loading":  # a download this panel asked for before, still going
            self._state = "downloading"
            self._show_status()
        self._progress_line = progress_text(self._dataset_name, file_name, done, total)
        self.status_label.setText(self._progress_line)
        if total:
            self.progress.setRange(0, max(1, total // 1024))
            self.progress.setValue(min(done, total) // 1024)
        else:
            self.progress.setRange(0, 0)

    def _set_data(self, data: Dataset | None) -> None:
        changed = data is not self._data
        self._data = data
        self.samples.set_dataset(data)
        self.features_label.setText(feature_rows(data) if data and data.kind != "image" else "")
        self.features_label.setVisible(bool(data) and data.kind != "image")
        self._show_texts()
        if changed:
            self.loaded_changed.emit(data)

    # -- the user's choices --------------------------------------------------------------------
    def _on_combo_activated(self, index: int) -> None:
        ask = self.combo.itemData(index, ASK_ROLE)
        dataset = self._ask_path(ask) if ask else self.combo.itemData(index)
        if not dataset:
            self._show_choice()  # a cancelled dialog leaves the choice as it was
            return
        own = None if self._remembered else self._data_dir
        self._choose(dataset, own if builtin_name(dataset) else None)

    def _on_folder_button_clicked(self) -> None:
        title = dataset_title(self._dataset_name)
        path = QFileDialog.getExistingDirectory(self, f"Folder holding the {title} files",
                                                self._data_dir or str(Path.home()))
        if path:
            self._remember(path)
            self._choose(self._dataset_name, path)

    def _on_clear_button_clicked(self) -> None:
        """Back to the download cache, for this graph and as the remembered folder."""
        self._remember(None)
        self._choose(self._dataset_name, None)

    def _remember(self, folder: str | None) -> None:
        name = builtin_name(self._dataset_name)
        if self.folders is None or name is None:
            return
        if folder:
            self.folders.remember(name, folder)
        else:
            self.folders.forget(name)

    def _on_action_button_clicked(self) -> None:
        self._request(download=self._state == "missing" or self._download)

    def _on_stop_button_clicked(self) -> None:
        self.loader.cancel(self._key)

    def _ask_path(self, ask: str) -> str | None:
        own = builtin_name(self._dataset_name) is None
        start = str(Path(self._dataset_name).expanduser().parent) if own else str(Path.home())
        if ask == ASK_FOLDER:
            path = QFileDialog.getExistingDirectory(self, "Folder of images (one sub-folder "
                                                    "per class)", start)
        else:
            path, _ = QFileDialog.getOpenFileName(self, "CSV or NPZ file", start,
                                                  "Data (*.csv *.npz);;All files (*)")
        return path or None

    def _choose(self, dataset: str, data_dir: str | None) -> None:
        """The user's choice: `data_dir` is the graph's (None: none of its own)."""
        folder, remembered = self._folder_for(dataset, data_dir)
        if (dataset, folder, remembered) == (self._dataset_name, self._data_dir,
                                             self._remembered):
            self._show_choice()
            return
        self._dataset_name, self._data_dir, self._remembered = dataset, folder, remembered
        self._show_choice()
        self.changed.emit({"dataset": dataset, "data_dir": data_dir})
        self._request(download=False)

    # -- showing -------------------------------------------------------------------------------
    def _show_choice(self) -> None:
        builtin = builtin_name(self._dataset_name)
        own_index = self._own_item_index()
        if builtin is not None:
            if own_index is not None:
                self.combo.removeItem(own_index)
            index = self.combo.findData(builtin)
        else:
            index = self._put_own_item(own_index)
        self.combo.setCurrentIndex(index)
        self.combo.setEnabled(not self._locked)
        self.folder_edit.setText(self._data_dir or "")
        self.folder_edit.setToolTip(
            f"{self._data_dir}\nRemembered from your earlier choice on this computer; not "
            "saved in the graph. × goes back to the download cache" if self._remembered
            else self._data_dir or "The download cache")
        uses_folder = builtin not in (None, "digits")
        self.form.setRowVisible(self.folder_row, uses_folder)
        self.folder_row.setEnabled(not self._locked)
        self.clear_button.setEnabled(self._data_dir is not None)

    def _own_item_index(self) -> int | None:
        first = len(CHOICES) + 1  # after the built-ins and the separator
        if self.combo.count() > first and self.combo.itemData(first, ASK_ROLE) is None:
            return first
        return None

    def _put_own_item(self, index: int | None) -> int:
        """The item for the user's file or folder, right after the separator."""
        if index is None:
            index = len(CHOICES) + 1
            self.combo.insertItem(index, "")
        self.combo.setItemText(index, dataset_title(self._dataset_name))
        self.combo.setItemData(index, self._dataset_name)
        self.combo.setItemData(index, self._dataset_name, Qt.ItemDataRole.ToolTipRole)
        return index

    def _show_status(self) -> None:
        state, title = self._state, dataset_title(self._dataset_name)
        texts = {"loading": f"Loading {title}…",
                 "downloading": self._progress_line or f"Downloading {title}…",
                 "missing": f"{self._message} You can also choose a data folder that holds "
                            "its files.",
                 "failed": self._message}
        self.status_label.setText(texts.get(state, ""))
        self.status_box.setVisible(state in texts)
        self.progress.setVisible(state in ("loading", "downloading"))
        if state == "loading" or (state == "downloading" and not self._progress_line):
            self.progress.setRange(0, 0)  # busy
        self.action_button.setVisible(state in ("missing", "failed"))
        self.action_button.setText("Download" if state == "missing" else "Retry")
        self.action_button.setToolTip(
            f"Download {title} into the cache folder, with progress here" if state == "missing"
            else "Try again: load, or resume the download")
        self.action_button.setEnabled(not self._locked)
        self.stop_button.setVisible(state == "downloading")
        self._restyle(current())

    def _show_texts(self) -> None:
        data = self._data
        self.description_label.setText(describe(data) if data else "")
        self.description_label.setToolTip(f"{data.name}, from {data.source}" if data else "")
        self.description_label.setVisible(data is not None)
        shape = self._input_shape
        self.input_label.setText(f"Graph input: {'×'.join(str(n) for n in shape)}"
                                 if shape else "The graph has no Input node")
        fit = self._fit if data is not None else None
        self.fit_label.setVisible(fit is not None)
        if fit is not None:
            lines = [f"• {p}" for p in fit.problems] + ([fit.unknown] if fit.unknown else [])
            self.fit_label.setText("\n".join(lines) or "Fits the graph ✓")
            self._place_fit(beside=not lines)
        self._restyle(current())

    def _restyle(self, theme: Theme) -> None:
        self.description_label.setStyleSheet(f"color: {theme.text};")
        self.input_label.setStyleSheet(f"color: {theme.muted};")
        fit = self._fit
        fit_color = (theme.error if fit and fit.problems else theme.muted if fit and fit.unknown
                     else theme.success)
        self.fit_label.setStyleSheet(f"color: {fit_color};")
        failed = self._state == "failed"
        self.status_label.setStyleSheet(f"color: {theme.error if failed else theme.text};")
        self.samples.update()

    def _on_theme_changed(self, theme: Theme) -> None:
        self._restyle(theme)
