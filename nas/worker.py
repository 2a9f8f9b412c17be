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

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import optuna
from optuna.trial import TrialState

from nas._domain import SpaceError
from nas._errors import GraphError
from nas._interrupt import Interrupts
from nas._roster import local_process_alive
from nas.budget import typical_step, typical_step_of
from nas.config import SearchConfig
from nas.pruners import make_pruner
from nas.result import Result
from nas.space import invalid_fingerprint
from nas.strategies import get_strategy
from nas.study import StorageError, Study, TrialRecord, open_storage

STALE = "stale"  # user attr on a trial failed because its worker died
INTERRUPTED = "interrupted"  # user attr (and error) of a trial stopped by Ctrl-C
FINISHED = ("COMPLETE", "FAIL", "PRUNED")
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
        self.told: set[int] = set()
        self._invalid_streak = 0  # invalid architectures in a row (see MAX_INVALID)
        self._retries: list[TrialRecord] = []  # stale trials this worker failed: retry once
        self._intr = Interrupts()  # replaced by the live one while run() runs

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
        nothing and its parent may simply kill it.
        """
        done = 0
        with Interrupts(force=stop is None) as self._intr:
            if started is not None:
                started.set()
            while quota is None or done < quota:
                if self._intr.requested or (stop is not None and stop.is_set()):
                    raise KeyboardInterrupt
                if deadline is not None and time.time() >= deadline:
                    break
                trials = self.study.trials()  # the one full read per trial
                recovered = self.recover_stale(trials)
                self._retries += [r for r in recovered if "retry_of" not in r.attrs]
                self.sync(trials)
                gone = {r.number for r in recovered}
                if not self._retries and remaining(
                        [r for r in trials if r.number not in gone], self.config.trials) <= 0:
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
            if rec.decisions and not _not_a_verdict(rec):
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
        attrs = {"decisions": decisions, "fingerprint": _fingerprint(graph, decisions),
                 "device": self.device,
                 "worker": {"index": self.index, "host": os.uname().nodename,
                            "pid": os.getpid()},
                 "heartbeat": time.time()}
        if graph is not None:
            attrs["graph"] = graph.to_json()
        if retry is not None:
            attrs["retry_of"] = retry.number
        with intr.deferred():
            tid, number = self.study.new_trial(decisions, self.space.domains, attrs)
        if invalid is not None:
            return self._record_invalid(tid, number, decisions, invalid)
        self._invalid_streak = 0
        storage = self.study.storage

        beat = _Heartbeat(storage, tid, self.config.heartbeat_s)
        reporter = None
        if len(self.study.objectives) == 1 and self.config.pruner != "none":
            trial = optuna.trial.Trial(self.study.optuna, tid)

            def reporter(step: int, value: float) -> bool:
                with intr.deferred():
                    trial.report(value, step)
                    return trial.should_prune()
        keep = {"keep_weights": True} if self.config.keep_weights > 0 and \
            _accepts(self.task.evaluate, "keep_weights") else {}
        try:  # a seconds cap compares a candidate with the study's typical one (nas.budget)
            typical = typical_step_of(r.metrics for r in self.study.trials(FINISHED))
        except Exception:  # an unreadable study is no reason to lose this trial
            typical = None
        try:
            with beat, intr.allowed(), typical_step(typical):
                result = self.task.evaluate(graph, budget=self.config.budget,
                                            seed=self.config.seed + number,
                                            device=self.device, report=reporter, **keep)
        except KeyboardInterrupt:
            result = None
        except Exception as exc:  # a task must not raise, but never lose the trial
            result = Result.failure(f"runtime error: {type(exc).__name__}: {exc}")
        if result is None or (intr.requested and not result.ok):
            self._finish(tid, Result.failure(INTERRUPTED), interrupted=True)
            raise KeyboardInterrupt
        weights = result.state_dict
        result = self._study_result(result)
        self._finish(tid, result)
        if weights is not None and result.ok:
            self._keep_weights(number, weights)
        self.told.add(number)
        self.strategy.tell(decisions, result)
        rec = self.study.trial(number)
        if self.on_trial:
            self.on_trial(rec)
        return rec

    def _propose(self) -> tuple:
        """Ask the strategy for an architecture that no trial in the study runs or ran
        (another worker may have proposed it): on a duplicate, tell the strategy its
        result if known and ask again, up to ``DUPLICATE_TRIES`` times."""
        for _ in range(DUPLICATE_TRIES):
            graph, decisions, invalid = self.space.try_resolve(self.strategy.ask())
            twin = self._twin(_fingerprint(graph, decisions))
            if twin is None:
                break
            if twin.state in FINISHED:  # its result, as if this ask had been trained
                if twin.number in self.told:
                    self.strategy.tell(dict(twin.decisions), twin.result)
                else:
                    self.sync([twin])
        return graph, decisions, invalid

    def _twin(self, fingerprint: str) -> TrialRecord | None:
        """A trial of the study with this fingerprint, running or finished with a verdict."""
        for rec in self.study.trials():
            if rec.fingerprint == fingerprint and (rec.state == "RUNNING" or (
                    rec.state in FINISHED and not _not_a_verdict(rec))):
                return rec
        return None

    def _record_invalid(self, tid: int, number: int, decisions: dict,
                        error: GraphError) -> TrialRecord:
        """Finish a trial whose decisions built no valid architecture as FAIL, tell the
        strategy; raise SpaceError when the space seems to build nothing valid at all."""
        result = Result.failure(f"invalid architecture: {error}")
        self._finish(tid, result)
        self.told.add(number)
        self.strategy.tell(decisions, result)
        rec = self.study.trial(number)
        if self.on_trial:
            self.on_trial(rec)
        self._invalid_streak += 1
        if self._invalid_streak >= MAX_INVALID and not any(
                r.graph_json for r in self.study.trials()):
            raise SpaceError(
                f"space '{self.config.space}' gave {self._invalid_streak} invalid "
                f"architectures in a row and no valid one yet; the last: {error} (check "
                f"the space with: nas check {self.config.space} --task {self.config.task})")
        return rec

    def _study_result(self, result: Result) -> Result:
        """The task's result with the study's objectives picked out (metrics allowed)."""
        if not result.ok:
            return result
        objectives = {}
        for name, _ in self.study.objectives:
            value = result.value(name)
            if value is None or not math.isfinite(value):
                have = sorted(set(result.objectives) | set(result.metrics))
                return Result.failure(f"objective '{name}' was not measured (the task "
                                      f"reports: {', '.join(have)})", **result.metrics)
            objectives[name] = float(value)
        return Result(objectives, dict(result.metrics), None, result.pruned)

    def _finish(self, tid: int, result: Result, interrupted: bool = False) -> None:
        storage = self.study.storage
        with self._intr.deferred():
            storage.set_trial_user_attr(tid, "metrics", _jsonable(result.metrics))
            if interrupted:
                storage.set_trial_user_attr(tid, INTERRUPTED, True)
            if result.error is not None:
                storage.set_trial_user_attr(tid, "error", result.error)
                state, values = TrialState.FAIL, None
            elif result.pruned:
                state, values = TrialState.PRUNED, None
            else:
                state = TrialState.COMPLETE
                values = [result.objectives[n] for n, _ in self.study.objectives]
            # another worker may have declared us dead meanwhile: keep its verdict
            with contextlib.suppress(Exception):
                storage.set_trial_state_values(tid, state, values)

    def _keep_weights(self, number: int, state_dict: dict) -> None:
        """Save this trial's weights if it is among the best K; drop files that fell out."""
        import torch

        path = weights_folder(self.config.weights_dir, None)
        if path is None:
            return
        name, direction = self.study.objectives[0]
        sign = 1 if direction == "max" else -1
        done = sorted(self.study.completed(), key=lambda r: -sign * r.values[0])
        best = {r.number for r in done[: self.config.keep_weights]}
        path.mkdir(parents=True, exist_ok=True)
        if number in best:
            target = path / f"trial_{number}.pt"
            tmp = target.with_suffix(".tmp")
            torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, tmp)
            os.replace(tmp, target)  # atomic: a reader never sees half a file
        for f in path.glob("trial_*.pt"):
            n = f.stem.split("_", 1)[1]
            if n.isdigit() and int(n) not in best:
                with contextlib.suppress(OSError):
                    f.unlink()

    # ------------------------------------------------------------ dead workers
    def recover_stale(self, trials: list[TrialRecord] | None = None) -> list[TrialRecord]:
        """Fail RUNNING trials whose worker died; return those this worker failed.

        The caller retries each once (unless it was itself a retry). When two workers
        find the same stale trial, only the one whose state change lands gets it.
        """
        now = time.time()
        running = self.study.trials(("RUNNING",)) if trials is None else \
            [r for r in trials if r.state == "RUNNING"]
        recovered = []
        storage = self.study.storage
        for rec in running:
            # a trial just asked has no heartbeat yet: count from its start
            beat = rec.attrs.get("heartbeat") or rec.started or now
            if now - beat < self.config.stale_after_s and not _dead_local(rec.attrs):
                continue
            try:
                with self._intr.deferred():
                    storage.set_trial_user_attr(rec.trial_id, "error", "worker died (no "
                                                f"heartbeat for {now - beat:.0f}s)")
                    storage.set_trial_user_attr(rec.trial_id, STALE, True)
                    if not storage.set_trial_state_values(rec.trial_id, TrialState.FAIL):
                        continue
            except Exception:  # another worker got there first
                continue
            recovered.append(rec)
        return recovered


