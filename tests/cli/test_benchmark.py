"""`nas benchmark nb201` on a synthetic stand-in of the NAS-Bench-201 table."""

from __future__ import annotations

import itertools
import json
import random

import pytest
from typer.testing import CliRunner

from cli.main import app
from search_spaces.nb201 import DECISIONS, OPS, to_arch_string

runner = CliRunner()


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """Every cell, with an accuracy that rewards convolutions (as the real table does)."""
    rng = random.Random(0)
    rows = ["CIFAR10TestAccuracy200Epochs,CIFAR100TestAccuracy200Epochs,"
            "ImageNetTestAccuracy200Epochs,ArchitectureString"]
    for ops in itertools.product(OPS, repeat=6):
        arch = to_arch_string(dict(zip(DECISIONS, ops)))
        base = 80 + 2 * sum(o == "nor_conv_3x3" for o in ops) + sum(o == "skip_connect"
                                                                   for o in ops[:1])
        rows.append(f"{base + rng.random():.3f},{base - 20:.3f},{base - 40:.3f},{arch}")
    path = tmp_path_factory.mktemp("nb201") / "table.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_json_rows_have_the_documented_keys(table):
    res = runner.invoke(app, ["benchmark", "nb201", "--table", str(table), "--strategy",
                              "random", "--strategy", "evolution", "--evals", "10,20",
                              "--seeds", "2", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert len(rows) == 4
    for r in rows:
        assert {"strategy", "dataset", "evals", "seeds", "mean", "std", "regret",
                "optimum"} <= set(r)
        assert r["dataset"] == "cifar10" and r["seeds"] == 2
        assert r["regret"] == pytest.approx(r["optimum"] - r["mean"])
        assert 80 <= r["mean"] <= r["optimum"]
    by = {(r["strategy"], r["evals"]): r["mean"] for r in rows}
    assert by[("evolution", 20)] >= by[("evolution", 10)]


def test_other_dataset_column_and_table_output(table):
    res = runner.invoke(app, ["benchmark", "nb201", "--table", str(table), "--strategy",
                              "random", "--evals", "5", "--seeds", "1", "--dataset",
                              "cifar100"], terminal_width=150)
    assert res.exit_code == 0, res.output
    assert "cifar100" in res.output and "random" in res.output


def test_bad_benchmark_input(table, tmp_path):
    """(Messages are compared with the console's line wrapping undone.)"""
    res = runner.invoke(app, ["benchmark", "nb201", "--table", str(tmp_path / "no.csv")])
    assert res.exit_code == 2 and "does not exist" in " ".join(res.output.split())
    res = runner.invoke(app, ["benchmark", "nb201", "--table", str(table), "--dataset", "svhn"])
    assert res.exit_code == 2 and "unknown NB201 dataset" in " ".join(res.output.split())
    res = runner.invoke(app, ["benchmark", "nb201", "--table", str(table), "--strategy", "rand"])
    assert res.exit_code == 2 and "did you mean random" in " ".join(res.output.split())
