"""Entry point of the ``nas`` command."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

import nas

app = typer.Typer(
    name="nas",
    help="nas-toolkit: neural architecture search for PyTorch.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
console = Console()


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


@app.command("ops")
def ops_cmd() -> None:
    """List the registered primitives with their parameters.

    Example: nas ops
    """
    table = Table("op", "inputs", "params", "what it does")
    for name in nas.list_ops():
        spec = nas.get_op(name)
        params = ", ".join(k if v is nas.ops.REQUIRED else f"{k}={v}"
                           for k, v in spec.params.items())
        table.add_row(name, spec.arity_text(), params, spec.doc.split(". ")[0])
    console.print(table)


@app.command("graph")
def graph_cmd(
    path: Path = typer.Argument(..., help="An architecture JSON file (ArchGraph)."),
    fmt: str = typer.Option("summary", "--format", help="summary, mermaid or dot."),
) -> None:
    """Show an architecture JSON file as a summary table, Mermaid or DOT.

    Example: nas graph runs/x/architecture.json --format mermaid
    """
    try:
        graph = nas.ArchGraph.from_json(path.read_text())
    except FileNotFoundError:
        console.print(f"[red]error:[/] no such file: {path}")
        raise typer.Exit(2) from None
    except nas.GraphError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    renders = {"summary": graph.summary, "mermaid": graph.to_mermaid, "dot": graph.to_dot}
    if fmt not in renders:
        console.print(f"[red]error:[/] --format must be one of {', '.join(renders)}")
        raise typer.Exit(2)
    print(renders[fmt]())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
