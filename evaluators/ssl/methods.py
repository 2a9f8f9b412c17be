"""SimCLR and BYOL around any encoder: the heads and the target live outside the graph.

The encoder is a searched graph bound with ``n_out`` = the feature dimension; what a
method adds (projection head, predictor, target network) is trained with it and
then thrown away: only the encoder is probed, measured and exported.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from evaluators.ssl.losses import byol_loss, nt_xent


def encode(encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The encoder's features of ``x`` as ``(B, D)`` (a wider output is flattened)."""
    out = encoder(x)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"a self-supervised encoder must return one tensor, got "
                        f"{type(out).__name__}: give the graph a single output")
    return out.flatten(1)  # (B, D)


def mlp_head(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    """Linear -> BatchNorm -> ReLU -> Linear: SimCLR v2's projection head and BYOL's
    projector and predictor."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                         nn.Linear(hidden, out_dim))


class SimCLR(nn.Module):
    """SimCLR (Chen et al., 2020): z = g(f(x)) for a projection head g; the two views
    of a batch are pulled together and pushed from every other sample by NT-Xent."""

    def __init__(self, encoder: nn.Module, features: int, hidden: int = 256,
                 proj_dim: int = 64, temperature: float = 0.5):
        super().__init__()
        self.encoder = encoder
        self.projector = mlp_head(features, hidden, proj_dim)
        self.temperature = temperature

    def loss(self, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        """NT-Xent of the projections of two views (one encoder forward of both)."""
        z1, z2 = self.projector(encode(self.encoder, torch.cat([v1, v2]))).chunk(2)
        return nt_xent(z1, z2, self.temperature)

    def after_step(self, step: float, total: int) -> None:
        """Nothing to do after an optimizer step (BYOL updates its target here)."""


class BYOL(nn.Module):
    """BYOL (Grill et al., 2020): the online network (encoder, projector, predictor)
    regresses the target network's projection of the other view; no negative pairs.

    The target is a deep copy of encoder and projector with ``requires_grad=False``,
    run under ``no_grad``: only ``update_target`` changes it, an exponential moving
    average ``target <- tau * target + (1 - tau) * online`` of the parameters (the
    buffers, BatchNorm statistics, are copied). ``tau`` rises from ``tau_base`` to 1
    along a cosine over the run, as in the paper.
    """

    def __init__(self, encoder: nn.Module, features: int, hidden: int = 256,
                 proj_dim: int = 64, tau_base: float = 0.99):
        super().__init__()
        self.encoder = encoder
        self.projector = mlp_head(features, hidden, proj_dim)
        self.predictor = mlp_head(proj_dim, hidden, proj_dim)
        self.target = nn.ModuleDict({"encoder": copy.deepcopy(encoder),
                                     "projector": copy.deepcopy(self.projector)})
        self.target.requires_grad_(False)
        self.tau_base = tau_base

    def online(self) -> list[nn.Module]:
        """The modules the target mirrors, in the target's order."""
        return [self.encoder, self.projector]

    def loss(self, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        """The symmetrized loss: predict each view's target projection from the other."""
        both = torch.cat([v1, v2])
        p1, p2 = self.predictor(self.projector(encode(self.encoder, both))).chunk(2)
        with torch.no_grad():
            t1, t2 = self.target["projector"](encode(self.target["encoder"], both)).chunk(2)
        return byol_loss(p1, t2) + byol_loss(p2, t1)

    def tau_at(self, step: float, total: int) -> float:
        """1 - (1 - tau_base) (cos(pi step / total) + 1) / 2."""
        t = min(1.0, step / max(1, total))
        return 1 - (1 - self.tau_base) * (math.cos(math.pi * t) + 1) / 2

    @torch.no_grad()
    def update_target(self, tau: float) -> None:
        """target <- tau * target + (1 - tau) * online (parameters); buffers copied."""
        target = [m.parameters() for m in self.target.values()]
        online = [m.parameters() for m in self.online()]
        t_params = [p for ps in target for p in ps]
        o_params = [p for ps in online for p in ps]
        torch._foreach_lerp_(t_params, o_params, 1 - tau)
        for t_mod, o_mod in zip(self.target.values(), self.online()):
            for tb, ob in zip(t_mod.buffers(), o_mod.buffers()):
                tb.copy_(ob)

    def after_step(self, step: float, total: int) -> None:
        """The EMA update after each optimizer step."""
        self.update_target(self.tau_at(step, total))
