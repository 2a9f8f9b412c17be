"""Study: every candidate is an optuna trial in an optuna storage, and this class is the
only code that reads or writes one.

A trial's whole life goes through it: created RUNNING with its decisions and graph
(``new_trial``), kept alive (``heartbeat``), told its training curve (``reporter``),
finished with a Result (``finish``), or failed when its worker died
(``recover_stale``). The storage is the single source of truth: resume, extra
workers, the leaderboard and export read it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import optuna
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from nas._domain import Domain
from nas._roster import local_process_alive
from nas.objective import DIRECTIONS, Objective, objectives_of, signed
from nas.result import Result, jsonable
from nas.storage import StorageError
from nas.trial import INTERRUPTED, STALE, TRACEBACK, TrialRecord, record


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """optuna's INFO messages (a study created, a trial finished) off while the toolkit
    works, which says itself what it does; the caller's level is back afterwards. Also
    a decorator."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(before, optuna.logging.WARNING))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def distribution(domain: Domain):
    """The optuna distribution for a decision domain."""
    if domain.kind in ("choice", "bool"):
        return CategoricalDistribution(list(domain.options))
    if domain.kind == "int":
        return IntDistribution(int(domain.low), int(domain.high), step=int(domain.step),
                               log=domain.log)
    return FloatDistribution(domain.low, domain.high, log=domain.log)


