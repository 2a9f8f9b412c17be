"""scikit-learn's handwritten digits: 1,797 8x8 images (the optional ``digits`` extra)."""

from __future__ import annotations

import torch

from evaluators.recipe import TrainConfig
from evaluators.splits import Splits, split_indices
from evaluators.supervised import SupervisedTask
from nas import register_task


@register_task("digits")
class Digits(SupervisedTask):
    """Digits: sklearn's 1,797 8x8 grey images of 10 digits, as (1, 8, 8) in [0, 1].

    Bundled with scikit-learn (no download): ``pip install 'nas-toolkit[digits]'``.
    ``val_size`` / ``test_size`` (fractions or counts) are drawn by a permutation seeded
    with ``split_seed``.
    """

    name = "digits"

    def __init__(self, val_size: float | int = 0.15, test_size: float | int = 0.2,
                 split_seed: int = 0, config: TrainConfig | dict | None = None):
        try:
            from sklearn.datasets import load_digits
        except ImportError as exc:
            raise ImportError("the digits task needs scikit-learn: "
                              "pip install 'nas-toolkit[digits]'") from exc
        data = load_digits()
        x = torch.as_tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16  # (N, 1, 8, 8)
        y = torch.as_tensor(data.target, dtype=torch.long)
        idx = split_indices(len(x), val_size, test_size, seed=split_seed)
        super().__init__(Splits.from_indices(x, y, *idx), "classification", n_out=10,
                         config=config)
