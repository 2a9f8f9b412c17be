"""Codegen rules for convolutions, pooling and upsampling (nas/ops/_conv.py)."""

from __future__ import annotations

from nas.export._codegen import construct, layer, register_codegen
from nas.ops import _conv as ops


def _dims(s) -> str:
    return "2d" if len(s[0]) == 3 else "1d"


def _conv(p, s):
    extra = {}
    if p["dilation"] != 1:
        extra["dilation"] = p["dilation"]
    if p["groups"] != 1:
        extra["groups"] = p["groups"]
    return layer(f"Conv{_dims(s)}", s[0][0], p["channels"], p["kernel"], stride=p["stride"],
                 padding=ops._pad(p), **extra, bias=p["bias"])


for _op in ("conv", "conv1d", "conv2d"):
    register_codegen(_op)(_conv)


@register_codegen("sep_conv")
def _sep_conv(p, s):
    return construct(ops.SepConv, len(s[0]), s[0][0], p["channels"], kernel=p["kernel"],
                     stride=p["stride"], pad=ops._pad(p), dilation=p["dilation"],
                     bias=p["bias"])


@register_codegen("max_pool")
def _max_pool(p, s):
    return layer(f"MaxPool{_dims(s)}", p["size"], stride=p["stride"] or p["size"],
                 padding=p["padding"])


@register_codegen("avg_pool")
def _avg_pool(p, s):
    return layer(f"AvgPool{_dims(s)}", p["size"], stride=p["stride"] or p["size"],
                 padding=p["padding"], count_include_pad=False)


@register_codegen("global_avg_pool")
def _global_avg_pool(p, s):
    return construct(ops.GlobalPool, "avg")


@register_codegen("global_max_pool")
def _global_max_pool(p, s):
    return construct(ops.GlobalPool, "max")


@register_codegen("conv_transpose")
def _conv_transpose(p, s):
    return layer(f"ConvTranspose{_dims(s)}", s[0][0], p["channels"], p["kernel"],
                 stride=p["stride"], padding=p["padding"], output_padding=p["output_padding"],
                 bias=p["bias"])


@register_codegen("upsample")
def _upsample(p, s):
    return construct(ops.Upsample, p["scale"], p["mode"])


@register_codegen("squeeze_excite")
def _squeeze_excite(p, s):
    channels = s[0][0]
    return construct(ops.SqueezeExcite, channels, max(1, channels // p["reduction"]))
