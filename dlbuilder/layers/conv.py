"""Conv2d and ConvTranspose2d (W2 = (W1 - F + 2P)/S + 1 and its transpose), and
ChannelShuffle, which lets grouped convolutions see each other's channels."""

from __future__ import annotations

from dlbuilder.core.diagnostics import ChangeParams, ShapeProblem
from dlbuilder.core.params import REQUIRED
from dlbuilder.core.registry import LayerSpec, Params, Shape, format_shape
from dlbuilder.layers import receptive_maps as maps
from dlbuilder.layers.common import (
    IMG,
    bool_param,
    floor_div_text,
    int_param,
    need_divisor,
    need_rank,
    one_text,
    pair_param,
    pair_text,
)

AXES = ("H", "W")
AXIS_WORDS = ("height", "width")

_COMMON = (
    int_param("out_channels", REQUIRED, "number of filters K: the output's channels", initial=16),
    pair_param("kernel_size", REQUIRED, "filter size F (height and width)", initial=3),
    pair_param("stride", 1, "step S between filter positions"),
)
_TAIL = (
    pair_param("dilation", 1, "spacing between filter taps (1 = dense)"),
    int_param("groups", 1, "split channels into groups (groups = channels: depthwise)"),
    bool_param("bias", True, "add a learned bias per output channel"),
)

CONV2D_PARAMS = (
    *_COMMON,
    pair_param("padding", 0, "zeros P added on each side", minimum=0, strings=("same", "valid")),
    *_TAIL,
)
CONV_T_PARAMS = (
    *_COMMON,
    pair_param("padding", 0, "implicit zeros removed from each side of the output", minimum=0),
    pair_param("output_padding", 0, "extra rows/columns added on one side of the output",
               minimum=0),
    *_TAIL,
)


def _channels(ins: list[Shape], p: Params, type_name: str) -> tuple[int, int, int]:
    need_rank(ins[0], (3,), type_name, "a convolution slides over images")
    c, h, w = ins[0]
    groups, k = p["groups"], p["out_channels"]
    for name, count in (("input channels", c), ("out_channels", k)):
        if count % groups:
            field = "groups" if name == "input channels" else "out_channels"
            raise ShapeProblem("channels_groups",
                               f"groups {groups} must divide the {name} ({count}); "
                               f"set groups to a divisor of {count} such as 1",
                               field, ChangeParams({"groups": 1}))
    return c, h, w


