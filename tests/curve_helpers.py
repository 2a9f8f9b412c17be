"""A task of known learning curves for pruning tests: each architecture reports a
constant value at steps 1..steps, ``high`` for a "good" one (its fingerprint's first hex
digit 8-f) and ``low`` for the others, so the oracle of what a pruner stops is the
fingerprint."""

from __future__ import annotations

from collections.abc import Callable

import nas
from nas import Result


def good(fingerprint: str) -> bool:
    """Whether an architecture's curve is the high one."""
    return fingerprint[0] in "89abcdef"


def register_curve_task(name: str, steps: int, low: float,
                        on_step: Callable[[str, int], None],
                        pruned: Callable[[int, float], Result], high: float = 1.0) -> None:
    """Register task ``name``: ``on_step(fingerprint, step)`` before each report, and
    ``pruned(step, value)`` the Result of a run its pruner stops."""

    @nas.register_task(name)
    class Curves:
        """A constant curve per architecture (tests only)."""

        in_shape = (1, 40)
        n_out = 10
        objective = ("val_acc", "max")
        metrics = ("val_acc",)

        def evaluate(self, graph, budget=None, seed=0, device="auto", report=None,
                     keep_weights=False):
            fp = graph.fingerprint()
            value = high if good(fp) else low
            for step in range(1, steps + 1):
                on_step(fp, step)
                if report is not None and report(step, value):
                    return pruned(step, value)
            return Result(objectives={"val_acc": value})

    Curves.name = name
