"""Worker processes: ``nas worker``'s entry point and the ``--workers N`` children.

With ``workers > 1`` the children are spawned processes sharing the study's storage;
the parent reports their trials as they finish, forwards Ctrl-C, and raises
:class:`WorkerCrashed` when one dies. The trial loop itself is :class:`nas.worker.Worker`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable

from nas._interrupt import Interrupts
from nas._roster import Claim
from nas.artifacts import open_store
from nas.config import SearchConfig
from nas.storage import storage_folder
from nas.study import Study, quiet_optuna
from nas.trial import FINISHED
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


def run_processes(study: Study, config: SearchConfig, url: str, n: int, devices: list[str],
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
