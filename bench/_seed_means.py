"""A cell scored by the mean of K stand-alone trainings with different training seeds.

The DARTS benchmark's digits test split is small (one image is 0.003), so a cell
trained once carries its training seed's luck, and the 90th percentile of 50 random
cells trained once is the top of 50 noisy draws (bench/results/darts_seed_noise.md).
With ``--train-seeds K`` every stand-alone training is done with K seeds (``seeds``:
``--train-seed`` and the next K - 1) and a cell's row is the mean of its K rows
(``mean_row``), the per-seed values kept in it. One training stays the cost unit: a
row's ``time_s`` is the mean of its K trainings', and random search given the same
time picks by the first seed's validation accuracy (``one_training``), what it sees
for the price of one training a cell; the pick is then scored by its mean like the
found cell.
"""

from __future__ import annotations

import math

import numpy as np


def seeds(first: int, k: int) -> list[int]:
    """The K training seeds: ``first``, ``first + 1``, ..."""
    if k < 1:
        raise ValueError(f"--train-seeds must be at least 1, got {k}")
    return list(range(first, first + k))


def _mean(values: list) -> float:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else math.nan


def mean_row(rows: list[dict], train_seeds: list[int]) -> dict:
    """One cell's rows (one per seed of ``train_seeds``, in order) as one: the mean test
    and validation accuracies and seconds, each seed's accuracies under ``per_seed``, the
    first error if any trained failed. A single row is returned as it is."""
    if len(rows) == 1:
        return rows[0]
    errors = [r.get("error") for r in rows if r.get("error") is not None]
    per_seed = [{"seed": s, "test_acc": r.get("test_acc"), "val_acc": r.get("val_acc")}
                for s, r in zip(train_seeds, rows, strict=True)]
    return dict(rows[0], test_acc=_mean([r.get("test_acc") for r in rows]),
                val_acc=_mean([r.get("val_acc") for r in rows]),
                time_s=_mean([r.get("time_s") for r in rows]),
                error=errors[0] if errors else None,
                cached=all(r.get("cached", False) for r in rows), per_seed=per_seed)


def one_training(cells: list[dict]) -> list[dict]:
    """``cells`` as random search given one training a cell sees them: the validation
    accuracy of the first seed (the test accuracy, what the pick is scored by, stays
    the mean)."""
    return [dict(c, val_acc=c["per_seed"][0]["val_acc"]) if "per_seed" in c else c
            for c in cells]


def per_seed_text(row: dict) -> str:
    """`` (test 0.989, 0.981, 0.994)``: a row's per-seed test accuracies ('' for one)."""
    if "per_seed" not in row:
        return ""
    return " (test " + ", ".join("failed" if p["test_acc"] is None else f"{p['test_acc']:.3f}"
                                 for p in row["per_seed"]) + ")"


__all__ = ["mean_row", "one_training", "per_seed_text", "seeds"]
