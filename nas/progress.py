"""The per-trial progress lines of a search, the same from `nas search` and from
``nas.search(progress=True)``: trials finished of the target, the trial's score (or why
it failed), the best so far, the time taken and an estimate of the time left: the
trials left at the pace so far, or the time to the timeout when that comes first (a
search of 10,000 trials for 5 minutes ends at its timeout, not in days)."""

from __future__ import annotations

import time
from collections.abc import Callable

from nas.objective import Objective
from nas.trial import TrialRecord


class TrialProgress:
    """An ``on_trial`` hook that writes one line per finished trial with ``out``
    (``print`` by default); a stopped trial (its worker died, or Ctrl-C) gets a line of
    its own and does not count. ``total`` None: a search bounded by time alone, whose
    lines count trials with no target. ``deadline`` (a ``clock()`` time): the search's
    timeout, shown as the time left to it whenever it comes before the trials' ETA."""

    def __init__(self, total: int | None, objectives: list, done: int = 0,
                 best: float | None = None, out: Callable[[str], None] = print,
                 deadline: float | None = None, clock: Callable[[], float] | None = None):
        self.total, self.objective = total, Objective.of(objectives[0])
        self.clock = clock or time.time  # read at each line (tests pass their own)
        self.done, self.start, self.out = done, self.clock(), out
        self.deadline = deadline
        self.best = best  # the best first objective so far, earlier runs' trials included
        self.new = 0  # trials finished since this object was made (for the ETA)

    def line(self, rec: TrialRecord) -> str:
        """'[3/20] trial   2  val_acc 0.8125  params 4,010  (best 0.8125, 12s, ETA 68s)'."""
        if rec.stopped:
            return f"trial {rec.number:>3} stopped: {rec.error}"
        self.done += 1
        self.new += 1
        if rec.state == "COMPLETE":
            v = rec.values[0]
            if self.objective.better(v, self.best):
                self.best = v
            what = f"{self.objective.name} {v:.4g}"
            params = rec.metrics.get("params")
            if params is not None:
                what += f"  params {int(params):,}"
        elif rec.state == "PRUNED":
            what = " ".join(filter(None, ("pruned", reached(rec))))
        else:
            what = f"failed: {rec.error}"
        now = self.clock()
        best = f"{self.best:.4g}" if self.best is not None else "-"
        of = "" if self.total is None else f"/{self.total}"
        return (f"[{self.done}{of}] trial {rec.number:>3}  {what}  "
                f"(best {best}, {now - self.start:.0f}s{self._left(now)})")

    def _left(self, now: float) -> str:
        """', ETA 68s' (the trials left at the pace so far), ', timeout in 40s' when the
        timeout comes first, or '' (no target, no timeout)."""
        eta = None if self.total is None else \
            (now - self.start) / self.new * max(0, self.total - self.done)
        if self.deadline is not None and (eta is None or now + eta > self.deadline):
            return f", timeout in {max(0.0, self.deadline - now):.0f}s"
        return "" if eta is None else f", ETA {eta:.0f}s"

    def waiting(self) -> str:
        """What is going on between two trials: 'training candidates: 3/20 ...'."""
        best = f", best {self.best:.4g}" if self.best is not None else ""
        of = "" if self.total is None else f"/{self.total}"
        return f"training candidates: {self.done}{of} trials finished{best}"

    def __call__(self, rec: TrialRecord) -> None:
        self.out(self.line(rec))


def reached(rec: TrialRecord) -> str:
    """Where a pruned trial stopped, and its last value: 'at step 40/200 (val_acc 0.81)'
    ('' when it does not say)."""
    steps, planned = rec.metrics.get("steps"), rec.metrics.get("planned_steps")
    if not isinstance(steps, int | float):
        return ""
    text = f"at step {steps:.0f}"
    if isinstance(planned, int | float) and planned > 0:
        text += f"/{planned:.0f}"
    values = ", ".join(f"{k} {v:.4g}" for k, v in rec.objectives.items())
    return text + (f" ({values})" if values else "")


def study_progress(study, total: int | None, deadline: float | None = None) -> TrialProgress:
    """The lines of a search of ``total`` trials in ``study`` until ``deadline`` (a
    ``time.time()``, or None), counting the trials it holds already (a resumed search
    goes on from them)."""
    best = study.best
    return TrialProgress(total, study.objectives, done=study.finished_count(),
                         best=best.values[0] if best is not None else None,
                         deadline=deadline)


def chain(*hooks: Callable | None) -> Callable | None:
    """One ``on_trial`` hook calling each given one in turn (None when none is given)."""
    given = [h for h in hooks if h is not None]
    if len(given) <= 1:
        return given[0] if given else None

    def both(rec: TrialRecord) -> None:
        for hook in given:
            hook(rec)

    return both


__all__ = ["TrialProgress", "chain", "reached", "study_progress"]
