"""The banner above the canvas that offers the work an earlier session left unsaved."""

from __future__ import annotations

import datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.window.recovery import Recovered


class RecoveryBannerWidget(QFrame):
    recover_clicked = Signal(object)   # the Recovered on offer
    discard_clicked = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("recovery_banner")
        self._offered: Recovered | None = None
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.recover_button = QPushButton("Recover")
        self.recover_button.setToolTip("Open the unsaved work in place of the current graph")
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Delete the recovery file; this cannot be undone")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.recover_button)
        layout.addWidget(self.discard_button)
        self.recover_button.clicked.connect(self._on_recover_button_clicked)
        self.discard_button.clicked.connect(self._on_discard_button_clicked)
        theme_manager().changed.connect(self._restyle)
        self._restyle()
        self.hide()

    def offer(self, recovered: Recovered) -> None:
        self._offered = recovered
        when = datetime.datetime.fromtimestamp(recovered.saved_at).strftime("%d %b %H:%M")
        what = recovered.source.name if recovered.source else f"“{recovered.name}” (never saved)"
        self.label.setText(f"dlbuilder closed without saving your changes to {what}. "
                           f"They were kept at {when}. Recover them?")
        self.show()

    def offered(self) -> Recovered | None:
        return self._offered

    def _on_recover_button_clicked(self) -> None:
        if self._offered is not None:
            self.recover_clicked.emit(self._offered)

    def _on_discard_button_clicked(self) -> None:
        if self._offered is not None:
            self.discard_clicked.emit(self._offered)

    def _restyle(self, *_args: object) -> None:
        theme = current()
        self.setStyleSheet(f"#recovery_banner {{ background: {theme.warning}; }} "
                           f"#recovery_banner QLabel {{ color: #1f1300; font-weight: 600; }}")
