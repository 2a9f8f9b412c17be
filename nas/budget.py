"""Training budgets: a number of steps, epochs or seconds ("300steps", "2epochs", "30s"),
optionally capped in seconds ("1000steps,30s": the steps, unless the candidate is an
outlier too slow to finish them in time), and the study's typical step cost that tells
an outlier from a busy machine."""

from __future__ import annotations

import contextlib
import math
import re
import statistics
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

_UNITS = {"step": "steps", "steps": "steps", "epoch": "epochs", "epochs": "epochs",
          "s": "seconds", "sec": "seconds", "secs": "seconds", "second": "seconds",
          "seconds": "seconds", "m": "minutes", "min": "minutes", "minutes": "minutes"}


@dataclass(frozen=True)
class Budget:
    """How long to train one candidate: ``amount`` of ``unit`` (steps, epochs, seconds).

    ``max_seconds`` caps a steps or epochs budget so that one huge candidate cannot eat
    a search's time: a candidate whose steps, timed as it trains, would cost more than
    the cap (and, within a study, more than 3x a typical candidate's) gets a shorter
    schedule and is marked ``capped``. Seconds are what the steps cost: on the CPU their
    CPU time, about what a quiet machine takes, which other jobs barely change (wall-
    clock time on an accelerator), so a busy machine takes longer but trains the same
    steps (see ``evaluators.schedule``). Any other candidate trains all its steps.
    """

    amount: float
    unit: str = "steps"
    max_seconds: float | None = None

    def __post_init__(self):
        if self.unit not in ("steps", "epochs", "seconds"):
            raise ValueError(f"budget unit must be steps, epochs or seconds, got {self.unit!r}")
        if not self.amount > 0:
            raise ValueError(f"a budget must be positive, got {self.amount}")
        if self.max_seconds is not None:
            if self.unit == "seconds":
                raise ValueError("a seconds budget needs no seconds cap: write e.g. "
                                 "1000steps,30s")
            if not self.max_seconds > 0:
                raise ValueError(f"a budget's seconds cap must be positive, got "
                                 f"{self.max_seconds}")

    @property
    def seconds(self) -> float | None:
        """The wall-clock limit: the budget itself or its cap (None: no limit)."""
        return self.amount if self.unit == "seconds" else self.max_seconds

    @classmethod
    def parse(cls, text: str | int | Budget) -> Budget:
        """``"300steps"``, ``"300"`` (steps), ``"2epochs"``, ``"30s"``, ``"1.5m"``, and a
        steps or epochs budget with a seconds cap: ``"1000steps,30s"``."""
        if isinstance(text, Budget):
            return text
        if isinstance(text, int | float):
            return cls(float(text), "steps")
        parts = str(text).split(",")
        if len(parts) == 2:
            main, cap = (cls._one(part) for part in parts)
            if cap.unit != "seconds":
                main, cap = cap, main
            if main.unit == "seconds" or cap.unit != "seconds":
                raise ValueError(f"cannot read budget {text!r}: a capped budget is steps or "
                                 "epochs and a time, e.g. 1000steps,30s")
            return cls(main.amount, main.unit, cap.amount)
        return cls._one(str(text))

    @classmethod
    def _one(cls, text: str) -> Budget:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
        if not m or (m.group(2) and m.group(2).lower() not in _UNITS):
            raise ValueError(f"cannot read budget {text!r}: write e.g. 300steps, 2epochs, "
                             "30s or 1.5m")
        amount = float(m.group(1))
        unit = _UNITS.get(m.group(2).lower(), "steps")
        if unit == "minutes":
            amount, unit = amount * 60, "seconds"
        return cls(amount, unit)

    def __str__(self) -> str:
        n = int(self.amount) if float(self.amount).is_integer() else self.amount
        text = f"{n}{'s' if self.unit == 'seconds' else self.unit}"
        if self.max_seconds is not None:
            text += "," + str(Budget(self.max_seconds, "seconds"))
        return text


STEP_COST = "step_ms"  # the metric in which a task reports a step's estimated cost (ms)
_TYPICAL: ContextVar[float | None] = ContextVar("nas_typical_step_s", default=None)


@contextlib.contextmanager
def typical_step(seconds: float | None) -> Iterator[None]:
    """Within the block, training loops know the typical cost of a step (seconds) of the
    study's candidates so far, measured as they measure it, so that a seconds cap stops
    only a candidate slower than both the cap and its peers (the worker sets it)."""
    token = _TYPICAL.set(seconds)
    try:
        yield
    finally:
        _TYPICAL.reset(token)


def current_typical_step() -> float | None:
    """The typical step cost set by ``typical_step`` (None outside one)."""
    return _TYPICAL.get()


def typical_step_of(metrics: Iterable[dict], recent: int = 10, least: int = 3) -> float | None:
    """The median step cost (seconds) of the latest ``recent`` results that report
    ``STEP_COST``; None when fewer than ``least`` do (too few to call any one slow)."""
    costs = [m.get(STEP_COST) for m in metrics]
    costs = [c / 1000 for c in costs if isinstance(c, int | float) and math.isfinite(c)
             and c > 0][-recent:]
    return statistics.median(costs) if len(costs) >= least else None


__all__ = ["STEP_COST", "Budget", "current_typical_step", "typical_step", "typical_step_of"]
