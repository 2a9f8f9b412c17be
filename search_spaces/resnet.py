"""Residual networks (He et al., 2016): stages of basic or bottleneck blocks."""

from __future__ import annotations

from nas import Builder, register_space
from search_spaces._common import as_channels_first, spatial

WIDTHS = (16, 32, 48, 64)  # a stage's output channels
BOTTLENECK = 4  # a bottleneck block's inner width is its output width / 4


def conv_bn(b: Builder, x: str, channels: int, kernel: int, stride: int = 1,
            relu: bool = True) -> str:
    """conv (no bias) -> batch norm (-> relu)."""
    h = b.op("conv", x, channels=channels, kernel=kernel, stride=stride, bias=False)
    h = b.op("batch_norm", h)
    return b.op("relu", h) if relu else h


def basic_block(b: Builder, x: str, width: int, stride: int) -> str:
    """relu(bn(conv3(relu(bn(conv3_s(x))))) + shortcut(x)); ``add`` projects when needed."""
    h = conv_bn(b, x, width, 3, stride)
    h = conv_bn(b, h, width, 3, relu=False)
    return b.op("relu", b.op("add", h, x))


def bottleneck_block(b: Builder, x: str, width: int, stride: int) -> str:
    """1x1 reduce to width/4, 3x3 (strided, as in ResNet v1.5), 1x1 expand, residual."""
    inner = max(width // BOTTLENECK, 4)
    h = conv_bn(b, x, inner, 1)
    h = conv_bn(b, h, inner, 3, stride)
    h = conv_bn(b, h, width, 1, relu=False)
    return b.op("relu", b.op("add", h, x))


BLOCKS = {"basic": basic_block, "bottleneck": bottleneck_block}


@register_space("resnet")
def resnet(b: Builder, in_shape, n_out: int, max_stages: int = 4, max_depth: int = 2,
           widths=WIDTHS) -> str:
    """ResNet: basic or bottleneck blocks; stages, depth, width and stride per stage.

    Searches the block kind, the stem (3-wide conv, or a 7-wide stride-2 conv when the
    input is at least 16 wide), the number of stages, and per stage its blocks, output
    width and whether its first block strides by 2 (asked only while the feature map is
    at least 2 wide). Shortcuts are identities, or a 1x1 conv + BN projection when a
    block changes the shape. Global average pooling and a linear head. Suits 1-D
    signals (C, L) such as mnist1d and images (C, H, W) such as digits or cifar10; a
    bare (L,) input gets one channel.
    """
    x = as_channels_first(b, b.input(in_shape))
    block = BLOCKS[b.choice("block", list(BLOCKS))]
    stem_width = b.choice("stem_width", [16, 32])
    if spatial(b, x) >= 16 and b.choice("stem", ["conv3", "conv7_s2"]) == "conv7_s2":
        x = conv_bn(b, x, stem_width, 7, stride=2)  # (C, L) -> (stem_width, ceil(L/2))
    else:
        x = conv_bn(b, x, stem_width, 3)
    for i in range(b.int("stages", 1, max_stages)):
        width = b.choice(f"width_{i}", list(widths))
        stride = b.choice(f"stride_{i}", [1, 2]) if spatial(b, x) >= 2 else 1
        for j in range(b.int(f"depth_{i}", 1, max_depth)):
            x = block(b, x, width, stride if j == 0 else 1)
    x = b.op("global_avg_pool", x)  # (C,)
    return b.output(b.op("linear", x, features=n_out))
