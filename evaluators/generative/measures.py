"""Scores of generative models: the VAE's negative ELBO and a kernel MMD between samples.

Pure functions of tensors, so each has a hand-computable oracle in the tests.
"""

from __future__ import annotations

import math

import torch

KERNEL_SCALES = (0.25, 0.5, 1.0)
"""Gaussian kernel bandwidths of the GAN score, as multiples of the median distance."""


def negative_elbo(x: torch.Tensor, recon: torch.Tensor, mu: torch.Tensor,
                  logvar: torch.Tensor, recon_std: float = 1.0
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample terms of the negative ELBO of a Gaussian VAE, in nats: ``(recon, kl)``.

    recon_i = -log N(x_i; recon_i, s^2 I)
            = ||x_i - recon_i||^2 / (2 s^2) + D (log s + log(2 pi) / 2),  s = ``recon_std``,
    kl_i    = KL(N(mu_i, diag(exp(logvar_i))) || N(0, I))
            = sum_j (mu_ij^2 + exp(logvar_ij) - 1 - logvar_ij) / 2,
    with D the number of elements of one sample. ``recon + kl`` (shape (B,)) is the
    negative ELBO, an upper bound on -log p(x_i) when ``recon`` was decoded from a z
    sampled from the posterior.
    """
    d = x[0].numel()
    sq = (x - recon).flatten(1).square().sum(1)  # (B,)
    nll = sq / (2 * recon_std ** 2) + d * (math.log(recon_std) + 0.5 * math.log(2 * math.pi))
    kl = 0.5 * (mu.square() + logvar.exp() - 1 - logvar).flatten(1).sum(1)  # (B,)
    return nll, kl


def median_distance(x: torch.Tensor, max_samples: int = 1000) -> float:
    """The median Euclidean distance between distinct samples of ``x`` (the first
    ``max_samples``): the median heuristic's kernel bandwidth."""
    x = x[:max_samples].flatten(1).double()
    d = torch.cdist(x, x)  # (n, n)
    i, j = torch.triu_indices(len(x), len(x), offset=1)
    return float(d[i, j].median())


def gaussian_kernel(x: torch.Tensor, y: torch.Tensor,
                    bandwidths: tuple[float, ...] | list[float]) -> torch.Tensor:
    """k(a, b) = mean over s in ``bandwidths`` of exp(-||a - b||^2 / (2 s^2)): (m, n)."""
    d2 = torch.cdist(x, y).square()  # (m, n)
    return torch.stack([torch.exp(-d2 / (2 * s * s)) for s in bandwidths]).mean(0)


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor,
                  bandwidths: tuple[float, ...] | list[float]) -> float:
    """The unbiased estimate of MMD^2 between the distributions of ``x`` and ``y``.

    MMD^2_u = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (n (n - 1))
              - 2 sum_{i, j} k(x_i, y_j) / (m n)
    (Gretton et al., 2012, eq. 3), with ``gaussian_kernel``. Samples are flattened and
    computed in float64. Its expectation is 0 when both come from one distribution (a
    single estimate can dip below 0) and grows as they part.
    """
    x, y = x.flatten(1).double(), y.flatten(1).double()
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"the unbiased MMD needs at least 2 samples on each side, got {m} "
                         f"and {n}")
    kxx, kyy = gaussian_kernel(x, x, bandwidths), gaussian_kernel(y, y, bandwidths)
    kxy = gaussian_kernel(x, y, bandwidths)
    xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2 * kxy.mean())
