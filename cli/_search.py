"""`nas search`, `nas resume` and `nas worker`: run a search, continue one, join one."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import typer
from rich.markup import escape

import nas
from cli import _darts, _from, _oneshot
from cli._common import FAILURE, console, fail, warn_journal
from cli._config import load_config, parse_objectives
from cli._leaderboard import print_leaderboard
from cli._options import (
    FLAGS,
    FROM_CONFIG,
    SPACE_OPTION,
    STRATEGY_OPTION,
    TASK_OPTION,
    blame,
    merge_options,
    mistyped,
)
from cli._run_folder import check_run_dir as _check_run_dir
from cli._run_folder import existing as _existing
from cli._run_folder import print_interrupted as _print_interrupted
from cli._storage import ARTIFACTS_OPTION
from nas.trial import TIMED_OUT

DEFAULTS = {
    "space": "cnn",
    "task": "mnist1d",
    "strategy": "evolution",
    "trials": 20,
    "budget": None,
    "workers": "1",
    "device": "auto",
    "objectives": None,
    "pruner": "none",
    "seed": 0,
    "timeout": None,
    "keep_weights": 3,
    "artifacts": None,  # --artifacts: kept weights in a shared store (nas.artifacts)
    "one_shot": None,  # --one-shot, or a config file's one_shot: true | {budget: ..., ...}
    "differentiable": None,  # --differentiable, or a config file's differentiable: true | {...}
}


def parse_duration(text: str | float | None) -> float | None:
    """'15m', '90s', '1h', '1.5h', '300' (seconds) -> seconds; ValueError if unreadable."""
    if text in (None, ""):
        return None
    m = None if isinstance(text, bool) else \
        re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|sec|m|min|h|hr)?\s*", str(text))
    if not m or not float(m.group(1)) > 0:
        raise ValueError(f"timeout: cannot read duration {text!r}: write e.g. 90s, 15m or 1h")
    scale = {"s": 1, "sec": 1, None: 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}[m.group(2)]
    return float(m.group(1)) * scale


PLACES = ("storage", "study", "run_dir")  # where the study lives: text, never stored in it
MAPPINGS = ("space_config", "task_config", "strategy_options")
QUIET_KEYS = ("task", "strategy")  # their errors name themselves: no --flag prefix


def _config(settings: dict, from_file: set, config: Path | None):
    """The one ``SearchConfig`` of this command, and its timeout in seconds, from
    ``settings`` (defaults, then the config file, then flags): every value checked,
    the task built and the objectives resolved. A bad value exits 2 naming the flag, or
    the config file when it came from there, before anything is stored."""
    from nas.config import SearchConfig
    from nas.settings import ConfigError

    s = dict(settings)
    key = "timeout"
    try:
        timeout = parse_duration(s.pop("timeout"))
        objectives = s.pop("objectives")
        if isinstance(objectives, str):
            objectives = parse_objectives(objectives)
        return SearchConfig.create(objectives=objectives, **s), timeout
    except ConfigError as exc:
        key, text = exc.key, str(exc)
    except ValueError as exc:
        text = str(exc)
    if key == "task" and s.get("task_config") and _known_task(s["task"]):
        if "task_config" not in from_file:  # the task's options: the flag as typed
            raise fail(blame(text, s["task_config"], FLAGS["task_config"], mistyped(
                s["task_config"], nas.task_options(s["task"].partition(":")[0]))))
        key, text = "task_config", f"task_config: {text.removesuffix(FROM_CONFIG)}"
    if key in FLAGS and key not in from_file and s.get(key):  # e.g. an unknown option
        raise fail(blame(text.removeprefix(f"{key}: "), s[key], FLAGS[key]))
    if key == "task":  # an unknown task: its options are not at fault
        text = text.removesuffix(FROM_CONFIG)
    if key not in QUIET_KEYS and not text.startswith(key):
        text = f"{key}: {text}"
    if key in from_file:
        raise fail(f"config file '{config}': {text}")
    if key not in QUIET_KEYS:  # a flag: name it as typed
        text = f"--{key.replace('_', '-')}{text[len(key):]}"
    raise fail(text)


def _known_task(name: str) -> bool:
    return name.partition(":")[0] in nas.list_tasks()


def _check_fits(config, from_file: set = frozenset()) -> None:
    """The space builds for the task, and the strategy for the space (exit 2 with a
    hint, naming the --space-option or --strategy-option at fault), before anything
    trains."""
    from nas.strategies import get_strategy, option_defaults

    try:
        space = config.space_object()
        space.sample_valid(0)  # a space may describe some invalid architectures
    except nas.SpaceError as exc:
        typed = "space_config" not in from_file and config.space_config
        raise fail(blame(str(exc), config.space_config, FLAGS["space_config"],
                         must_name=True) if typed else str(exc)) from None
    except nas.GraphError as exc:
        raise fail(f"space '{config.space}' does not fit task '{config.task}': {exc}") \
            from None
    options = config.strategy_options
    try:
        get_strategy(config.strategy, space, seed=0, **options)
    except (ValueError, TypeError, ImportError) as exc:
        if isinstance(exc, TypeError) and options:  # a value of the wrong type
            exc = f"a value does not fit strategy '{config.strategy}' ({exc}); its " \
                  f"options and defaults: {_defaults(config.strategy)}"
        if options and "strategy_options" not in from_file:
            raise fail(blame(str(exc), options, FLAGS["strategy_options"], suspects=mistyped(
                options, option_defaults(config.strategy)))) from None
        raise fail(f"strategy_options: {exc}" if options else str(exc)) from None


def _defaults(strategy: str) -> str:
    """'population=10, sample=3, ...': a strategy's options with their defaults."""
    from nas.strategies import option_defaults

    return ", ".join(f"{k}={v!r}" for k, v in option_defaults(strategy).items())


