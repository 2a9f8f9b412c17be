"""A JSON file of results by key, so that a benchmark's reruns reuse what they computed.

Benchmarks that train stand-alone networks (the truth of a ranking) cache each row by
a string key naming everything that decides it (the architecture, steps, seed). The
file is rewritten after each new row, merged with what another run saved meanwhile
(two runs may share one file), through a temporary file and an atomic replace, so a
stopped run keeps what it computed and a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path


class JsonCache:
    """Rows (JSON objects) by string key, loaded from and saved to ``path`` (None: in
    memory only). ``keep_failures``: also store rows whose ``error`` is set (default:
    a failed row is computed again next time)."""

    def __init__(self, path: str | os.PathLike | None, keep_failures: bool = False):
        self.path = None if path is None else Path(path)
        self.keep_failures = keep_failures
        self.rows: dict[str, dict] = self._read()
        self.hits = self.misses = 0

    def _read(self) -> dict[str, dict]:
        if self.path is None or not self.path.is_file():
            return {}
        return json.loads(self.path.read_text())

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def get_or_compute(self, key: str, compute: Callable[[], dict]) -> tuple[dict, bool]:
        """``(row, cached)``: the stored row of ``key``, else ``compute()`` (stored
        unless it failed and failures are not kept)."""
        if key not in self.rows:
            self.rows = {**self._read(), **self.rows}  # another run's rows
        if key in self.rows:
            self.hits += 1
            return dict(self.rows[key]), True
        self.misses += 1
        row = compute()
        if self.keep_failures or row.get("error") is None:
            self.rows[key] = row
            self.save()
        return dict(row), False

    def save(self) -> None:
        """Write the rows, merged with what another run saved meanwhile."""
        if self.path is None:
            return
        self.rows = {**self._read(), **self.rows}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.rows, indent=1, default=str) + "\n")
        tmp.replace(self.path)


__all__ = ["JsonCache"]
