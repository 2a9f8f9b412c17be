"""Convolutions, pooling, upsampling and squeeze-excitation for (C, L) and (C, H, W) inputs.

Rank-generic ops (``conv``, ``max_pool``...) pick the 1d or 2d torch module from the
input's rank; ``conv1d`` / ``conv2d`` insist on one.
"""

from __future__ import annotations

import torch
from torch import nn

from nas.ops._basic import _need_rank, define, same_shape
from nas.ops._registry import REQUIRED


def _pad(p) -> int:
    """Padding from the params: "same" means dilation * (kernel - 1) // 2 on each side."""
    pad = p.get("padding", "same")
    if pad == "same":
        return p.get("dilation", 1) * (p["kernel"] - 1) // 2
    if not isinstance(pad, int) or pad < 0:
        raise ValueError(f"padding must be 'same' or an int >= 0, got {pad!r}")
    return pad


def _out_len(n, kernel, stride, pad, dilation=1):
    if n is None:
        return None
    out = (n + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError(f"a spatial size of {n} is too small for kernel {kernel}, "
                         f"stride {stride}, padding {pad}, dilation {dilation}")
    return out


def _conv_shape(ranks, what):
    def shape(p, s):
        _need_rank(s[0], ranks, what)
        cin, *spatial = s[0]
        groups = p.get("groups", 1)
        if cin % groups or p["channels"] % groups:
            raise ValueError(f"groups={groups} must divide in ({cin}) and out "
                             f"({p['channels']}) channels")
        pad = _pad(p)
        return (p["channels"], *(_out_len(n, p["kernel"], p["stride"], pad, p["dilation"])
                                 for n in spatial))
    return shape


def _conv_make(p, s):
    cls = nn.Conv2d if len(s[0]) == 3 else nn.Conv1d
    return cls(s[0][0], p["channels"], p["kernel"], stride=p["stride"], padding=_pad(p),
               dilation=p["dilation"], groups=p["groups"], bias=p["bias"])


_CONV_PARAMS = {"channels": REQUIRED, "kernel": 3, "stride": 1, "dilation": 1, "groups": 1,
                "padding": "same", "bias": True}
_CONV_DOC = ("Convolution (C_in, *S) -> (channels, *S'); padding 'same' keeps S at stride 1. "
             "groups splits channels (groups == C_in == channels: depthwise).")

define("conv", params=_CONV_PARAMS, shape=_conv_shape((2, 3), "conv"), make=_conv_make,
       examples=[({"channels": 6}, [(3, 16)]), ({"channels": 4, "stride": 2}, [(3, 8, 8)]),
                 ({"channels": 4, "groups": 2, "dilation": 2}, [(4, 12)])],
       doc=_CONV_DOC)
define("conv1d", params=_CONV_PARAMS, shape=_conv_shape((2,), "conv1d"), make=_conv_make,
       examples=[({"channels": 25, "kernel": 5, "stride": 2, "padding": 1}, [(1, 40)])],
       doc=_CONV_DOC + " Input (C, L).")
define("conv2d", params=_CONV_PARAMS, shape=_conv_shape((3,), "conv2d"), make=_conv_make,
       examples=[({"channels": 5, "kernel": 5, "stride": 2}, [(3, 9, 9)])],
       doc=_CONV_DOC + " Input (C, H, W).")


class SepConv(nn.Sequential):
    """Depthwise-separable conv: depthwise k x k (groups = C_in), then pointwise 1x1."""

    def __init__(self, rank: int, cin: int, cout: int, kernel: int, stride: int, pad: int,
                 dilation: int, bias: bool):
        conv = nn.Conv2d if rank == 3 else nn.Conv1d
        super().__init__(
            conv(cin, cin, kernel, stride=stride, padding=pad, dilation=dilation, groups=cin,
                 bias=False),
            conv(cin, cout, 1, bias=bias),
        )


_SEP_PARAMS = {k: v for k, v in _CONV_PARAMS.items() if k != "groups"}
define(
    "sep_conv",
    params=_SEP_PARAMS,
    shape=_conv_shape((2, 3), "sep_conv"),
    make=lambda p, s: SepConv(len(s[0]), s[0][0], p["channels"], p["kernel"], p["stride"],
                              _pad(p), p["dilation"], p["bias"]),
    examples=[({"channels": 8, "kernel": 5}, [(4, 20)]), ({"channels": 6}, [(3, 7, 7)])],
    doc="Depthwise-separable convolution (depthwise kxk then pointwise 1x1).",
)

# --------------------------------------------------------------------- pooling


def _pool_shape(p, s):
    _need_rank(s[0], (2, 3), "pooling")
    stride = p["stride"] or p["size"]
    if p["padding"] * 2 > p["size"]:
        raise ValueError("padding must be at most half the pool size")
    return (s[0][0], *(_out_len(n, p["size"], stride, p["padding"]) for n in s[0][1:]))


def _max_pool(p, s):
    cls = nn.MaxPool2d if len(s[0]) == 3 else nn.MaxPool1d
    return cls(p["size"], stride=p["stride"] or p["size"], padding=p["padding"])


def _avg_pool(p, s):
    cls = nn.AvgPool2d if len(s[0]) == 3 else nn.AvgPool1d
    return cls(p["size"], stride=p["stride"] or p["size"], padding=p["padding"],
               count_include_pad=False)


_POOL_PARAMS = {"size": 2, "stride": None, "padding": 0}
define("max_pool", params=_POOL_PARAMS, shape=_pool_shape, make=_max_pool,
       examples=[({}, [(3, 10)]), ({"size": 3, "stride": 1, "padding": 1}, [(2, 5, 5)])],
       doc="Max pooling over the spatial axes of (C, L) or (C, H, W); stride defaults to size.")
define("avg_pool", params=_POOL_PARAMS, shape=_pool_shape, make=_avg_pool,
       examples=[({}, [(3, 10)]), ({"size": 3, "stride": 1, "padding": 1}, [(2, 5, 5)])],
       doc="Average pooling (padding excluded from the mean); stride defaults to size.")


class GlobalPool(nn.Module):
    """(B, C, *S) -> (B, C): mean or max over every spatial axis."""

    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(2)  # (B, C, prod(S))
        return x.mean(-1) if self.mode == "avg" else x.amax(-1)


def _global_shape(p, s):
    _need_rank(s[0], (2, 3), "global pooling")
    return (s[0][0],)


define("global_avg_pool", shape=_global_shape, make=lambda p, s: GlobalPool("avg"),
       examples=[({}, [(4, 9)]), ({}, [(3, 4, 4)])], doc="(C, *S) -> (C,) by the mean.")
define("global_max_pool", shape=_global_shape, make=lambda p, s: GlobalPool("max"),
       examples=[({}, [(4, 9)]), ({}, [(3, 4, 4)])], doc="(C, *S) -> (C,) by the max.")

# --------------------------------------------------------------------- upsampling


def _convT_shape(p, s):
    _need_rank(s[0], (2, 3), "conv_transpose")
    k, st, pad, op = p["kernel"], p["stride"], p["padding"], p["output_padding"]
    if op >= st:
        raise ValueError("output_padding must be smaller than stride")
    return (p["channels"], *((n - 1) * st - 2 * pad + k + op for n in s[0][1:]))


def _convT_make(p, s):
    cls = nn.ConvTranspose2d if len(s[0]) == 3 else nn.ConvTranspose1d
    return cls(s[0][0], p["channels"], p["kernel"], stride=p["stride"], padding=p["padding"],
               output_padding=p["output_padding"], bias=p["bias"])


define(
    "conv_transpose",
    params={"channels": REQUIRED, "kernel": 4, "stride": 2, "padding": 1, "output_padding": 0,
            "bias": True},
    shape=_convT_shape,
    make=_convT_make,
    examples=[({"channels": 3}, [(5, 10)]), ({"channels": 2, "kernel": 3, "stride": 1},
                                             [(4, 6, 6)])],
    doc="Transposed convolution; the defaults (kernel 4, stride 2, padding 1) double S.",
)


class Upsample(nn.Module):
    """Nearest or (bi)linear resize of the spatial axes by an integer factor."""

    def __init__(self, scale: int, mode: str):
        super().__init__()
        self.scale, self.mode = scale, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mode = self.mode
        if mode == "linear":
            mode = "bilinear" if x.dim() == 4 else "linear"
        align = None if mode == "nearest" else False
        return nn.functional.interpolate(x, scale_factor=self.scale, mode=mode,
                                         align_corners=align)


def _up_shape(p, s):
    _need_rank(s[0], (2, 3), "upsample")
    if p["mode"] not in ("nearest", "linear"):
        raise ValueError("mode must be 'nearest' or 'linear'")
    return (s[0][0], *(n * p["scale"] for n in s[0][1:]))


define("upsample", params={"scale": 2, "mode": "nearest"}, shape=_up_shape,
       make=lambda p, s: Upsample(p["scale"], p["mode"]),
       examples=[({}, [(3, 5)]), ({"mode": "linear"}, [(2, 4, 4)])],
       doc="Resize (C, *S) -> (C, *S * scale), nearest or (bi)linear.")

# --------------------------------------------------------------------- squeeze-excitation


class SqueezeExcite(nn.Module):
    """x * sigmoid(W2 relu(W1 mean_S(x))): channel gating (Hu et al., 2018)."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.reduce = nn.Linear(channels, hidden)
        self.expand = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = x.flatten(2).mean(-1)  # (B, C)
        w = torch.sigmoid(self.expand(torch.relu(self.reduce(w))))
        return x * w.reshape(*w.shape, *([1] * (x.dim() - 2)))


define(
    "squeeze_excite",
    params={"reduction": 4},
    shape=lambda p, s: (_need_rank(s[0], (2, 3), "squeeze_excite"), s[0])[1],
    make=lambda p, s: SqueezeExcite(s[0][0], max(1, s[0][0] // p["reduction"])),
    examples=[({}, [(8, 10)]), ({"reduction": 2}, [(4, 5, 5)])],
    doc="Squeeze-excitation channel gating for (C, L) or (C, H, W); shape unchanged.",
)

__all__ = ["same_shape"]
