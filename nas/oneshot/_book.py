"""The one-shot record of a search, kept in its study (the storage is the single source
of truth, so a resume, ``nas status`` and a worker on another machine all read it).

Study system attributes under ``nas:oneshot:``, each written once (append-only, small
writes, any storage): ``supernet`` when phase 1 finished (its steps, time and the
weights file relative to the run folder), one ``score:NNNNNN`` per candidate scored in
phase 2 (its decisions, fingerprint, one-shot objectives and metrics, or its error),
and ``scored`` when phase 2 finished. The ranking of phase 3 is computed from the
scores each time, never stored: ``nas resume --trials 5`` retrains the top 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nas.objective import Objective, signed
from nas.result import Result, jsonable
from nas.strategies._pareto import nondominated_ranks

PREFIX = "nas:oneshot:"
SUPERNET, SCORED, SCORE = PREFIX + "supernet", PREFIX + "scored", PREFIX + "score:"
PROGRESS = PREFIX + "supernet_progress"  # {"step", "total"} while phase 1 trains
METRIC = "one_shot_"  # a retrained trial's metric one_shot_<objective>: its one-shot score


@dataclass(frozen=True)
class Score:
    """One candidate scored with inherited weights (phase 2)."""

    index: int  # order scored, from 0
    decisions: dict
    fingerprint: str
    objectives: dict[str, float] = field(default_factory=dict)  # the study's objectives
    metrics: dict = field(default_factory=dict)
    error: str | None = None

    @property
    def result(self) -> Result:
        """What the strategy was told."""
        return Result(dict(self.objectives), dict(self.metrics), self.error)

    def to_dict(self) -> dict:
        return {"index": self.index, "decisions": self.decisions,
                "fingerprint": self.fingerprint, "objectives": self.objectives,
                "metrics": jsonable(self.metrics), "error": self.error}


class Book:
    """Reads and writes a study's one-shot record (a ``nas.Study``'s system attributes)."""

    def __init__(self, study):
        self.study = study

    def _attrs(self) -> dict:
        return {k: v for k, v in self.study.system_attrs().items() if k.startswith(PREFIX)}

    def supernet(self) -> dict | None:
        """What phase 1 stored (None before it finished)."""
        return self._attrs().get(SUPERNET)

    def scores(self) -> list[Score]:
        """Every candidate scored so far, in the order scored."""
        found = [Score(**v) for k, v in self._attrs().items() if k.startswith(SCORE)]
        return sorted(found, key=lambda s: s.index)

    def scoring_done(self) -> bool:
        return SCORED in self._attrs()

    def started(self) -> bool:
        """Whether anything of the one-shot phases is stored (then the study is kept);
        phase 1's progress alone is not."""
        return any(k != PROGRESS for k in self._attrs())

    def progress(self) -> dict | None:
        """Phase 1's last stored progress, ``{"step", "total"}`` (None before any)."""
        return self._attrs().get(PROGRESS)

    def set_progress(self, step: int, total: int | None) -> None:
        self.study.set_system_attr(PROGRESS, {"step": int(step), "total": total})

    def add_supernet(self, info: dict) -> None:
        self.study.set_system_attr(SUPERNET, jsonable(info))

    def add_score(self, score: Score) -> None:
        self.study.set_system_attr(f"{SCORE}{score.index:06d}", score.to_dict())

    def finish_scoring(self, n: int) -> None:
        self.study.set_system_attr(SCORED, n)


def ranked(scores: list[Score], objectives: list[Objective]) -> list[Score]:
    """Scored candidates best first: failed ones and repeats of an architecture left out;
    several objectives rank by nondominated front first (``nas.strategies._pareto``),
    then by the first objective; ties go to the one scored first."""
    seen: set[str] = set()
    ok = []
    for s in scores:
        if s.error is None and s.fingerprint not in seen and all(
                math.isfinite(s.objectives.get(o.name, math.nan)) for o in objectives):
            seen.add(s.fingerprint)
            ok.append(s)
    values = [signed([s.objectives[o.name] for o in objectives], objectives) for s in ok]
    fronts = nondominated_ranks(values) if len(objectives) > 1 else [0] * len(ok)
    order = sorted(range(len(ok)), key=lambda i: (fronts[i], -values[i][0], ok[i].index))
    return [ok[i] for i in order]


def distinct(ranked_scores: list[Score], k: int, share: float) -> list[Score]:
    """The first ``k`` of ``ranked_scores`` (best first) skipping near-copies: each taken
    candidate differs from every one taken before in at least ``share`` of their
    decisions (``decision_distance``); when fewer than ``k`` are that far apart, the
    best skipped ones fill the rest. ``share`` 0: the first ``k``.

    Phase 2's strategy refines what scores well, so the top of a one-shot ranking is
    often one architecture and its one-decision variants (evolution, seed 1 of
    bench/oneshot.py --cost: the top 3 of 50 differed in one pooling choice); their
    one-shot scores differ by less than the scores' noise, and retraining all of them
    spends the stand-alone trainings on one guess."""
    if share <= 0:
        return ranked_scores[:k]
    taken: list[Score] = []
    skipped: list[Score] = []
    for s in ranked_scores:
        if len(taken) == k:
            break
        if all(decision_distance(s.decisions, t.decisions) >= share for t in taken):
            taken.append(s)
        else:
            skipped.append(s)
    chosen = {id(s) for s in taken + skipped[:k - len(taken)]}
    return [s for s in ranked_scores if id(s) in chosen]


def decision_distance(a: dict, b: dict) -> float:
    """The share of the decisions of ``a`` and ``b`` (either's names) whose values
    differ; a decision only one of them has differs. 0.0 for two empty dicts."""
    names = set(a) | set(b)
    missing = object()
    return sum(a.get(n, missing) != b.get(n, missing) for n in names) / len(names) \
        if names else 0.0


def one_shot_metrics(score: Score, objectives: list[Objective]) -> dict[str, float]:
    """``{"one_shot_val_acc": 0.81, ...}``: a candidate's one-shot scores as metrics."""
    return {f"{METRIC}{o.name}": score.objectives[o.name] for o in objectives}



__all__ = ["METRIC", "Book", "Score", "decision_distance", "distinct", "one_shot_metrics",
           "ranked"]
