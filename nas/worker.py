"""The worker: asks a strategy, evaluates on a task and records in the study.

Each worker (a process, local or on another machine) opens the shared storage,
rebuilds its strategy from the finished trials, and loops: read the study once,
recover trials left RUNNING by dead workers (heartbeat), ask, create the optuna trial
in one write (params = the decisions, user attributes = graph, fingerprint, device,
worker, heartbeat), evaluate, record. A finished trial is in the storage before the
next one starts, so a crash loses none.

Ctrl-C stops the running evaluation at once (never a storage write); that trial is
recorded FAIL with error "interrupted" and, like a trial whose worker died, does not
count towards the target nor is told to the strategy, so a resume runs the full budget.
"""

from __future__ import annotations

import functools
import math
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from nas._domain import SpaceError
from nas._errors import GraphError
from nas._interrupt import Interrupts
from nas.budget import typical_step, typical_step_of
from nas.config import SearchConfig
from nas.oneshot import Queue
from nas.progress import reached
from nas.pruners import make_pruner
from nas.result import Result, traceback_text
from nas.space import invalid_fingerprint
from nas.storage import StorageError, open_storage, storage_folder
from nas.strategies import get_strategy
from nas.study import Study
from nas.trial import FINISHED, INTERRUPTED, TIMED_OUT, TrialRecord
from nas.weights import keep_best, weights_folder

DUPLICATE_TRIES = 10  # asks for an architecture no trial runs or ran, before taking any
MAX_INVALID = 20  # invalid architectures in a row, none valid in the study: a broken space


