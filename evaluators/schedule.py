"""How long a training loop runs: steps from a budget, a wall-clock deadline, the lr curve.

Every training loop in ``evaluators`` (supervised, multi-input, generative,
self-supervised) asks one ``StepPlan`` when to stop and what learning rate to use, so
steps, epochs, seconds and capped (``1000steps,30s``) budgets behave the same everywhere.
"""

from __future__ import annotations

import math
import time

from nas import Budget


class StepPlan:
    """The number of steps a run takes, sized from its budget.

    A steps or epochs budget fixes ``total`` up front. A seconds budget, or a seconds cap
    on a steps budget, times ``probe_steps`` steps (after the first, which pays for
    allocations) and then fixes ``total`` to what fits before the deadline, so the lr
    schedule still ends where the run does. Call ``start()`` before the first step and
    ``advance(step)`` after each one; it returns True when the run should stop.
    """

    def __init__(self, budget: Budget | str, steps_per_epoch: int, probe_steps: int = 10):
        self.budget = Budget.parse(budget)
        self.probe_steps = probe_steps
        if self.budget.unit == "steps":
            self.total: int | None = max(1, round(self.budget.amount))
        elif self.budget.unit == "epochs":
            self.total = max(1, round(self.budget.amount * max(1, steps_per_epoch)))
        else:
            self.total = None
        self.t0 = self.deadline = math.inf
        self._probe_start: float | None = None
        self._sized = self.budget.seconds is None

    def start(self) -> float:
        """Start the clock; returns the start time (``time.perf_counter``)."""
        self.t0 = time.perf_counter()
        seconds = self.budget.seconds
        self.deadline = self.t0 + seconds if seconds is not None else math.inf
        return self.t0

    @property
    def schedule_steps(self) -> int:
        """The step count the lr schedule spans (a guess until a seconds budget is sized)."""
        return self.total if self.total is not None else 20 * (self.probe_steps + 1)

    def done(self, step: int) -> bool:
        """Whether ``step`` steps complete the plan."""
        return self.total is not None and step >= self.total

    def advance(self, step: int) -> bool:
        """Record that ``step`` steps are done; True when the run should stop now."""
        now = time.perf_counter()
        if now >= self.deadline:
            return True
        if not self._sized:
            if step == 1:
                self._probe_start = now  # the first step (allocations, compile) is not typical
            elif step == self.probe_steps + 1 and self._probe_start is not None:
                per_step = (now - self._probe_start) / self.probe_steps
                fits = step + max(1, int((self.deadline - now) / per_step))
                self.total = fits if self.total is None else min(self.total, fits)
                self._sized = True
        return self.done(step)


def lr_at(step: int, total: int, lr: float, warmup: float, final_lr: float) -> float:
    """Linear warm-up over ``warmup * total`` steps, then cosine decay to ``final_lr * lr``."""
    warm = max(1, round(warmup * total))
    if step < warm:
        return lr * (step + 1) / warm
    t = min(1.0, (step - warm) / max(1, total - warm))
    return lr * (final_lr + (1 - final_lr) * 0.5 * (1 + math.cos(math.pi * t)))
