"""Shared CLI plumbing: the console, errors that exit with a code, closest-name hints."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)

USAGE = 2  # exit code for bad input (unknown names, malformed options)
FAILURE = 1  # exit code for a run that failed


def fail(message: str, code: int = USAGE) -> typer.Exit:
    """Print ``error: message`` to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def load_task(name: str, **config):
    """The registered task ``name`` (``name:ARG``), or a usage error that says why not:
    unknown name, bad argument, data files missing, optional extra not installed."""
    import nas

    try:
        return nas.get_task(name, **config)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        raise fail(str(exc)) from None


def read_architecture(path):
    """The validated ArchGraph in the JSON file ``path``, or a usage error naming it."""
    import nas

    try:
        graph = nas.ArchGraph.from_json(path.read_text())
        graph.validate()
    except nas.GraphError as exc:
        raise fail(f"'{path}': {exc}") from None
    return graph


def warn_journal(storage) -> None:
    """Say on stderr what a damaged journal file cost when it was read: one line per
    damaged place and per broken end moved aside, with what to do. Silent for an intact
    journal and for other storages."""
    if not callable(getattr(storage, "damage", None)):
        return
    path = storage.path
    for m in storage.moved:
        _warn(f"{path}: moved its broken end ({m.length:,} bytes from byte {m.offset:,}) "
              f"aside to {m.path}; every intact record before it is kept")
    for d in storage.damage():
        what = f"{d.length:,} damaged bytes at byte {d.offset:,}"
        lost = [x for x in d.lost if x.startswith("trial")]
        held = [x for x in d.lost if not x.startswith("trial")]
        if held:
            what += f" (they held {', '.join(held)})"
        if lost:
            what += (f"; {', '.join(lost)} lost: shown failed and not counted, so a resumed "
                     "search runs another")
            if d.skipped:
                what += f" ({d.skipped} later records of it skipped)"
        if d.at_end:
            cause = " (an unfinished record: a crash while writing, or a write going on " \
                    "now)" if d.unfinished else ""
            _warn(f"{path}: skipped {what} at its end{cause}; every record before them was "
                  "read. nas resume (or the same nas search or nas worker) moves them aside "
                  f"to {path}.corrupt-<time> and goes on")
        else:
            _warn(f"{path}: skipped {what}; the records after them were read. The damaged "
                  "bytes stay in the file and are skipped on every read")


def _warn(message: str) -> None:
    err_console.print(f"[bold yellow]warning:[/] {escape(message)}", highlight=False,
                      soft_wrap=True)