class Worker:
    """One evaluation loop over a shared study."""

    def __init__(self, study: Study, config: SearchConfig, index: int = 0,
                 device: str | None = None, on_trial: Callable | None = None):
        self.study = study
        self.config = config
        self.index = index
        self.device = device or config.device
        self.on_trial = on_trial
        self.task = config.task_object()  # built once per process, kept with the config
        self.space = config.space_object()
        self.strategy = get_strategy(config.strategy, self.space,
                                     seed=config.seed + 1000 * index,
                                     objectives=list(study.objectives),
                                     **config.strategy_options)
        # a one-shot search's phase 3: the top candidates by one-shot score, not asks
        share = config.one_shot.distinct if config.one_shot is not None else 0.0
        self.queue = Queue(study, config.trials, share) if config.one_shot is not None or \
            config.differentiable is not None else None  # a differentiable search's: its cell
        self.told: set[int] = set()
        self._invalid_streak = 0  # invalid architectures in a row (see MAX_INVALID)
        self._retries: list[TrialRecord] = []  # stale trials this worker failed: retry once
        self._intr = Interrupts()  # replaced by the live one while run() runs
        self._reached: tuple[int, float] | None = None  # the running trial's last report
        self._deadline: float | None = None  # the search's timeout, as a time.time()
        self._timed_out = False  # the running trial was stopped at the deadline

    # ------------------------------------------------------------ main loop
    def run(self, quota: int | None = None, deadline: float | None = None,
            stop=None, started=None) -> int:
        """Evaluate until ``quota`` trials are done here, the study reaches its target,
        or ``deadline`` passes. Returns the number of trials this worker finished.

        Ctrl-C (SIGINT) interrupts the running evaluation, records that trial as FAIL
        with error "interrupted" (it does not count towards the target), and raises
        ``KeyboardInterrupt``; every finished trial is already in the storage. ``stop``
        (an Event set by a parent process) asks for the same between trials; ``started``
        (an Event) is set once SIGINT is guarded: until then the worker has written
        nothing and its parent may simply kill it. A trial still training at ``deadline``
        stops at its next report and is recorded "stopped" (``_record_timed_out``).
        """
        done, self._deadline = 0, deadline
        with Interrupts(force=stop is None) as self._intr:
            if started is not None:
                started.set()
            while quota is None or done < quota:
                if self._intr.requested or (stop is not None and stop.is_set()):
                    raise KeyboardInterrupt
                if deadline is not None and time.time() >= deadline:
                    break
                trials = self.study.trials()  # the one full read per trial
                with self._intr.deferred():  # trials of dead workers: FAIL, retried once
                    recovered = self.study.recover_stale(self.config.stale_after_s, trials)
                self._retries += [r for r in recovered if "retry_of" not in r.attrs]
                self.sync(trials)
                gone = {r.number for r in recovered}
                left = [r for r in trials if r.number not in gone]
                if not self._retries and (self.study.remaining(self.config.trials, left) <= 0
                                          or self.queue is not None and
                                          self.queue.next(left) is None):
                    break
                self.run_one(self._retries.pop(0) if self._retries else None)
                done += 1
        return done

    def sync(self, trials: list[TrialRecord] | None = None) -> None:
        """Tell the strategy every finished trial it has not seen (other workers' too).

        Trials stopped by a dead worker or by Ctrl-C are no verdict on their
        architecture: the strategy is not told about them.
        """
        if trials is None:
            trials = self.study.trials(FINISHED)
        for rec in trials:
            if rec.number in self.told or rec.state not in FINISHED:
                continue
            self.told.add(rec.number)
            if rec.decisions and not rec.stopped:
                try:  # invalid architectures are failures like any other
                    self.space.identify(dict(rec.decisions), allow_invalid=True)
                except Exception:  # a trial from another space version: skip it
                    continue
                self.strategy.tell(dict(rec.decisions), rec.result)

    def run_one(self, retry: TrialRecord | None = None) -> TrialRecord:
        """Ask (or retry ``retry``), evaluate and record one trial; return its record.

        Decisions that build no valid architecture become a failed trial with the build
        error (the strategy is told, as of any failure); ``MAX_INVALID`` of them in a
        row while the study holds no valid architecture raise ``SpaceError``.
        """
        intr = self._intr
        with intr.allowed():  # nothing is written yet: Ctrl-C may stop the proposal
            if retry is not None:
                graph, decisions, invalid = self.space.try_resolve(dict(retry.decisions))
            else:
                graph, decisions, invalid = self._propose()
        with intr.deferred():
            tid, number = self.study.new_trial(decisions, self.space.domains,
                                               self._attrs(graph, decisions, retry))
        if invalid is not None:
            return self._record_invalid(tid, number, decisions, invalid)
        self._invalid_streak = 0
        beat = self.study.heartbeat(tid, self.config.heartbeat_s)
        reporter = self._reporter(tid)
        one_shot = self.queue.metrics(_fingerprint(graph, decisions)) if self.queue else {}
        try:  # a seconds cap compares a candidate with the study's typical one (nas.budget)
            typical = typical_step_of(r.metrics for r in self.study.trials(FINISHED))
        except Exception:  # an unreadable study is no reason to lose this trial
            typical = None
        try:
            with beat, intr.allowed(), typical_step(typical):
                result = self.task.evaluate(graph, budget=self.config.budget,
                                            seed=self.config.seed + number,
                                            device=self.device, report=reporter,
                                            keep_weights=self.config.keep_weights > 0
                                            or self._remember is not None)
        except KeyboardInterrupt:
            result = None
        except Exception as exc:  # a task must not raise, but never lose the trial
            result = Result.failure(f"runtime error: {type(exc).__name__}: {exc}",
                                    traceback_text(exc))
        if result is None or (intr.requested and not result.ok):
            self._finish(tid, Result.failure(INTERRUPTED), interrupted=True)
            raise KeyboardInterrupt
        weights = result.state_dict
        result = self._study_result(result)
        result.metrics.update(one_shot)  # its one-shot scores beside the stand-alone ones
        if self._timed_out and result.pruned:
            return self._record_timed_out(tid, number, result)
        if weights is not None and result.ok and self.config.artifacts:
            with self._intr.deferred():  # before finish: linked to the trial
                self._upload_weights(tid, result, weights)
        stored = self._finish(tid, result)  # False: another worker gave it up as dead
        if weights is not None and result.ok and self._remember is not None:
            self._remember(_fingerprint(graph, decisions), weights)  # children inherit them
        if weights is not None and result.ok and stored and self.config.keep_weights > 0:
            self._keep_weights(number, weights)
        return self._told(number, decisions, result)

    def _attrs(self, graph, decisions: dict, retry: TrialRecord | None) -> dict:
        """A new trial's user attributes: what it is, and which worker runs it where."""
        attrs = {"decisions": decisions, "fingerprint": _fingerprint(graph, decisions),
                 "device": self.device,
                 "worker": {"index": self.index, "host": os.uname().nodename,
                            "pid": os.getpid()},
                 "heartbeat": time.time()}
        if graph is not None:
            attrs["graph"] = graph.to_json()
            if "lineage" in graph.meta:  # a GraphSpace candidate: parent, edits, inherited
                attrs["lineage"] = graph.meta["lineage"]
        if retry is not None:
            attrs["retry_of"] = retry.number
        if self.queue is not None:
            attrs.update(self.queue.attrs(attrs["fingerprint"]))
        return attrs

    def _told(self, number: int, decisions: dict, result: Result) -> TrialRecord:
        """Tell the strategy a finished trial's result; its record (to ``on_trial`` too)."""
        self.told.add(number)
        self.strategy.tell(decisions, result)
        rec = self.study.trial(number)
        if self.on_trial:
            self.on_trial(rec)
        return rec

    def _propose(self) -> tuple:
        """Ask the strategy for an architecture that no trial in the study runs or ran
        (another worker may have proposed it): on a duplicate, tell the strategy its
        result if known and ask again, up to ``DUPLICATE_TRIES`` times. A one-shot
        search's phase 3 takes the next top candidate instead."""
        if self.queue is not None:
            return self.queue.propose(self.space, self.study.trials(), self.index)
        for _ in range(DUPLICATE_TRIES):
            graph, decisions, invalid = self.space.try_resolve(self.strategy.ask())
            twin = self.study.twin(_fingerprint(graph, decisions))
            if twin is None:
                break
            if twin.state in FINISHED:  # its result, as if this ask had been trained
                if twin.number in self.told:
                    self.strategy.tell(dict(twin.decisions), twin.result)
                else:
                    self.sync([twin])
        return graph, decisions, invalid

    def _record_invalid(self, tid: int, number: int, decisions: dict,
                        error: GraphError) -> TrialRecord:
        """Finish a trial whose decisions built no valid architecture as FAIL, tell the
        strategy; raise SpaceError when the space seems to build nothing valid at all."""
        result = Result.failure(f"invalid architecture: {error}")
        self._finish(tid, result)
        rec = self._told(number, decisions, result)
        self._invalid_streak += 1
        if self._invalid_streak >= MAX_INVALID and not any(
                r.graph_json for r in self.study.trials()):
            raise SpaceError(
                f"space '{self.config.space}' gave {self._invalid_streak} invalid "
                f"architectures in a row and no valid one yet; the last: {error} (check "
                f"the space with: nas check {self.config.space} --task {self.config.task})")
        return rec

    def _study_result(self, result: Result) -> Result:
        """The task's result with the study's objectives picked out (metrics allowed); a
        pruned one keeps those it has, else its last reported value, and the step it
        reached as its ``steps`` metric (when the task gives none)."""
        if result.error is not None:
            return result
        if result.pruned:
            return _pruned(result, self.study.objectives, self._reached)
        objectives = {}
        for name, _ in self.study.objectives:
            value = result.value(name)
            if value is None or not math.isfinite(value):
                have = sorted(set(result.objectives) | set(result.metrics))
                return Result.failure(f"objective '{name}' was not measured (the task "
                                      f"reports: {', '.join(have)})", **result.metrics)
            objectives[name] = float(value)
        return Result(objectives, dict(result.metrics), None, result.pruned)

    def _finish(self, tid: int, result: Result, interrupted: bool = False,
                attrs: dict | None = None) -> bool:
        with self._intr.deferred():
            return self.study.finish(tid, result, interrupted, attrs)

    def _record_timed_out(self, tid: int, number: int, result: Result) -> TrialRecord:
        """A trial the deadline stopped: PRUNED with its last value and step, marked
        ``TIMED_OUT`` (no verdict on its architecture: the strategy is not told and it
        does not count, so a resume trains a full trial in its place)."""
        where = reached(result)
        self._finish(tid, result, attrs={TIMED_OUT: True, "error": "timeout reached" +
                                         (f" {where}" if where else "")})
        self.told.add(number)
        rec = self.study.trial(number)
        if self.on_trial:
            self.on_trial(rec)
        return rec

    @functools.cached_property
    def _remember(self) -> Callable | None:
        """The space's ``remember(fingerprint, weights)`` (a ``nas.GraphSpace``'s, whose
        later candidates inherit trained weights), or None."""
        return getattr(self.space, "remember", None)

    @functools.cached_property
    def _pruner(self):
        """The search's pruner: one per worker (Hyperband keeps state across trials),
        its rungs from the steps budget, so that every worker has the same ones."""
        return make_pruner(self.config.pruner, self._max_steps)

    @functools.cached_property
    def _max_steps(self) -> int | None:
        """The training budget in steps (the search's, else the task's), None unless
        it is a number of steps."""
        budget = self.config.budget or getattr(self.task, "default_budget", None)
        return int(budget.amount) if getattr(budget, "unit", None) == "steps" else None

    def _reporter(self, tid: int) -> Callable[[int, float], bool] | None:
        """The evaluation's ``report(step, value) -> stop`` for the pruner and the
        deadline (None with neither); its storage writes are never cut in half by
        Ctrl-C. Past the deadline it stops the training (``_timed_out``)."""
        self._reached, self._timed_out = None, False
        pruning = len(self.study.objectives) == 1 and self.config.pruner != "none"
        if not pruning and self._deadline is None:
            return None
        report = self.study.reporter(tid, self._pruner) if pruning else None

        def reporter(step: int, value: float) -> bool:
            self._reached = (step, value)
            stop = False
            if report is not None:
                with self._intr.deferred():
                    stop = report(step, value)
            # a report at the budget's last step comes from a finished training: its
            # value goes to the rungs, but the trial is not thrown away as pruned
            if self._max_steps is not None and step >= self._max_steps:
                return False
            if not stop and self._deadline is not None and time.time() > self._deadline:
                self._timed_out = stop = True
            return stop
        return reporter

    def _keep_weights(self, number: int, state_dict: dict) -> None:
        """Save this trial's weights if it is among the best K; drop files that fell out."""
        folder = weights_folder(self.config.weights_dir, None)
        if folder is None:
            return
        best = {r.number for r in self.study.ranked()[: self.config.keep_weights]}
        keep_best(folder, number, state_dict, best)


    def _upload_weights(self, tid: int, result: Result, state_dict: dict) -> None:
        """Upload the trial's weights to the artifact store if it ranks among the best K
        (``nas.artifacts``); a store that fails is a warning, never a lost trial."""
        from nas.artifacts import among_best, open_store, upload_weights

        value = result.objectives[self.study.objectives[0].name]
        if not among_best(self.study, value, self.config.keep_weights):
            return
        try:
            upload_weights(open_store(self.config.artifacts), self.study.storage, tid,
                           state_dict)
        except Exception as exc:
            warnings.warn(f"trial weights not uploaded to artifact store "
                          f"'{self.config.artifacts}': {type(exc).__name__}: {exc}",
                          stacklevel=2)


