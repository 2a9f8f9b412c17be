"""Where a running differentiable search is, kept in its study for ``nas status``.

While phase 1 searches, the step, the planned steps and the current argmax (the cell
the search would discretize to now) are stored as the study system attribute
``nas:darts:progress``, at most every ``every_s`` seconds and at the last step, so
``nas status`` (another process, any storage) can show the phase line. The one-shot
record's keys (``nas:oneshot:``) are left alone: this is not part of it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

PROGRESS = "nas:darts:progress"  # {"step", "total", "answers"} while phase 1 searches
PROGRESS_EVERY_S = 2.0


class DartsProgress:
    """``progress(step, total, answers)`` of ``search_darts``: ``on_phase`` at every
    step, and the step and argmax stored in ``study`` now and then."""

    def __init__(self, study, on_phase: Callable[[str, int, int], None],
                 every_s: float | None = None):
        self.study, self.on_phase = study, on_phase
        self.every_s = PROGRESS_EVERY_S if every_s is None else every_s
        self.last = -math.inf

    def __call__(self, step: int, total: int | None, answers: dict) -> None:
        self.on_phase("darts", step, total or 0)
        now = time.monotonic()
        if now - self.last >= self.every_s or step == total:
            self.study.set_system_attr(PROGRESS, {"step": int(step), "total": total,
                                                  "answers": dict(answers)})
            self.last = now


def darts_progress(study) -> dict | None:
    """The stored progress of a study's differentiable search (None before any)."""
    return study.system_attrs().get(PROGRESS)


__all__ = ["PROGRESS", "DartsProgress", "darts_progress"]