class Progress(nas.TrialProgress):
    """The search's per-trial lines on the console; between trials a spinner says that
    training goes on (on a terminal only)."""

    status = None  # the spinner, while the search runs

    def __call__(self, rec: nas.TrialRecord) -> None:
        console.print(escape(self.line(rec)), highlight=False)
        if self.status is not None:
            self.status.update(self.waiting())


def search_cmd(
    space: str = typer.Option(None, "--space", help="Search space (nas spaces) or file.py:fn."),
    task: str = typer.Option(None, "--task", help="Task (nas tasks). Default mnist1d."),
    strategy: str = typer.Option(None, "--strategy", help="Strategy (nas strategies)."),
    trials: int = typer.Option(None, "--trials", min=1, help="Trials to finish (all workers; "
                               "default 20, none with --timeout)."),
    timeout: str = typer.Option(None, "--timeout", help="Stop after: 15m (a trial still "
                                "training stops at its next report, kept as stopped, not "
                                "counted); alone, no trial count: trials until then."),
    budget: str = typer.Option(None, "--budget", help="Training per candidate: 300steps, "
                               "2epochs, 30s, or capped: 1000steps,30s. Default: the task's."),
    workers: str = typer.Option(None, "--workers", help="Processes at once, or auto "
                                "(one per GPU); auto:2 for two per GPU."),
    device: str = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N."),
    objectives: str = typer.Option(None, "--objectives", help='e.g. "val_acc:max,params:min"; '
                                   "a name alone takes the task's direction (val_loss: min)."),
    pruner: str = typer.Option(None, "--pruner", help="none, median, hyperband or sha."),
    storage: str = typer.Option(None, "--storage", help="sqlite:///f.db, postgresql://..., "
                                "or a journal file; default RUN_DIR/study.journal."),
    study: str = typer.Option(None, "--study", help="Study name inside the storage."),
    run_dir: Path = typer.Option(None, "--run-dir", help="Folder for this run (default "
                                 "runs/<space>-<task>-<time>); an existing one is resumed."),
    seed: int = typer.Option(None, "--seed", help="Seed for proposals and training."),
    keep_weights: int = typer.Option(None, "--keep-weights", min=0, help="Save the trained "
                                     "weights of the best K trials for nas export (default 3)."),
    artifacts: str = ARTIFACTS_OPTION,
    config: Path = typer.Option(None, "--config", help="YAML or TOML file with these options; "
                                "flags override it."),
    one_shot: bool = _oneshot.ONE_SHOT,
    one_shot_budget: str = _oneshot.BUDGET,
    one_shot_candidates: int = _oneshot.CANDIDATES,
    one_shot_rule: str = _oneshot.RULE,
    one_shot_sampling: str = _oneshot.SAMPLING,
    one_shot_finetune: int = _oneshot.FINETUNE, one_shot_norms: str = _oneshot.NORMS,
    one_shot_rescale: bool = _oneshot.RESCALE,
    one_shot_distinct: float = _oneshot.DISTINCT, one_shot_lr: float = _oneshot.LR,
    differentiable: bool = _darts.DIFFERENTIABLE, darts_budget: str = _darts.BUDGET,
    darts_guard: str = _darts.GUARD,
    task_option: list[str] = TASK_OPTION, space_option: list[str] = SPACE_OPTION,
    strategy_option: list[str] = STRATEGY_OPTION,
    from_model: str = _from.FROM, edits: str = _from.EDITS, max_edits: int = _from.MAX_EDITS,
    max_params: int = _from.MAX_PARAMS,
) -> None:
    """Run an architecture search and print the leaderboard.

    With no options: the cnn space on mnist1d with evolution, 20 trials of 1,000 training
    steps each (capped at 30 s a trial: minutes on a laptop CPU). A run folder holds
    the study; run the same command again (or `nas resume RUN_DIR`) to continue after
    a crash.

    \b
    Examples:
      nas search
      nas search --space mlp --task mnist1d --trials 50 --budget 500steps
      nas search --space cnn --objectives "val_acc:max,params:min" --workers 2
      nas search --config search.yaml --seed 3
      nas search --space mlp --task csv:data.csv --task-option target=label
      nas search --one-shot --one-shot-candidates 200 --trials 3
      nas search --space nb201 --differentiable --darts-budget 1000steps
      nas search --storage postgresql://u:pw@db/nas --study big --workers auto
      nas search --from model.py:build --edits widen,deepen,skip --task mnist1d
    """
    flags = {"space": space, "task": task, "strategy": strategy, "trials": trials,
             "timeout": timeout, "budget": budget, "workers": workers, "device": device,
             "objectives": objectives, "pruner": pruner, "seed": seed,
             "keep_weights": keep_weights, "artifacts": artifacts}
    flags = {k: v for k, v in flags.items() if v is not None}
    space_option = _from.from_flags(flags, space_option, from_model, edits, max_edits,
                                    max_params)
    places = {"storage": storage, "study": study, "run_dir": run_dir}
    file_opts: dict = {}
    if config is not None:
        file_opts = load_config(config, allowed={*DEFAULTS, *PLACES, *MAPPINGS})
        for key in PLACES:
            value = file_opts.pop(key, None)
            if value is not None and not isinstance(value, str):
                raise fail(f"config file '{config}': {key} must be text, got {value!r}")
            if places[key] is None and value is not None:
                places[key] = Path(value) if key == "run_dir" else value
    settings = _oneshot.settings(
        {**DEFAULTS, **file_opts, **flags}, {**file_opts, **flags}, one_shot,
        budget=one_shot_budget, candidates=one_shot_candidates, rule=one_shot_rule,
        sampling=one_shot_sampling, finetune=one_shot_finetune, norms=one_shot_norms,
        rescale=one_shot_rescale, distinct=one_shot_distinct, lr=one_shot_lr)
    settings = _darts.settings(settings, {**file_opts, **flags}, differentiable,
                               budget=darts_budget, guard=darts_guard)
    _from.from_defaults(settings, {**file_opts, **flags}, from_model)
    if settings.get("timeout") is not None and not settings.get("one_shot") \
            and not settings.get("differentiable") \
            and "trials" not in {**file_opts, **flags}:
        settings["trials"] = None  # bounded by time alone: pruning buys more candidates
    from_file = set(file_opts) - set(flags)
    merge_options(settings, from_file, {"task_config": task_option, "space_config":
                                        space_option, "strategy_options": strategy_option})
    _run(settings, places["storage"], places["study"], places["run_dir"], from_file, config)