def _pruned(result: Result, objectives, reached: tuple[int, float] | None) -> Result:
    """A pruned result for the study: its finite objective values (the first one, when
    missing, the last value reported) and ``steps``, the last step reported, if unset."""
    values = {n: float(v) for n, _ in objectives
              if isinstance(v := result.value(n), int | float) and math.isfinite(v)}
    metrics = dict(result.metrics)
    if reached is not None:
        step, value = reached
        if math.isfinite(value):
            values.setdefault(objectives[0].name, float(value))
        metrics.setdefault("steps", float(step))
    return Result(values, metrics, None, pruned=True)


def _fingerprint(graph, decisions: dict) -> str:
    """The trial's fingerprint: its graph's, or a digest of decisions that built none."""
    return graph.fingerprint() if graph is not None else invalid_fingerprint(decisions)


def live_config(config: SearchConfig, run_dir: str | os.PathLike | None) -> SearchConfig:
    """``config`` for a worker running now: its weights folder and data file absolute
    paths, resolved against ``run_dir`` (the stored config keeps them relative to the run
    folder)."""
    folder = weights_folder(config.weights_dir, run_dir)
    data = config.data
    if data and run_dir is not None and not Path(data).is_absolute():
        data = str((Path(run_dir) / data).resolve())
    return config.replace(weights_dir=str(folder.resolve()) if folder else None, data=data)



