"""Shape-agnostic primitives: linear, activations, dropout, norms, add, concat, reshaping."""

from __future__ import annotations

import math

import torch
from torch import nn

from nas.ops._registry import REQUIRED, OpSpec, TensorSpec, register_op


def define(name: str, *, shape, make, params=None, arity=1, examples=(), doc: str = "") -> OpSpec:
    """Register an op; ``examples`` are ``(params, [shape or TensorSpec, ...])`` pairs."""
    norm = tuple(
        (p, [s if isinstance(s, TensorSpec) else TensorSpec(tuple(s)) for s in ins])
        for p, ins in examples
    )
    return register_op(OpSpec(name, arity, dict(params or {}), shape, make, doc, norm))


def same_shape(p, s):
    return s[0]


def _need_rank(shape, ranks, what):
    if len(shape) not in ranks:
        raise ValueError(f"{what} needs an input of rank {' or '.join(map(str, ranks))} "
                         f"(batch excluded), got {tuple(shape)}")


# --------------------------------------------------------------------- linear
define(
    "linear",
    params={"features": REQUIRED, "bias": True},
    shape=lambda p, s: (*s[0][:-1], p["features"]),
    make=lambda p, s: nn.Linear(s[0][-1], p["features"], bias=p["bias"]),
    examples=[({"features": 7}, [(5,)]), ({"features": 4, "bias": False}, [(3, 6)])],
    doc="y = x W^T + b over the last dimension: (..., F_in) -> (..., features).",
)

# --------------------------------------------------------------------- activations
_ACTS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
}
for _name, _cls in _ACTS.items():
    define(_name, shape=same_shape, make=lambda p, s, c=_cls: c(),
           examples=[({}, [(6,)]), ({}, [(2, 5)])],
           doc=f"Elementwise {_name}; shape unchanged.")

define(
    "leaky_relu",
    params={"slope": 0.01},
    shape=same_shape,
    make=lambda p, s: nn.LeakyReLU(p["slope"]),
    examples=[({"slope": 0.2}, [(6,)])],
    doc="Elementwise max(x, slope * x); shape unchanged.",
)

define(
    "dropout",
    params={"p": 0.1},
    shape=same_shape,
    make=lambda p, s: nn.Dropout(p["p"]),
    examples=[({"p": 0.5}, [(8,)])],
    doc="Zeroes elements with probability p while training; shape unchanged.",
)

define("identity", shape=same_shape, make=lambda p, s: nn.Identity(),
       examples=[({}, [(4, 3)])], doc="Returns its input.")


class Zero(nn.Module):
    """Outputs zeros of the input's shape (NAS-Bench-201 'none'); no gradient flows."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


define("zero", shape=same_shape, make=lambda p, s: Zero(), examples=[({}, [(4, 3)])],
       doc="Zeros of the input's shape (the 'none' edge of cell spaces).")

# --------------------------------------------------------------------- normalization


def _batch_norm(p, s):
    _need_rank(s[0], (1, 2, 3), "batch_norm")
    cls = nn.BatchNorm2d if len(s[0]) == 3 else nn.BatchNorm1d
    return cls(s[0][0], momentum=p["momentum"], affine=p["affine"])


define(
    "batch_norm",
    params={"momentum": 0.1, "affine": True},
    shape=lambda p, s: (_need_rank(s[0], (1, 2, 3), "batch_norm"), s[0])[1],
    make=_batch_norm,
    examples=[({}, [(6,)]), ({}, [(4, 9)]), ({"affine": False}, [(3, 5, 5)])],
    doc="Batch norm over the channel axis (first non-batch axis) of (C,), (C, L), (C, H, W).",
)

define(
    "layer_norm",
    params={"eps": 1e-5},
    shape=same_shape,
    make=lambda p, s: nn.LayerNorm(s[0][-1], eps=p["eps"]),
    examples=[({}, [(6,)]), ({}, [(5, 8)])],
    doc="Layer norm over the last axis; shape unchanged.",
)

# --------------------------------------------------------------------- reshaping


class Flatten(nn.Module):
    """(B, *S) -> (B, prod(S))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


define("flatten", shape=lambda p, s: (math.prod(s[0]),), make=lambda p, s: Flatten(),
       examples=[({}, [(3, 4, 5)]), ({}, [(7,)])], doc="(*S) -> (prod(S),).")


