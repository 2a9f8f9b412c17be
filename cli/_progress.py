"""The one line per finished trial that `nas search` prints, with a spinner between."""

from __future__ import annotations

import time

from rich.markup import escape

import nas
from cli._common import console


class Progress:
    """Prints one line per finished trial: progress, best so far, ETA; between trials a
    spinner says that training goes on (on a terminal only)."""

    def __init__(self, total: int, objectives: list, done: int = 0,
                 best: float | None = None):
        self.total, self.objectives = total, objectives
        self.done, self.start = done, time.time()
        self.best = best  # the best first objective so far, earlier runs' trials included
        self.new = 0
        self.status = None  # the spinner, while the search runs

    def waiting(self) -> str:
        best = f", best {self.best:.4g}" if self.best is not None else ""
        return f"training candidates: {self.done}/{self.total} trials finished{best}"

    def __call__(self, rec: nas.TrialRecord) -> None:
        if rec.stopped:  # by a dead worker or Ctrl-C: not counted
            console.print(f"trial {rec.number:>3} stopped: {escape(str(rec.error))}",
                          highlight=False)
            return
        self.done += 1
        self.new += 1
        first = nas.Objective.of(self.objectives[0])
        if rec.state == "COMPLETE":
            v = rec.values[0]
            if first.better(v, self.best):
                self.best = v
            what = f"{first.name} {v:.4g}"
            params = rec.metrics.get("params")
            if params is not None:
                what += f"  params {int(params):,}"
        elif rec.state == "PRUNED":
            what = "pruned"
        else:
            what = f"[red]failed[/]: {escape(str(rec.error))}"
        elapsed = time.time() - self.start
        eta = elapsed / self.new * max(0, self.total - self.done)
        best = f"{self.best:.4g}" if self.best is not None else "-"
        console.print(f"[{self.done}/{self.total}] trial {rec.number:>3}  {what}  "
                      f"(best {best}, {elapsed:.0f}s, ETA {eta:.0f}s)", highlight=False)
        if self.status is not None:
            self.status.update(self.waiting())
