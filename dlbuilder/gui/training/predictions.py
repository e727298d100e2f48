"""A scrollable grid of the evaluated samples: each picture with the predicted class and its
probability, and, when wrong, the true class in the error colour inside a red frame.

Made for 10,000 samples: a QListView over a list model paints only the visible cells, and
each thumbnail is made from the numpy array when first painted (a small cache keeps the
recent ones), so nothing is made per sample up front. Feature data (no pictures) gets one
line of text per sample instead.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.widgets.text import plural

if TYPE_CHECKING:
    from dlbuilder.backend.evaluation import Evaluation

THUMB = 64            # thumbnail side in pixels
CACHE_SIZE = 800      # thumbnails kept
SAMPLE_ROLE = Qt.ItemDataRole.UserRole + 1   # the sample's index in the evaluation
WRONG_ROLE = Qt.ItemDataRole.UserRole + 2    # whether the prediction is wrong
TRUE_ROLE = Qt.ItemDataRole.UserRole + 3     # the true class's name
PREDICTED_ROLE = Qt.ItemDataRole.UserRole + 4  # the predicted class's name
CONFIDENCE_ROLE = Qt.ItemDataRole.UserRole + 5  # its probability, "97%"
SPLIT_NAMES = {"test": "test", "val": "validation"}
ModelIndex = QModelIndex | QPersistentModelIndex


def short_percent(p: float) -> str:
    """97% for a probability; never rounds a doubt away to 100%."""
    value = round(100 * p)
    return ">99%" if value >= 100 and p < 1 else f"{value}%"


def usable_images(images: np.ndarray | None, n: int) -> np.ndarray | None:
    """`images` when they are N pictures (N, H, W) or (N, H, W, 1|3); otherwise None."""
    if images is None or len(images) != n:
        return None
    if images.ndim == 3 or (images.ndim == 4 and images.shape[-1] in (1, 3)):
        return images if images.shape[1] and images.shape[2] else None
    return None


def to_qimage(picture: np.ndarray, side: int = THUMB) -> QImage:
    """One picture as a QImage at most `side` pixels wide and high: small ones scaled up by a
    whole factor without smoothing (so 8x8 digits stay crisp), large ones smoothed down."""
    if picture.dtype != np.uint8:
        values = picture.astype(np.float32)
        if values.size and float(np.nanmax(values)) <= 1.0:
            values = values * 255
        picture = np.clip(np.nan_to_num(values), 0, 255).astype(np.uint8)
    if picture.ndim == 3 and picture.shape[-1] == 1:
        picture = picture[..., 0]
    picture = np.ascontiguousarray(picture)
    h, w = picture.shape[:2]
    if picture.ndim == 2:
        image = QImage(picture.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    else:
        image = QImage(picture.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    if max(h, w) <= side:
        factor = side // max(h, w)
        return image.scaled(w * factor, h * factor, Qt.AspectRatioMode.IgnoreAspectRatio,
                            Qt.TransformationMode.FastTransformation)
    return image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)


class PredictionsModel(QAbstractListModel):
    """One row per shown sample, in the order given by `set_order`."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._evaluation: Evaluation | None = None
        self._order = np.zeros(0, dtype=np.int64)
        self._predicted = np.zeros(0, dtype=np.int64)
        self._images: np.ndarray | None = None
        self._cache: OrderedDict[int, QImage] = OrderedDict()

    def set_evaluation(self, evaluation: Evaluation | None) -> None:
        """Take an evaluation (None: nothing); shows no sample until `set_order`."""
        self.beginResetModel()
        self._evaluation = evaluation
        self._order = np.zeros(0, dtype=np.int64)
        self._cache.clear()
        if evaluation is None:
            self._predicted, self._images = np.zeros(0, dtype=np.int64), None
        else:
            self._predicted = evaluation.predicted
            self._images = usable_images(evaluation.images, len(evaluation.labels))
        self.endResetModel()

    def set_order(self, order: np.ndarray) -> None:
        """Show these sample indices, in this order."""
        self.beginResetModel()
        self._order = np.asarray(order, dtype=np.int64)
        self.endResetModel()

    @property
    def has_images(self) -> bool:
        return self._images is not None

    def class_names(self) -> tuple[str, ...]:
        return self._evaluation.classes if self._evaluation is not None else ()

    def order(self) -> np.ndarray:
        return self._order.copy()

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's API
        return 0 if parent.isValid() else len(self._order)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        ev = self._evaluation
        if ev is None or not index.isValid() or not 0 <= index.row() < len(self._order):
            return None
        sample = int(self._order[index.row()])
        predicted, true = int(self._predicted[sample]), int(ev.labels[sample])
        if role == Qt.ItemDataRole.DisplayRole:
            text = f"{ev.classes[predicted]} · {self.confidence(sample)}"
            return text if self.has_images else f"sample {sample}: predicted {text}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnail(sample) if self.has_images else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(sample)
        if role == SAMPLE_ROLE:
            return sample
        if role == WRONG_ROLE:
            return predicted != true
        if role == TRUE_ROLE:
            return ev.classes[true]
        if role == PREDICTED_ROLE:
            return ev.classes[predicted]
        if role == CONFIDENCE_ROLE:
            return self.confidence(sample)
        return None

    def confidence(self, sample: int) -> str:
        assert self._evaluation is not None
        return short_percent(float(self._evaluation.probabilities[sample,
                                                                  self._predicted[sample]]))

    def tooltip(self, sample: int) -> str:
        """The sample, its true class and the three most probable classes."""
        ev = self._evaluation
        assert ev is not None
        probs = ev.probabilities[sample]
        true = int(ev.labels[sample])
        verdict = "right" if int(self._predicted[sample]) == true else "wrong"
        lines = [f"Sample {sample:,}: true {ev.classes[true]} ({verdict})"]
        for k in np.argsort(-probs, kind="stable")[:3]:
            lines.append(f"{ev.classes[int(k)]}: {100 * float(probs[k]):.1f}%")
        return "\n".join(lines)

    def thumbnail(self, sample: int) -> QImage | None:
        """The sample's picture scaled for the grid, made on first use and cached."""
        if self._images is None:
            return None
        image = self._cache.get(sample)
        if image is None:
            image = to_qimage(self._images[sample])
            self._cache[sample] = image
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(sample)
        return image

    def cached_thumbnails(self) -> int:
        return len(self._cache)


