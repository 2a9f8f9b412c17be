"""The runner: ``search`` runs one worker in this process or several worker processes.

The trial loop itself is :class:`nas.worker.Worker`. With ``workers > 1`` the children
are spawned processes sharing the study's storage; this process reports their trials
as they finish, forwards Ctrl-C, and raises :class:`WorkerCrashed` when one dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from nas._interrupt import Interrupts
from nas._roster import Claim
from nas.artifacts import open_store
from nas.config import SearchConfig
from nas.darts import differentiable_of, run_differentiable
from nas.graphspace import seed_space
from nas.oneshot import RETRAIN, Book, one_shot_of, print_phase, run_one_shot
from nas.own_data import DATA_TASK, data_file, data_options, data_task, store_data
from nas.progress import chain, study_progress
from nas.settings import ConfigError, check_setting
from nas.storage import storage_folder
from nas.study import Study, quiet_optuna
from nas.trial import FINISHED
from nas.weights import WEIGHTS
from nas.worker import Worker, live_config, open_study


@quiet_optuna()
def run_worker_process(storage_url: str, study_name: str, quota: int | None, index: int | None,
                       device: str | None, deadline: float | None,
                       weights_dir: str | None = None, threads: int | None = None, stop=None,
                       started=None, on_claim: Callable[[int], None] | None = None,
                       artifacts: str | None = None) -> int:
    """Process entry point for a worker (``nas worker`` and ``--workers N``); ``index``
    None takes the smallest one no live worker of the study holds (``on_claim`` is told
    which). The config is the study's stored one (``weights_dir``: the parent's live
    folder); ``threads``: torch threads (default: all cores)."""
    import torch

    torch.set_num_threads(threads or max(1, os.cpu_count() or 1))
    study = open_study(None, storage_url, study_name)
    config = live_config(SearchConfig.from_dict(study.config), storage_folder(storage_url))
    if weights_dir is not None:
        config = config.replace(weights_dir=weights_dir)
    if artifacts is not None:  # this machine's path to the store (nas worker --artifacts)
        config = config.replace(artifacts=artifacts)
    if config.artifacts:
        open_store(config.artifacts)  # an unusable store fails here, not at each trial
    with Claim(study, index, config.stale_after_s) as claim:  # others see this index taken
        if on_claim is not None:
            on_claim(claim.index)
        worker = Worker(study, config, index=claim.index, device=device)
        return worker.run(quota, deadline, stop=stop, started=started)


def _child_worker(*args) -> None:
    """A ``--workers N`` child: a Ctrl-C ends it quietly (the parent reports)."""
    with contextlib.suppress(KeyboardInterrupt):
        run_worker_process(*args)


@quiet_optuna()
def search(space: str | None = None, task: str = "mnist1d", strategy: str = "evolution",
           trials: int | str | None = "auto", timeout: float | None = None,
           workers: int | str = 1,
           storage: str | None = None, study: str | None = None, seed: int = 0,
           budget: str | None = None, objectives: list | None = None,
           run_dir: str | os.PathLike | None = None, device: str = "auto",
           pruner: str = "none", space_config: dict | None = None,
           task_config: dict | None = None, strategy_options: dict | None = None,
           on_trial: Callable | None = None, config: SearchConfig | None = None,
           progress: bool = True, data=None, target: str | None = None, one_shot=None,
           on_phase: Callable[[str, int, int], None] | None = None, differentiable=None,
           from_model=None, example_inputs=None, edits=None, max_edits: int = 3,
           **kwargs) -> Study:
    """Run (or continue) a search and return its Study.

    ``storage``: an optuna storage URL (sqlite:///..., postgresql://...) or a journal
    file; default the journal file in ``run_dir`` (in memory when neither is given and
    there is one worker). ``workers``: processes at once, or "auto" for one per visible
    GPU. The trial target counts every worker's trials (pruned ones included); ``trials``
    None with a ``timeout``: no target, the search starts trials until the timeout, so
    the time a pruner saves buys more candidates. ``objectives``:
    ``[(name, "max"|"min")]`` or names alone (the direction the task declares, or the
    name implies). ``config``: a ``SearchConfig`` built already (the CLI's); then the
    settings arguments are not used. Bad settings, an objective the task never
    measures, or a device this machine lacks raise ``ValueError`` (a ``ConfigError``
    naming the setting) before anything is stored. ``progress``: print one line per
    finished trial, as `nas search` does (False: silent). ``on_trial(record)`` is called
    with each finished trial's ``TrialRecord`` (in this process, whichever worker ran it).

    ``data``: your own data instead of a task name: ``(x, y)`` arrays or tensors, a torch
    ``Dataset`` (or ``(train, val)`` Datasets), a DataFrame with ``target=COLUMN``, or an
    image folder; stored in the run folder for the workers and ``nas resume``.
    ``space="auto"``: the space the data suggests. Both are said in the first lines
    printed (with ``progress``).

    ``one_shot``: True, a ``nas.OneShot`` or a dict of its settings: train one supernet,
    score ``candidates`` proposals of the strategy with inherited weights (this process,
    ``on_phase(phase, done, total)`` told the progress), then train the best ``trials``
    (``"auto"``: 3 with one-shot, 20 without) stand-alone as ordinary trials (``nas.oneshot``);
    with ``progress`` and no ``on_phase``, a line is printed as each phase ends.

    ``from_model``: grow from your own model (an ``nn.Module`` traced on
    ``example_inputs``; one worker) or ``"path/model.py:build"`` (see
    ``nas.graphspace``): the space is its ``nas.GraphSpace`` of ``edits`` (default all),
    up to ``max_edits`` per candidate, whose children inherit its weights.
    ``differentiable``: True, a ``nas.darts.Differentiable`` or a dict of its settings:
    a DARTS search (``nas.darts``, guarded against collapse) in this process, then its
    discretized cell trained stand-alone as an ordinary trial (``trials`` "auto": 1).
    """
    if from_model is not None:
        space, space_config = seed_space(from_model, example_inputs, edits, max_edits,
                                         space_config)
    task_object, folder = None, storage_folder(storage, run_dir)
    if data is not None:
        if config is not None:
            raise ValueError("give data=... or config=..., not both")
        task_object = data_task(data, target, task_config)
        task, task_config, kwargs["data"] = DATA_TASK, data_options(task_object), \
            data_file(folder, study, storage)
        if progress:
            print(task_object.summary())
    if config is None:
        if trials == "auto":  # None: no trial count, bounded by the timeout alone
            trials = RETRAIN if one_shot_of(one_shot) is not None else \
                1 if differentiable_of(differentiable) is not None else 20
        config = SearchConfig.create(
            space=space, task=task, strategy=strategy, trials=trials, workers=workers,
            one_shot=one_shot, differentiable=differentiable,
            seed=seed, budget=budget, objectives=objectives, device=device, pruner=pruner,
            space_config=space_config, task_config=task_config,
            strategy_options=strategy_options, task_object=task_object, **kwargs)
        if config.space_reason and progress:
            print(f"space: {config.space} (auto: {config.space_reason})")
    if data is not None and config.data:  # settings checked: now the data is written
        store_data(task_object, folder, config.data)
    timeout = check_setting("timeout", timeout)
    if config.trials is None and not timeout:
        raise ConfigError("trials", "trials: a search with no trial count runs until its "
                                    "timeout: give a timeout (--timeout 15m) or a trial "
                                    "count (--trials N)")
    if config.keep_weights and not config.weights_dir and run_dir is not None:
        config = config.replace(weights_dir=WEIGHTS)  # relative to the run folder
    if config.artifacts:
        open_store(config.artifacts)  # boto3 missing, a folder not writable: before storing
    n_workers, devices = resolve_workers(config.workers, config.device)
    if from_model is not None and not isinstance(from_model, str | Path) and n_workers > 1:
        raise ValueError("a search from a model runs in one process: workers=1")
    if n_workers > 1 and storage is None and run_dir is None:
        raise ValueError("several workers need a shared storage: pass run_dir or storage")
    st = open_study(config, storage, study, run_dir)
    if progress:
        on_trial = chain(study_progress(st, config.trials), on_trial)
        on_phase = on_phase or print_phase
    config = live_config(config, folder)
    deadline = time.time() + timeout if timeout else None
    try:
        if config.one_shot is not None:  # phases 1 and 2 here; the workers retrain
            run_one_shot(st, config, folder, devices[0], on_phase)
        if config.differentiable is not None:  # phase 1 here; the workers retrain its cell
            run_differentiable(st, config, folder, devices[0], on_phase)
        if n_workers == 1:  # worker 0, unless another command searches this study now
            with Claim(st, stale_after_s=config.stale_after_s) as claim:
                Worker(st, config, index=claim.index, device=devices[0],
                       on_trial=on_trial).run(None, deadline)
            return st
        url = storage or str(Path(run_dir) / "study.journal")
        _run_processes(st, config, url, n_workers, devices, deadline, on_trial)
    except BaseException:  # a study created here without a trial would block a re-run
        if not Book(st).started():  # one-shot scores so far are kept for a resume
            st.delete_if_empty()
        raise
    return st


def resolve_workers(workers: int | str, device: str) -> tuple[int, list[str]]:
    """Number of worker processes and the device each one uses."""
    import torch

    gpus = torch.cuda.device_count() if device in ("auto", "cuda") else 0
    if workers == "auto":
        if gpus == 0:
            return 1, [device if device != "auto" else "cpu"]
        return gpus, [f"cuda:{i}" for i in range(gpus)]
    if isinstance(workers, str) and workers.startswith("auto:"):  # several per GPU
        per = int(workers.split(":")[1])
        n = max(1, gpus) * per
        return n, [f"cuda:{i % gpus}" if gpus else "cpu" for i in range(n)]
    n = int(workers)
    if n < 1:
        raise ValueError("--workers must be >= 1 or 'auto'")
    if gpus:
        return n, [f"cuda:{i % gpus}" for i in range(n)]
    return n, [device] * n


def _run_processes(study: Study, config: SearchConfig, url: str, n: int, devices: list[str],
                   deadline: float | None, on_trial: Callable | None) -> None:
    """Run ``n`` worker processes to the target and report their trials as they finish.

    Ctrl-C: the children stop (``stop`` plus a forwarded SIGINT, so that a ``kill -INT``
    of this process alone works too), record their interrupted trials, and exit; one
    still starting up (it has written nothing) is killed. Then ``KeyboardInterrupt`` is
    raised here. A second Ctrl-C kills them all at once.
    """
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    # running trials are not subtracted: a stale one is retried by a child, and a live
    # one elsewhere is seen by each child's own check of the study-wide target
    if config.trials is None:  # until the deadline
        quotas: list[int | None] = [None] * n
    else:
        left = max(0, config.trials - study.finished_count())
        quotas = [q for q in (left // n + (1 if i < left % n else 0) for i in range(n)) if q]
    started = [ctx.Event() for _ in quotas]
    procs = [ctx.Process(target=_child_worker,
                         args=(url, study.name, q, i, devices[i], deadline,
                               config.weights_dir, max(1, (os.cpu_count() or 1) // n), stop,
                               started[i]), daemon=False)
             for i, q in enumerate(quotas)]
    with _sigint_ignored():  # the children ignore SIGINT until their worker loop guards it
        for p in procs:
            p.start()
    seen: set[int] = {r.number for r in study.trials(FINISHED)}
    with Interrupts() as intr:
        try:
            while any(p.is_alive() for p in procs):
                with intr.allowed():  # reading the storage is never cut in half
                    time.sleep(0.5)
                seen = _report_new(study, seen, on_trial)
        except KeyboardInterrupt:
            _stop_children(procs, started, stop, intr)
            _report_new(study, seen, on_trial)
            raise
    for p in procs:
        p.join()
    _report_new(study, seen, on_trial)
    _raise_if_crashed(procs)


def _stop_children(procs: list, started: list, stop, intr: Interrupts) -> None:
    """After a Ctrl-C: ask every child to stop (SIGINT to those already guarding it, a
    kill for those still starting up) and wait for them; a second Ctrl-C kills them."""
    stop.set()  # before reading ``started``: a child not started yet sees it
    for p, ready in zip(procs, started):
        if not p.is_alive():
            continue
        if ready.is_set():
            with contextlib.suppress(OSError):
                os.kill(p.pid, signal.SIGINT)
        else:
            p.kill()
    intr.requested = 0  # from now on a Ctrl-C means: at once
    try:
        while any(p.is_alive() for p in procs):
            with intr.allowed():
                time.sleep(0.1)
    except KeyboardInterrupt:
        for p in procs:
            p.kill()  # their running trials are recovered as stale on resume
    for p in procs:
        p.join()


def _raise_if_crashed(procs: list) -> None:
    crashed = [f"worker {i} (exit code {p.exitcode})" for i, p in enumerate(procs)
               if p.exitcode != 0]
    if crashed:
        raise WorkerCrashed(
            f"{', '.join(crashed)} stopped with an error (see its message above); the "
            "finished trials are saved. In a script, start the search under "
            "`if __name__ == \"__main__\":` (worker processes re-import it).")


class WorkerCrashed(RuntimeError):
    """A worker process of a parallel search exited with an error."""


@contextlib.contextmanager
def _sigint_ignored():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _report_new(study: Study, seen: set[int], on_trial: Callable | None) -> set[int]:
    for rec in study.trials(FINISHED):
        if rec.number not in seen:
            seen.add(rec.number)
            if on_trial:
                on_trial(rec)
    return seen
