"""Smoke test of bench/mnist1d_search.py: a tiny run writes its table, JSON and plot.

Nothing about speed or which strategy wins is asserted; this keeps the benchmark
running (strategy entries with JSON options included) and its records complete.
"""

from __future__ import annotations

import json

import pytest
from bench_helpers import load_bench

bench = load_bench("mnist1d_search")


def test_trials_below_one_is_refused(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--trials", "0"])
    assert "--trials must be at least 1" in capsys.readouterr().err


def test_strategy_entries_parse_with_options():
    assert bench.parse_entry("optuna:tpe") == ("optuna:tpe", {})
    assert bench.parse_entry('evolution{"cost": null, "population": 8}') == (
        "evolution", {"cost": None, "population": 8})
    with pytest.raises(json.JSONDecodeError):
        bench.parse_entry("evolution{cost: none}")


@pytest.mark.slow
def test_tiny_run_writes_results(tmp_path, capsys):
    # --trials makes the work fixed (3 trials a run, the same on a fast or a busy
    # machine); --minutes is only a cap far above what they take.
    entries = 'random;evolution{"cost": null}'
    assert bench.main(["--trials", "3", "--minutes", "10", "--seeds", "1", "--jobs", "1",
                       "--budget", "20steps", "--strategies", entries, "--retrain",
                       "30steps", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "mnist1d_search.json").read_text())
    assert [r["strategy"] for r in data["runs"]] == ["random", 'evolution{"cost": null}']
    assert data["max_trials"] == 3
    for run in data["runs"]:
        assert run["trials"] == 3 and len(run["all"]) == 3
        assert sorted(t["number"] for t in run["all"]) == [0, 1, 2]
        best = max(t["val"] for t in run["all"])
        assert run["points"][-1][1] == best  # the trajectory ends at the best trial
        assert all(t["params"] > 0 and t["train_time_s"] > 0 for t in run["all"])
        # the winner is the first trial reaching the best validation accuracy, and it
        # was trained afresh with the --retrain budget
        winner = run["winner"]
        first = min((t for t in run["all"] if t["val"] == best), key=lambda t: t["number"])
        assert winner["number"] == first["number"] and winner["decisions"]
        assert winner["retrain"] == "30steps" and 0 < winner["retrain_test"] <= 1
    table = (tmp_path / "mnist1d_search.md").read_text()
    assert "| random |" in table and '| evolution{"cost": null} |' in table
    assert "--strategies" in table and "--retrain 30steps" in table and "--trials 3" in table
    assert "at most 3 trials" in table
    assert (tmp_path / "mnist1d_search.png").stat().st_size > 0


def _record(path, strategy_seeds, val, good=0):
    trials = [{"val": 0.995 if i < good else 0.9} for i in range(4)]
    runs = [{"strategy": s, "seed": seed, "trials": 3, "wall_s": 60.0, "all": trials,
             "points": [[10.0, val[s] - 0.01, 0.9, 1000], [50.0, val[s], 0.95, 2000]]}
            for s, seed in strategy_seeds]
    path.write_text(json.dumps({"minutes": 1.0, "seeds": 1, "budget": None, "runs": runs}))


def test_merge_makes_one_table_and_pairs_seeds(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    _record(a, [("evolution", 0), ("random", 0)], {"evolution": 0.99, "random": 0.98}, good=1)
    _record(b, [("evolution", 1), ("random", 1)], {"evolution": 0.97, "random": 0.98}, good=3)
    assert bench.main(["--from-json", str(a), str(b), "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "mnist1d_search.md").read_text()
    assert "| evolution | 2 | 3 |" in text and "| random | 2 | 3 |" in text
    # no run retrained its winner: that column is empty; 1 and 3 of 4 trials >= 99%
    assert "| 95.00 +- 0.00 | - | 50.00 +- 35.36% |" in text
    # evolution - random: +1 point on seed 0, -1 point on seed 1
    assert "| random | 2 | 0.00 +- 1.41 | 1/0/1 | 0.00 +- 0.00 | 0/2/0 | - | - |" in text
    data = json.loads(b.read_text())
    data["runs"][0]["task_config"] = {"val_size": 1000}
    b.write_text(json.dumps(data))
    with pytest.raises(SystemExit, match="--task-config"):
        bench.main(["--from-json", str(a), str(b), "--out", str(tmp_path / "out")])
    data["runs"][0]["task_config"] = {}
    data["max_trials"] = 5  # a run stopped at 5 trials: another experiment
    b.write_text(json.dumps(data))
    with pytest.raises(SystemExit, match="--trials"):
        bench.main(["--from-json", str(a), str(b), "--out", str(tmp_path / "out")])
    _record(b, [("evolution", 0)], {"evolution": 0.97})
    with pytest.raises(SystemExit, match="appears twice"):
        bench.main(["--from-json", str(a), str(b), "--out", str(tmp_path / "out")])


def test_retrained_winners_fill_their_column_and_pairing(tmp_path):
    a = tmp_path / "a.json"
    _record(a, [("evolution", 0), ("random", 0), ("evolution", 1), ("random", 1)],
            {"evolution": 0.99, "random": 0.98})
    data = json.loads(a.read_text())
    after = {("evolution", 0): 0.993, ("random", 0): 0.990, ("evolution", 1): 0.991}
    for run in data["runs"]:  # random seed 1 did not retrain (an older record)
        key = (run["strategy"], run["seed"])
        if key in after:
            run["winner"] = {"number": 1, "decisions": {}, "retrain": "4000steps",
                             "retrain_test": after[key]}
    a.write_text(json.dumps(data))
    assert bench.main(["--from-json", str(a), "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "mnist1d_search.md").read_text()
    assert "| 99.20 +- 0.14 |" in text  # evolution: 99.3 and 99.1
    assert "| 99.00 +- 0.00 (1 of 2 seeds) |" in text  # random: seed 0 only
    # paired over the one seed where both retrained: +0.3 points
    assert "| 0.30 +- 0.00 | 1/0/0 |" in text
    assert "as `nas train` does: 4000steps, seed 0" in text
    data["runs"][0]["winner"]["retrain"] = "8000steps"  # another recipe: not one column
    a.write_text(json.dumps(data))
    with pytest.raises(SystemExit, match="--retrain"):
        bench.main(["--from-json", str(a), "--out", str(tmp_path / "out")])
