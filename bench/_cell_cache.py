"""A JSON cache of stand-alone trainings, so that a benchmark's reruns reuse them.

A row (the trained cell's accuracies, parameter-free ops, seconds) is keyed by
everything that decides it: the task, the cell (its arch string), the training recipe
(steps, channels, cells a stage) and the training seed. Accuracies do not depend on the
machine's load; ``time_s`` does, so it is kept only as the cell's cost relative to the
other cached cells. The file is rewritten after each new row (a stopped run keeps what
it trained), merged with another run's rows, atomically (bench/_json_cache.py).
"""

from __future__ import annotations

from collections.abc import Callable

from bench._json_cache import JsonCache


def cell_key(task: str, arch: str, steps: int, channels: int, cells: int, seed: int) -> str:
    """The cache key of one stand-alone training."""
    return f"{task}|{arch}|{steps}steps|{channels}ch|{cells}cells|seed{seed}"


class CellCache(JsonCache):
    """Rows by ``cell_key`` in a ``JsonCache`` (bench/_json_cache.py; ``path`` None:
    in memory only); a row says whether it came from the cache."""

    def get_or_train(self, key: str, train: Callable[[], dict]) -> dict:
        """The cached row of ``key``, else ``train()`` (stored unless it failed)."""
        row, cached = self.get_or_compute(key, train)
        return dict(row, cached=cached)


__all__ = ["CellCache", "cell_key"]
