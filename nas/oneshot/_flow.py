"""Phases 1 and 2 of a one-shot search, in this process, before the workers retrain.

1. Build ``nas.supernet.SuperNet(space)`` and train it with ``task.train_supernet`` (the
   task's own training loop); save it as ``oneshot/supernet.pt`` in the run folder, so
   a resume loads it instead of training again.
2. The search's strategy (any registered one, unchanged) runs an ask/tell loop in which
   each proposal is scored with ``task.score_inherited`` (inherited weights, batch-norm
   recalibrated, no training). Every score is stored in the study as it comes
   (``nas.oneshot._book``), so a resume tells the strategy those and scores only the
   rest.

Phase 3 is the ordinary Worker fed from ``nas.oneshot._queue``. ``nas`` never imports
``evaluators``: the two task methods are called on whatever task object the config has.
"""

from __future__ import annotations

import inspect
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from nas._domain import SpaceError
from nas._interrupt import Interrupts
from nas.oneshot._book import Book, Score
from nas.oneshot._settings import OneShot
from nas.result import Result
from nas.space import invalid_fingerprint

SUPERNET_FILE = "oneshot/supernet.pt"  # relative to the run folder
DUPLICATE_TRIES = 10  # asks for an architecture not scored yet, before phase 2 ends early
MAX_INVALID = 20  # invalid architectures in a row, none valid yet: a broken space
METHODS = ("train_supernet", "score_inherited")
PROGRESS_EVERY_S = 2.0  # phase 1 stores its step this often, for nas status

# settings passed to a task method only when set: (setting, method, keyword, what a task
# whose method lacks the keyword cannot do, how to turn the setting off)
OPTIONAL = (
    ("lr", "train_supernet", "lr", "train its supernet at another learning rate",
     "drop one_shot.lr (--one-shot-lr)"),
    ("finetune", "score_inherited", "finetune_steps",
     "fine-tune a candidate before its one-shot score",
     "set one_shot.finetune to 0 (--one-shot-finetune 0)"),
)

Phase = Callable[[str, int, int], None]  # on_phase("supernet"|"scoring", done, total)


class OneShotError(RuntimeError):
    """A one-shot phase could not finish (the supernet's training failed)."""


def print_phase(phase: str, done: int, total: int) -> None:
    """The ``on_phase`` of ``nas.search(progress=True)``: a line as each phase ends."""
    if total and done == total:
        print(f"supernet trained: {total} steps" if phase == "supernet" else
              f"scored {total} candidates with inherited weights", flush=True)


def check_task(task, name: str, settings: OneShot | None = None) -> None:
    """A ValueError naming the task unless it can train a supernet and score with it
    (and take the ``OPTIONAL`` settings that ``settings`` set)."""
    missing = [m for m in METHODS if not callable(getattr(task, m, None))]
    if missing:
        raise ValueError(
            f"task '{name}' cannot be searched one-shot: it has no {' or '.join(missing)}. "
            "One-shot needs a task trained by evaluators' TrainLoop (a LoopTask such as "
            "mnist1d); drop --one-shot, or pick such a task")
    for setting, method, keyword, cannot, off in OPTIONAL:
        if settings is not None and getattr(settings, setting) and \
                not _takes(getattr(task, method), keyword):
            raise ValueError(f"task '{name}' cannot {cannot} (its {method} takes no "
                             f"{keyword}): {off}, or give {method} a {keyword} parameter")


def optional(settings: OneShot, method: str) -> dict:
    """The ``OPTIONAL`` keywords of task ``method`` that ``settings`` set (unset ones are
    not passed: a task's own method need not take them)."""
    return {keyword: getattr(settings, setting) for setting, m, keyword, _, _ in OPTIONAL
            if m == method and getattr(settings, setting)}


def _takes(fn, name: str) -> bool:
    """Whether ``fn`` accepts a keyword argument ``name``."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature: let it try
        return True
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def run_one_shot(study, config, folder: str | os.PathLike | None, device: str | None = None,
                 on_phase: Phase | None = None) -> None:
    """Phases 1 and 2 for ``study`` (skipped when its scores are complete). ``folder``:
    the run folder (None: nothing is saved, a resume trains the supernet again)."""
    book = Book(study)
    if book.scoring_done():
        return
    task, space = config.task_object(), config.space_object()
    check_task(task, config.task, config.one_shot)
    device = device or config.device
    on_phase = on_phase or (lambda phase, done, total: None)
    with Interrupts() as intr:
        net = _trained_supernet(book, task, space, config, folder, device, intr, on_phase)
        _score_candidates(book, task, space, config, net, device, intr, on_phase)


def build_supernet(space, config):
    """The search's supernet, before training (``nas.supernet.SuperNet``)."""
    from nas.supernet import SuperNet

    s = config.one_shot
    return SuperNet(space, rule=s.rule, probe=s.probe, seed=config.seed, max_mb=s.max_mb,
                    norms=s.norms, rescale=s.rescale)


