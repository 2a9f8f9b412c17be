"""`nas search`, `nas resume` and `nas worker`: run a search, continue one, join one."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

import typer
from rich.markup import escape

import nas
from cli._common import FAILURE, console, fail, warn_journal
from cli._config import load_config, parse_objectives
from cli._leaderboard import print_leaderboard, status_line

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
}


def parse_duration(text: str | None) -> float | None:
    """'15m', '90s', '1h', '1.5h', '300' (seconds) -> seconds."""
    if text in (None, ""):
        return None
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|sec|m|min|h|hr)?\s*", str(text))
    if not m:
        raise fail(f"cannot read duration {text!r}: write e.g. 90s, 15m or 1h")
    scale = {"s": 1, "sec": 1, None: 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}[m.group(2)]
    return float(m.group(1)) * scale


def _validate(opts: dict) -> None:
    """Check names and formats before anything trains (exit 2 with a hint)."""
    from nas.runner import space_config_for
    from nas.strategies import get_strategy

    try:
        task = nas.get_task(opts["task"])
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        raise fail(str(exc)) from None
    try:
        space = nas.get_space(opts["space"], in_shape=task.in_shape, n_out=task.n_out,
                              **space_config_for(task))
        space.sample_valid(0)  # a space may describe some invalid architectures
    except nas.SpaceError as exc:
        raise fail(str(exc)) from None
    except nas.GraphError as exc:
        raise fail(f"space '{opts['space']}' does not fit task '{opts['task']}': {exc}") from None
    try:
        get_strategy(opts["strategy"], space, seed=0)
    except (ValueError, TypeError, ImportError) as exc:
        raise fail(str(exc)) from None
    if opts["budget"] is not None:
        try:
            nas.Budget.parse(opts["budget"])
        except ValueError as exc:
            raise fail(str(exc)) from None
    if opts["pruner"] not in ("none", "median", "hyperband", "sha"):
        raise fail(f"unknown pruner '{opts['pruner']}'; use none, median or hyperband")
    w = str(opts["workers"])
    if not (w == "auto" or w.startswith("auto:") or (w.isdigit() and int(w) >= 1)):
        raise fail(f"--workers must be a number >= 1 or 'auto', got {w!r}")


class Progress:
    """Prints one line per finished trial: progress, best so far, ETA; between trials a
    spinner says that training goes on (on a terminal only)."""

    def __init__(self, total: int, objectives: list, done: int = 0):
        self.total, self.objectives = total, objectives
        self.done, self.start = done, time.time()
        self.best = None
        self.new = 0
        self.status = None  # the spinner, while the search runs

    def waiting(self) -> str:
        best = f", best {self.best:.4g}" if self.best is not None else ""
        return f"training candidates: {self.done}/{self.total} trials finished{best}"

    def __call__(self, rec) -> None:
        if rec.attrs.get("interrupted") or rec.attrs.get("stale"):  # not counted
            console.print(f"trial {rec.number:>3} stopped: {escape(str(rec.error))}",
                          highlight=False)
            return
        self.done += 1
        self.new += 1
        name, direction = self.objectives[0]
        sign = 1 if direction == "max" else -1
        if rec.state == "COMPLETE":
            v = rec.values[0]
            if self.best is None or sign * v > sign * self.best:
                self.best = v
            what = f"{name} {v:.4g}"
            params = rec.metrics.get("params")
            if params is not None:
                what += f"  params {int(params):,}"
        elif rec.state == "PRUNED":
            what = "pruned"
        else:
            what = f"[red]failed[/]: {escape(str(rec.error))}"
        elapsed = time.time() - self.start
        eta = elapsed / self.new * max(0, self.total - self.done)
        best = f"{self.best:.4g}" if self.best is not None else "-"
        console.print(f"[{self.done}/{self.total}] trial {rec.number:>3}  {what}  "
                      f"(best {best}, {elapsed:.0f}s, ETA {eta:.0f}s)", highlight=False)
        if self.status is not None:
            self.status.update(self.waiting())


def search_cmd(
    space: str = typer.Option(None, "--space", help="Search space (nas spaces) or file.py:fn."),
    task: str = typer.Option(None, "--task", help="Task (nas tasks). Default mnist1d."),
    strategy: str = typer.Option(None, "--strategy", help="Strategy (nas strategies)."),
    trials: int = typer.Option(None, "--trials", min=1, help="Trials to finish (all workers)."),
    timeout: str = typer.Option(None, "--timeout", help="Stop starting trials after: 15m."),
    budget: str = typer.Option(None, "--budget", help="Training per candidate: 300steps, "
                               "2epochs, 30s, or capped: 1000steps,30s. Default: the task's."),
    workers: str = typer.Option(None, "--workers", help="Processes at once, or auto "
                                "(one per GPU); auto:2 for two per GPU."),
    device: str = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N."),
    objectives: str = typer.Option(None, "--objectives", help='e.g. "val_acc:max,params:min".'),
    pruner: str = typer.Option(None, "--pruner", help="none, median or hyperband."),
    storage: str = typer.Option(None, "--storage", help="sqlite:///f.db, postgresql://..., "
                                "or a journal file; default RUN_DIR/study.journal."),
    study: str = typer.Option(None, "--study", help="Study name inside the storage."),
    run_dir: Path = typer.Option(None, "--run-dir", help="Folder for this run (default "
                                 "runs/<space>-<task>-<time>); an existing one is resumed."),
    seed: int = typer.Option(None, "--seed", help="Seed for proposals and training."),
    keep_weights: int = typer.Option(None, "--keep-weights", min=0, help="Save the trained "
                                     "weights of the best K trials for nas export (default 3)."),
    config: Path = typer.Option(None, "--config", help="YAML or TOML file with these options; "
                                "flags override it."),
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
      nas search --storage postgresql://u:pw@db/nas --study big --workers auto
    """
    given = {"space": space, "task": task, "strategy": strategy, "trials": trials,
             "timeout": timeout, "budget": budget, "workers": workers, "device": device,
             "objectives": objectives, "pruner": pruner, "seed": seed,
             "keep_weights": keep_weights}
    opts = dict(DEFAULTS)
    extra: dict = {}
    if config is not None:
        file_opts = load_config(config, allowed=set(DEFAULTS) | {
            "storage", "study", "run_dir", "space_config", "task_config", "strategy_options"})
        for key in ("storage", "study", "run_dir"):
            if key in file_opts and locals()[key] is None:
                given[key] = file_opts.pop(key)
        for key in ("space_config", "task_config", "strategy_options"):
            extra[key] = file_opts.pop(key, {}) or {}
        opts.update(file_opts)
    opts.update({k: v for k, v in given.items() if v is not None and k in DEFAULTS})
    storage = given.get("storage", storage) or storage
    study = given.get("study", study) or study
    run_dir = Path(given["run_dir"]) if given.get("run_dir") else run_dir
    _run(opts, storage, study, run_dir, extra)


