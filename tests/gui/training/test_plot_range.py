"""The live plots' y range: it moves seldom (each move redraws the axis and its grid)."""

from __future__ import annotations

import numpy as np
import pytest

from dlbuilder.gui.training.plot_range import SteadyRange


def test_the_range_stays_while_points_fall_inside_it():
    steady = SteadyRange()
    first = steady.update([np.array([2.0, 1.0])], refit=False)
    assert first == pytest.approx((0.95, 2.05))
    assert steady.update([np.array([2.0, 1.0, 1.5, 1.2])], refit=False) is None


def test_a_point_outside_widens_that_side_with_room_to_spare():
    steady = SteadyRange()
    steady.update([np.array([2.0, 1.0])], refit=False)
    low, high = steady.update([np.array([2.0, 1.0, 0.5])], refit=False)
    assert high == pytest.approx(2.05)  # the other side stays
    assert low == pytest.approx(0.5 - 0.3 * 1.5)
    assert steady.update([np.array([2.0, 1.0, 0.5, 0.3])], refit=False) is None  # headroom


def test_an_epoch_end_fits_every_point_snugly_again():
    steady = SteadyRange()
    values = np.array([2.0, 1.0, 0.5, 0.05])
    steady.update([values[:2]], refit=False)
    steady.update([values], refit=False)
    assert steady.update([values], refit=True) == pytest.approx((0.05 - 0.0975, 2.0975))


def test_several_arrays_and_non_finite_values():
    steady = SteadyRange()
    assert steady.update([np.array([np.nan])], refit=False) is None
    low, high = steady.update([np.array([np.nan, 1.0]), np.array([3.0, np.inf])], refit=False)
    assert low < 1.0 and 3.0 < high < 4.0
