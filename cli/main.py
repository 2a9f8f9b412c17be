"""Entry point of the ``nas`` command."""

from __future__ import annotations

from pathlib import Path

import typer

import nas
from cli import (
    _benchmark,
    _export,
    _plot,
    _search,
    _show,
    _spaces,
    _status,
    _storage,
    _workers,
)
from cli._common import console, fail, read_architecture
from nas import render

app = typer.Typer(
    name="nas",
    help="nas-toolkit: neural architecture search for PyTorch.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

app.command("search")(_search.search_cmd)
app.command("resume")(_search.resume_cmd)
app.command("worker")(_workers.worker_cmd)
app.command("status")(_status.status_cmd)
app.command("plot")(_plot.plot_cmd)
app.command("show")(_show.show_cmd)
app.command("dashboard")(_plot.dashboard_cmd)
app.command("export")(_export.export_cmd)
app.command("train")(_export.train_cmd)
app.command("benchmark")(_benchmark.benchmark_cmd)
app.command("spaces")(_spaces.spaces_cmd)
app.command("tasks")(_spaces.tasks_cmd)
app.command("strategies")(_spaces.strategies_cmd)
app.command("check")(_spaces.check_cmd)
app.command("ops")(_spaces.ops_cmd)
app.add_typer(_storage.app, name="storage")


def _version(value: bool) -> None:
    if value:
        console.print(f"nas-toolkit {nas.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """nas-toolkit: neural architecture search for PyTorch."""


@app.command("graph")
def graph_cmd(
    path: Path = typer.Argument(..., help="An architecture JSON file (ArchGraph)."),
    fmt: str = typer.Option("summary", "--format", help="summary, mermaid or dot."),
) -> None:
    """Show an architecture JSON file as a summary table, Mermaid or DOT.

    \b
    Example: nas graph runs/x/architecture.json --format mermaid
    """
    if not path.is_file():
        raise fail(f"no such file: {path}")
    graph = read_architecture(path)
    if fmt not in render.FORMATS:
        raise fail(f"--format must be one of {', '.join(render.FORMATS)}")
    print(render.FORMATS[fmt](graph))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
