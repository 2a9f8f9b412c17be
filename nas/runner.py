"""``nas.search``: settings in, a Study out.

Its steps: the settings become one ``SearchConfig`` (your own data or model first turned
into a task or space), the study is opened, the one-shot or differentiable phase runs
here, and then one worker in this process (:class:`nas.worker.Worker`) or several
worker processes (:mod:`nas.processes`) train trials until the target.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from nas._roster import Claim
from nas.artifacts import open_store
from nas.config import SearchConfig
from nas.darts import differentiable_of, run_differentiable
from nas.graphspace import seed_space
from nas.oneshot import RETRAIN, Book, one_shot_of, print_phase, run_one_shot
from nas.own_data import DATA_TASK, data_file, data_options, data_task, store_data
from nas.processes import resolve_workers, run_processes
from nas.progress import chain, study_progress
from nas.settings import ConfigError, check_setting
from nas.storage import storage_folder
from nas.study import Study, quiet_optuna
from nas.weights import WEIGHTS
from nas.worker import Worker, live_config, open_study


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
           from_model=None, example_inputs=None, edits=None, max_edits: int | None = None,
           max_params: int | None = None, **kwargs) -> Study:
    """Run (or continue) a search and return its Study.

    ``storage``: an optuna storage URL (sqlite:///..., postgresql://...) or a journal
    file; default the journal file in ``run_dir`` (in memory when neither is given and
    there is one worker). ``workers``: processes at once, or "auto" for one per visible
    GPU. The trial target counts every worker's trials (pruned ones included); ``trials``
    None with a ``timeout``: no target, the search starts trials until the timeout, so
    the time a pruner saves buys more candidates. At the timeout no trial starts, and a
    trial still training stops at its next report (every ``report_every`` steps, 100 by
    default): PRUNED with its last value, marked stopped (``TrialRecord.stopped``), not
    counted towards the target nor told to the strategy. ``objectives``:
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
    ``nas.graphspace``): the space is its ``nas.GraphSpace`` of ``edits``, up to
    ``max_edits`` per candidate and at most ``max_params`` parameters (a cap; none by
    default), whose children inherit its weights (defaults: chained
    growth, ``nas.graphspace.FROM_DEFAULTS``; ``budget="250steps", trials=80`` is the
    measured setting, as `nas search --from` uses).
    ``differentiable``: True, a ``nas.darts.Differentiable`` or a dict of its settings:
    a DARTS search (``nas.darts``, guarded against collapse) in this process, then its
    discretized cell trained stand-alone as an ordinary trial (``trials`` "auto": 1).
    """
    if max_params is not None and from_model is None:
        raise ValueError("max_params (a parameter cap) goes with from_model=...")
    if from_model is not None:
        space, space_config = seed_space(from_model, example_inputs, edits, max_edits,
                                         space_config, max_params)
    folder = storage_folder(storage, run_dir)
    task_object = None
    if data is not None:
        if config is not None:
            raise ValueError("give data=... or config=..., not both")
        task_object = data_task(data, target, task_config)
        task, task_config, kwargs["data"] = DATA_TASK, data_options(task_object), \
            data_file(folder, study, storage)
        if progress:
            print(task_object.summary())
    if config is None:
        config = _create_config(
            space=space, task=task, strategy=strategy, trials=trials, workers=workers,
            one_shot=one_shot, differentiable=differentiable, seed=seed, budget=budget,
            objectives=objectives, device=device, pruner=pruner, space_config=space_config,
            task_config=task_config, strategy_options=strategy_options,
            task_object=task_object, progress=progress, **kwargs)
    if data is not None and config.data:  # settings checked: now the data is written
        store_data(task_object, folder, config.data)
    config, deadline = _check_run(config, timeout, run_dir)
    n_workers, devices = resolve_workers(config.workers, config.device)
    if from_model is not None and not isinstance(from_model, str | Path) and n_workers > 1:
        raise ValueError("a search from a model runs in one process: workers=1")
    if n_workers > 1 and storage is None and run_dir is None:
        raise ValueError("several workers need a shared storage: pass run_dir or storage")
    st = open_study(config, storage, study, run_dir)
    if progress:
        on_trial = chain(study_progress(st, config.trials, deadline), on_trial)
        on_phase = on_phase or print_phase
    config = live_config(config, folder)
    try:
        _run_phases(st, config, folder, devices[0], on_phase)
        if n_workers == 1:  # worker 0, unless another command searches this study now
            with Claim(st, stale_after_s=config.stale_after_s) as claim:
                Worker(st, config, index=claim.index, device=devices[0],
                       on_trial=on_trial).run(None, deadline)
            return st
        url = storage or str(Path(run_dir) / "study.journal")
        run_processes(st, config, url, n_workers, devices, deadline, on_trial)
    except BaseException:  # a study created here without a trial would block a re-run
        if not Book(st).started():  # one-shot scores so far are kept for a resume
            st.delete_if_empty()
        raise
    return st


def _create_config(trials, one_shot, differentiable, progress: bool,
                   **settings) -> SearchConfig:
    """The checked SearchConfig of ``nas.search``'s arguments; ``trials`` "auto": 3
    retrained with one-shot, the 1 found cell with differentiable, 20 otherwise."""
    if trials == "auto":  # None: no trial count, bounded by the timeout alone
        trials = RETRAIN if one_shot_of(one_shot) is not None else \
            1 if differentiable_of(differentiable) is not None else 20
    config = SearchConfig.create(trials=trials, one_shot=one_shot,
                                 differentiable=differentiable, **settings)
    if config.space_reason and progress:
        print(f"space: {config.space} (auto: {config.space_reason})")
    return config


def _check_run(config: SearchConfig, timeout, run_dir) -> tuple[SearchConfig, float | None]:
    """What the settings alone cannot check, before anything is stored: a target (trial
    count or timeout), the kept weights' folder, a usable artifact store; the deadline."""
    timeout = check_setting("timeout", timeout)
    if config.trials is None and not timeout:
        raise ConfigError("trials", "trials: a search with no trial count runs until its "
                                    "timeout: give a timeout (--timeout 15m) or a trial "
                                    "count (--trials N)")
    if config.keep_weights and not config.weights_dir and run_dir is not None:
        config = config.replace(weights_dir=WEIGHTS)  # relative to the run folder
    if config.artifacts:
        open_store(config.artifacts)  # boto3 missing, a folder not writable: before storing
    return config, (time.time() + timeout if timeout else None)


def _run_phases(st: Study, config: SearchConfig, folder, device: str, on_phase) -> None:
    """The phases that run in this process before the workers train trials: one-shot's
    supernet and scoring, or the differentiable search whose cell is then trained."""
    if config.one_shot is not None:
        run_one_shot(st, config, folder, device, on_phase)
    if config.differentiable is not None:
        run_differentiable(st, config, folder, device, on_phase)
