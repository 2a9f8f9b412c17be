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
