"""Finding layers by what a person types, and drawing them in a list: shared by the palette and
the quick-add popup so both match and look the same.

A query is split into words; every word must occur (case-insensitive) in the type name, the
one-line summary or the category's title. The best matches come first: the exact type, then
types that start with the query, then types containing it, then the rest in registry order.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QIcon, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from dlbuilder.core.registry import LayerSpec, Registry
from dlbuilder.gui.look.theme import current

CATEGORY_TITLES = {
    "io": "Input / output",
    "convolution": "Convolution",
    "pooling": "Pooling and resizing",
    "normalization": "Normalization and dropout",
    "dense": "Dense",
    "activation": "Activation",
    "merge": "Merge and split (branches)",
}

TYPE_ROLE = Qt.ItemDataRole.UserRole + 1      # the layer type name an item stands for
SUMMARY_ROLE = Qt.ItemDataRole.UserRole + 2   # its one-line summary, drawn as a second line


def category_title(category: str) -> str:
    return CATEGORY_TITLES.get(category, category.capitalize())


def match_rank(spec: LayerSpec, query: str) -> int | None:
    """How well `spec` matches `query` (lower is better), or None when it does not match."""
    words = query.lower().split()
    if not words:
        return 3
    name = spec.type.lower()
    haystack = " ".join((name, spec.summary.lower(), category_title(spec.category).lower(),
                         spec.category))
    if not all(word in haystack for word in words):
        return None
    first = words[0]
    if name == first:
        return 0
    if name.startswith(first):
        return 1
    if first in name:
        return 2
    return 3


def find_layers(registry: Registry, query: str) -> list[LayerSpec]:
    """The layers matching `query`, best first (registry order among equals)."""
    ranked = []
    for order, spec in enumerate(registry):
        rank = match_rank(spec, query)
        if rank is not None:
            ranked.append((rank, order, spec))
    return [spec for _, _, spec in sorted(ranked, key=lambda item: item[:2])]


def tooltip_for(spec: LayerSpec) -> str:
    return f"<b>{spec.type}</b> ({category_title(spec.category)})<br>{spec.summary}"


class LayerItemDelegate(QStyledItemDelegate):
    """A layer as two lines: icon and type name in bold, the summary below in muted text."""

    PAD = 4

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        base = super().sizeHint(option, index)
        if index.data(SUMMARY_ROLE) is None:
            return base
        line = QFontMetrics(option.font).height()
        return QSize(base.width(), 2 * line + 2 * self.PAD)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        summary = index.data(SUMMARY_ROLE)
        if summary is None:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        style = opt.widget.style() if opt.widget is not None else None
        text, opt.text = opt.text, ""
        icon, opt.icon = QIcon(opt.icon), QIcon()
        if style is not None:  # background, selection and focus, without text or icon
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        self._paint_content(painter, opt, icon, text, summary)

    def _paint_content(self, painter: QPainter, opt: QStyleOptionViewItem, icon: QIcon, text: str,
                       summary: str) -> None:
        rect = opt.rect.adjusted(self.PAD, self.PAD, -self.PAD, -self.PAD)
        side = min(20, rect.height())
        icon.paint(painter, QRect(rect.left(), rect.top() + (rect.height() - side) // 2, side,
                                  side))
        text_rect = rect.adjusted(side + 6, 0, 0, 0)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        group = QPalette.ColorGroup.Active
        colour = opt.palette.color(group, QPalette.ColorRole.HighlightedText if selected
                                   else QPalette.ColorRole.Text)
        line = QFontMetrics(opt.font).height()
        painter.save()
        bold = QFont(opt.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(colour)
        painter.drawText(QRect(text_rect.left(), text_rect.top(), text_rect.width(), line),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        painter.setFont(opt.font)
        muted = colour if selected else current().color("muted")
        painter.setPen(muted)
        elided = QFontMetrics(opt.font).elidedText(summary, Qt.TextElideMode.ElideRight,
                                                   text_rect.width())
        painter.drawText(QRect(text_rect.left(), text_rect.top() + line, text_rect.width(),
                               line), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         elided)
        painter.restore()
