"""`nas status`: progress, leaderboard, workers and one trial in full; ``open_run``, the
study of a run folder or storage opened to read (for every reading command)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

import nas
from cli import _darts, _oneshot
from cli._common import STORAGE_OPTION, STUDY_OPTION, console, fail, warn_journal
from cli._leaderboard import print_leaderboard, status_line
from cli._trial import print_trial
from cli._workers import print_workers


def status_cmd(
    run_dir: Path = typer.Argument(None, help="A run folder (or use --storage/--study)."),
    storage: str = STORAGE_OPTION,
    study: str = STUDY_OPTION,
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
    trial: int = typer.Option(None, "--trial", help="Trial N in full: its metrics, "
                              "decisions and, when it failed, its traceback."),
) -> None:
    """Progress and leaderboard of a search, failed trials and their reasons included.

    \b
    Examples:
      nas status runs/cnn-mnist1d-20261125-101500
      nas status runs/cnn-mnist1d-20261125-101500 --trial 3   # why trial 3 failed
      nas status --storage sqlite:///nas.db --study big --format json
    """
    st = open_run(run_dir, storage, study)
    if trial is not None:
        print_trial(st, trial, fmt)
    elif fmt == "json":
        print(json.dumps([r.to_dict() for r in st.trials()], indent=2, default=str))
    elif fmt == "csv":
        print(st.leaderboard().to_csv(index=False), end="")
    elif fmt == "table":
        console.print(status_line(st), highlight=False)
        _oneshot.print_status(st)
        _darts.print_status(st)
        print_workers(st)
        print_leaderboard(st, top=20)
    else:
        raise fail("--format must be table, csv or json")


def open_run(run_dir, storage, study) -> nas.Study:
    """The study of a run folder or storage, opened to read (exit 2 when there is none)."""
    from nas.storage import JOURNAL

    if run_dir is None and storage is None:
        raise fail("give a run folder or --storage URL")
    if run_dir is not None and storage is None and not (Path(run_dir) / JOURNAL).exists():
        raise fail(f"'{run_dir}' is not a run folder (no {JOURNAL})")
    try:
        opened = nas.open_storage(storage, run_dir, create=False)
        warn_journal(opened)
        return nas.Study.load(opened, study)
    except nas.StorageError as exc:
        raise fail(str(exc)) from None
