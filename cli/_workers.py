"""Workers: `nas worker` (join a running search from this machine) and the workers
table that `nas status` prints for a study searched by several workers."""

from __future__ import annotations

import time

import typer
from rich import box
from rich.table import Table

from cli._common import console, fail, warn_journal
from nas.workers import study_workers


def ago(seconds: float | None) -> str:
    """12s ago, 4m ago, 3h ago, 2d ago; "-" for never."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def print_workers(st, now: float | None = None) -> None:
    """One row per worker (index, host, pid, device, trials done, running trial, last
    heartbeat, state), when more than one worker has worked on the study."""
    workers = study_workers(st, now=now)
    if len(workers) < 2:
        return
    now = time.time() if now is None else now
    live = sum(w.state == "working" for w in workers)
    table = Table(title=f"workers: {len(workers)} ({live} working)", title_justify="left",
                  header_style="bold", box=box.SIMPLE_HEAD)
    for name in ("#", "host", "pid", "device", "done", "failed", "running", "heartbeat",
                 "state"):
        table.add_column(name, no_wrap=True,
                         justify="left" if name in ("host", "device", "state") else "right")
    for w in workers:
        table.add_row("-" if w.index is None else str(w.index), w.host, str(w.pid),
                      w.device or "-", str(w.done), str(w.failed),
                      "-" if w.running is None else f"#{w.running}",
                      ago(None if w.last_seen is None else now - w.last_seen), w.state)
    console.print(table)


def worker_cmd(
    storage: str = typer.Option(..., "--storage", help="The search's storage URL or journal."),
    study: str = typer.Option(None, "--study", help="Study name (needed when the storage "
                              "holds several)."),
    trials: int = typer.Option(None, "--trials", min=1, help="Stop after this many trials "
                               "here (default: until the search's target is reached)."),
    device: str = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N."),
    index: int = typer.Option(None, "--index", min=0, help="Worker number (varies the "
                              "proposal seed); default: the smallest no running worker of "
                              "the study holds."),
    artifacts: str = typer.Option(None, "--artifacts", help="This machine's path to the "
                                  "run's artifact store (default: the one stored with it)."),
) -> None:
    """Join a running search from this machine: evaluate its candidates until it is done.

    \b
    Examples:
      nas worker --storage postgresql://user:pw@db-host/nas --study big
      nas worker --storage runs/cnn-mnist1d/study.journal --trials 5
    """
    from nas import StorageError, open_storage
    from nas.artifacts import ArtifactError
    from nas.processes import run_worker_process

    claimed: list[int] = []  # the index this worker took
    try:
        open_storage(storage, create=False)  # a worker joins a search: it must exist
        warn_journal(open_storage(storage))  # as a writer: a broken journal end moves aside
        done = run_worker_process(storage, study, trials, index, device, None,
                                  on_claim=claimed.append, artifacts=artifacts)
    except (StorageError, ArtifactError) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        who = claimed[0] if claimed else index
        console.print(f"\nworker {who} interrupted: finished trials are saved; a trial it "
                      "was running is marked 'interrupted' and not counted")
        raise typer.Exit(130) from None
    console.print(f"worker {claimed[0]}: {done} trial{'' if done == 1 else 's'} finished")
