"""``space="auto"``: a built-in search space chosen from the shape and kind of the inputs.

The rules, in order: graph inputs (an ``edge_index``) -> ``gnn``; integer token ids
(N, L) -> ``transformer``; images (N, C, H, W) -> ``cnn`` up to 32 pixels a side,
``resnet`` up to 96, ``mobilenet`` above; signals (N, C, L), and flat rows (N, F) whose
neighbouring columns move together (ordered samples of one signal) -> ``sequence``;
other flat tables -> ``mlp``.
"""

from __future__ import annotations

import numpy as np

SMALL_IMAGE, MEDIUM_IMAGE = 32, 96  # pixels on the shorter side
MIN_SIGNAL = 16  # columns: fewer are a table, whatever their order
SIGNAL_CORR = 0.5  # mean |correlation| of neighbouring columns that makes rows a signal


def choose_space(x: np.ndarray, tokens: bool = False, graph: bool = False) -> tuple[str, str]:
    """``(space name, reason)`` for inputs ``x`` (N, ...), as printed by a search."""
    shape = tuple(x.shape[1:])
    if graph:
        return "gnn", "graph inputs (edge_index)"
    if tokens:
        return "transformer", f"token ids {shape} (integers below {int(x.max()) + 1})"
    if len(shape) == 3:
        side = min(shape[1:])
        name = "cnn" if side <= SMALL_IMAGE else "resnet" if side <= MEDIUM_IMAGE else \
            "mobilenet"
        return name, f"images {shape} (C, H, W), {side} pixels on the shorter side"
    if len(shape) == 2:
        return "sequence", f"signals {shape} (channels, length)"
    if len(shape) == 1 and shape[0] >= MIN_SIGNAL:
        corr = neighbour_correlation(x)
        if corr >= SIGNAL_CORR:
            return "sequence", (f"{shape[0]} ordered columns: neighbours correlate "
                                f"{corr:.2f} on average, a signal")
        return "mlp", f"a flat table of {shape[0]} columns (neighbours correlate {corr:.2f})"
    return "mlp", f"a flat table of {shape[0] if shape else 1} columns"


def neighbour_correlation(x: np.ndarray, rows: int = 2000) -> float:
    """Mean absolute correlation of columns j and j+1 over (at most ``rows``) rows; a
    constant column counts as uncorrelated."""
    a = np.asarray(x[:rows], dtype=np.float64)
    a = a - a.mean(axis=0)
    std = a.std(axis=0)
    ok = (std[:-1] > 1e-12) & (std[1:] > 1e-12)
    if not ok.any():
        return 0.0
    cov = (a[:, :-1] * a[:, 1:]).mean(axis=0)
    corr = np.where(ok, cov / np.where(ok, std[:-1] * std[1:], 1.0), 0.0)
    return float(np.abs(corr).mean())