def _run(settings: dict, storage: str | None, study: str | None, run_dir: Path | None,
         from_file: set = frozenset(), config_path: Path | None = None,
         warned: bool = False) -> None:
    from nas import StorageError, WorkerCrashed, search
    from nas.storage import redact

    config, timeout = _config(settings, set(from_file), config_path)
    _check_fits(config, from_file)
    if storage is None and run_dir is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir = Path("runs") / f"{config.space.replace('/', '_').replace(':', '_')}-" \
                                 f"{config.task.replace(':', '_')}-{stamp}"
    if run_dir is not None:
        _check_run_dir(Path(run_dir))
    where = redact(storage) if storage else run_dir
    console.print(f"searching space [bold]{config.space}[/] on task [bold]{config.task}[/] "
                  f"{_method(config)}: {_target(config, timeout)}, budget "
                  f"{_budget_text(settings['budget'], config)}, workers "
                  f"{config.workers}; study in {where}", highlight=False)
    summary = getattr(config.task_object(), "summary", None)  # your own data: what it is
    if summary is not None:
        console.print(escape(summary()), highlight=False)
    if config.space_reason:
        console.print(f"space {config.space} chosen from the data: {config.space_reason}",
                      highlight=False)
    try:
        existing, best = _existing(storage, study, run_dir, warn=not warned)
        progress = Progress(config.trials, config.objectives, done=existing, best=best,
                            deadline=time.time() + timeout if timeout else None)
        with console.status(progress.waiting()) as progress.status:
            st = search(config=config, timeout=timeout, storage=storage, study=study,
                        run_dir=run_dir, on_trial=progress, progress=False,
                        on_phase=(_darts.Phases if config.differentiable is not None
                                  else _oneshot.Phases)(progress, config))
    except StorageError as exc:
        raise fail(str(exc)) from None
    except (WorkerCrashed, nas.OneShotError, nas.darts.DartsError) as exc:
        raise fail(str(exc), FAILURE) from None
    except KeyboardInterrupt:
        _print_interrupted(storage, study, run_dir)
        raise typer.Exit(130) from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    except PermissionError as exc:
        raise fail(f"cannot write {exc.filename or where}: permission denied; use a folder "
                   "you can write (--run-dir)") from None
    print_leaderboard(st)
    if run_dir is not None:
        console.print(f"run folder: {run_dir}  (nas status {run_dir}; nas plot {run_dir} "
                      f"--out best.png)\nnext: {_next(run_dir, config)}", highlight=False,
                      soft_wrap=True)  # commands stay whole, to copy at any width
    if st.best is None:
        raise fail(_none_completed(st.trials()), FAILURE)


