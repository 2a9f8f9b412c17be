"""Primitives for generative models: the VAE reparameterization."""

from __future__ import annotations

import torch
from torch import nn

from nas.ops._basic import define


class Reparameterize(nn.Module):
    """Kingma & Welling (2014): z = mu + exp(0.5 * logvar) * eps, eps ~ N(0, I).

    Sampling happens in training mode only; in eval mode z = mu (the posterior mean), so
    an evaluated model is deterministic. Gradients reach mu and logvar through z.
    (B, *S), (B, *S) -> (B, *S).
    """

    def forward(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return mu
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def _reparam_shape(p, s):
    if tuple(s[0]) != tuple(s[1]):
        raise ValueError(f"mu {tuple(s[0])} and logvar {tuple(s[1])} must have the same shape")
    return s[0]


define(
    "reparameterize",
    arity=2,
    shape=_reparam_shape,
    make=lambda p, s: Reparameterize(),
    examples=[({}, [(6,), (6,)]), ({}, [(3, 4), (3, 4)])],
    doc="VAE sample z = mu + exp(0.5 logvar) * eps while training, z = mu in eval mode: "
        "(mu S, logvar S) -> S.",
)
