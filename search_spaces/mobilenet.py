"""Mobile inverted-bottleneck networks (MobileNetV2 / MnasNet / EfficientNet)."""

from __future__ import annotations

import math

from nas import Builder, register_space
from search_spaces._common import as_channels_first, spatial

# The base network scaled by the width and depth multipliers: a small EfficientNet-B0.
STEM = 16  # stem channels
BASE = [  # per stage: (output channels, blocks, stride of its first block)
    (16, 1, 1),
    (24, 2, 2),
    (32, 2, 2),
    (64, 2, 2),
    (96, 1, 1),
]
HEAD = 192  # channels of the last 1x1 conv before pooling


def divisible(channels: float, divisor: int = 8) -> int:
    """Round to a multiple of ``divisor``, never more than 10% down (EfficientNet's rule)."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * channels else rounded


def conv_bn(b: Builder, x: str, channels: int, kernel: int, stride: int = 1, groups: int = 1,
            act: str | None = None) -> str:
    """conv (no bias) -> batch norm (-> act)."""
    h = b.op("conv", x, channels=channels, kernel=kernel, stride=stride, groups=groups,
             bias=False)
    h = b.op("batch_norm", h)
    return b.op(act, h) if act else h


def mbconv(b: Builder, x: str, out: int, expand: int, kernel: int, stride: int, se: bool,
           act: str) -> str:
    """MBConv: 1x1 expand, depthwise kxk, optional squeeze-excite, 1x1 project (linear).

    The residual ``add`` is there only when the block keeps the shape (stride 1, same
    channels), so it never needs a projection.
    """
    cin = b.shape(x)[0]
    mid = cin * expand
    h = conv_bn(b, x, mid, 1, act=act) if expand != 1 else x  # (mid, *S)
    h = conv_bn(b, h, mid, kernel, stride, groups=mid, act=act)  # (mid, *S / stride)
    if se:
        h = b.op("squeeze_excite", h, reduction=4 * expand)  # hidden = cin / 4
    h = conv_bn(b, h, out, 1)  # (out, *S / stride)
    return b.op("add", h, x) if stride == 1 and cin == out else h


@register_space("mobilenet")
def mobilenet(b: Builder, in_shape, n_out: int, stages=BASE, stem: int = STEM,
              head: int = HEAD) -> str:
    """MobileNet / EfficientNet: MBConv stages with searched expansion, kernel and SE.

    Per stage of a small EfficientNet-B0-like base (5 stages, 16 to 96 channels), it
    searches the expansion ratio {1, 3, 6}, the depthwise kernel {3, 5, 7} and
    squeeze-excitation on or off; globally the activation and the width and depth
    multipliers applied to the base (channels and blocks per stage). Strides apply
    only while the feature map is at least 2 wide. Suits 1-D signals (C, L) such as
    mnist1d and images (C, H, W) such as digits or cifar10, with a small compute
    budget; a bare (L,) input gets one channel.
    """
    x = as_channels_first(b, b.input(in_shape))
    act = b.choice("activation", ["relu", "silu"])
    width_mult = b.choice("width_mult", [0.5, 0.75, 1.0])
    depth_mult = b.choice("depth_mult", [0.5, 1.0, 1.5, 2.0])
    stride = 2 if spatial(b, x) >= 16 else 1
    x = conv_bn(b, x, divisible(stem * width_mult), 3, stride, act=act)
    for i, (channels, blocks, first_stride) in enumerate(stages):
        expand = b.choice(f"expand_{i}", [1, 3, 6])
        kernel = b.choice(f"kernel_{i}", [3, 5, 7])
        se = b.bool(f"se_{i}")
        out = divisible(channels * width_mult)
        for j in range(max(1, math.ceil(blocks * depth_mult))):
            s = first_stride if j == 0 and spatial(b, x) >= 2 else 1
            x = mbconv(b, x, out, expand, kernel, s, se, act)
    x = conv_bn(b, x, divisible(head * width_mult), 1, act=act)
    x = b.op("global_avg_pool", x)  # (C,)
    return b.output(b.op("linear", x, features=n_out))
