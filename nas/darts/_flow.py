"""Phase 1 of a differentiable search, in this process, before the workers retrain.

The task searches the space differentiably (``task.search_darts``: ``evaluators.darts``
on the task's own training loop); the discretized candidate is stored in the study as
the one scored candidate of the one-shot record (``nas.oneshot.Book``), so phase 3 is
the one-shot flow's: the ordinary Worker, fed by ``nas.oneshot.Queue``, trains it
stand-alone as a normal trial. The alpha trajectory is saved in the run folder as
``darts/trajectory.json`` (what ``nas plot`` draws). A resume after phase 1 redoes
nothing. ``nas`` never imports ``evaluators``: the task method is called on whatever
task object the config has.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from nas.darts._progress import DartsProgress
from nas.oneshot import Book, Score, print_phase

TRAJECTORY_FILE = "darts/trajectory.json"  # relative to the run folder


class DartsError(RuntimeError):
    """The differentiable search could not finish (its training failed)."""


def check_darts_task(task, name: str) -> None:
    """A ValueError naming the task unless it can search differentiably."""
    if not callable(getattr(task, "search_darts", None)):
        raise ValueError(f"task '{name}' cannot be searched differentiably: it has no "
                         "search_darts. It needs a supervised task trained by evaluators' "
                         "TrainLoop (mnist1d, digits, your own data); drop --differentiable "
                         "or pick such a task")


def print_darts(phase: str, done: int, total: int) -> None:
    """The line ``nas.search(progress=True)`` prints as the search ends."""
    if total and done == total:
        print(f"differentiable search done: {total} steps", flush=True)


def run_differentiable(study, config, folder: str | os.PathLike | None,
                       device: str | None = None, on_phase=None) -> None:
    """Phase 1 for ``study`` (skipped when its candidate is stored): search, discretize,
    store the candidate and save the trajectory."""
    book = Book(study)
    if book.scoring_done():
        return
    task, space, s = config.task_object(), config.space_object(), config.differentiable
    check_darts_task(task, config.task)
    on_phase = print_darts if on_phase is print_phase else \
        on_phase or (lambda phase, done, total: None)
    on_phase("darts", 0, 0)
    out = task.search_darts(space, s.budget, guard=s.guard, seed=config.seed,
                            device=device or config.device, arch_lr=s.arch_lr,
                            beta0=s.beta0, record_every=s.record_every,
                            warmup=s.warmup, patience=s.patience,
                            arch_data=s.arch_data, prune_at=s.prune_at, select=s.select,
                            progress=DartsProgress(study, on_phase))
    if out.graph is None:
        raise DartsError(f"the differentiable search failed: {out.result.error}")
    path = None
    if folder is not None:
        path = Path(folder) / TRAJECTORY_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out.to_dict(), indent=1, default=str) + "\n")
    book.add_supernet({"kind": "darts", "file": None if path is None else TRAJECTORY_FILE,
                       "train_time_s": out.search_time_s, "guard": s.guard,
                       "answers": out.answers, "metrics": dict(out.result.metrics)})
    objectives = {}
    for o in study.objectives:
        value = out.result.value(o.name)
        objectives[o.name] = float(value) if value is not None and math.isfinite(value) \
            else 0.0
    book.add_score(Score(0, dict(out.decisions), out.graph.fingerprint(), objectives,
                         {"parameter_free": float(out.parameter_free)}))
    book.finish_scoring(1)


def load_trajectory(folder: str | os.PathLike) -> dict | None:
    """The saved search record of a run folder (None when the run has none)."""
    path = Path(folder) / TRAJECTORY_FILE
    return json.loads(path.read_text()) if path.is_file() else None


__all__ = ["TRAJECTORY_FILE", "DartsError", "check_darts_task", "load_trajectory",
           "run_differentiable"]
