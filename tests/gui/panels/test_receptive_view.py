"""The inspector's receptive field: the recursion in its explanation, and the centre output's
region drawn over the input (a sample image once data is chosen), following edits."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QImage

from dlbuilder.core.commands import SetParams
from dlbuilder.gui.panels.receptive_view import centre_region


@pytest.fixture
def lenet(make_inspector):
    return make_inspector("lenet5")


def test_a_convolution_explains_and_draws_its_field(lenet) -> None:
    doc, panel = lenet
    doc.select(["c3"])
    assert "RF = 6 + (5 - 1)*2 = 14" in panel.explain_text()
    box = panel.receptive_box
    assert box.isVisibleTo(panel) and box.picture.input_size == (28, 28)
    assert box.picture.region == ((8, 21), (8, 21))  # output (5, 5): centre 14.5, 14 wide
    assert "what output (5, 5) sees: 14x14 input pixels" in box.caption.text()
    assert box.no_data.isVisibleTo(panel)  # no data chosen yet


def test_the_picture_follows_an_edit_and_a_sample(lenet) -> None:
    doc, panel = lenet
    doc.select(["c1"])
    region = panel.receptive_box.picture.region
    doc.push(SetParams("c1", {"out_channels": 6, "kernel_size": 3, "padding": 1}))
    assert panel.receptive_box.picture.region != region
    assert panel.receptive_box.picture.region == ((13, 15), (13, 15))
    image = QImage(28, 28, QImage.Format.Format_Grayscale8)
    image.fill(QColor(200, 200, 200))
    panel.receptive_box.set_sample(image)
    assert panel.receptive_box.picture.image is image
    assert not panel.receptive_box.no_data.isVisibleTo(panel)
    panel.receptive_box.picture.grab()  # paints without error


def test_whole_input_and_vectors(lenet) -> None:
    doc, panel = lenet
    doc.select(["f5"])
    assert panel.receptive_box.picture.whole
    assert "whole input" in panel.receptive_box.caption.text()
    doc.select(["flatten"])  # a vector: its values see different places, nothing drawn
    assert not panel.receptive_box.isVisibleTo(panel)


def test_centre_region() -> None:
    from dlbuilder.core.receptive import Receptive
    assert centre_region(Receptive((3, 3), (1, 1), (0, 0)), (4, 8, 8)) == \
        ((4, 4), ((3, 5), (3, 5)))
