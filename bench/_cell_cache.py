"""A JSON cache of stand-alone trainings, so that a benchmark's reruns reuse them.

A row (the trained cell's accuracies, parameter-free ops, seconds) is keyed by
everything that decides it: the task, the cell (its arch string), the training recipe
(steps, channels, cells a stage) and the training seed. Accuracies do not depend on the
machine's load; ``time_s`` does, so it is kept only as the cell's cost relative to the
other cached cells. The file is rewritten after each new row (a stopped run keeps what
it trained).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path


def cell_key(task: str, arch: str, steps: int, channels: int, cells: int, seed: int) -> str:
    """The cache key of one stand-alone training."""
    return f"{task}|{arch}|{steps}steps|{channels}ch|{cells}cells|seed{seed}"


class CellCache:
    """Rows by ``cell_key``, loaded from and saved to ``path`` (None: in memory only)."""

    def __init__(self, path: str | os.PathLike | None):
        self.path = None if path is None else Path(path)
        self.rows: dict[str, dict] = {}
        if self.path is not None and self.path.is_file():
            self.rows = json.loads(self.path.read_text())
        self.hits = self.misses = 0

    def get_or_train(self, key: str, train: Callable[[], dict]) -> dict:
        """The cached row of ``key``, else ``train()`` (stored unless it failed)."""
        if key not in self.rows and self.path is not None and self.path.is_file():
            self.rows = {**json.loads(self.path.read_text()), **self.rows}  # another run's
        if key in self.rows:
            self.hits += 1
            return dict(self.rows[key], cached=True)
        self.misses += 1
        row = train()
        if row.get("error") is None:
            self.rows[key] = row
            self._save()
        return dict(row, cached=False)

    def _save(self) -> None:
        """Write the rows, merged with what another run saved meanwhile."""
        if self.path is None:
            return
        if self.path.is_file():
            self.rows = {**json.loads(self.path.read_text()), **self.rows}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.rows, indent=0, sort_keys=True) + "\n")
        tmp.replace(self.path)


__all__ = ["CellCache", "cell_key"]