def _fingerprint(graph, decisions: dict) -> str:
    """The trial's fingerprint: its graph's, or a digest of decisions that built none."""
    return graph.fingerprint() if graph is not None else invalid_fingerprint(decisions)


def _accepts(fn, name: str) -> bool:
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def weights_path(study_config: dict, number: int,
                 run_dir: str | os.PathLike | None = None) -> Path | None:
    """The saved weights of trial ``number``, if the search kept them.

    ``run_dir``: the run folder the stored (relative) weights folder belongs to; give it,
    or the folder of the study's journal file, so that a moved or copied run is read
    where it is now (None: the current directory).
    """
    folder = weights_folder(study_config.get("weights_dir"), run_dir)
    if folder is None:
        return None
    path = folder / f"trial_{number}.pt"
    return path if path.exists() else None


WEIGHTS = "weights"  # the kept weights' folder, relative to the run folder


def weights_folder(stored: str | None, run_dir: str | os.PathLike | None) -> Path | None:
    """Where the weights folder ``stored`` in a study's config is now.

    A relative path is relative to ``run_dir`` (the current directory when None). Runs
    made before paths were stored relative hold an absolute one: when that no longer
    exists (the run was moved or copied), ``RUN_DIR/weights`` is used instead.
    """
    if not stored:
        return None
    path = Path(stored)
    base = Path(run_dir) if run_dir is not None else Path(".")
    if not path.is_absolute():
        return base / path
    if path.exists() or run_dir is None:
        return path
    return base / WEIGHTS