def _run(opts: dict, storage: str | None, study: str | None, run_dir: Path | None,
         extra: dict, warned: bool = False) -> None:
    from nas.runner import WorkerCrashed, search
    from nas.study import StorageError

    _validate(opts)
    obj = parse_objectives(opts["objectives"]) if opts["objectives"] else None
    if storage is None and run_dir is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir = Path("runs") / f"{opts['space'].replace('/', '_').replace(':', '_')}-" \
                                 f"{opts['task'].replace(':', '_')}-{stamp}"
    timeout = parse_duration(opts["timeout"])
    workers = opts["workers"]
    workers = int(workers) if str(workers).isdigit() else workers
    from nas.study import redact

    where = redact(storage) if storage else run_dir
    console.print(f"searching space [bold]{opts['space']}[/] on task [bold]{opts['task']}[/] "
                  f"with [bold]{opts['strategy']}[/]: {opts['trials']} trials, budget "
                  f"{opts['budget'] or 'task default'}, workers {workers}; study in {where}",
                  highlight=False)
    try:
        existing = _existing(storage, study, run_dir, warn=not warned)
        task_obj = nas.get_task(opts["task"], **extra.get("task_config", {}))
        objs = obj or [task_obj.objective]
        progress = Progress(opts["trials"], objs, done=existing)
        with console.status(progress.waiting()) as progress.status:
            st = search(space=opts["space"], task=opts["task"], strategy=opts["strategy"],
                        trials=opts["trials"], timeout=timeout, workers=workers,
                        storage=storage, study=study, seed=opts["seed"], budget=opts["budget"],
                        objectives=objs, run_dir=run_dir, device=opts["device"],
                        pruner=opts["pruner"], space_config=extra.get("space_config"),
                        task_config=extra.get("task_config"),
                        strategy_options=extra.get("strategy_options"), on_trial=progress,
                        keep_weights=opts["keep_weights"])
    except StorageError as exc:
        raise fail(str(exc)) from None
    except WorkerCrashed as exc:
        raise fail(str(exc), FAILURE) from None
    except KeyboardInterrupt:
        _print_interrupted(storage, study, run_dir)
        raise typer.Exit(130) from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    print_leaderboard(st)
    if run_dir is not None:
        console.print(f"run folder: {run_dir}  (nas status {run_dir}; nas plot {run_dir} "
                      "--out best.png)\nnext: train the winner fully with nas train "
                      f"{run_dir}, or export it with nas export {run_dir}", highlight=False)
    if st.best is None:
        raise fail("no trial completed; see the errors above", FAILURE)


