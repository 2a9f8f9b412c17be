"""TrialRecord: a frozen, readable view of one stored trial, and what its state means
for a search (finished, counted towards the target, a verdict on its architecture).

Params are the decisions; user attributes hold the graph JSON, fingerprint, metrics,
failure reason, device, worker and heartbeat; values are the objectives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from optuna.trial import FrozenTrial

from nas.graph import ArchGraph
from nas.objective import Objective
from nas.result import Result

FINISHED = ("COMPLETE", "FAIL", "PRUNED")
STALE = "stale"  # user attr on a trial failed because its worker died
INTERRUPTED = "interrupted"  # user attr (and error) of a trial stopped by Ctrl-C
TIMED_OUT = "timed_out"  # user attr of a trial stopped at the search's timeout (PRUNED)
TRACEBACK = "traceback"  # user attr: a failed trial's full traceback (Result.traceback)


@dataclass
class TrialRecord:
    """A frozen, readable view of one stored trial."""

    number: int
    state: str  # COMPLETE, FAIL, PRUNED, RUNNING, WAITING
    values: list[float] | None
    decisions: dict
    objectives: dict[str, float]
    metrics: dict[str, float]
    fingerprint: str | None
    error: str | None
    graph_json: str | None = field(repr=False, default=None)
    attrs: dict = field(repr=False, default_factory=dict)
    duration_s: float | None = None
    started: float | None = None  # unix time the trial started
    trial_id: int | None = field(repr=False, default=None)  # the storage's id for it

    @property
    def graph(self) -> ArchGraph:
        if not self.graph_json:
            raise ValueError(f"trial {self.number} has no stored architecture")
        return ArchGraph.from_json(self.graph_json)

    @property
    def result(self) -> Result:
        return Result(dict(self.objectives), dict(self.metrics),
                      self.error if self.state == "FAIL" else None,
                      pruned=self.state == "PRUNED", traceback=self.traceback)

    @property
    def traceback(self) -> str | None:
        """A failed trial's full traceback, when its failure was an exception."""
        return self.attrs.get(TRACEBACK)

    @property
    def capped(self) -> bool:
        """Whether a time cap cut its training short (``Result.capped``)."""
        return self.result.capped

    @property
    def finished(self) -> bool:
        """COMPLETE, FAIL or PRUNED: it will not change any more."""
        return self.state in FINISHED

    @property
    def stopped(self) -> bool:
        """Ended through no fault of its architecture (its worker died, Ctrl-C, or the
        search's timeout cut its training short): no verdict, so the strategy is not told
        and it does not count towards the target."""
        return bool(self.attrs.get(STALE) or self.attrs.get(INTERRUPTED)
                    or self.attrs.get(TIMED_OUT))

    @property
    def counts(self) -> bool:
        """Finished with a verdict on its architecture: one towards the trial target."""
        return self.finished and not self.stopped

    def to_dict(self) -> dict:
        return {"number": self.number, "state": self.state, "values": self.values,
                "decisions": self.decisions, "objectives": self.objectives,
                "metrics": self.metrics, "fingerprint": self.fingerprint, "error": self.error,
                "duration_s": self.duration_s, "capped": self.capped,
                "traceback": self.traceback}


def record(t: FrozenTrial, objectives: list[Objective]) -> TrialRecord:
    """The record of optuna's frozen trial ``t`` of a study with these objectives."""
    attrs = dict(t.user_attrs)
    metrics = attrs.get("metrics", {}) or {}
    values = list(t.values) if t.values is not None else None
    objs = {}
    if values is not None:
        objs = {name: v for (name, _), v in zip(objectives, values)}
    duration = None
    if t.datetime_start and t.datetime_complete:
        duration = (t.datetime_complete - t.datetime_start).total_seconds()
    return TrialRecord(
        number=t.number, state=t.state.name, values=values,
        decisions=dict(attrs.get("decisions", t.params)), objectives=objs, metrics=metrics,
        fingerprint=attrs.get("fingerprint"), error=attrs.get("error"),
        graph_json=attrs.get("graph"), attrs=attrs, duration_s=duration,
        started=t.datetime_start.timestamp() if t.datetime_start else None,
        trial_id=t._trial_id)


__all__ = ["FINISHED", "INTERRUPTED", "STALE", "TIMED_OUT", "TRACEBACK", "TrialRecord",
           "record"]