# ---------------------------------------------------------------------------- entry points


def open_study(config: SearchConfig | None, storage_url: str | None = None,
               study_name: str | None = None, run_dir: str | os.PathLike | None = None,
               objectives: list | None = None) -> Study:
    """Create or open the study; the config is stored with a new study, and an old one's
    stored config must agree with it (``SearchConfig.differs_from``)."""
    storage = open_storage(storage_url, run_dir)
    if config is None:
        return Study.load(storage, study_name, storage_folder(storage_url, run_dir))
    name = study_name or "search"
    objectives = list(config.objectives or objectives or [])
    study = Study(storage, name, objectives)
    study.folder = storage_folder(storage_url, run_dir)  # where its kept weights are
    stored = study.config
    if not stored:
        study.set_config(config.to_dict())
        return study
    if stored.get("space") != config.space or stored.get("task") != config.task:
        raise StorageError(f"study '{name}' searches space '{stored.get('space')}' on task "
                           f"'{stored.get('task')}'; use another --study or --run-dir")
    changed = config.differs_from(SearchConfig.from_dict({**stored, "space": config.space}))
    if changed:
        where = f"nas resume {run_dir}" if run_dir is not None and storage_url is None else \
            "the same command with the study's settings"
        raise StorageError(
            f"study '{name}' was searched with other settings ({changed}): one "
            "leaderboard would mix trials scored differently. Continue it as it was "
            f"({where}), or start a new run with another --run-dir (or --study)")
    if stored.get("trials") != config.trials:  # a new target, as nas resume --trials sets
        study.set_config(stored := {**stored, "trials": config.trials})
    if config.artifacts and stored.get("artifacts") != config.artifacts:  # a store added
        study.set_config({**stored, "artifacts": config.artifacts})
    return study
