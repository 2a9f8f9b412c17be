"""`nas benchmark nb201`: compare strategies on the NAS-Bench-201 table, no training."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.table import Table

import nas
from cli._common import console, err_console, fail

TABLE_ENV = "NAS_NB201_TABLE"


def benchmark_cmd(
    bench: str = typer.Argument("nb201", help="The tabular benchmark (nb201)."),
    table: Path = typer.Option(None, "--table", help="Path of nb201_test_accuracy.csv "
                               f"(or set ${TABLE_ENV})."),
    strategy: list[str] = typer.Option(None, "--strategy", help="Strategy to compare "
                                       "(repeat the flag for several)."),
    evals: str = typer.Option("50,100", "--evals", help="Evaluation budgets, e.g. 50,100."),
    seeds: int = typer.Option(20, "--seeds", min=1, help="Seeds per strategy."),
    dataset: str = typer.Option("cifar10", "--dataset", help="cifar10, cifar100 or "
                                "imagenet16."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
    out: Path = typer.Option(None, "--out", help="Also write the rows as JSON here."),
) -> None:
    """Compare strategies on NAS-Bench-201: the mean and std of the best test accuracy
    found after N evaluations over K seeds, and the regret to the table's optimum.

    \b
    Examples:
      nas benchmark nb201 --table nb201_test_accuracy.csv --strategy evolution \\
          --strategy random --evals 50,100 --seeds 20
      nas benchmark nb201 --table t.csv --strategy optuna:tpe --dataset cifar100 --format json
    """
    from nas.benchmark import compare
    from search_spaces.nb201 import to_arch_string

    if bench != "nb201":
        raise fail(f"unknown benchmark '{bench}'; available: nb201")
    if fmt not in ("table", "json"):
        raise fail("--format must be table or json")
    scores = _scores(table, dataset)
    budgets = _budgets(evals)
    names = strategy or ["evolution", "random"]
    space = nas.get_space("nb201", skeleton=False)
    _check_strategies(names, space)
    optimum = max(scores.values())

    def progress(msg: str) -> None:
        err_console.print(f"  {msg}", highlight=False)

    rows = compare(space, lambda d: scores[to_arch_string(d)], names, budgets, seeds,
                   optimum=optimum, progress=progress if fmt == "table" else None)
    rows = [{k: r[k] if k != "dataset" else dataset for k in KEYS} for r in rows]
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rows, indent=2))
    if fmt == "json":
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows, dataset, optimum)


KEYS = ("strategy", "dataset", "evals", "seeds", "mean", "std", "regret", "optimum",
        "ms_per_iteration")  # a row of the benchmark, in this order


def _scores(table: Path | None, dataset: str) -> dict:
    """The table's test accuracy per architecture string (exit 2 when it is missing)."""
    from search_spaces.nb201 import load_table

    table = table or (Path(os.environ[TABLE_ENV]) if os.environ.get(TABLE_ENV) else None)
    if table is None:
        raise fail(f"pass the NAS-Bench-201 table with --table PATH (or set ${TABLE_ENV})")
    try:
        return load_table(table, dataset)
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None


def _budgets(evals: str) -> list[int]:
    """'50,100' -> [50, 100] (exit 2 unless they are positive whole numbers)."""
    try:
        budgets = sorted({int(x) for x in evals.split(",") if x.strip()})
    except ValueError:
        raise fail(f"--evals must be numbers like 50,100, got {evals!r}") from None
    if not budgets or budgets[0] < 1:
        raise fail("--evals must be positive numbers")
    return budgets


def _check_strategies(names: list[str], space) -> None:
    """Every strategy named can be built on the space (exit 2 naming the bad one)."""
    from nas.strategies import get_strategy

    for name in names:
        try:
            get_strategy(name, space, seed=0)
        except (ValueError, ImportError) as exc:
            raise fail(str(exc)) from None


def _print_table(rows: list[dict], dataset: str, optimum: float) -> None:
    t = Table("strategy", "evals", "seeds", "mean", "std", "regret", "ms/iter",
              title=f"NAS-Bench-201 {dataset} (optimum {optimum:.2f})")
    for r in rows:
        t.add_row(r["strategy"], str(r["evals"]), str(r["seeds"]), f"{r['mean']:.2f}",
                  f"{r['std']:.2f}", f"{r['regret']:.2f}", f"{r['ms_per_iteration']:.2f}")
    console.print(t)