def _trained_supernet(book: Book, task, space, config, folder, device: str,
                      intr: Interrupts, on_phase: Phase):
    """Phase 1: the supernet loaded from the run folder, or trained now and saved."""
    import torch

    s = config.one_shot
    net = build_supernet(space, config)
    path = Path(folder) / SUPERNET_FILE if folder is not None else None
    if book.supernet() is not None and path is not None and path.is_file():
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return net
    on_phase("supernet", 0, 0)
    t0 = time.perf_counter()
    with intr.allowed():
        result = task.train_supernet(net, s.budget, sampling=s.sampling, seed=config.seed,
                                     device=device, progress=_Progress(book, on_phase),
                                     **optional(s, "train_supernet"))
    if not result.ok:
        raise OneShotError(f"training the supernet failed: {result.error}")
    with intr.deferred():
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            torch.save({k: v.detach().cpu() for k, v in net.state_dict().items()}, tmp)
            os.replace(tmp, path)  # atomic: a resume never loads half a file
        book.add_supernet({"file": SUPERNET_FILE if path is not None else None,
                           "train_time_s": time.perf_counter() - t0,
                           "metrics": dict(result.metrics)})
    return net


class _Progress:
    """Phase 1's ``progress(step, total)``: ``on_phase`` at every step, and the step
    stored in the study (for ``nas status``) at most every ``every_s`` seconds and at
    the last step."""

    def __init__(self, book: Book, on_phase: Phase, every_s: float | None = None):
        self.book, self.on_phase = book, on_phase
        self.every_s = PROGRESS_EVERY_S if every_s is None else every_s
        self.last = -math.inf

    def __call__(self, step: int, total: int | None) -> None:
        self.on_phase("supernet", step, total or 0)
        now = time.monotonic()
        if now - self.last >= self.every_s or step == total:
            self.book.set_progress(step, total)
            self.last = now


def _score_candidates(book: Book, task, space, config, net, device: str, intr: Interrupts,
                      on_phase: Phase) -> None:
    """Phase 2: the strategy's ask/tell loop over inherited-weight scores."""
    from nas.strategies import get_strategy

    objectives = list(book.study.objectives)
    strategy = get_strategy(config.strategy, space, seed=config.seed, objectives=objectives,
                            **config.strategy_options)
    seen: dict[str, Score] = {}
    for score in book.scores():  # a resume: what was scored before
        strategy.tell(dict(score.decisions), score.result)
        seen[score.fingerprint] = score
    total, n, invalid_streak = config.one_shot.candidates, len(seen), 0
    on_phase("scoring", n, total)
    while n < total:
        with intr.allowed():
            proposal = _propose(strategy, space, seen)
        if proposal is None:  # the strategy keeps proposing scored ones: a small space
            break
        graph, decisions, invalid, fp = proposal
        if invalid is not None:
            result = Result.failure(f"invalid architecture: {invalid}")
            invalid_streak += 1
            if invalid_streak >= MAX_INVALID and all(s.error for s in seen.values()):
                raise SpaceError(f"space '{config.space}' gave {invalid_streak} invalid "
                                 f"architectures in a row and no valid one yet; the last: "
                                 f"{invalid}")
        else:
            invalid_streak = 0
            with intr.allowed():
                result = _score(task, net, graph, config.seed + n, device,
                                config.one_shot, objectives)
        score = Score(n, decisions, fp, dict(result.objectives), dict(result.metrics),
                      result.error)
        with intr.deferred():
            book.add_score(score)
        strategy.tell(decisions, result)
        seen[fp] = score
        n += 1
        on_phase("scoring", n, total)
    with intr.deferred():
        book.finish_scoring(n)


def _propose(strategy, space, seen: dict[str, Score]) -> tuple | None:
    """(graph, decisions, invalid, fingerprint) of an architecture not scored yet; a
    repeat is told its score and asked again. None after ``DUPLICATE_TRIES`` repeats."""
    for _ in range(DUPLICATE_TRIES):
        graph, decisions, invalid = space.try_resolve(strategy.ask())
        fp = graph.fingerprint() if graph is not None else invalid_fingerprint(decisions)
        if fp not in seen:
            return graph, decisions, invalid, fp
        strategy.tell(decisions, seen[fp].result)
    return None


def _score(task, net, graph, seed: int, device: str, settings: OneShot,
           objectives: list) -> Result:
    """The candidate's inherited-weight Result with the study's objectives picked out;
    a task that raises gives a failed Result, never a stopped search. ``finetune``
    is passed only when set (a task's own ``score_inherited`` may not take it)."""
    try:
        result = task.score_inherited(net, graph, seed=seed, device=device,
                                      calib_batches=settings.calib_batches,
                                      **optional(settings, "score_inherited"))
    except Exception as exc:
        return Result.failure(f"runtime error: {type(exc).__name__}: {exc}")
    if not result.ok:
        return Result.failure(result.error or "pruned", **result.metrics)
    picked = {}
    for o in objectives:
        value = result.value(o.name)
        if value is None or not math.isfinite(value):
            return Result.failure(f"objective '{o.name}' was not measured with inherited "
                                  "weights", **result.metrics)
        picked[o.name] = float(value)
    return Result(picked, dict(result.metrics))


__all__ = ["SUPERNET_FILE", "OneShotError", "build_supernet", "check_task", "print_phase",
           "run_one_shot"]
