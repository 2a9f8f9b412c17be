"""ArrayTask: a supervised task from the user's own arrays or tensors, in Python."""

from __future__ import annotations

import numpy as np
import torch

from evaluators.recipe import TrainConfig
from evaluators.splits import Splits, split_indices
from evaluators.supervised import SupervisedTask
from nas import TensorSpec


class ArrayTask(SupervisedTask):
    """Your own data: inputs ``x`` (N, ...) and targets ``y`` (N,) or (N, k), split three ways.

    ``kind="auto"`` means classification when ``y`` holds integers, booleans or strings
    (labels are encoded as 0..C-1; ``classes`` maps them back) and regression when it
    holds floats. Features (and regression targets) are standardized with the training
    split's mean and std when ``standardize`` is True. ``val_size`` / ``test_size``
    are fractions or counts, drawn by a permutation seeded with ``split_seed``, unless
    ``indices`` gives the (train, val, test) index arrays. ``tokens=True``: ``x`` holds
    integer token ids (N, L), kept as int64 and never standardized (``in_shape`` is a
    ``TensorSpec`` of kind "tokens"). ``x_mean``/``x_std`` (and ``y_mean``/``y_std`` for
    regression) keep the standardization, so new inputs can be prepared alike.
    """

    def __init__(self, x, y, kind: str = "auto", val_size: float | int = 0.15,
                 test_size: float | int = 0.15, split_seed: int = 0, standardize: bool = True,
                 name: str = "arrays", config: TrainConfig | dict | None = None,
                 indices: tuple | None = None, tokens: bool = False):
        x = _as_numpy(x, "x")
        x = x.astype(np.int64) if tokens else x.astype(np.float32)
        y = _as_numpy(y, "y")
        if x.ndim == 1:
            x = x[:, None]
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}: give one target "
                             "per sample")
        kind = _infer_kind(y) if kind == "auto" else kind
        if not tokens and not np.isfinite(x).all():
            raise ValueError(f"x has {int((~np.isfinite(x)).sum())} NaN or infinite values: "
                             "drop or fill them first")
        train, val, test = indices if indices is not None else \
            split_indices(len(x), val_size, test_size, seed=split_seed)
        self.x_mean, self.x_std = np.zeros(1, np.float32), np.ones(1, np.float32)
        if standardize and not tokens:
            self.x_mean = x[train].mean(axis=0).astype(np.float32)
            x, self.x_std = _standardize(x, train)
        self.y_mean, self.y_std = np.zeros(1, np.float32), np.ones(1, np.float32)
        y_scale: float | torch.Tensor = 1.0
        if kind == "classification":
            y = y.reshape(len(y), -1)
            if y.shape[1] != 1:
                raise ValueError(f"classification targets must be one label per sample, got "
                                 f"shape {y.shape}; for several outputs use kind='regression'")
            self.classes, codes = np.unique(y[:, 0], return_inverse=True)
            if len(self.classes) < 2:
                raise ValueError(f"y has a single class ({self.classes[0]!r}): nothing to learn")
            y_t, n_out = torch.as_tensor(codes, dtype=torch.long), len(self.classes)
        else:
            y = y.astype(np.float32).reshape(len(y), -1)  # (N, k)
            if not np.isfinite(y).all():
                raise ValueError("y has NaN or infinite values: drop or fill them first")
            if standardize:
                self.y_mean = y[train].mean(axis=0).astype(np.float32)
                y, self.y_std = _standardize(y, train)
                y_scale = torch.as_tensor(self.y_std)
            y_t, n_out = torch.as_tensor(y), y.shape[1]
        splits = Splits.from_indices(torch.as_tensor(x), y_t, train, val, test)
        super().__init__(splits, kind, n_out=n_out, config=config, y_scale=y_scale, name=name)
        if tokens:  # (L,) ids below vocab
            self.in_shape = TensorSpec(tuple(x.shape[1:]), "tokens", vocab=int(x.max()) + 1)


def _as_numpy(a, what: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    try:
        return np.asarray(a)
    except Exception as exc:
        raise TypeError(f"{what} must be a numpy array, a tensor or a nested list, got "
                        f"{type(a).__name__}") from exc


def _infer_kind(y: np.ndarray) -> str:
    return "regression" if y.dtype.kind in "fc" else "classification"


def _standardize(a: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a - mean) / std per feature, with the training rows' statistics; constant
    features keep a std of 1."""
    mean = a[train].mean(axis=0)
    std = a[train].std(axis=0)
    std = np.where(std > 1e-8, std, 1.0).astype(np.float32)
    return ((a - mean) / std).astype(np.float32), std
