"""Small helpers shared by the built-in spaces."""

from __future__ import annotations

from nas import Builder, TensorSpec

ACTIVATIONS = ["relu", "gelu", "silu", "tanh", "sigmoid", "leaky_relu"]


def shape_of(in_shape) -> tuple:
    return tuple(in_shape.shape if isinstance(in_shape, TensorSpec) else in_shape)


def as_channels_first(b: Builder, x: str) -> str:
    """Give a bare (L,) input a channel axis: (L,) -> (1, L)."""
    shape = b.shape(x)
    if len(shape) == 1:
        return b.op("reshape", x, shape=[1, shape[0]])
    return x


def as_vector(b: Builder, x: str) -> str:
    return b.op("flatten", x) if len(b.shape(x)) != 1 else x


def spatial(b: Builder, x: str) -> int:
    """The smallest spatial size of a (C, *S) node."""
    return min(b.shape(x)[1:])
