"""Autoencoders: an MLP or strided-conv encoder, a latent vector, and a mirror decoder.

``encode`` / ``decode`` are shared with the VAE space (``search_spaces.vae``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nas import Builder, register_space
from search_spaces._common import as_channels_first, spatial

ACTIVATIONS = ["relu", "leaky_relu", "gelu", "silu"]
WIDTHS = [32, 64, 128, 256]  # hidden widths of the MLP encoder and decoder
CHANNELS = [8, 16, 32, 64]  # channels of the conv encoder and decoder levels
LATENTS = [2, 4, 8, 16, 32]
MAX_DEPTH = 3


@dataclass
class Plan:
    """What the decoder needs to undo the encoder."""

    data_shape: tuple  # the input's shape (batch excluded); the reconstruction's shape
    kind: str  # "linear" or "conv"
    activation: str  # shared by every hidden layer
    batch_norm: bool  # after every hidden layer
    kernel: int = 3  # conv: the kernel of every conv
    levels: list = field(default_factory=list)  # conv: (C, *S) before each stride-2 level
    features: tuple = ()  # conv: the last feature map's shape (C, *S)


# --------------------------------------------------------------------- blocks


def _unit(b: Builder, x: str, plan: Plan) -> str:
    """Norm (optional) then activation, after a linear or conv layer."""
    if plan.batch_norm:
        x = b.op("batch_norm", x)
    return b.op(plan.activation, x)


def _fit(b: Builder, x: str, target: tuple) -> str:
    """Make the spatial axes of a (C, *S) node equal ``target`` by a linear map along each
    axis that is off (only when a non-square input's sides differ in parity)."""
    shape = b.shape(x)
    if shape[-1] != target[-1]:
        x = b.op("linear", x, features=target[-1])  # along the last axis
    if len(target) == 2 and shape[1] != target[0]:
        x = b.op("transpose", x)  # (C, W, H)
        x = b.op("linear", x, features=target[0])
        x = b.op("transpose", x)  # (C, H, W)
    return x


def _up(b: Builder, x: str, target: tuple, channels: int, kernel: int, mode: str) -> str:
    """Double the spatial size of a (C, *S) node back to ``target`` (its size before the
    matching stride-2 level, so S = ceil(target / 2))."""
    if mode == "conv_transpose":  # (n - 1) * 2 - 2 + 3 + op = 2n - 1 + op
        x = b.op("conv_transpose", x, channels=channels, kernel=3, stride=2, padding=1,
                 output_padding=1 - target[0] % 2)
    else:
        x = b.op("upsample", x, scale=2)  # (C, *2S)
        x = b.op("conv", x, channels=channels, kernel=kernel)
    return _fit(b, x, target)


def encode(b: Builder, x: str) -> tuple[str, Plan]:
    """The encoder: input node -> a feature vector (F,), and the plan for ``decode``.

    Decisions: ``kind`` (linear or conv), ``activation``, ``batch_norm``, ``enc_depth``,
    per level ``enc_width_{i}`` (linear) or ``enc_channels_{i}`` (conv), and ``kernel``.
    """
    plan = Plan(b.shape(x), b.choice("kind", ["linear", "conv"]),
                b.choice("activation", ACTIVATIONS), b.bool("batch_norm"))
    depth = b.int("enc_depth", 1, MAX_DEPTH)
    if plan.kind == "linear":
        h = b.op("flatten", x) if len(plan.data_shape) != 1 else x  # (F,)
        for i in range(depth):
            h = _unit(b, b.op("linear", h, features=b.choice(f"enc_width_{i}", WIDTHS)), plan)
        return h, plan
    plan.kernel = b.choice("kernel", [3, 5])
    h = as_channels_first(b, x)  # (C, L) or (C, H, W)
    for i in range(depth):
        if spatial(b, h) < 2:
            break
        plan.levels.append(b.shape(h))
        channels = b.choice(f"enc_channels_{i}", CHANNELS)
        h = b.op("conv", h, channels=channels, kernel=plan.kernel, stride=2)  # S -> ceil(S / 2)
        h = _unit(b, h, plan)
    plan.features = b.shape(h)
    return b.op("flatten", h), plan  # (C * prod(S),)


def decode(b: Builder, z: str, plan: Plan) -> str:
    """The decoder: latent (latent,) -> a node of exactly ``plan.data_shape``.

    Decisions: linear ``dec_depth`` and ``dec_width_{i}``; conv ``upsampling``
    (conv_transpose or upsample + conv) and ``dec_channels_{i}`` per level (deepest first).
    """
    size = math.prod(plan.data_shape)
    if plan.kind == "linear":
        h = z
        for i in range(b.int("dec_depth", 1, MAX_DEPTH)):
            h = _unit(b, b.op("linear", h, features=b.choice(f"dec_width_{i}", WIDTHS)), plan)
        h = b.op("linear", h, features=size)  # (prod(data_shape),)
        return h if len(plan.data_shape) == 1 else b.op("reshape", h, shape=list(plan.data_shape))
    mode = b.choice("upsampling", ["conv_transpose", "upsample"])
    h = _unit(b, b.op("linear", z, features=math.prod(plan.features)), plan)
    h = b.op("reshape", h, shape=list(plan.features))  # (C, *S), the encoder's last map
    for i, level in enumerate(reversed(plan.levels)):
        channels = b.choice(f"dec_channels_{i}", CHANNELS)
        h = _unit(b, _up(b, h, level[1:], channels, plan.kernel, mode), plan)
    out_channels = plan.levels[0][0] if plan.levels else plan.features[0]
    h = b.op("conv", h, channels=out_channels, kernel=plan.kernel)  # (C, *S) of the input
    if b.shape(h) != tuple(plan.data_shape):  # a bare (L,) input was read as (1, L)
        h = b.op("reshape", h, shape=list(plan.data_shape))
    return h


# --------------------------------------------------------------------- the space


@register_space("autoencoder", in_shape=(1, 40), n_out=10)
def autoencoder(b: Builder, in_shape, n_out: int) -> str:
    """Autoencoder: MLP or strided-conv encoder, latent size, mirror decoder; output = input.

    Searches ``kind`` (linear or conv), encoder and decoder depth and widths, latent size,
    activation, batch norm, the conv kernel and how the conv decoder upsamples
    (transposed conv or nearest upsample + conv). The output is a reconstruction with
    exactly the input's shape, for (F,), (C, L) and (C, H, W) inputs; ``n_out`` is
    ignored. Suits unsupervised pretraining, denoising and anomaly scoring on mnist1d,
    digits or small images, trained with a reconstruction loss.
    """
    del n_out  # the output is a reconstruction of the input
    h, plan = encode(b, b.input(in_shape))
    z = b.op("linear", h, features=b.choice("latent", LATENTS), name="latent")  # (latent,)
    return b.output(decode(b, z, plan))
