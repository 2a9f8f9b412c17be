"""Plain convolutional networks: VGG-like stacks and AlexNet-like large-kernel stems."""

from __future__ import annotations

from nas import Builder, register_space
from search_spaces._common import as_channels_first, spatial

WIDTHS = (16, 24, 32, 48, 64, 96, 128)


def cnn_body(b: Builder, x: str, n_out: int, prefix: str = "", max_blocks: int = 4,
             widths=WIDTHS) -> str:
    """The CNN on a (C, L) or (C, H, W) node ``x``, up to the ``n_out`` logits.

    Decision names get ``prefix`` (so a multi-family space can hold several bodies).
    """
    p = prefix
    bn = b.bool(f"{p}batch_norm")
    act = b.choice(f"{p}activation", ["relu", "gelu", "silu", "leaky_relu"])

    def conv_unit(h, width, kernel, stride=1):
        h = b.op("conv", h, channels=width, kernel=kernel, stride=stride, bias=not bn)
        if bn:
            h = b.op("batch_norm", h)
        return b.op(act, h)

    if b.choice(f"{p}stem", ["vgg", "alexnet"]) == "alexnet" and spatial(b, x) >= 16:
        kernel = b.choice(f"{p}stem_kernel", [7, 9, 11])
        x = conv_unit(x, b.choice(f"{p}stem_width", list(widths)), kernel, stride=2)
    for i in range(b.int(f"{p}blocks", 1, max_blocks)):
        width = b.choice(f"{p}width_{i}", list(widths))
        kernel = b.choice(f"{p}kernel_{i}", [3, 5, 7])
        for _ in range(b.int(f"{p}convs_{i}", 1, 2)):
            x = conv_unit(x, width, kernel)
        if spatial(b, x) >= 4:
            pool = b.choice(f"{p}pool_{i}", ["none", "max", "avg", "stride"])
            if pool == "stride":
                x = conv_unit(x, width, 3, stride=2)
            elif pool != "none":
                x = b.op(f"{pool}_pool", x, size=2)
    if b.choice(f"{p}head", ["global_avg", "flatten"]) == "global_avg":
        x = b.op("global_avg_pool", x)
    else:
        x = b.op("flatten", x)
    return b.op("linear", x, features=n_out)


@register_space("cnn")
def cnn(b: Builder, in_shape, n_out: int, max_blocks: int = 4, widths=WIDTHS) -> str:
    """CNN: VGG-like small-kernel stacks or an AlexNet-like big-kernel strided stem.

    Searches the stem, number of blocks, convs per block, width and kernel per block,
    batch norm, activation, pooling kind and placement, and the head (global pooling
    or flatten). Works on (C, L) signals (mnist1d, sequences) and (C, H, W) images
    (digits, cifar10); a bare (L,) input gets one channel.
    """
    x = as_channels_first(b, b.input(in_shape))
    return b.output(cnn_body(b, x, n_out, "", max_blocks, widths))
