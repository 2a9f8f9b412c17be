"""Codegen rules for the shape-agnostic primitives (nas/ops/_basic.py)."""

from __future__ import annotations

from nas.export._codegen import construct, layer, register_codegen, torch_expr
from nas.ops import _basic as ops


@register_codegen("linear")
def _linear(p, s):
    return layer("Linear", s[0][-1], p["features"], bias=p["bias"])


def _activation(cls):
    return lambda p, s: layer(cls.__name__)


for _name, _cls in ops._ACTS.items():
    register_codegen(_name)(_activation(_cls))


@register_codegen("leaky_relu")
def _leaky_relu(p, s):
    return layer("LeakyReLU", negative_slope=p["slope"])


@register_codegen("dropout")
def _dropout(p, s):
    return layer("Dropout", p=p["p"])


@register_codegen("identity")
def _identity(p, s):
    return layer("Identity")


@register_codegen("zero")
def _zero(p, s):
    return construct(ops.Zero)


@register_codegen("batch_norm")
def _batch_norm(p, s):
    name = "BatchNorm2d" if len(s[0]) == 3 else "BatchNorm1d"
    return layer(name, s[0][0], momentum=p["momentum"], affine=p["affine"])


@register_codegen("layer_norm")
def _layer_norm(p, s):
    return layer("LayerNorm", s[0][-1], eps=p["eps"])


@register_codegen("flatten")
def _flatten(p, s):
    return construct(ops.Flatten)


@register_codegen("reshape")
def _reshape(p, s):
    return construct(ops.Reshape, tuple(p["shape"]))


@register_codegen("transpose")
def _transpose(p, s):
    return construct(ops.Transpose)


@register_codegen("add")
def _add(p, s):
    # the op's own factory picks each projection; we write down what it picked
    projections = [torch_expr(m) for m in ops._add_make(p, s).proj]
    return construct(ops.Add, projections)


@register_codegen("mul")
def _mul(p, s):
    return construct(ops._MulChannels if len(s[1]) < len(s[0]) else ops.Mul)


@register_codegen("concat")
def _concat(p, s):
    return construct(ops.Concat, ops._concat_axis(p["axis"], len(s[0])) + 1)