class PredictionDelegate(QStyledItemDelegate):
    """Paints a cell: the thumbnail over "5 · 97%" and, when wrong, "true 3" in the error
    colour inside a red frame; or, for feature data, one line of text."""

    def __init__(self, model: PredictionsModel, parent: Any = None) -> None:
        super().__init__(parent)
        self._model = model

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        fm = QFontMetrics(option.font)
        if self._model.has_images:  # wide enough for most class names, up to a limit
            names = max((fm.horizontalAdvance(f"{c} · 100%") for c in self._model.class_names()),
                        default=0)
            width = min(max(THUMB + 24, names + 12), THUMB + 64)
            return QSize(width, THUMB + 2 * fm.height() + 14)
        longest = max(self._model.class_names(), key=fm.horizontalAdvance, default="0")
        line = f"sample 10,000: predicted {longest} · 99%, true {longest}"
        return QSize(min(max(240, fm.horizontalAdvance(line) + 24), 460), fm.height() + 12)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        theme = current()
        wrong = bool(index.data(WRONG_ROLE))
        rect = option.rect.adjusted(2, 2, -2, -2)
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        background = QColor(theme.highlight if selected else theme.card)
        if selected:
            background.setAlphaF(0.25)
        painter.setPen(QPen(QColor(theme.error if wrong else theme.card_border),
                            2.0 if wrong else 1.0))
        painter.setBrush(background)
        painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 3, 3)
        if self._model.has_images:
            self._paint_picture(painter, option, index, rect, wrong)
        else:
            self._paint_line(painter, option, index, rect, wrong)
        painter.restore()

    def _paint_picture(self, painter: QPainter, option: QStyleOptionViewItem,
                       index: ModelIndex, rect: QRect, wrong: bool) -> None:
        theme = current()
        fm = QFontMetrics(option.font)
        image = index.data(Qt.ItemDataRole.DecorationRole)
        box = QRect(rect.x() + (rect.width() - THUMB) // 2, rect.y() + 5, THUMB, THUMB)
        if isinstance(image, QImage):
            target = QRect(0, 0, image.width(), image.height())
            target.moveCenter(box.center())
            painter.drawImage(target, image)
        text_rect = QRect(rect.x() + 3, box.bottom() + 3, rect.width() - 6, fm.height())
        center = Qt.AlignmentFlag.AlignCenter
        painter.setFont(option.font)
        painter.setPen(QColor(theme.text))
        tail = f" · {index.data(CONFIDENCE_ROLE)}"
        name = fm.elidedText(str(index.data(PREDICTED_ROLE)), Qt.TextElideMode.ElideRight,
                             text_rect.width() - fm.horizontalAdvance(tail))
        painter.drawText(text_rect, center, name + tail)
        if wrong:
            painter.setPen(QColor(theme.error))
            painter.drawText(text_rect.translated(0, fm.height()), center, fm.elidedText(
                f"true {index.data(TRUE_ROLE)}", Qt.TextElideMode.ElideRight,
                text_rect.width()))

    def _paint_line(self, painter: QPainter, option: QStyleOptionViewItem,
                    index: ModelIndex, rect: QRect, wrong: bool) -> None:
        """"sample 17: predicted 2 · 88%" and, when wrong, ", true 1" in the error colour."""
        theme = current()
        fm = QFontMetrics(option.font)
        painter.setFont(option.font)
        inner = rect.adjusted(8, 0, -8, 0)
        tail = f", true {index.data(TRUE_ROLE)}" if wrong else ""
        head = fm.elidedText(str(index.data()), Qt.TextElideMode.ElideRight,
                             inner.width() - fm.horizontalAdvance(tail))
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.setPen(QColor(theme.text))
        painter.drawText(inner, align, head)
        if tail:
            painter.setPen(QColor(theme.error))
            painter.drawText(inner.adjusted(fm.horizontalAdvance(head), 0, 0, 0), align, tail)


class PredictionsGridWidget(QWidget):
    """A header saying what is shown over the grid of samples (all of them wrong first, or
    one confusion-matrix cell's)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._evaluation: Evaluation | None = None
        self._cell: tuple[int, int] | None = None
        self.header = QLabel()
        self.header.setToolTip("Which samples the grid shows; hover over a sample for the "
                               "three most probable classes")
        self.model = PredictionsModel(self)
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setItemDelegate(PredictionDelegate(self.model, self.view))
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setWrapping(True)
        self.view.setUniformItemSizes(True)
        self.view.setSpacing(2)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setDragEnabled(False)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setToolTip("The evaluated samples; wrong predictions have a red frame and "
                             "their true class under them")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.header)
        layout.addWidget(self.view, 1)
        theme_manager().changed.connect(self._on_theme_changed)

    def set_evaluation(self, evaluation: Evaluation | None) -> None:
        """Show `evaluation`'s samples, all of them, wrong first; None empties the grid."""
        self._evaluation = evaluation
        self.model.set_evaluation(evaluation)
        self.show_all()

    def show_all(self) -> None:
        self._cell = None
        self._show(None, None)

    def show_cell(self, true: int, predicted: int) -> None:
        """Only the samples of true class `true` predicted as `predicted`."""
        self._cell = (true, predicted)
        self._show(true, predicted)

    def shown_cell(self) -> tuple[int, int] | None:
        return self._cell

    @property
    def evaluation(self) -> Evaluation | None:
        return self._evaluation

    def header_text(self) -> str:
        return self.header.text()

    def _show(self, true: int | None, predicted: int | None) -> None:
        ev = self._evaluation
        order = np.zeros(0, dtype=np.int64) if ev is None else ev.wrong_first(true, predicted)
        self.model.set_order(order)
        self.view.scrollToTop()
        self.header.setText(self._describe(order))

    def _describe(self, order: np.ndarray) -> str:
        """"All 10,000 test images, wrong first (213 wrong)" or "True 3, predicted 5: 12
        images"."""
        ev = self._evaluation
        if ev is None:
            return ""
        noun = "images" if self.model.has_images else "samples"
        if self._cell is not None:
            true, predicted = self._cell
            count = plural(len(order), noun) if len(order) else f"no {noun}"
            order_note = ", least sure first" if true == predicted and len(order) > 1 else ""
            return f"True {ev.classes[true]}, predicted {ev.classes[predicted]}: " \
                   f"{count}{order_note}"
        split = SPLIT_NAMES.get(ev.split, ev.split)
        wrong = int((ev.predicted != ev.labels).sum())
        if not len(order):
            return f"No {split} {noun}"
        shown = plural(len(order), f"{split} {noun}")
        if not wrong:
            return f"All {shown}, all right (least sure first)"
        return f"All {shown}, wrong first ({wrong:,} wrong)"

    def _on_theme_changed(self, _theme: object) -> None:
        self.view.viewport().update()
