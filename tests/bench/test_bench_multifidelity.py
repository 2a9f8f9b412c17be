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
    assert "merged from" in table and "none seed 0" in table and "sha seed 0" in table
    with pytest.raises(SystemExit, match="same wall-clock"):
        bench.main(["--configs", "median", "--minutes", "3", "--out", str(more),
                    "--merge", str(tmp_path / "multifidelity.json")])


def _fake_run(strategy, seed, minutes, budget, task_config, retrain, trials, pruner,
              half, clock):
    """A run's record as run_one leaves it, its numbers a function of seed and pruner."""
    val = 0.9 + seed / 100 + (0.005 if pruner == "median" else 0)
    winner = {"retrain_test": val - 0.01}
    return {"strategy": strategy, "seed": seed, "pruner": pruner, "seen": 10 + seed,
            "full": 5, "trials": 5, "points": [(30.0, val, val, 1000)], "winner": winner,
            "half_winner": winner, "clock": clock}


def test_seeds_run_later_join_a_run_stopped_early(tmp_path, monkeypatch):
    """--first-seed with --merge: a run stopped after some seeds is finished by running
    the missing (configuration, seed) pairs; every other run of the file is kept."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(bench, "ProcessPoolExecutor", ThreadPoolExecutor)
    monkeypatch.setattr(bench, "run_one", _fake_run)
    common = ["--minutes", "1", "--jobs", "1", "--configs", "none,median"]
    first = tmp_path / "first"
    assert bench.main([*common, "--seeds", "2", "--out", str(first)]) == 0
    done = json.loads((first / "multifidelity.json").read_text())["runs"]
    # seed 1 of median "was stopped": drop it, then run seeds 1 and 2 of median only
    stopped = first / "stopped.json"
    stopped.write_text(json.dumps({"minutes": 1, "runs": [
        {**r, "load": 1.0} for r in done if (r["pruner"], r["seed"]) != ("median", 1)]}))
    out = tmp_path / "out"
    assert bench.main(["--minutes", "1", "--jobs", "1", "--configs", "median", "--seeds",
                       "2", "--first-seed", "1", "--merge", str(stopped), "--out",
                       str(out)]) == 0
    runs = json.loads((out / "multifidelity.json").read_text())["runs"]
    assert sorted((r["pruner"], r["seed"]) for r in runs) == [
        ("median", 0), ("median", 1), ("median", 2), ("none", 0), ("none", 1)]
    kept = [r for r in runs if r["pruner"] == "none" or r["seed"] == 0]
    assert [{k: v for k, v in r.items() if k != "load"} for r in kept] == [
        {k: v for k, v in r.items() if k != "load"} for r in done
        if (r["pruner"], r["seed"]) != ("median", 1)]
    table = (out / "multifidelity.md").read_text()
    assert "| median | 3 |" in table and "| none | 2 |" in table
    assert "--first-seed 1" in table and "none seeds 0, 1 (load 1.0)" in table
    # paired over the seeds both have: median is 0.5 points ahead at the end on 0 and 1
    assert "| median | 2 | 0.50 +- 0.00 |" in table


def test_the_winner_at_half_time_is_the_best_finished_by_then():
    trials = [{"t": 10, "number": 0, "val": 0.9}, {"t": 20, "number": 1, "val": 0.95},
              {"t": 25, "number": 2, "val": 0.95}, {"t": 40, "number": 3, "val": 0.99}]
    search = load_bench("mnist1d_search")
    assert search.half_winner(trials, 30) == 1  # the first of equals, not 3 (too late)
    assert search.half_winner(trials, 5) is None
