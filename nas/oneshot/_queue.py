"""Phase 3's proposals: the worker trains the top candidates by one-shot score, best
first, each once, as ordinary trials (instead of asking its strategy).

The top ``trials`` come from the scores stored in the study (``nas.oneshot._book``), so
several workers, on several machines too, share one queue: each takes the best one no
trial has trained or is training. Each trial records its one-shot scores beside it: the
user attribute ``one_shot`` and the metrics ``one_shot_<objective>``.
"""

from __future__ import annotations

from nas.oneshot._book import Book, Score, distinct, one_shot_metrics, ranked
from nas.trial import TrialRecord


class Queue:
    """The top ``k`` scored candidates of ``study``, handed out best first; with
    ``share`` > 0 each differs from the others in at least that share of its decisions
    (``nas.oneshot._book.distinct``)."""

    def __init__(self, study, k: int, share: float = 0.0):
        self.study, self.k, self.share = study, k, share
        self.objectives = list(study.objectives)
        self._top: list[Score] | None = None  # read once scoring is complete

    def top(self) -> list[Score]:
        """The top ``k`` by one-shot score ([] while phase 2 is not finished)."""
        if self._top is None:
            book = Book(self.study)
            if not book.scoring_done():
                return []
            self._top = distinct(ranked(book.scores(), self.objectives), self.k, self.share)
        return self._top

    def next(self, trials: list[TrialRecord], index: int = 0) -> Score | None:
        """The best top candidate that no trial trained (with a verdict) or trains now;
        worker ``index`` takes the index-th such one (the last when fewer are left), so
        workers starting together do not all take the same one."""
        taken = {r.fingerprint for r in trials if r.counts or r.state == "RUNNING"}
        left = [s for s in self.top() if s.fingerprint not in taken]
        return left[min(index, len(left) - 1)] if left else None

    def propose(self, space, trials: list[TrialRecord], index: int = 0) -> tuple:
        """``space.try_resolve`` of the next candidate's decisions (the worker's proposal).
        When another worker took the last one meanwhile, the last top one again (a
        repeat, never a crash); ``LookupError`` only while nothing is scored yet."""
        score = self.next(trials, index) or (self.top()[-1] if self.top() else None)
        if score is None:
            raise LookupError("no one-shot candidate to train: phase 2 has not finished")
        return space.try_resolve(dict(score.decisions))

    def _score(self, fingerprint: str) -> tuple[int, Score] | None:
        return next(((i, s) for i, s in enumerate(self.top()) if s.fingerprint == fingerprint),
                    None)

    def attrs(self, fingerprint: str) -> dict:
        """The user attribute of a trial of this candidate: its one-shot scores and rank."""
        found = self._score(fingerprint)
        if found is None:
            return {}
        rank, score = found
        return {"one_shot": {"rank": rank, "index": score.index,
                             "objectives": dict(score.objectives)}}

    def metrics(self, fingerprint: str) -> dict[str, float]:
        """``{"one_shot_val_acc": ...}`` for a trial of this candidate ({} for another)."""
        found = self._score(fingerprint)
        return {} if found is None else one_shot_metrics(found[1], self.objectives)


__all__ = ["Queue"]
