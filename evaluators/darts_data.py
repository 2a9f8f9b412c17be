"""Which data a differentiable search's architecture steps see (``arch_data``).

- ``"val"``: the validation split, the network weights the whole training split
  (first-order DARTS as the library first shipped it).
- ``"half"``: DARTS' own protocol: the training split cut in two halves by a seeded
  permutation; the weights train on one, alpha on the other. The validation split is
  left alone (it still scores the search), and the test split is never touched.
  On a small task (digits: 270 validation images) alpha sees about twice the data.
- ``"train"``: alpha on the same training split as the weights, batches in their own
  order (one-level search, as DARTS- and "one-level DARTS" analyse).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from evaluators.recipe import epoch_batches
from nas.darts._settings import ARCH_DATA


def half_split(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint halves of ``range(n)`` from a permutation seeded by ``seed``: the
    weights' (the first ``n // 2`` drawn) and alpha's (the rest)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[: n // 2].sort().values, perm[n // 2:].sort().values


def _through(index: torch.Tensor, batches: Iterator[torch.Tensor]) -> Iterator[torch.Tensor]:
    """``batches`` of positions in ``index`` as batches of the samples themselves."""
    for b in batches:
        yield index[b]


def arch_batches(inner, mode: str, loop) -> tuple[object, object, Iterator[torch.Tensor]]:
    """``(x, y, batches)`` for the alpha steps under ``mode``; with ``"half"`` the
    supervised hooks ``inner`` (set up already) are narrowed to the weights' half."""
    data, size, device = inner.data, loop.config.batch_size, loop.device
    gen = torch.Generator().manual_seed(loop.seed + 1)
    if mode == "val":
        n = len(data.x_val)
        return data.x_val, data.y_val, epoch_batches(n, min(size, n), gen, device)
    n = len(data.x_train)
    if mode == "train":
        return data.x_train, data.y_train, epoch_batches(n, min(size, n), gen, device)
    if not hasattr(inner, "batches"):
        raise TypeError("arch_data='half' needs the task's supervised hooks (they draw "
                        "their training batches as indices); use arch_data='val'")
    weights, alphas = (i.to(device) for i in half_split(n, loop.seed + 2))
    own = torch.Generator().manual_seed(loop.seed)
    inner.batches = _through(weights, epoch_batches(len(weights), min(size, len(weights)),
                                                    own, device))
    return data.x_train, data.y_train, _through(alphas, epoch_batches(
        len(alphas), min(size, len(alphas)), gen, device))


__all__ = ["ARCH_DATA", "arch_batches", "half_split"]
