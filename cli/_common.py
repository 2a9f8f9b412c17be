"""Shared CLI plumbing: the console, errors that exit with a code, closest-name hints."""

from __future__ import annotations

import contextlib
import io
import os
import sys

import typer
from rich.console import Console
from rich.markup import escape

# the options of every command that reads a study from a storage instead of a run folder
STORAGE_OPTION = typer.Option(None, "--storage", help="Storage URL or journal file.")
STUDY_OPTION = typer.Option(None, "--study", help="Study name.")


class PipeSafeStdout:
    """``sys.stdout`` (whichever it is now) for the console, except that a reader that went
    away (``nas search ... | head -2``) silences it instead of raising: the command goes on,
    only its printing stops."""

    def __init__(self):
        self._closed = None  # the stdout stream whose reader went away

    @property
    def closed_pipe(self) -> bool:
        return self._closed is not None and self._closed is sys.stdout

    def write(self, text: str) -> int:
        if not self.closed_pipe:
            try:
                return sys.stdout.write(text)
            except BrokenPipeError:
                self._went_away()
        return len(text)

    def flush(self) -> None:
        if not self.closed_pipe:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                self._went_away()

    def _went_away(self) -> None:
        self._closed = sys.stdout
        # what is still buffered, and the interpreter's last flush, go nowhere
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            fd = sys.stdout.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)

    def isatty(self) -> bool:
        return not self.closed_pipe and sys.stdout.isatty()

    def fileno(self) -> int:
        return sys.stdout.fileno()

    @property
    def encoding(self) -> str:
        return getattr(sys.stdout, "encoding", None) or "utf-8"


stdout = PipeSafeStdout()
console = Console(file=stdout)
err_console = Console(stderr=True)

USAGE = 2  # exit code for bad input (unknown names, malformed options)
FAILURE = 1  # exit code for a run that failed


def fail(message: str, code: int = USAGE) -> typer.Exit:
    """Print ``error: message`` to stderr (one line, never wrapped) and return the Exit to
    raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False,
                      soft_wrap=True)
    return typer.Exit(code)


def writable(path) -> bool:
    """Whether ``path`` (a folder to write, existing or not) can be written by this user:
    itself when it exists, else the nearest folder above it that exists."""
    from pathlib import Path

    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def load_task(name: str, typed: dict | None = None, **config):
    """The registered task ``name`` (``name:ARG``), or a usage error that says why not:
    unknown name, bad argument, data files missing, optional extra not installed; an
    error about one of the ``typed`` options (``--task-option``) names it as typed."""
    import nas
    from cli._options import blame, mistyped

    try:
        return nas.get_task(name, **config)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        if not typed or name.partition(":")[0] not in nas.list_tasks():
            raise fail(str(exc)) from None
        suspects = mistyped(typed, nas.task_options(name.partition(":")[0]))
        raise fail(blame(str(exc), typed, "--task-option", suspects, must_name=True)) \
            from None


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