def _print_interrupted(storage, study, run_dir) -> None:
    """After Ctrl-C: what the storage holds and how to continue."""
    from nas.study import Study, open_storage, redact

    summary = ""
    try:
        st = Study.load(open_storage(storage, run_dir, create=False), study or "search")
        trials = st.trials()
        stopped = sum(r.state == "FAIL" and bool(r.attrs.get("interrupted")) for r in trials)
        counts = {s: sum(r.state == s for r in trials) for s in ("COMPLETE", "PRUNED", "FAIL")}
        counts["FAIL"] -= stopped
        summary = ", ".join(f"{v} {k.lower()}" for k, v in counts.items() if v)
        summary = f"{summary or 'no trial finished'}"
        if stopped:
            summary += f"; {stopped} running trial(s) stopped (marked 'interrupted', not counted)"
        best = st.best
        if best is not None:
            summary += f"; best {st.objectives[0][0]} {best.values[0]:.4g} (trial {best.number})"
    except Exception:  # the summary must not hide the interruption itself
        pass
    console.print(f"\ninterrupted: finished trials are saved. {summary}", highlight=False)
    if run_dir is not None and storage is None:
        console.print(f"continue with: nas resume {run_dir}", highlight=False)
    elif storage is not None:
        console.print(f"continue with the same nas search command, or: nas worker --storage "
                      f"{redact(storage)} --study {study or 'search'}", highlight=False)


def _existing(storage, study, run_dir, warn: bool = True) -> int:
    """Finished trials (that count) already in an existing study (0 for a new one).

    Opens it as a writer: a broken end of its journal is moved aside before anything is
    appended, and (``warn``) what the damage cost is printed.
    """
    from nas.runner import finished_count
    from nas.study import JOURNAL, Study, open_storage, storage_kind

    if storage is None and (run_dir is None or not (Path(run_dir) / JOURNAL).exists()):
        return 0
    try:
        kind, path = storage_kind(storage) if storage is not None else ("", "")
        if kind == "journal" and not Path(path).exists():
            return 0
        opened = open_storage(storage, run_dir)
        if warn:
            warn_journal(opened)
        st = Study.load(opened, study or "search")
    except Exception:
        return 0
    return finished_count(st.trials())


