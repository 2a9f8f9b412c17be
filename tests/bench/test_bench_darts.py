"""Smoke test of bench/darts.py at a tiny size: its percentile and same-time random
search against hand counts, and a run writing its table. No timing is asserted."""

from __future__ import annotations

import json

import pytest
from bench_helpers import load_bench

bench = load_bench("darts")
cache_mod = load_bench("_cell_cache")
variants = load_bench("darts_variants")
noise = load_bench("darts_seed_noise")


def test_percentile_rank_counts_below_and_half_the_ties():
    assert bench.percentile_rank(0.5, [0.1, 0.2, 0.6, 0.7]) == 50.0
    assert bench.percentile_rank(0.6, [0.1, 0.2, 0.6, 0.7]) == 62.5  # (2 + 0.5) / 4
    assert bench.percentile_rank(0.9, [0.1]) == 100.0


def test_random_search_given_the_same_time_takes_the_best_that_fit():
    cells = [{"time_s": 2.0, "val_acc": 0.3}, {"time_s": 2.0, "val_acc": 0.5},
             {"time_s": 2.0, "val_acc": 0.9}]
    assert bench.best_within(cells, 4.5)["val_acc"] == 0.5  # two fit
    assert bench.best_within(cells, 2.0)["val_acc"] == 0.3  # exactly one fits
    assert bench.best_within(cells, 1.0) is None  # not even the first finished
    assert bench.best_within(cells, 100)["val_acc"] == 0.9


def test_random_search_at_equal_time_counts_cells_in_units_of_the_mean():
    cells = [{"time_s": 1.0, "val_acc": 0.2, "test_acc": 0.2},
             {"time_s": 3.0, "val_acc": 0.9, "test_acc": 0.9}]  # mean 2: costs 0.5, 1.5
    for seed in range(4):  # whatever the order: 2 units fit both cells, 0.1 none
        assert bench.same_time_random(cells, 2.0, seed)["val_acc"] == 0.9
        assert bench.same_time_random(cells, 0.1, seed) is None
    # 0.5 units: the cheap cell fits alone, the dear one (1.5) does not
    fits = [bench.same_time_random(cells, 0.5, seed) for seed in range(8)]
    assert {None if f is None else f["val_acc"] for f in fits} == {None, 0.2}


def test_a_random_search_that_finished_nothing_says_so_not_a_chance_accuracy():
    cells = [{"time_s": 1.0, "val_acc": 0.1, "test_acc": 0.095, "error": None},
             {"time_s": 1.0, "val_acc": 0.9, "test_acc": 0.99, "error": None}]
    run = {"task": "digits", "p90": 0.99, "median": 0.5, "random": cells, "found": []}
    for seed, units in ((0, 0.5), (1, 0.9), (2, 2.0)):  # two seeds below one training
        run["found"].append(bench.against(
            {"guard": "drnas", "seed": seed, "test_acc": 0.98, "search_units": units,
             "parameter_free": 0, "steps_run": 10}, cells))
    rows = bench.table([run]).splitlines()
    assert rows[3].endswith("| none finished |") and rows[4].endswith("| none finished |")
    assert rows[5].endswith("| 0.990 |")  # two units: both trained, the best by val
    assert "0.095" not in bench.table([run])
    assert bench.summary([run]).splitlines()[2].endswith(
        "| 0.990 (none finished in 2 of 3 seeds) |")
    run["found"] = run["found"][:2]
    assert bench.summary([run]).splitlines()[2].endswith("| none finished |")


def test_cell_cache_reuses_a_row_and_keeps_another_runs(tmp_path):
    path = tmp_path / "cells.json"
    a, b = cache_mod.CellCache(path), cache_mod.CellCache(path)  # two runs at once
    calls = []
    row = a.get_or_train("k1", lambda: calls.append(1) or {"test_acc": 0.5, "error": None})
    assert row["test_acc"] == 0.5 and not row["cached"]
    b.get_or_train("k2", lambda: {"test_acc": 0.7, "error": None})
    b.get_or_train("k3", lambda: {"test_acc": None, "error": "diverged"})  # not kept
    again = cache_mod.CellCache(path)
    assert set(again.rows) == {"k1", "k2"}
    assert again.get_or_train("k1", lambda: calls.append(1))["cached"] and calls == [1]
    assert cache_mod.cell_key("digits", "|a|", 200, 8, 1, 0) != \
        cache_mod.cell_key("digits", "|a|", 200, 8, 1, 1)


