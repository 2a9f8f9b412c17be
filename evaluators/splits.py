"""Train / validation / test splits held as tensors, and the seeded split of indices."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch


@dataclass(frozen=True)
class Splits:
    """Inputs ``(N, *in_shape)`` and targets (``(N,)`` class ids or ``(N, n_out)`` values)
    of the three disjoint splits. Validation selects; test is only recorded."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def to(self, device: torch.device | str) -> Splits:
        return Splits(*(getattr(self, f.name).to(device) for f in fields(self)))

    @property
    def sizes(self) -> tuple[int, int, int]:
        return len(self.x_train), len(self.x_val), len(self.x_test)

    @classmethod
    def from_indices(cls, x: torch.Tensor, y: torch.Tensor, train: np.ndarray,
                     val: np.ndarray, test: np.ndarray) -> Splits:
        idx = [torch.as_tensor(i, dtype=torch.long) for i in (train, val, test)]
        return cls(x[idx[0]], y[idx[0]], x[idx[1]], y[idx[1]], x[idx[2]], y[idx[2]])


def split_indices(n: int, val: float | int, test: float | int = 0,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disjoint (train, val, test) index arrays from a permutation seeded by ``seed``.

    ``val`` and ``test`` are counts, or fractions of ``n`` when below 1. The same
    ``(n, val, test, seed)`` always gives the same split.
    """
    n_val, n_test = _count(val, n, "val"), _count(test, n, "test")
    if n_val + n_test >= n:
        raise ValueError(f"val ({n_val}) + test ({n_test}) leave no training samples out "
                         f"of {n}: make them smaller")
    perm = np.random.default_rng(seed).permutation(n)
    return (np.sort(perm[n_val + n_test:]), np.sort(perm[:n_val]),
            np.sort(perm[n_val:n_val + n_test]))


def _count(size: float | int, n: int, what: str) -> int:
    if size < 0:
        raise ValueError(f"{what} size must be >= 0, got {size}")
    return int(round(size * n)) if size < 1 else int(size)
