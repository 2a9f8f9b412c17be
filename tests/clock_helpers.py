"""A fake clock for seconds budgets: tests drive the training loop's time, never read it.

``fake_clock(monkeypatch)`` makes wall-clock and CPU time (``time.perf_counter``,
``process_time``, ``thread_time``) one fake clock that moves only when told (a quiet
machine, one thread); ``steps_take(monkeypatch, clock, seconds)`` moves it by
``seconds`` at every training step, so a seconds budget gives an exact step count.
"""

from __future__ import annotations

from evaluators import schedule
from evaluators.schedule import StepPlan


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fake_clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(schedule.time, "perf_counter", fake)
    monkeypatch.setattr(schedule.time, "process_time", fake)
    monkeypatch.setattr(schedule.time, "thread_time", fake)
    monkeypatch.setattr(schedule, "cpu_share", lambda: 1)
    return fake


def steps_take(monkeypatch, clock: FakeClock, seconds: float) -> None:
    """Every training step (each ``StepPlan.advance``) takes ``seconds`` on ``clock``."""
    advance = StepPlan.advance

    def tick(plan, step):
        clock.now += seconds
        return advance(plan, step)

    monkeypatch.setattr(StepPlan, "advance", tick)
