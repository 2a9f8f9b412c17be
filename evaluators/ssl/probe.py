"""The linear probe: a closed-form ridge classifier on frozen features.

Features are standardized with the labeled subset's statistics; the classifier
regresses one-hot labels, ``W = (X^T X + lam I)^-1 X^T Y`` with an unpenalized
bias, and predicts the arg max. ``lam`` is picked from a grid by the exact
leave-one-out accuracy on the labeled subset (ridge's hat-matrix shortcut: one SVD
for the whole grid), so the validation split is never used to fit it. A few
milliseconds for 500 labels: cheap enough to run at every ``report``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from evaluators.device import autocast
from evaluators.ssl.methods import encode

# ridge strengths, as multiples of the number of labeled samples (features standardized)
LAMBDAS = tuple(10.0 ** (k / 2) for k in range(-8, 3))


@torch.no_grad()
def features(encoder: nn.Module, x: torch.Tensor, batch: int = 4096) -> torch.Tensor:
    """The frozen encoder's features of ``x`` (eval mode, in chunks), float32 ``(N, D)``."""
    was_training = encoder.training
    encoder.eval()
    try:
        with autocast(x.device):
            return torch.cat([encode(encoder, x[i:i + batch]).float()
                              for i in range(0, len(x), batch)])
    finally:
        encoder.train(was_training)


@dataclass
class RidgeProbe:
    """A fitted linear classifier: ``argmax(((f - mean) / scale) @ weight + bias)``."""

    mean: torch.Tensor  # (D,)
    scale: torch.Tensor  # (D,)
    weight: torch.Tensor  # (D, C)
    bias: torch.Tensor  # (C,)
    lam: float  # the ridge strength chosen (absolute)
    loo_acc: float  # its leave-one-out accuracy on the labeled subset

    @classmethod
    def fit(cls, feats: torch.Tensor, labels: torch.Tensor, n_classes: int,
            lambdas: tuple[float, ...] = LAMBDAS) -> RidgeProbe:
        """Fit on ``feats (N, D)`` and class ids ``labels (N,)``; ``lambdas`` are
        multiples of N (the best leave-one-out accuracy wins, ties to the larger)."""
        f = feats.detach().double().cpu()
        y = labels.cpu()
        if not torch.isfinite(f).all():
            raise ValueError("the features are not finite (NaN or Inf)")
        n = len(f)
        mean, scale = f.mean(0), f.std(0).clamp_min(1e-8)
        x = (f - mean) / scale  # (N, D), centered
        onehot = F.one_hot(y, n_classes).double()  # (N, C)
        ybar = onehot.mean(0)
        u, s, vt = torch.linalg.svd(x, full_matrices=False)  # u (N, R), s (R,), vt (R, D)
        uty = u.T @ (onehot - ybar)  # (R, C)
        lam = torch.tensor(lambdas, dtype=torch.float64) * n  # (K,)
        shrink = s.square() / (s.square() + lam[:, None])  # (K, R)
        fitted = ybar + u @ (shrink[:, :, None] * uty)  # (K, N, C)
        leverage = 1 / n + shrink @ u.T.square()  # (K, N): hat diagonal, bias included
        loo = onehot - (onehot - fitted) / (1 - leverage)[:, :, None]  # (K, N, C)
        accs = (loo.argmax(-1) == y).double().mean(1)  # (K,)
        best = max(range(len(lambdas)), key=lambda k: (accs[k].item(), k))
        weight = vt.T @ ((s / (s.square() + lam[best]))[:, None] * uty)  # (D, C)
        return cls(mean, scale, weight, ybar, float(lam[best]), accs[best].item())

    def predict(self, feats: torch.Tensor) -> torch.Tensor:
        """Class ids for ``feats (N, D)`` (on the CPU)."""
        x = (feats.detach().double().cpu() - self.mean) / self.scale
        return (x @ self.weight + self.bias).argmax(1)

    def accuracy(self, feats: torch.Tensor, labels: torch.Tensor) -> float:
        """The fraction of ``labels`` predicted from ``feats``."""
        return (self.predict(feats) == labels.cpu()).double().mean().item()