class Reshape(nn.Module):
    """(B, *S) -> (B, *shape)."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


def _reshape_shape(p, s):
    if math.prod(p["shape"]) != math.prod(s[0]):
        raise ValueError(f"cannot reshape {math.prod(s[0])} elements into {tuple(p['shape'])}")
    return tuple(p["shape"])


define("reshape", params={"shape": REQUIRED}, shape=_reshape_shape,
       make=lambda p, s: Reshape(p["shape"]),
       examples=[({"shape": [4, 6]}, [(24,)]), ({"shape": [12]}, [(3, 4)])],
       doc="(*S) -> shape, same number of elements.")


class Transpose(nn.Module):
    """Swaps the last two axes: (B, C, L) <-> (B, L, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(-1, -2)


def _transpose_shape(p, s):
    if len(s[0]) < 2:
        raise ValueError("transpose needs an input of rank >= 2")
    return (*s[0][:-2], s[0][-1], s[0][-2])


define("transpose", shape=_transpose_shape, make=lambda p, s: Transpose(),
       examples=[({}, [(3, 5)])],
       doc="Swap the last two axes, e.g. channels-first (C, L) <-> sequence (L, C).")

# --------------------------------------------------------------------- merging


def _projection(src, dst, norm: bool) -> nn.Module:
    """A module mapping tensors of shape ``src`` to ``dst`` (1x1 conv or linear)."""
    if tuple(src) == tuple(dst):
        return nn.Identity()
    if len(src) != len(dst):
        raise ValueError(f"cannot project {tuple(src)} onto {tuple(dst)} (different ranks)")
    if len(src) in (2, 3):  # channels-first feature maps: 1x1 conv with a stride
        strides = []
        for a, b in zip(src[1:], dst[1:]):
            stride = -(-a // b) if a and b else 0  # ceil(a / b), as a strided conv shrinks
            if not stride or (a - 1) // stride + 1 != b:
                raise ValueError(f"cannot project {tuple(src)} onto {tuple(dst)}")
            strides.append(stride)
        conv = nn.Conv2d if len(src) == 3 else nn.Conv1d
        bn = nn.BatchNorm2d if len(src) == 3 else nn.BatchNorm1d
        layers = [conv(src[0], dst[0], 1, stride=tuple(strides), bias=not norm)]
        if norm:
            layers.append(bn(dst[0]))
        return nn.Sequential(*layers)
    if tuple(src[:-1]) != tuple(dst[:-1]):
        raise ValueError(f"cannot project {tuple(src)} onto {tuple(dst)}")
    return nn.Linear(src[-1], dst[-1])


class Add(nn.Module):
    """y = x_0 + sum_i proj_i(x_i); each proj maps input i to x_0's shape (identity if equal)."""

    def __init__(self, projections: list[nn.Module]):
        super().__init__()
        self.proj = nn.ModuleList(projections)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for proj, x in zip(self.proj, xs[1:]):
            out = out + proj(x)
        return out


def _add_shape(p, s):
    for other in s[1:]:
        _projection(other, s[0], False) if tuple(other) != tuple(s[0]) else None
    return s[0]


def _add_make(p, s):
    mods = [_projection(other, s[0], p["proj_norm"]) for other in s[1:]]
    if not p["project"] and any(not isinstance(m, nn.Identity) for m in mods):
        raise ValueError("inputs differ in shape and project=False")
    return Add(mods)


define(
    "add",
    arity=(2, None),
    params={"project": True, "proj_norm": True},
    shape=_add_shape,
    make=_add_make,
    examples=[({}, [(4, 6), (4, 6)]), ({}, [(8, 5), (4, 10)]), ({}, [(6,), (3,), (6,)]),
              ({"proj_norm": False}, [(4, 3, 3), (2, 6, 6)])],
    doc="Residual sum onto the first input's shape; other inputs of another shape get a "
        "1x1 conv (+BN when proj_norm, stride when smaller) or linear projection.",
)


class Mul(nn.Module):
    """Elementwise product with broadcasting (gates, squeeze-excitation)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * b


def _mul_shape(p, s):
    a, b = s
    if len(b) < len(a):  # (C,) gates broadcast over the spatial axes of (C, ...)
        b = (*b, *([1] * (len(a) - len(b))))
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            raise ValueError(f"shapes {tuple(a)} and {tuple(s[1])} do not broadcast")
        out.append(max(x, y))
    return tuple(out)


class _MulChannels(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * b.reshape(*b.shape, *([1] * (a.dim() - b.dim())))


define("mul", arity=2, shape=_mul_shape,
       make=lambda p, s: _MulChannels() if len(s[1]) < len(s[0]) else Mul(),
       examples=[({}, [(4, 5), (4, 5)]), ({}, [(4, 6, 6), (4,)])],
       doc="Elementwise product; a (C,) second input scales the channels of (C, ...).")


class Concat(nn.Module):
    """Concatenates along one non-batch axis."""

    def __init__(self, axis: int):
        super().__init__()
        self.axis = axis

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.axis)


def _concat_axis(axis, rank):
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def _concat_shape(p, s):
    rank = len(s[0])
    ax = _concat_axis(p["axis"], rank)
    for other in s[1:]:
        if len(other) != rank or any(a != b for i, (a, b) in enumerate(zip(s[0], other))
                                     if i != ax):
            raise ValueError(f"inputs must agree on every axis but {p['axis']}")
    return tuple(sum(x[ax] for x in s) if i == ax else d for i, d in enumerate(s[0]))


define(
    "concat",
    arity=(2, None),
    params={"axis": 0},
    shape=_concat_shape,
    make=lambda p, s: Concat(_concat_axis(p["axis"], len(s[0])) + 1),
    examples=[({}, [(3, 5), (4, 5)]), ({"axis": -1}, [(5, 2), (5, 3), (5, 1)])],
    doc="Concatenate along a non-batch axis (0: channels of (C, ...); -1: features).",
)