def conv2d_shape(ins: list[Shape], p: Params) -> Shape:
    _, h, w = _channels(ins, p, "Conv2d")
    k, kernel, stride, dil = p["out_channels"], p["kernel_size"], p["stride"], p["dilation"]
    padding = p["padding"]
    if padding == "same":
        if stride != (1, 1):
            pads = [(d * (f - 1)) // 2 for f, d in zip(kernel, dil, strict=True)]
            raise ShapeProblem("param_conflict",
                               f"padding 'same' needs stride 1 (torch does not pad strided "
                               f"convolutions that way), but stride is {one_text(stride)}; "
                               f"give padding as numbers instead, e.g. {pads[0]}",
                               "padding", ChangeParams({"padding": pads}))
        return (k, h, w)
    if padding == "valid":
        padding = (0, 0)
    out = []
    for i, size in enumerate((h, w)):
        span = dil[i] * (kernel[i] - 1) + 1
        padded = size + 2 * padding[i]
        if span > padded:
            _kernel_too_large(i, kernel[i], dil[i], span, size, padding[i])
        out.append((padded - span) // stride[i] + 1)
    return (k, out[0], out[1])


def conv2d_warnings(ins: list[Shape], p: Params) -> list[ShapeProblem]:
    """torch pads 'same' unevenly (and copies the input) when a dilated kernel span is even."""
    if p["padding"] != "same":
        return []
    spans = [d * (f - 1) + 1 for f, d in zip(p["kernel_size"], p["dilation"], strict=True)]
    if all(span % 2 for span in spans):
        return []
    return [ShapeProblem(
        "uneven_same_padding",
        f"padding 'same' with an even kernel span ({' x '.join(map(str, spans))}) pads one "
        "more row/column on the bottom/right and makes torch copy the input; an odd "
        "kernel_size pads evenly", "kernel_size")]


def _kernel_too_large(axis: int, f: int, d: int, span: int, size: int, pad: int) -> None:
    what = f"kernel {f} is" if d == 1 else f"kernel {f} with dilation {d} spans {span}, which is"
    need = -(-(span - size) // 2)
    raise ShapeProblem(
        "kernel_too_large",
        f"{what} larger than the padded input {size + 2 * pad} ({size} + 2*{pad}) in "
        f"{AXIS_WORDS[axis]}; lower kernel_size or add padding (at least {need})",
        "kernel_size", ChangeParams({"padding": need}), f"Set padding = {need}")


def conv_t_shape(ins: list[Shape], p: Params) -> Shape:
    _, h, w = _channels(ins, p, "ConvTranspose2d")
    k, kernel, stride, dil = p["out_channels"], p["kernel_size"], p["stride"], p["dilation"]
    pad, extra = p["padding"], p["output_padding"]
    for i in range(2):
        if extra[i] >= stride[i] and extra[i] >= dil[i]:
            raise ShapeProblem(
                "param_range",
                f"output_padding {extra[i]} must be smaller than the stride ({stride[i]}) or "
                f"the dilation ({dil[i]}) in {AXIS_WORDS[i]}; lower it",
                "output_padding", ChangeParams({"output_padding": 0}))
    out = []
    for i, size in enumerate((h, w)):
        value = (size - 1) * stride[i] - 2 * pad[i] + dil[i] * (kernel[i] - 1) + extra[i] + 1
        if value < 1:
            raise ShapeProblem(
                "output_too_small",
                f"the output {AXIS_WORDS[i]} would be {value}: {_conv_t_text(i, size, p)} = "
                f"{value}; lower padding or raise kernel_size or stride", "padding")
        out.append(value)
    return (k, out[0], out[1])


def _conv_t_text(i: int, size: int, p: Params) -> str:
    return (f"({size} - 1)*{p['stride'][i]} - 2*{p['padding'][i]} + "
            f"{p['dilation'][i]}*({p['kernel_size'][i]} - 1) + {p['output_padding'][i]} + 1")


def _weights(ins: list[Shape], p: Params) -> tuple[int, int]:
    c = ins[0][0]
    kh, kw = p["kernel_size"]
    weight = c * (p["out_channels"] // p["groups"]) * kh * kw
    return weight + (p["out_channels"] if p["bias"] else 0), 0


def _params_line(ins: list[Shape], p: Params) -> str:
    c, k, g = ins[0][0], p["out_channels"], p["groups"]
    kh, kw = p["kernel_size"]
    f_sym = "F*F" if kh == kw else "FH*FW"
    d1 = f"D1/{g}" if g > 1 else "D1"
    d1_val = f"{c}/{g}" if g > 1 else f"{c}"
    bias_sym, bias_val = (" + K", f" + {k}") if p["bias"] else ("", "")
    total = _weights(ins, p)[0]
    return (f"params = ({f_sym}*{d1})*K{bias_sym} = ({kh}*{kw}*{d1_val})*{k}{bias_val} "
            f"= {total:,}")


def conv2d_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    _, h, w = ins[0]
    lines = [f"input D1 x H1 x W1 = {format_shape(ins[0])}"]
    padding = p["padding"]
    if padding == "same":
        lines.append(f"padding 'same' keeps the size: H = {h}, W = {w}")
    else:
        padding = (0, 0) if padding == "valid" else padding
        for i, size in enumerate((h, w)):
            lines.append(axis_line(i, size, p["kernel_size"][i], p["stride"][i],
                                   padding[i], p["dilation"][i], out[i + 1]))
    lines.append(f"D2 = K = {p['out_channels']} (out_channels)")
    lines.append(_params_line(ins, p))
    return lines


def axis_line(i: int, size: int, f: int, s: int, pad: int, d: int, result: int,
              ceil: bool = False) -> str:
    """One output dimension of a convolution or pooling: W2 = (W1 - F + 2P)/S + 1, filled in."""
    a = AXES[i]
    if d == 1:
        num_text, num = f"{size} - {f} + 2*{pad}", size - f + 2 * pad
        formula = f"{a} = ({a}1 - F + 2P)/S + 1"
    else:
        span = d * (f - 1) + 1
        num_text, num = f"{size} - {span} + 2*{pad}", size - span + 2 * pad
        formula = f"{a} = ({a}1 - (D*(F-1)+1) + 2P)/S + 1, D*(F-1)+1 = {d}*({f}-1)+1 = {span}"
    return f"{formula}: {a} = {floor_div_text(num_text, num, s, ceil)} + 1 = {result}"


def conv_t_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    lines = [f"input D1 x H1 x W1 = {format_shape(ins[0])}"]
    for i, size in enumerate(ins[0][1:]):
        a = AXES[i]
        lines.append(f"{a} = ({a}1 - 1)*S - 2P + D*(F - 1) + OP + 1 = "
                     f"{_conv_t_text(i, size, p)} = {out[i + 1]}")
    lines.append(f"D2 = K = {p['out_channels']} (out_channels)")
    lines.append(_params_line(ins, p))
    return lines


def conv_key(p: Params) -> str:
    text = f"{pair_text(p['kernel_size'])} s{one_text(p['stride'])}"
    pad = p["padding"]
    text += f" p{one_text(pad)}" if isinstance(pad, tuple) else f" {pad}"
    if "output_padding" in p and p["output_padding"] != (0, 0):
        text += f" op{one_text(p['output_padding'])}"
    if p["dilation"] != (1, 1):
        text += f" d{one_text(p['dilation'])}"
    if p["groups"] != 1:
        text += f" g{p['groups']}"
    return text + f" -> {p['out_channels']}"


def in_channels(ins: list[Shape], p: Params) -> dict[str, int]:
    """The input's channels, which torch's constructor needs and the file never stores."""
    return {"in_channels": ins[0][0]}


def channel_shuffle_shape(ins: list[Shape], p: Params) -> Shape:
    need_rank(ins[0], (2, 3), "ChannelShuffle", "it reorders channels")
    need_divisor(p["groups"], ins[0][0], "groups", "channels")
    return ins[0]


def channel_shuffle_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    c, g = ins[0][0], p["groups"]
    return [f"output = input = {format_shape(out)}, channels reordered",
            (f"C = {c} channels seen as g = {g} groups of C/g = {c // g}; output channel "
             f"i*{g} + j is channel i of group j (the first of each group, then the second...)"),
            "params = 0"]


SPECS = (
    LayerSpec(
        "Conv2d", "convolution", "2-D convolution: K filters of F x F slide over the image",
        CONV2D_PARAMS, conv2d_shape, count=_weights, explain=conv2d_explain,
        torch_class="torch.nn.Conv2d", inferred=in_channels, macs_per_position=True,
        key_params=conv_key, warnings=conv2d_warnings, traits=frozenset({"convolution"}),
        resizes=("padding", "stride", "kernel_size", "dilation"),
        receptive=maps.conv,
        examples=(
            ([(1, 28, 28)], {"out_channels": 10, "kernel_size": 5, "padding": 1}),
            ([IMG], {"out_channels": 8, "kernel_size": [3, 5], "stride": [2, 1],
                     "padding": [1, 0]}),
            ([IMG], {"out_channels": 6, "kernel_size": 3, "dilation": 2, "groups": 3,
                     "bias": False}),
            ([IMG], {"out_channels": 4, "kernel_size": 4, "padding": "same"}),
            ([IMG], {"out_channels": 4, "kernel_size": 3, "padding": "valid", "stride": 3}),
        )),
    LayerSpec(
        "ConvTranspose2d", "convolution",
        "transposed convolution: learned upsampling, the reverse of a strided Conv2d",
        CONV_T_PARAMS, conv_t_shape, count=_weights, explain=conv_t_explain,
        torch_class="torch.nn.ConvTranspose2d", inferred=in_channels, macs_per_position=True,
        key_params=conv_key, traits=frozenset({"convolution"}),
        resizes=("padding", "stride", "kernel_size", "output_padding", "dilation"),
        receptive=maps.conv_transpose,
        examples=(
            ([(32, 7, 7)], {"out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 1,
                            "output_padding": 1}),
            ([IMG], {"out_channels": 6, "kernel_size": [2, 3], "groups": 3, "dilation": 2,
                     "bias": False}),
        )),
    LayerSpec(
        "ChannelShuffle", "convolution",
        "interleaves the channels of g groups, so the next grouped convolution mixes them",
        (int_param("groups", REQUIRED, "number of groups g (divides the channels)", initial=2),),
        channel_shuffle_shape, explain=channel_shuffle_explain,
        torch_class="torch.nn.ChannelShuffle", key_params=lambda p: f"g{p['groups']}",
        examples=(([(6, 5, 4)], {"groups": 3}), ([(4, 9)], {"groups": 2}))),
)