def resume_cmd(
    run_dir: Path = typer.Argument(..., help="A run folder made by nas search."),
    trials: int = typer.Option(None, "--trials", min=1, help="New trial target (default: the "
                               "run's own)."),
    workers: str = typer.Option(None, "--workers", help="Processes at once, or auto."),
) -> None:
    """Continue a search that stopped (crash, Ctrl-C, timeout) from its run folder.

    \b
    Example: nas resume runs/cnn-mnist1d-20261125-101500 --trials 40
    """
    from nas.study import JOURNAL, StorageError, Study, open_storage

    if not (run_dir / JOURNAL).exists():
        raise fail(f"'{run_dir}' is not a run folder (no {JOURNAL}); start one with nas search")
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
    opts = dict(DEFAULTS)
    opts.update({k: cfg[k] for k in ("space", "task", "strategy", "trials", "budget",
                                     "device", "pruner", "seed", "keep_weights") if k in cfg})
    opts["objectives"] = ",".join(f"{n}:{d}" for n, d in cfg.get("objectives", [])) or None
    if trials:
        opts["trials"] = trials
    if workers:
        opts["workers"] = workers
    extra = {k: cfg.get(k, {}) for k in ("space_config", "task_config", "strategy_options")}
    _run(opts, None, st.name, run_dir, extra, warned=True)


def worker_cmd(
    storage: str = typer.Option(..., "--storage", help="The search's storage URL or journal."),
    study: str = typer.Option(None, "--study", help="Study name (needed when the storage "
                              "holds several)."),
    trials: int = typer.Option(None, "--trials", min=1, help="Stop after this many trials "
                               "here (default: until the search's target is reached)."),
    device: str = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N."),
    index: int = typer.Option(1, "--index", help="Worker number (varies the proposal seed)."),
) -> None:
    """Join a running search from this machine: evaluate its candidates until it is done.

    \b
    Examples:
      nas worker --storage postgresql://user:pw@db-host/nas --study big
      nas worker --storage runs/cnn-mnist1d/study.journal --trials 5
    """
    from nas.runner import run_worker_process
    from nas.study import StorageError, open_storage

    try:
        open_storage(storage, create=False)  # a worker joins a search: it must exist
        warn_journal(open_storage(storage))  # as a writer: a broken journal end moves aside
        done = run_worker_process(storage, study, trials, index, device, None)
    except StorageError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        console.print(f"\nworker {index} interrupted: finished trials are saved; a trial it "
                      "was running is marked 'interrupted' and not counted")
        raise typer.Exit(130) from None
    console.print(f"worker {index}: {done} trials finished")


def status_cmd(
    run_dir: Path = typer.Argument(None, help="A run folder (or use --storage/--study)."),
    storage: str = typer.Option(None, "--storage", help="Storage URL or journal file."),
    study: str = typer.Option(None, "--study", help="Study name."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
) -> None:
    """Progress and leaderboard of a search, failed trials and their reasons included.

    \b
    Examples:
      nas status runs/cnn-mnist1d-20261125-101500
      nas status --storage sqlite:///nas.db --study big --format json
    """
    st = _open(run_dir, storage, study)
    if fmt == "json":
        print(json.dumps([r.to_dict() for r in st.trials()], indent=2, default=str))
    elif fmt == "csv":
        print(st.leaderboard().to_csv(index=False), end="")
    elif fmt == "table":
        console.print(status_line(st), highlight=False)
        print_leaderboard(st, top=20)
    else:
        raise fail("--format must be table, csv or json")


def _open(run_dir, storage, study):
    from nas.study import JOURNAL, StorageError, Study, open_storage

    if run_dir is None and storage is None:
        raise fail("give a run folder or --storage URL")
    if run_dir is not None and storage is None and not (Path(run_dir) / JOURNAL).exists():
        raise fail(f"'{run_dir}' is not a run folder (no {JOURNAL})")
    try:
        opened = open_storage(storage, run_dir, create=False)
        warn_journal(opened)
        return Study.load(opened, study)
    except StorageError as exc:
        raise fail(str(exc)) from None