class Study:
    """A handle on a search's optuna study, the one reader and writer of its trials:
    their life, counts, ranking, leaderboard and Pareto front.

    ``objectives``: ``Objective``s or ``(name, "max"|"min")`` pairs. A study of that
    name is opened (its objectives must match) or, with ``create``, created.
    """

    def __init__(self, storage, name: str, objectives: list[Objective | tuple[str, str]],
                 create: bool = True):
        self.storage = storage
        self.name = name
        self.objectives: list[Objective] = objectives_of(objectives)
        self._finished: dict[int, TrialRecord] = {}  # finished trials never change: read once
        self.created = False  # whether this handle created the study (not opened it)
        self.folder = None  # the run folder its relative paths (kept weights) are in
        try:
            existing = optuna.study.get_all_study_names(storage) if create else [name]
        except Exception as exc:
            raise StorageError(f"cannot read studies from the storage: {exc}") from None
        if name in existing:
            self.optuna = optuna.load_study(study_name=name, storage=storage)
            stored = self.optuna.user_attrs.get("objectives")
            if stored is not None and [tuple(o) for o in stored] != self.objectives:
                raise StorageError(
                    f"study '{name}' exists with objectives {_fmt(stored)}, not "
                    f"{_fmt(self.objectives)}; use another --study name or the same "
                    "--objectives")
        else:
            try:
                with quiet_optuna():
                    self.optuna = optuna.create_study(
                        study_name=name, storage=storage,
                        directions=[o.optuna_direction for o in self.objectives])
            except optuna.exceptions.DuplicatedStudyError:  # another command created it
                self.__init__(storage, name, objectives, create=False)
                return
            self.optuna.set_user_attr("objectives", [list(o) for o in self.objectives])
            self.created = True
        self._study_id = self.optuna._study_id

    @classmethod
    def load(cls, storage, name: str | None = None,
             folder: str | os.PathLike | None = None) -> Study:
        """Open an existing study (the only one in the storage when ``name`` is None);
        ``folder``: its run folder, where the kept weights are (``load_weights``)."""
        names = optuna.study.get_all_study_names(storage)
        if name is None:
            if len(names) != 1:
                raise StorageError(f"the storage holds {len(names)} studies "
                                   f"({', '.join(names) or 'none'}); pass --study NAME")
            name = names[0]
        if name not in names:
            raise StorageError(f"no study '{name}' in the storage (found: "
                               f"{', '.join(names) or 'none'})")
        s = optuna.load_study(study_name=name, storage=storage)
        objectives = s.user_attrs.get("objectives", []) or [
            _from_optuna(f"value{i}", d) for i, d in enumerate(s.directions)]
        study = cls(storage, name, objectives, create=False)
        study.folder = folder
        return study

    def delete_if_empty(self) -> None:
        """Delete the study if this handle created it and it holds no trial (a search that
        failed before its first one, e.g. a strategy option its constructor refuses), so
        that its stored config does not make a corrected re-run or a resume fail. A study
        opened, not created, by this handle is left alone: it belongs to another command
        (or, in a worker process that re-imports an unguarded script, to the parent)."""
        if not self.created:
            return
        with contextlib.suppress(Exception):
            if not self.optuna.get_trials(deepcopy=False):
                optuna.delete_study(study_name=self.name, storage=self.storage)

    # ------------------------------------------------------------ settings kept with it
    @property
    def config(self) -> dict:
        return dict(self.optuna.user_attrs.get("config", {}))

    def set_config(self, config: dict) -> None:
        self.optuna.set_user_attr("config", config)

    def system_attrs(self) -> dict:
        """The study's system attributes, read now (the worker roster lives there)."""
        return self.storage.get_study_system_attrs(self._study_id)

    def set_system_attr(self, key: str, value) -> None:
        self.storage.set_study_system_attr(self._study_id, key, value)

    # ------------------------------------------------------------ a trial's life
    def new_trial(self, decisions: dict, domains: dict, user_attrs: dict) -> tuple[int, int]:
        """Create a RUNNING trial with its params and user attributes in one storage write,
        so a crash never leaves a trial that does not say which worker ran it.

        Returns ``(trial_id, number)``.
        """
        dists = {name: distribution(domains[name]) for name in decisions}
        template = FrozenTrial(number=-1, state=TrialState.RUNNING, value=None, values=None,
                               datetime_start=datetime.now(), datetime_complete=None,
                               params=dict(decisions), distributions=dists,
                               user_attrs=user_attrs, system_attrs={}, intermediate_values={},
                               trial_id=-1)
        tid = self.storage.create_new_trial(self._study_id, template_trial=template)
        return tid, self.storage.get_trial_number_from_id(tid)

    @contextlib.contextmanager
    def heartbeat(self, trial_id: int, every: float) -> Iterator[None]:
        """While inside, a thread stamps the trial's ``heartbeat`` attribute every
        ``every`` seconds, so other workers see that its worker is alive."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(every):
                try:
                    self.storage.set_trial_user_attr(trial_id, "heartbeat", time.time())
                except Exception:
                    return

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

    def reporter(self, trial_id: int, pruner) -> Callable[[int, float], bool]:
        """``report(step, value) -> stop``: stores a running trial's intermediate
        objective and asks ``pruner`` (an optuna pruner) whether to stop it. One
        objective only (optuna's pruners); the pruner stays with this handle."""
        self.optuna.pruner = pruner
        trial = optuna.trial.Trial(self.optuna, trial_id)

        def report(step: int, value: float) -> bool:
            trial.report(value, step)
            return trial.should_prune()
        return report

    def finish(self, trial_id: int, result: Result, interrupted: bool = False,
               attrs: dict | None = None) -> bool:
        """Store a trial's outcome: its metrics, error, and state (COMPLETE with the
        objectives' values, FAIL or PRUNED). ``interrupted`` marks a trial stopped by
        Ctrl-C (no verdict); ``attrs``: more user attributes (a timeout's mark). Returns
        False, storing nothing, when another worker declared the trial dead meanwhile:
        its FAIL stays (and that worker retries it)."""
        try:
            self.storage.set_trial_user_attr(trial_id, "metrics", jsonable(result.metrics))
        except optuna.exceptions.UpdateFinishedTrialError:
            return False
        for key, value in (attrs or {}).items():
            self.storage.set_trial_user_attr(trial_id, key, value)
        if interrupted:
            self.storage.set_trial_user_attr(trial_id, INTERRUPTED, True)
        if result.error is not None:
            self.storage.set_trial_user_attr(trial_id, "error", result.error)
            if result.traceback:  # why, in full: nas status RUN --trial N
                self.storage.set_trial_user_attr(trial_id, TRACEBACK, result.traceback)
            state, values = TrialState.FAIL, None
        elif result.pruned:  # as optuna's tell does: its last reported value, if any
            state, values = TrialState.PRUNED, self._partial(result)
        else:
            state = TrialState.COMPLETE
            values = [result.objectives[n] for n, _ in self.objectives]
        with contextlib.suppress(Exception):
            return bool(self.storage.set_trial_state_values(trial_id, state, values))
        return False

    def _partial(self, result: Result) -> list[float] | None:
        """A pruned result's objective values (its last reported ones), None unless each
        is there and finite; the step it reached is its ``steps`` metric."""
        values = [result.objectives.get(n) for n, _ in self.objectives]
        if all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            return [float(v) for v in values]
        return None

    def recover_stale(self, stale_after_s: float,
                      trials: list[TrialRecord] | None = None) -> list[TrialRecord]:
        """Fail RUNNING trials whose worker died (no heartbeat for ``stale_after_s``, or
        its process on this host is gone); return those this call failed.

        ``trials``: a fresh read of the study, to spare another. When two workers find
        the same stale trial, only the one whose state change lands gets it.
        """
        now = time.time()
        running = self.trials(("RUNNING",)) if trials is None else \
            [r for r in trials if r.state == "RUNNING"]
        recovered = []
        for rec in running:
            # a trial just asked has no heartbeat yet: count from its start
            beat = rec.attrs.get("heartbeat") or rec.started or now
            if now - beat < stale_after_s and not _dead_local(rec.attrs):
                continue
            try:
                self.storage.set_trial_user_attr(rec.trial_id, "error", "worker died (no "
                                                 f"heartbeat for {now - beat:.0f}s)")
                self.storage.set_trial_user_attr(rec.trial_id, STALE, True)
                if not self.storage.set_trial_state_values(rec.trial_id, TrialState.FAIL):
                    continue
            except Exception:  # another worker got there first
                continue
            recovered.append(rec)
        return recovered

    # ------------------------------------------------------------ counting
    def finished_count(self, trials: list[TrialRecord] | None = None) -> int:
        """Finished trials that count towards the target (those stopped by a dead worker
        or by Ctrl-C don't). ``trials``: a read of the study already made."""
        return sum(r.counts for r in (self.trials() if trials is None else trials))

    def remaining(self, target: int | None,
                  trials: list[TrialRecord] | None = None) -> float:
        """Trials still to start: ``target`` minus counted and running ones (infinite for
        no target: a search bounded by time alone)."""
        if target is None:
            return math.inf
        trials = self.trials() if trials is None else trials
        return target - self.finished_count(trials) - sum(r.state == "RUNNING" for r in trials)

    def twin(self, fingerprint: str) -> TrialRecord | None:
        """A trial with this fingerprint, running or finished with a verdict (None when no
        trial runs or ran that architecture)."""
        for rec in self.trials():
            if rec.fingerprint == fingerprint and (rec.state == "RUNNING" or rec.counts):
                return rec
        return None

    # ------------------------------------------------------------ reading
    def trials(self, states: tuple[str, ...] | None = None) -> list[TrialRecord]:
        """Every trial (or those in ``states``), by number.

        One read of the storage; a finished trial is converted once and then served
        from a cache (optuna never changes a finished trial), so calling this per trial
        stays cheap at thousands of trials. Treat the records as read-only.
        """
        wanted = None if states is None else tuple(TrialState[s] for s in states)
        out = []
        for t in self.optuna.get_trials(deepcopy=False, states=wanted):
            rec = self._finished.get(t.number)
            if rec is None:
                rec = record(t, self.objectives)
                if t.state.is_finished():
                    self._finished[t.number] = rec
            out.append(rec)
        return out

    def trial(self, number: int) -> TrialRecord:
        """One trial by number, read alone (not the whole study)."""
        rec = self._finished.get(number)
        if rec is not None:
            return rec
        tid = self.storage.get_trial_id_from_study_id_trial_number(self._study_id, number)
        t = self.storage.get_trial(tid)
        rec = record(t, self.objectives)
        if t.state.is_finished():
            self._finished[number] = rec
        return rec

    def load_weights(self, trial: TrialRecord | int | None = None) -> dict:
        """The trained weights the search kept for ``trial`` (a number or record; default
        the best), a state dict for ``nas.compile_graph(record.graph)``; ValueError when
        it kept none (``keep_weights``, and only with a run folder)."""
        from nas._trained import kept_weights

        return kept_weights(self, trial, self.folder)

    def trained_model(self, trial: TrialRecord | int | None = None):
        """The trial's module (default: the best) with the trained weights the search
        kept, in eval mode: ``nas.export(model, OUT)`` writes it with those weights."""
        from nas._trained import trained_module

        return trained_module(self, trial, self.folder)

    def completed(self) -> list[TrialRecord]:
        return self.trials(("COMPLETE",))

    def ranked(self) -> list[TrialRecord]:
        """Completed trials, best first by the first objective (ties: lower number first)."""
        first = self.objectives[0]
        return sorted(self.completed(), key=lambda r: -first.signed(r.values[0]))

    @property
    def best(self) -> TrialRecord | None:
        """The best completed trial by the first objective (None before any)."""
        ranked = self.ranked()
        return ranked[0] if ranked else None

    def pareto_front(self) -> list[TrialRecord]:
        """Completed trials no other completed trial dominates."""
        from nas.strategies._pareto import nondominated_ranks

        done = self.completed()
        ranks = nondominated_ranks([signed(r.values, self.objectives) for r in done])
        return [r for r, k in zip(done, ranks) if k == 0]

    def leaderboard(self, include_failed: bool = True):
        """A pandas DataFrame: one row per trial, best first, failed ones last.

        Trials of a training task carry ``steps``, ``planned_steps`` and ``capped``
        (True when a time cap cut the training short: a shorter schedule's score,
        ranked by it all the same).
        """
        import pandas as pd

        rows = []
        for r in self.trials():
            if not include_failed and r.state != "COMPLETE":
                continue
            row = {"number": r.number, "state": r.state}
            row.update({name: r.objectives.get(name, math.nan) for name, _ in self.objectives})
            for key in ("test_acc", "params", "flops", "latency_ms", "train_time_s",
                        "steps", "planned_steps"):
                if key in r.metrics and key not in row:
                    row[key] = r.metrics[key]
            if "capped" in r.metrics:  # a time cap cut its training short
                row["capped"] = r.capped
            row["fingerprint"] = r.fingerprint
            row["error"] = r.error
            row["decisions"] = json.dumps(r.decisions, sort_keys=True)
            rows.append(row)
        df = pd.DataFrame(rows)
        if df.empty:
            return df
        first = self.objectives[0]
        df["_done"] = df["state"] == "COMPLETE"
        df = df.sort_values(["_done", first.name], ascending=[False, first.sign < 0],
                            na_position="last").drop(columns="_done")
        return df.reset_index(drop=True)


def _fmt(objectives) -> str:
    return ",".join(f"{n}:{d}" for n, d in objectives)


def _from_optuna(name: str, direction: StudyDirection) -> Objective:
    """The objective of a study this toolkit did not create, from optuna's direction."""
    return next(o for o in (Objective(name, d) for d in DIRECTIONS)
                if o.optuna_direction == direction.name.lower())


def _dead_local(attrs: dict) -> bool:
    """True when the trial's worker ran on this host and its process is gone."""
    w = attrs.get("worker") or {}
    return w.get("pid") != os.getpid() and \
        local_process_alive(w.get("host"), w.get("pid")) is False



__all__ = ["Study", "distribution", "quiet_optuna"]