def _next(run_dir, config) -> str:
    """What to do with the winner: train it fully, or, grown from a model (its value is
    the training its line of descent carried), fine-tune it from the weights its search
    trained; or export it."""
    if str(config.space).startswith("grow:"):
        train = (f"fine-tune the winner from the weights its search trained with nas train "
                 f"{run_dir} --from-inherited (from scratch: nas train {run_dir})")
    else:
        train = f"train the winner fully with nas train {run_dir}"
    return f"{train}, or export it with nas export {run_dir}"


def _none_completed(trials) -> str:
    """Why a search ended without a result, and what to change: every trial stopped at
    the timeout (not an error: give it more time or a smaller budget), pruned, or failed."""
    timed_out = sum(1 for t in trials if t.attrs.get(TIMED_OUT))
    pruned = sum(1 for t in trials if t.state == "PRUNED" and not t.attrs.get(TIMED_OUT))
    failed = sum(1 for t in trials if t.state == "FAIL")
    if not trials:
        return "no trial started: give the search more time (--timeout) or trials (--trials)"
    if timed_out and not failed:
        return (f"no trial completed: {timed_out} stopped at the --timeout before finishing "
                f"its training{f' and {pruned} pruned' if pruned else ''}; give the search "
                "more time (--timeout) or each trial less (--budget), then nas resume the "
                "run folder")
    if pruned and not failed:
        return (f"no trial completed: the pruner stopped all {pruned}; use a gentler "
                "--pruner or more --trials")
    return "no trial completed; see the errors above"


