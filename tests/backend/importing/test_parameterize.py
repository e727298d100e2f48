"""Instances of one class that differ in whole numbers share a block type with parameters."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dlbuilder.backend.importing.parameterize import Sample, parameterize
from dlbuilder.core.blocks import INPUT_CHANNELS, ref, resolve


def _bottleneck(inplanes: int, planes: int, stride: int) -> Sample:
    """torchvision's Bottleneck as the importer records it (conv1..conv3 of a ResNet-50)."""
    args = {"inplanes": inplanes, "planes": planes, "stride": stride, "groups": 1,
            "base_width": 64, "dilation": 1}
    values = {("conv1", "out_channels"): planes, ("conv1", "kernel_size"): 1,
              ("conv2", "out_channels"): planes, ("conv2", "kernel_size"): 3,
              ("conv2", "stride"): stride, ("conv2", "padding"): 1, ("conv2", "groups"): 1,
              ("conv3", "out_channels"): planes * 4, ("conv3", "bias"): False}
    return Sample(args, inplanes, values)


def test_bottlenecks_share_one_type_with_the_constructor_names():
    samples = [_bottleneck(256, 64, 1), _bottleneck(512, 128, 1), _bottleneck(1024, 256, 1)]
    shared = parameterize(samples, defaults={"stride": 1, "groups": 1})
    assert shared is not None
    assert [p.name for p in shared.params] == ["planes", "stride", "groups"]
    assert shared.values[("conv1", "out_channels")] == ref("planes")
    # each of these Bottlenecks gives back the channels it was given
    assert shared.values[("conv3", "out_channels")] == ref(INPUT_CHANNELS)
    assert shared.values[("conv2", "stride")] == ref("stride")
    assert shared.values[("conv2", "kernel_size")] == 3
    assert shared.values[("conv3", "bias")] is False
    assert [a["planes"] for a in shared.args] == [64, 128, 256]
    assert shared.params[1].default == 1


def test_a_multiple_of_an_argument_is_written_as_one():
    """The first Bottleneck of a ResNet stage widens its input 4-fold and more."""
    samples = [_bottleneck(64, 64, 1), _bottleneck(256, 128, 1)]
    shared = parameterize(samples)
    assert shared is not None
    assert shared.values[("conv3", "out_channels")] == ref("planes * 4")


def test_a_value_equal_to_the_incoming_channels_reads_in_channels():
    """dlbuilder's exported BasicBlock(in_channels) keeps its input's width: the reference
    comes back even where every instance has the same width."""
    values = {("conv1", "out_channels"): 64, ("conv2", "out_channels"): 64}
    samples = [Sample({"in_channels": 64}, 64, values)] * 2
    shared = parameterize(samples)
    assert shared is not None and shared.params == ()
    assert shared.values[("conv1", "out_channels")] == ref(INPUT_CHANNELS)


def test_without_arguments_a_varying_width_becomes_a_parameter_of_its_own():
    """A plain nn.Sequential (torchvision's downsample) records no arguments."""
    samples = [Sample({}, 64, {("0", "out_channels"): c, ("0", "stride"): 2})
               for c in (128, 256, 512)]
    shared = parameterize(samples)
    assert shared is not None
    assert [(p.name, p.default) for p in shared.params] == [("out_channels", 128)]
    assert shared.values[("0", "out_channels")] == ref("out_channels")
    assert shared.values[("0", "stride")] == 2


def test_what_is_not_a_whole_number_must_be_equal():
    a = Sample({}, 8, {("conv", "padding"): "same"})
    b = Sample({}, 8, {("conv", "padding"): 1})
    assert parameterize([a, b]) is None
    assert parameterize([a, a]) is not None


def test_different_layers_cannot_share():
    assert parameterize([Sample({}, 8, {("a", "p"): 1}), Sample({}, 8, {("b", "p"): 1})]) is None


_keys = st.lists(st.tuples(st.sampled_from(["conv1", "conv2", "0"]),
                           st.sampled_from(["out_channels", "stride", "groups", "p"])),
                 min_size=1, max_size=6, unique=True)


@given(st.data())
def test_the_references_give_back_every_instances_values(data):
    keys = data.draw(_keys)
    count = data.draw(st.integers(1, 4))
    ints = st.integers(1, 300)
    names = data.draw(st.lists(st.sampled_from(["planes", "stride", "width", "groups"]),
                               max_size=3, unique=True))
    samples = [Sample({n: data.draw(ints) for n in names}, data.draw(ints | st.none()),
                      {k: data.draw(ints) for k in keys}) for _ in range(count)]
    shared = parameterize(samples)
    assert shared is not None
    for sample, args in zip(samples, shared.args, strict=True):
        env = dict(args)
        if sample.in_channels is not None:
            env[INPUT_CHANNELS] = sample.in_channels
        assert {k: resolve(v, env) for k, v in shared.values.items()} == dict(sample.values)
