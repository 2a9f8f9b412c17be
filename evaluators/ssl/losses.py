"""The two self-supervised losses: SimCLR's NT-Xent and BYOL's normalized regression.

Both run in float32 even under bf16 autocast (similarities of unit vectors divided
by a small temperature need the precision).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """NT-Xent (Chen et al., 2020): the normalized temperature-scaled cross-entropy.

    For 2N unit vectors u (the rows of ``z1`` then ``z2``; ``z1[i]`` and ``z2[i]`` are
    two views of sample i), with s_ij = u_i . u_j / temperature:

        loss = mean over the 2N anchors i of  -log( exp(s_ip) / sum_{k != i} exp(s_ik) )

    where p is i's positive (the other view of the same sample). Every other of the
    2N - 2 vectors is a negative. Lower temperatures weigh hard negatives more.
    """
    if z1.shape != z2.shape or z1.dim() != 2:
        raise ValueError(f"nt_xent takes two (N, D) batches of the same shape, got "
                         f"{tuple(z1.shape)} and {tuple(z2.shape)}")
    n = len(z1)
    with torch.autocast(z1.device.type, enabled=False):
        u = F.normalize(torch.cat([z1, z2]).float(), dim=1)  # (2N, D)
        sim = u @ u.T / temperature  # (2N, 2N)
        sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=u.device), -torch.inf)
        positive = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(u.device)
        return F.cross_entropy(sim, positive)


def byol_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BYOL's loss (Grill et al., 2020): the mean squared distance of unit vectors,
    ``2 - 2 cos(prediction, target)`` averaged over the batch; ``target`` gets no
    gradient."""
    with torch.autocast(prediction.device.type, enabled=False):
        cos = F.cosine_similarity(prediction.float(), target.detach().float(), dim=1)
        return (2 - 2 * cos).mean()