def _method(config) -> str:
    """'with evolution', or 'by differentiable search' (which proposes no trials by a
    strategy: its one trial is the cell it found)."""
    if config.differentiable is not None:
        return "by [bold]differentiable search[/]"
    return f"with [bold]{config.strategy}[/]"


def _target(config, timeout: float | None) -> str:
    """'20 trials' ('1 trial'), or 'trials for 15m' for a search bounded by time alone."""
    if config.trials is not None:
        return f"{config.trials} trial{'' if config.trials == 1 else 's'}"
    if not timeout:
        return "trials"
    return f"trials for {timeout:g}s" if timeout < 120 else f"trials for {timeout / 60:.3g}m"


def _budget_text(given, config) -> str:
    """The budget as the user wrote it (the parsed one when it came from a study), or
    the task's default that applies: '1000steps,30s (the task's default)'."""
    if config.budget is None:
        default = getattr(config.task_object(), "default_budget", None)
        return f"{default} (the task's default)" if default else "the task's default"
    return given if isinstance(given, str) else str(config.budget)


def resume_cmd(
    run_dir: Path = typer.Argument(..., help="A run folder made by nas search."),
    trials: int = typer.Option(None, "--trials", min=1, help="New trial target, all the "
                               "run's trials counted, pruned ones too (default: the run's own; "
                               "none with --timeout)."),
    workers: str = typer.Option(None, "--workers", help="Processes at once, or auto."),
    artifacts: str = ARTIFACTS_OPTION,
    timeout: str = typer.Option(None, "--timeout", help="Stop after: 15m (a trial still "
                                "training stops at its next report, kept as stopped, not "
                                "counted); alone, no trial count: trials until then."),
) -> None:
    """Continue a search that stopped (crash, Ctrl-C, timeout) from its run folder.

    \b
    Examples:
      nas resume runs/cnn-mnist1d-20261125-101500 --trials 40
      nas resume runs/cnn-mnist1d-20261125-101500 --timeout 10m
    """
    from nas import StorageError, Study, open_storage
    from nas.storage import JOURNAL

    if not (run_dir / JOURNAL).exists():
        raise fail(f"'{run_dir}' is not a run folder (no {JOURNAL}); start one with nas search")
    _check_run_dir(run_dir)  # before opening it as a writer
    try:
        storage = open_storage(None, run_dir)  # a broken end of the journal moves aside
        warn_journal(storage)
        st = Study.load(storage)
    except StorageError as exc:
        raise fail(str(exc)) from None
    cfg = st.config
    if "space" not in cfg:
        raise fail(f"the study in '{run_dir}' lost its stored settings (a damaged record); "
                   f"continue it with nas search, the run's options and --run-dir {run_dir}")
    settings = {**DEFAULTS, **{k: cfg[k] for k in (*DEFAULTS, *MAPPINGS) if k in cfg}}
    settings["objectives"] = cfg.get("objectives") or None
    if cfg.get("data"):  # your own data, stored in the run folder
        settings["data"] = str(run_dir / cfg["data"])
    settings.update({k: v for k, v in (("trials", trials), ("workers", workers),
                                       ("artifacts", artifacts)) if v})
    if timeout is not None:
        settings["timeout"] = timeout
        if trials is None and not settings.get("one_shot"):
            settings["trials"] = None  # bounded by time alone, as nas search --timeout is
    _run(settings, None, st.name, run_dir, warned=True)
