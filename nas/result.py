"""Result: what an evaluator returns for one candidate."""

from __future__ import annotations

import math
import traceback as _tb
from dataclasses import dataclass, field

TRACEBACK_CHARS = 20_000  # a failure's kept traceback: its end, where the error is


@dataclass
class Result:
    """The outcome of evaluating one architecture.

    objectives: the values a search optimizes, by name (e.g. ``{"val_acc": 0.97}``);
        their directions live with the study, not here.
    metrics: everything else measured (test_acc, params, flops, latency_ms,
        peak_mem_mb, train_time_s, steps, planned_steps, capped, ...); never used to
        rank trials (a strategy may read them: evolution reads train_time_s as the cost
        of a candidate, and leaves capped results out of its surrogate).
    error: why the candidate failed (None when it did not); a failed result still
        counts as a trial and is told to the strategy.
    pruned: a pruner stopped its training early. Its objectives are then the last
        values it reported and its ``steps`` metric the step it reached (``fidelity``):
        a partial score, told to strategies but never ranked with finished trials.
    state_dict: the trained weights, when the evaluator was asked to keep them
        (``keep_weights=True``); never serialized with the result.
    traceback: for a failure raised as an exception, its full traceback (the study
        keeps it with the trial: ``nas status RUN --trial N``); ``error`` is one line.
    """

    objectives: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float | str] = field(default_factory=dict)
    error: str | None = None
    pruned: bool = False
    state_dict: dict | None = field(default=None, repr=False, compare=False)
    traceback: str | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.pruned

    @property
    def capped(self) -> bool:
        """Whether a time cap cut the training short of its budget's steps (metric
        ``capped``): its score is that of a shorter schedule, not a full one."""
        value = self.metrics.get("capped")
        return isinstance(value, int | float) and value > 0

    @property
    def fidelity(self) -> float:
        """The share of its training budget the score comes from: 1.0 unless pruned; a
        pruned result's ``steps / planned_steps`` (metrics), 0.0 when it does not say."""
        if not self.pruned:
            return 1.0
        steps, planned = self.metrics.get("steps"), self.metrics.get("planned_steps")
        if not (isinstance(steps, int | float) and isinstance(planned, int | float)) \
                or not planned > 0 or not math.isfinite(steps):
            return 0.0
        return min(1.0, max(0.0, steps / planned))

    @classmethod
    def failure(cls, reason: str, traceback: str | None = None, **metrics: float) -> Result:
        return cls(error=reason, metrics=dict(metrics), traceback=traceback)

    def value(self, name: str) -> float:
        """An objective or metric by name (NaN when absent or failed)."""
        if name in self.objectives:
            return self.objectives[name]
        return self.metrics.get(name, math.nan)

    def to_dict(self) -> dict:
        return {"objectives": dict(self.objectives), "metrics": dict(self.metrics),
                "error": self.error, "pruned": self.pruned}

    @classmethod
    def from_dict(cls, d: dict) -> Result:
        return cls(dict(d.get("objectives", {})), dict(d.get("metrics", {})), d.get("error"),
                   bool(d.get("pruned", False)))


def traceback_text(exc: BaseException) -> str:
    """The full traceback of ``exc`` (chained causes included), as Python prints it;
    a very long one keeps its last ``TRACEBACK_CHARS`` characters."""
    text = "".join(_tb.format_exception(exc))
    return text if len(text) <= TRACEBACK_CHARS else "...\n" + text[-TRACEBACK_CHARS:]


def jsonable(d: dict) -> dict:
    """A metrics mapping storable as JSON: non-finite floats as None, nested mappings
    converted alike, other objects as their text."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out[k] = jsonable(v)
        elif isinstance(v, float) and not math.isfinite(v):
            out[k] = None
        elif isinstance(v, int | float | str | bool) or v is None:
            out[k] = v
        else:
            out[k] = str(v)
    return out
