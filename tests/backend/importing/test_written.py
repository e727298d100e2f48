"""The importer reads what a class's constructor wrote for its layers' arguments, and takes
it only where it gives every instance's value."""

from __future__ import annotations

from torch import nn

from dlbuilder.backend.importing.parameterize import Sample, parameterize
from dlbuilder.backend.importing.written import written_args
from dlbuilder.core.blocks import ref


class Unit(nn.Module):
    def __init__(self, in_channels, w=4, k=1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, (w + 3) // 2, 2 * k + 1, padding=k)
        self.stack = nn.Sequential(
            nn.Conv2d(in_channels, w, 1), *[nn.Conv2d(w, w, 1) for _ in range(k - 1)]
        )


class Stage(nn.Sequential):
    def __init__(self, w=8, blocks=3):
        super().__init__(Unit(3, w), *[Unit(w, w) for _ in range(blocks - 1)])


def test_arguments_are_read_by_name_and_position():
    hints = written_args(Unit)
    assert hints["conv"] == {"in_channels": "in_channels", "out_channels": "(w + 3) // 2",
                             "kernel_size": "2 * k + 1", "padding": "k"}
    assert hints["stack"]["repeat"] == "k"  # one call and range(k - 1) more
    assert hints["stack"]["out_channels"] == "w"


def test_a_sequential_subclass_numbers_its_items():
    hints = written_args(Stage)
    assert hints["0"]["repeat"] == "blocks"  # merged with the loop of its own class
    assert hints["1"] == {"in_channels": "w", "w": "w", "repeat": "blocks - 1"}


def test_a_class_without_its_own_constructor_gives_nothing():
    class Plain(Unit):
        pass

    assert written_args(Plain) == {}


def _samples() -> list[Sample]:
    return [Sample({"w": w, "k": k}, 3, {("conv", "out_channels"): (w + 3) // 2,
                                          ("conv", "kernel_size"): 2 * k + 1})
            for w, k in [(4, 1), (6, 1)]]


def test_a_written_expression_that_fits_is_taken():
    written = {("conv", "out_channels"): "(w + 3) // 2", ("conv", "kernel_size"): "2 * k + 1"}
    shared = parameterize(_samples(), {"w": 4, "k": 1}, written)
    assert shared is not None
    assert shared.values[("conv", "out_channels")] == ref("(w + 3) // 2")
    assert shared.values[("conv", "kernel_size")] == ref("2 * k + 1")
    assert [(p.name, p.default) for p in shared.params] == [("w", 4), ("k", 1)]


def test_a_written_expression_that_does_not_fit_is_left():
    """Without the code's word the width gets a parameter of its own, the kernel stays 3."""
    shared = parameterize(_samples(), {"w": 4, "k": 1}, {("conv", "out_channels"): "w + 1"})
    assert shared is not None
    assert shared.values[("conv", "out_channels")] == ref("out_channels")
    assert shared.values[("conv", "kernel_size")] == 3
