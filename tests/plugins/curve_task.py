"""A task of known flat learning curves for multi-fidelity tests, loadable in worker
processes (``NAS_PLUGINS=curve_task``, tests/plugins on the path).

Task "flat_curves": an architecture reports the same value, ``score(fingerprint)`` (its
fingerprint's first six hex digits as a fraction), at every step 1..N of its budget
(``Budget(N, "steps")``, default 27), so the oracle of every rung comparison is the
fingerprint. A pruned run returns that value and the step it reached (``steps``).
"""

from __future__ import annotations

import os
import time

import nas
from nas import Result

DEFAULT_STEPS = 27


def score(fingerprint: str) -> float:
    """An architecture's value at every step."""
    return int(fingerprint[:6], 16) / 0xFFFFFF


class FlatCurves:
    """A flat curve per architecture (tests only); ``NAS_CURVE_DELAY`` seconds a step."""

    name = "flat_curves"
    in_shape = (1, 40)
    n_out = 10
    objective = ("val_acc", "max")
    metrics = ("val_acc", "steps")
    default_budget = nas.Budget(DEFAULT_STEPS, "steps")

    def evaluate(self, graph, budget=None, seed=0, device="auto", report=None,
                 keep_weights=False):
        steps = int((budget or self.default_budget).amount)
        delay = float(os.environ.get("NAS_CURVE_DELAY", "0"))
        value = score(graph.fingerprint())
        for step in range(1, steps + 1):
            time.sleep(delay)
            if report is not None and report(step, value):
                return Result(objectives={"val_acc": value}, pruned=True,
                              metrics={"steps": step, "planned_steps": steps})
        return Result(objectives={"val_acc": value},
                      metrics={"steps": steps, "planned_steps": steps})


def register() -> None:
    """Register the task (again, after a test's registry reset removed it)."""
    if "flat_curves" not in nas.list_tasks():
        nas.register_task("flat_curves")(FlatCurves)


register()
