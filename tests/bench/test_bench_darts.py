"""Smoke test of bench/darts.py at a tiny size: its percentile and same-time random
search against hand counts, and a run writing its table. No timing is asserted."""

from __future__ import annotations

import json

import pytest
from bench_helpers import load_bench

bench = load_bench("darts")


def test_percentile_rank_counts_below_and_half_the_ties():
    assert bench.percentile_rank(0.5, [0.1, 0.2, 0.6, 0.7]) == 50.0
    assert bench.percentile_rank(0.6, [0.1, 0.2, 0.6, 0.7]) == 62.5  # (2 + 0.5) / 4
    assert bench.percentile_rank(0.9, [0.1]) == 100.0


def test_random_search_given_the_same_time_takes_the_best_that_fit():
    cells = [{"time_s": 2.0, "val_acc": 0.3}, {"time_s": 2.0, "val_acc": 0.5},
             {"time_s": 2.0, "val_acc": 0.9}]
    assert bench.best_within(cells, 4.5)["val_acc"] == 0.5  # two fit
    assert bench.best_within(cells, 1.0)["val_acc"] == 0.3  # at least one
    assert bench.best_within(cells, 100)["val_acc"] == 0.9


@pytest.mark.slow
def test_tiny_run_writes_its_table(tmp_path):
    out = bench.main(["--tasks", "digits", "--random", "2", "--steps", "2",
                      "--search-steps", "2", "--channels", "2", "--guards", "darts-", "none",
                      "--out", str(tmp_path)])
    run = out["runs"][0]
    assert len(run["random"]) == 2 and [f["guard"] for f in run["found"]] == ["darts-", "none"]
    for f in run["found"]:
        assert f["parameter_free"] == sum(op in ("none", "skip_connect", "avg_pool_3x3")
                                          for op in f["arch"].replace("|", " ").replace(
                                              "+", " ").split() for op in [op.split("~")[0]])
        assert [p["step"] for p in f["trajectory"]] == [0, 2]
    md = (tmp_path / "darts.md").read_text()
    assert "| digits | 0 | darts- |" in md and "| digits | 0 | none |" in md
    assert json.loads((tmp_path / "darts.json").read_text())["meta"]["random"] == 2
