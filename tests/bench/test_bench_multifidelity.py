"""Smoke test of bench/multifidelity.py: a tiny run writes its table and records.

Nothing about which pruner wins is asserted; this keeps the benchmark running and its
records complete (candidates seen, trained to full budget, the winner retrained).
"""

from __future__ import annotations

import json

import pytest
from bench_helpers import load_bench

bench = load_bench("multifidelity")


def test_an_unknown_configuration_is_refused(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--configs", "none,often"])
    assert "unknown --configs often" in capsys.readouterr().err


@pytest.mark.slow
def test_tiny_run_writes_results(tmp_path):
    assert bench.main(["--configs", "none,sha", "--trials", "2", "--budget", "20steps",
                       "--seeds", "1", "--jobs", "1", "--minutes", "10", "--retrain",
                       "20steps", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "multifidelity.json").read_text())
    assert [r["pruner"] for r in data["runs"]] == ["none", "sha"]
    for run in data["runs"]:
        assert run["seen"] == 2 and 0 <= run["full"] <= run["trials"] <= 2
        assert run["strategy"] == "evolution"
        assert run["clock"] == "cpu" and run["clock_s"] > 0  # the default --clock
        assert 0 < run["winner"]["retrain_test"] <= 1
        # both trials end within seconds of a 10-minute clock: the winner at half time
        # is the final winner, trained once
        assert run["half_winner"] == run["winner"]
    table = (tmp_path / "multifidelity.md").read_text()
    assert "| none | 1 |" in table and "| sha | 1 |" in table
    assert "--configs none,sha" in table and "load average" in table
    assert "min of CPU time per run" in table

    # another configuration run later joins the table; the merged runs are kept as run
    more = tmp_path / "more"
    assert bench.main(["--configs", "median", "--trials", "2", "--budget", "20steps",
                       "--seeds", "1", "--jobs", "1", "--minutes", "10", "--retrain",
                       "20steps", "--out", str(more), "--merge",
                       str(tmp_path / "multifidelity.json")]) == 0
    both = json.loads((more / "multifidelity.json").read_text())
    assert [r["pruner"] for r in both["runs"]] == ["none", "sha", "median"]
    assert both["runs"][:2] == data["runs"] and all("load" in r for r in both["runs"])
    assert both["configs"] == ["none", "median", "sha"]
    table = (more / "multifidelity.md").read_text()
    assert "| median | 1 |" in table and "| none | 1 |" in table
    assert "Runs of none, sha merged from" in table
    with pytest.raises(SystemExit, match="same wall-clock"):
        bench.main(["--configs", "median", "--minutes", "3", "--out", str(more),
                    "--merge", str(tmp_path / "multifidelity.json")])


def test_the_winner_at_half_time_is_the_best_finished_by_then():
    trials = [{"t": 10, "number": 0, "val": 0.9}, {"t": 20, "number": 1, "val": 0.95},
              {"t": 25, "number": 2, "val": 0.95}, {"t": 40, "number": 3, "val": 0.99}]
    search = load_bench("mnist1d_search")
    assert search.half_winner(trials, 30) == 1  # the first of equals, not 3 (too late)
    assert search.half_winner(trials, 5) is None
