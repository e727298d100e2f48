"""The drawing pad (its picture, its pen as wide as the data's strokes, at most one picture a
frame while a stroke is drawn and one at its end) and the sample picker (a split and an index,
a confusion cell's list walked with Previous and Next)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from dlbuilder.backend.datasets import load_dataset
from dlbuilder.backend.inside.drawing import InkStyle
from dlbuilder.gui.inside.pad import CANVAS, DrawingPadWidget
from dlbuilder.gui.inside.sample_picker import SamplePickerWidget

MNIST_LIKE = InkStyle((1, 28, 28), 255.0, 0.69, (0.52, 0.52), 1.96, 1.0, 0.0)


@pytest.fixture
def pad(qtbot):
    pad = DrawingPadWidget()
    qtbot.addWidget(pad)
    pad.resize(300, 300)
    pad.set_style(MNIST_LIKE)
    pad.show()
    qtbot.waitExposed(pad)
    return pad


def test_the_pen_draws_strokes_as_wide_as_it_says(pad, qtbot):
    assert pad.pen_width == pytest.approx(1.96 * CANVAS / 28)
    rect = pad.pad_rect()
    start = QPoint(int(rect.center().x()), int(rect.top() + 40))
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(pad, start + QPoint(0, 180))
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=start + QPoint(0, 180))
    picture = pad.picture()
    assert picture.shape == (CANVAS, CANVAS) and picture.max() == 1.0
    rows = np.flatnonzero(picture.max(axis=1) > 0.5)
    middle = picture[(rows[0] + rows[-1]) // 2]  # across the bar, halfway down it
    assert float(middle.sum()) == pytest.approx(pad.pen_width, rel=0.05)


def test_a_stroke_hands_out_at_most_a_picture_a_frame_and_one_at_its_end(pad, qtbot):
    sent = []
    pad.drawn.connect(sent.append)
    rect = pad.pad_rect()
    start = QPoint(int(rect.left() + 60), int(rect.top() + 60))
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=start)
    assert len(sent) == 1  # the first touch answers at once
    for step in range(1, 30):  # within one frame: the timer has no chance to fire
        pad.mouseMoveEvent(_move(pad, start + QPoint(step * 5, step * 3)))
    assert len(sent) == 1
    qtbot.wait(40)  # a frame later, what was drawn meanwhile goes out
    assert len(sent) == 2
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=start + QPoint(150, 90))
    assert len(sent) == 3 and np.array_equal(sent[-1], pad.picture())
    pad.clear()
    assert pad.is_blank() and not pad.picture().any()


def _move(pad, pos: QPoint):
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent

    return QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), pad.mapToGlobal(QPointF(pos)),
                       Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)


def test_the_picker_walks_a_split_and_a_list(qtbot):
    picker = SamplePickerWidget()
    qtbot.addWidget(picker)
    data = load_dataset("digits")
    picker.set_dataset(data)
    picked = []
    picker.picked.connect(lambda split, index: picked.append((split, index)))
    assert picker.pick("train", 5) and picked[-1] == ("train", 5)
    raw, true = picker.sample()
    assert np.array_equal(raw, data.train.x[5]) and true == int(data.train.y[5])
    picker.step(-1)
    assert picked[-1] == ("train", 4)
    picker.pick("train", 0)
    picker.step(-1)  # wraps round
    assert picked[-1] == ("train", len(data.train) - 1)
    assert not picker.pick("test", 0)  # digits has no test split
    cell = np.array([40, 7, 300])
    assert picker.show_list("True 3, predicted 5", "train", cell)
    assert picked[-1] == ("train", 40) and picker.list_label.text().endswith("1 of 3")
    picker.step(1)
    picker.step(1)
    assert picked[-1] == ("train", 300)
    picker.step(1)
    assert picked[-1] == ("train", 40)
    picker.pick("train", 2)  # outside the list: the split again
    assert picker.listed is None
    picker.set_dataset(None)
    assert picker.sample() is None and picker.note_label.isVisibleTo(picker)
