"""SearchConfig: a search's settings, typed and checked once, handed unchanged from the
CLI or ``nas.search`` to every worker and its task.

Built once per command: from flags, then a config file, then (on resume) the study's
stored settings; each value is checked and parsed on the way in (the budget is a
``Budget``, the objectives ``Objective``s, the pruner a known name), so nothing
downstream parses text again. The same object, as JSON (``to_dict``), is stored with
the study; a worker process reads it back with ``from_dict``. The task is built once
per process and kept with the config (``config.task_object()``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from nas.budget import Budget
from nas.darts._settings import Differentiable, differentiable_of
from nas.metrics import resolve_objectives
from nas.objective import Objective, objectives_of
from nas.oneshot._settings import OneShot, one_shot_of
from nas.settings import ConfigError, check_setting


@dataclass(frozen=True)
class SearchConfig:
    """Everything a worker needs to join a search; stored with the study.

    Constructing one checks and normalizes every value (``ConfigError`` names the
    setting): ``budget`` text becomes a ``Budget``, ``objectives`` pairs or
    ``"name:dir"`` texts become ``Objective``s, ``workers`` "2" becomes 2. Objectives
    named without a direction are resolved against the task by ``SearchConfig.create``.
    """

    space: str  # registered space name or path/to/file.py:function
    task: str = "mnist1d"  # registered task name (or name:ARG)
    strategy: str = "evolution"  # registered strategy (optuna:tpe, nevergrad:NGOpt, ...)
    trials: int | None = 20  # finished trials to aim for (all workers); None: until timeout
    budget: Budget | None = None  # training budget per candidate; None: the task's default
    objectives: tuple[Objective, ...] = ()  # () until resolved: the task's own objective
    pruner: str = "none"  # a name in nas.pruners.PRUNERS
    seed: int = 0
    device: str = "auto"
    workers: int | str = 1  # processes at once (or "auto", "auto:N"); nas resume reuses it
    space_config: dict = field(default_factory=dict)
    task_config: dict = field(default_factory=dict)
    strategy_options: dict = field(default_factory=dict)
    keep_weights: int = 0  # save the trained weights of the best K trials (for export)
    weights_dir: str | None = None  # where they go: relative to the run folder ("weights")
    data: str | None = None  # the user's data file (.npz) the task reads, relative to the run
    artifacts: str | None = None  # kept weights' shared store: a folder or s3://BUCKET
    heartbeat_s: float = 5.0  # how often a worker marks its running trial alive
    stale_after_s: float = 60.0  # a RUNNING trial silent this long belongs to a dead worker
    one_shot: OneShot | None = None  # one-shot search (nas.oneshot); trials: those retrained
    differentiable: Differentiable | None = None  # DARTS search (nas.darts); its cell retrained

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "objectives":
                value = _objectives(value)
            elif f.name == "budget":
                value = check_setting("budget", value)
                value = None if value is None else Budget.parse(value)
            elif f.name == "one_shot":
                value = one_shot_of(value)
            elif f.name == "differentiable":
                value = differentiable_of(value)
            elif f.name == "device":  # this machine's devices: checked by create()
                if not isinstance(value, str) or not value.strip():
                    raise ConfigError("device", f"device must be auto, cpu, cuda or cuda:N, "
                                                f"got {value!r}")
            else:
                value = check_setting(f.name, value)
            object.__setattr__(self, f.name, value)
        object.__setattr__(self, "_task", None)
        object.__setattr__(self, "space_reason", "")  # why space "auto" chose this space
        if self.one_shot is not None and self.trials is not None \
                and self.trials > self.one_shot.candidates:
            raise ConfigError("trials", f"trials: with one-shot, trials counts the top "
                                        f"candidates retrained stand-alone; it must be <= the "
                                        f"{self.one_shot.candidates} candidates scored, got "
                                        f"{self.trials}")
        if self.differentiable is not None and self.trials is not None and self.trials > 1:
            raise ConfigError("trials", f"trials: a differentiable search trains the one cell "
                                        f"it finds; trials must be 1, got {self.trials}")

    # ------------------------------------------------------------ building
    @classmethod
    def create(cls, task_object=None, **settings) -> SearchConfig:
        """A checked config whose objectives are resolved against its task (built here,
        once, unless ``task_object`` is given); ``ConfigError`` names the first wrong
        setting. Unknown setting names raise ``TypeError``."""
        objectives = settings.pop("objectives", None)
        config = cls(**settings)
        check_setting("device", config.device)  # a device this machine lacks
        task = task_object if task_object is not None else config.task_object()
        if config.space == AUTO:
            name, reason = auto_space(task, config.task)
            config = config._with(space=name)
            object.__setattr__(config, "space_reason", reason)
        if isinstance(objectives, str):  # "val_acc:max,params"
            objectives = [o for o in objectives.split(",") if o.strip()]
        if objectives is not None and not (isinstance(objectives, list | tuple) and all(
                isinstance(o, str | list | tuple) for o in objectives)):
            raise ConfigError("objectives", f"objectives must be names such as val_acc:max "
                                            f"or (name, direction) pairs, got {objectives!r}")
        try:
            resolved = resolve_objectives(objectives, task)
        except ValueError as exc:
            raise ConfigError("objectives", str(exc)) from None
        config = config._with(objectives=tuple(resolved))
        object.__setattr__(config, "_task", task)
        config.check_strategy()
        if config.one_shot is not None:
            from nas.oneshot._flow import check_task

            try:
                check_task(task, config.task, config.one_shot)
            except ValueError as exc:
                raise ConfigError("one_shot", str(exc)) from None
        if config.differentiable is not None:
            from nas.darts._flow import check_darts_task

            if config.one_shot is not None:
                raise ConfigError("differentiable", "give one_shot or differentiable, not both")
            try:
                check_darts_task(task, config.task)
            except ValueError as exc:
                raise ConfigError("differentiable", str(exc)) from None
        if config.pruner != "none" and len(config.objectives) > 1:
            raise ConfigError("pruner", "pruners work with one objective only (optuna); drop "
                                        "--pruner or use a single objective")
        return config

    @classmethod
    def from_dict(cls, d: Mapping) -> SearchConfig:
        """A config from its stored JSON form (``to_dict``); unknown keys are ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_dict(self) -> dict:
        """The JSON form stored with the study (budget as text, objectives as pairs)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["budget"] = None if self.budget is None else str(self.budget)
        out["objectives"] = [list(o) for o in self.objectives]
        out["one_shot"] = None if self.one_shot is None else self.one_shot.to_dict()
        out["differentiable"] = None if self.differentiable is None else \
            self.differentiable.to_dict()
        return json.loads(json.dumps(out))  # plain lists and dicts, copied

    def replace(self, **changes) -> SearchConfig:
        """A copy with ``changes`` (checked); it keeps the built task when the task's
        name and settings are unchanged."""
        return self._with(**changes)

    def _with(self, **changes) -> SearchConfig:
        new = dataclasses.replace(self, **changes)
        if new.task == self.task and new.task_config == self.task_config:
            object.__setattr__(new, "_task", self._task)
        object.__setattr__(new, "space_reason", self.space_reason)
        return new

    # ------------------------------------------------------------ what it builds
    def task_object(self):
        """The task instance, built on first use and then reused (once per process);
        ``ConfigError("task", ...)`` when it cannot be built."""
        if self._task is None:
            from nas.registry import get_task

            data = {"data": self.data} if self.data else {}
            try:
                task = get_task(self.task, **self.task_config, **data)
            except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
                where = " (task_config)" if self.task_config else ""
                raise ConfigError("task", f"{exc}{where}") from None
            object.__setattr__(self, "_task", task)
        return self._task

    def space_object(self):
        """The space bound to the task's inputs and outputs, with the settings the task
        needs (e.g. a gnn's level) and then the user's ``space_config`` on top."""
        from nas.registry import get_space

        task = self.task_object()
        extra = {**(getattr(task, "space_config", None) or {}), **self.space_config}
        return get_space(self.space, in_shape=task.in_shape, n_out=task.n_out, **extra)

    def check_strategy(self) -> None:
        """An unknown strategy or an option its constructor lacks is a ConfigError."""
        from nas.strategies import check_options

        try:
            check_options(self.strategy, self.strategy_options)
        except ValueError as exc:
            key = "strategy_options" if self.strategy_options and "unknown strategy" \
                not in str(exc) else "strategy"
            raise ConfigError(key, str(exc)) from None

    # ------------------------------------------------------------ comparing with a study
    def differs_from(self, stored: SearchConfig) -> str:
        """'--budget: the run has 20steps, this command asks for 40steps' for the first
        setting that changes how trials are scored or proposed ('' when none does)."""
        for key in KEPT:
            before, now = getattr(stored, key), getattr(self, key)
            if before != now:
                flag = f"--{key.replace('_', '-')}" if key in FLAGS else key
                return (f"{flag}: the run has {_text(before, key)}, this command asks "
                        f"for {_text(now, key)}")
        return ""


AUTO = "auto"  # the space name that lets the task's data choose the space


def auto_space(task, task_name: str) -> tuple[str, str]:
    """``(space, reason)`` for ``space="auto"``: what the task's data suggests (its
    ``auto_space``, as the ``arrays`` task of your own data has)."""
    choice = getattr(task, "auto_space", None)
    if not choice:
        raise ConfigError("space", f"space 'auto' needs a task that can choose one from its "
                                   f"data (your own data: data=... in Python, --task "
                                   f"arrays:FILE.npz); task '{task_name}' cannot: name a space")
    return choice


# settings that change how trials are scored or proposed: a study keeps them for life
KEPT = ("strategy", "budget", "pruner", "strategy_options", "space_config", "task_config",
        "one_shot", "differentiable")
FLAGS = ("strategy", "budget", "pruner", "one_shot", "differentiable")


def _objectives(value) -> tuple[Objective, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError("objectives", f"objectives must be a list of (name, max|min) "
                                        f"pairs, got {value!r}")
    try:
        return tuple(objectives_of(value))
    except (ValueError, TypeError) as exc:
        raise ConfigError("objectives", f"objectives: {exc}") from None


def _text(value, key: str = "") -> str:
    if value is None:
        return {"one_shot": "no one-shot search", "differentiable": "no differentiable search"
                }.get(key, "the task's default")
    return str(value)


__all__ = ["KEPT", "ConfigError", "SearchConfig"]
