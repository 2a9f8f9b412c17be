"""Feed-forward networks (MLPs)."""

from __future__ import annotations

from nas import Builder, register_space
from search_spaces._common import ACTIVATIONS, as_vector

WIDTHS = (32, 64, 128, 256, 512)


def mlp_body(b: Builder, x: str, n_out: int, prefix: str = "", max_depth: int = 4,
             widths=WIDTHS) -> str:
    """The MLP on a (F,) node ``x``, up to the ``n_out`` logits; decision names get ``prefix``."""
    p = prefix
    act = b.choice(f"{p}activation", ACTIVATIONS)
    norm = b.choice(f"{p}norm", ["none", "batch_norm", "layer_norm"])
    residual = b.bool(f"{p}residual")
    dropout = b.choice(f"{p}dropout", [0.0, 0.1, 0.25])
    for i in range(b.int(f"{p}depth", 1, max_depth)):
        h = b.op("linear", x, features=b.choice(f"{p}width_{i}", list(widths)))
        if norm != "none":
            h = b.op(norm, h)
        h = b.op(act, h)
        if dropout:
            h = b.op("dropout", h, p=dropout)
        x = b.op("add", h, x) if residual else h
    return b.op("linear", x, features=n_out)


@register_space("mlp")
def mlp(b: Builder, in_shape, n_out: int, max_depth: int = 4, widths=WIDTHS) -> str:
    """MLP: depth, per-layer width, activation, dropout, normalization, residual or not.

    Suits any task with fixed-size inputs (flattened first): mnist1d, digits, csv tables.
    Residual layers add a linear projection when widths differ.
    """
    x = as_vector(b, b.input(in_shape))
    return b.output(mlp_body(b, x, n_out, "", max_depth, widths))
