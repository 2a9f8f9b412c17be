"""MNIST-1D (Greydanus, 2020), regenerated offline by the ``mnist1d`` package."""

from __future__ import annotations

import functools

import numpy as np
import torch

from evaluators.splits import Splits, split_indices
from evaluators.supervised import SupervisedTask
from evaluators.trainer import TrainConfig
from nas import register_task


@functools.lru_cache(maxsize=1)
def mnist1d_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The published dataset: (x_train (4000, 40), y_train, x_test (1000, 40), y_test).

    Generated from the package's default arguments (about a second, no download) and
    kept for the life of the process.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())
    return d["x"], d["y"], d["x_test"], d["y_test"]


@register_task("mnist1d")
class MNIST1D(SupervisedTask):
    """MNIST-1D: 10-class 1-D digits of length 40, 4,000 train / 1,000 test (the default).

    The validation split (``val_size`` samples, 500 by default) is carved out of the
    training set by a permutation seeded with ``split_seed``; the test split is the
    published one. Inputs are float32 ``(N, 1, 40)``.
    """

    name = "mnist1d"

    def __init__(self, val_size: int = 500, split_seed: int = 0,
                 config: TrainConfig | dict | None = None):
        x, y, x_test, y_test = mnist1d_arrays()
        x = torch.as_tensor(x, dtype=torch.float32).unsqueeze(1)  # (4000, 1, 40)
        y = torch.as_tensor(y, dtype=torch.long)
        train, val, _ = split_indices(len(x), val_size, 0, seed=split_seed)
        t = torch.as_tensor(train)
        v = torch.as_tensor(val)
        splits = Splits(x[t], y[t], x[v], y[v],
                        torch.as_tensor(x_test, dtype=torch.float32).unsqueeze(1),
                        torch.as_tensor(y_test, dtype=torch.long))
        super().__init__(splits, "classification", n_out=10, config=config)