@pytest.mark.slow
def test_tiny_run_writes_its_table_and_reuses_its_trainings(tmp_path):
    args = ["--tasks", "digits", "--random", "2", "--steps", "2", "--search-steps", "2",
            "--channels", "2", "--guards", "darts-", "none", "--seeds", "0",
            "--unit-cells", "1", "--cache", str(tmp_path / "cells.json")]
    out = bench.main([*args, "--out", str(tmp_path)])
    run = out["runs"][0]
    assert len(run["random"]) == 2 and [f["guard"] for f in run["found"]] == ["darts-", "none"]
    for f in run["found"]:
        assert f["parameter_free"] == sum(op in ("none", "skip_connect", "avg_pool_3x3")
                                          for op in f["arch"].replace("|", " ").replace(
                                              "+", " ").split() for op in [op.split("~")[0]])
        assert [p["step"] for p in f["trajectory"]] == [0, 2] and f["steps_run"] == 2
    md = (tmp_path / "darts.md").read_text()
    assert "| digits | 0 | darts- |" in md and "| digits | 0 | none |" in md
    assert json.loads((tmp_path / "darts.json").read_text())["meta"]["random"] == 2
    again = bench.main([*args, "--out", str(tmp_path / "again")])
    assert again["meta"]["cache_hits"] == 4  # the 2 random cells and the 2 cells found
    assert [c["test_acc"] for c in again["runs"][0]["random"]] == \
        [c["test_acc"] for c in run["random"]]
    both = bench.main(["--merge", str(tmp_path / "darts.json"),
                       str(tmp_path / "again" / "darts.json"), "--out", str(tmp_path / "m")])
    assert [r["task"] for r in both["runs"]] == ["digits"]  # one task: its searches joined
    assert [f["guard"] for f in both["runs"][0]["found"]] == ["darts-", "none"] * 2
    assert "(2 runs merged, some of them at once)" in (tmp_path / "m" / "darts.md").read_text()
    later = json.loads((tmp_path / "again" / "darts.json").read_text())
    later["meta"]["seeds"] = [5]  # a run of other search seeds: the header names them all
    (tmp_path / "later.json").write_text(json.dumps(later))
    assert bench.main(["--merge", str(tmp_path / "darts.json"), str(tmp_path / "later.json"),
                       "--out", str(tmp_path / "m5")])["meta"]["seeds"] == [0, 5]
    more = bench.main([*args, "--random", "3", "--merge", str(tmp_path / "darts.json"),
                       "--out", str(tmp_path / "r")])["runs"][0]  # rescored: 3 random cells
    assert [c["arch"] for c in more["random"][:2]] == [c["arch"] for c in run["random"]]
    accs = [c["test_acc"] for c in more["random"]]
    for f in more["found"]:
        below = sum(a < f["test_acc"] for a in accs) + 0.5 * accs.count(f["test_acc"])
        assert f["percentile"] == pytest.approx(100 * below / 3)


def test_variants_table_gives_each_seed_the_mean_and_the_seeds_at_p90():
    def found(seed, acc):
        return {"guard": "drnas", "seed": seed, "test_acc": acc, "parameter_free": seed,
                "search_units": 1.0 + seed}

    run = {"meta": {"label": "half", "seeds": [0, 1, 2], "search_steps": 150,
                    "search_options": {"arch_data": "half"}},
           "runs": [{"task": "digits", "p90": 0.99,
                     "found": [found(0, 0.99), found(1, 0.98), found(2, 1.0)]}]}
    row = variants.table([run]).splitlines()[2].split(" | ")
    # by hand: mean (0.99 + 0.98 + 1.0) / 3 = 0.990; 0.99 and 1.0 reach p90 0.99;
    # param-free (0 + 1 + 2) / 3 = 1.0; cost (1 + 2 + 3) / 3 = 2.0
    assert row[:10] == ["| half", "digits (p90 0.990)", "drnas", "0.990", "0.980", "1.000",
                        "0.990", "2 / 3", "1.0", "2.0"]
    assert "arch_data=half" in row[10] and "search_steps=150" in row[10]
    run["runs"][0]["found"].pop(1)  # a failed seed leaves its cell empty
    assert " | 0.990 |  | 1.000 | 0.995 | 2 / 2 |" in variants.table([run])


def test_seed_noise_picks_the_top_random_cells_and_each_found_cell_once():
    run = {"random": [{"arch": "a", "test_acc": 0.5, "error": None},
                      {"arch": "b", "test_acc": 0.9, "error": None},
                      {"arch": "c", "test_acc": 0.99, "error": "diverged"},
                      {"arch": "d", "test_acc": 0.7, "error": None}],
           "found": [{"guard": "drnas", "seed": 0, "arch": "x"},
                     {"guard": "none", "seed": 0, "arch": "y"},
                     {"guard": "drnas", "seed": 1, "arch": "x"},  # the same cell again
                     {"guard": "drnas", "seed": 2, "arch": "b"}]}  # a top random cell
    assert noise.cells_of(run, 2, "drnas") == [("random #1", "b"), ("random #2", "d"),
                                                ("drnas seed 0", "x")]
    rows = [{"task": "digits", "role": "random #1", "arch": "b", "test_acc": [0.9, 0.7, 0.8]}]
    line = noise.table(rows, [1, 2], {"digits": 0.85}).splitlines()[2]
    assert line == "| digits (p90 0.850) | random #1 | 0.900 | 0.700 | 0.800 | 0.800 | 0.750 |"