def live_config(config: SearchConfig, run_dir: str | os.PathLike | None) -> SearchConfig:
    """``config`` for a worker running now: its weights folder an absolute path, resolved
    against ``run_dir`` (the stored config keeps it relative to the run folder)."""
    folder = weights_folder(config.weights_dir, run_dir)
    return config.replace(weights_dir=str(folder.resolve()) if folder else None)


def storage_folder(url: str | os.PathLike | None,
                   run_dir: str | os.PathLike | None = None) -> Path | None:
    """The folder paths inside a run are relative to: ``run_dir``, else the folder of the
    storage's file (a journal file, or a sqlite database); None for a server."""
    if run_dir is not None:
        return Path(run_dir)
    if url is None:
        return None
    text = str(url)
    if text.startswith("sqlite:///"):
        return Path(text[len("sqlite:///"):]).parent
    if "://" in text and not text.startswith("journal://"):
        return None
    return Path(text.removeprefix("journal://")).parent


def _dead_local(attrs: dict) -> bool:
    """True when the trial's worker ran on this host and its process is gone."""
    w = attrs.get("worker") or {}
    return w.get("pid") != os.getpid() and \
        local_process_alive(w.get("host"), w.get("pid")) is False


def remaining(trials: list[TrialRecord], target: int) -> int:
    """Trials still to start: the target minus finished and running ones."""
    return target - finished_count(trials) - sum(r.state == "RUNNING" for r in trials)


def finished_count(trials: list[TrialRecord]) -> int:
    """Finished trials that count towards the target (those stopped by a dead worker or
    by Ctrl-C don't)."""
    return sum(r.state in FINISHED and not _not_a_verdict(r) for r in trials)


def _not_a_verdict(rec: TrialRecord) -> bool:
    """A trial that failed through no fault of its architecture."""
    return bool(rec.attrs.get(STALE) or rec.attrs.get(INTERRUPTED))


class _Heartbeat:
    """A thread that stamps the running trial's ``heartbeat`` attribute."""

    def __init__(self, storage, tid: int, every: float):
        self.storage, self.tid, self.every = storage, tid, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.storage.set_trial_user_attr(self.tid, "heartbeat", time.time())
            except Exception:
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        return False


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
        elif isinstance(v, int | float | str | bool) or v is None:
            out[k] = v
        else:
            out[k] = str(v)
    return out


# ---------------------------------------------------------------------------- entry points


def open_study(config: SearchConfig | None, storage_url: str | None = None,
               study_name: str | None = None, run_dir: str | os.PathLike | None = None,
               objectives: list | None = None) -> Study:
    """Create or open the study; the config is stored with a new study, and an old one's
    stored config must agree with it (``SearchConfig.differs_from``)."""
    storage = open_storage(storage_url, run_dir)
    if config is None:
        return Study.load(storage, study_name)
    name = study_name or "search"
    objectives = list(config.objectives or objectives or [])
    study = Study(storage, name, objectives, pruner=make_pruner(config.pruner))
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
        study.set_config({**stored, "trials": config.trials})
    return study
