"""A push button whose text wraps to the width it is given.

QPushButton and QToolButton draw their text on one line: in a narrow dock a long label
("Project input 1 with a 1x1 Conv2d (stride 2, 16 channels) + BatchNorm2d") is clipped, and
two labels that differ only at the end look the same. This button keeps everything a button
does (focus, Space and Enter, clicked, the style's frame and hover) and shows its text in a
word-wrapping label inside, so the button grows taller instead of wider.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

ICON_SIZE = 16
MARGINS = (8, 5, 8, 5)  # left, top, right, bottom: room for the style's bevel


class WrapButton(QPushButton):
    """A QPushButton with an icon and word-wrapped text; it takes the width its layout gives
    it and asks for the height that text needs at that width."""

    def __init__(self, icon: QIcon, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon_label = QLabel()
        self.icon_label.setPixmap(icon.pixmap(ICON_SIZE, ICON_SIZE))
        self.text_label = QLabel(text)
        self.text_label.setWordWrap(True)
        for label in (self.icon_label, self.text_label):
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(*MARGINS)
        layout.setSpacing(6)
        layout.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text_label, 1)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setAccessibleName(text)

    def text(self) -> str:  # the label's text: the button paints none of its own
        return self.text_label.text()

    def sizeHint(self) -> QSize:
        """As wide as the label on one line, and as tall as the text at that width.

        A layout that aligns the button (AlignLeft) gives it min(its room, this width) but
        reserves the height for the whole room: were the hint narrower than one line (a word-
        wrapped QLabel's own hint is), the text would wrap at the hint's width into a height
        reserved for one line, and its lines would be cut."""
        margins = self.layout().contentsMargins()
        metrics = self.text_label.fontMetrics()
        one_line = max(metrics.horizontalAdvance(self.text()),
                       metrics.boundingRect(self.text()).width()) + 2
        width = (margins.left() + ICON_SIZE + self.layout().spacing() + one_line
                 + margins.right())
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        return self.layout().minimumSize()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self.layout().totalHeightForWidth(width)
