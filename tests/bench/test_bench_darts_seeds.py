"""bench/darts.py with ``--train-seeds K``: a cell scored by the mean of K trainings
with different seeds, the percentile against the random cells' means, the cost unit
still one training; K = 1 writes the tables it wrote before. Oracles: hand averages of
the cache's single-seed rows, hand counts, the committed results table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_helpers import BENCH, load_bench

bench = load_bench("darts")
means = load_bench("_seed_means")


def test_the_mean_of_two_seeds_is_each_accuracy_averaged_and_one_seed_is_left_as_is():
    a = {"arch": "|x|", "test_acc": 0.9, "val_acc": 0.8, "time_s": 2.0, "error": None,
         "cached": True}
    b = {"arch": "|x|", "test_acc": 0.7, "val_acc": 0.6, "time_s": 4.0, "error": None,
         "cached": False}
    row = means.mean_row([a, b], [3, 4])
    assert row["test_acc"] == pytest.approx(0.8) and row["val_acc"] == pytest.approx(0.7)
    assert row["time_s"] == pytest.approx(3.0)  # one training's cost, not two
    assert row["per_seed"] == [{"seed": 3, "test_acc": 0.9, "val_acc": 0.8},
                               {"seed": 4, "test_acc": 0.7, "val_acc": 0.6}]
    assert row["cached"] is False and row["error"] is None
    assert means.mean_row([a], [0]) is a  # K = 1: the row as it was
    failed = means.mean_row([a, dict(b, test_acc=None, error="diverged")], [0, 1])
    assert failed["error"] == "diverged" and failed["test_acc"] == pytest.approx(0.9)
    assert means.per_seed_text(row) == " (test 0.900, 0.700)"
    assert means.per_seed_text(a) == ""
    assert means.seeds(2, 3) == [2, 3, 4]
    with pytest.raises(ValueError, match="--train-seeds must be at least 1"):
        means.seeds(0, 0)


def test_random_search_at_equal_time_picks_by_one_training_and_is_scored_by_the_mean():
    # A looks best on its first seed's validation (0.9) but B on the mean (0.7 > 0.5):
    # a random search paying one training a cell sees only the first seed
    cells = [{"time_s": 1.0, "val_acc": 0.5, "test_acc": 0.6, "error": None,
              "per_seed": [{"seed": 0, "val_acc": 0.9}, {"seed": 1, "val_acc": 0.1}]},
             {"time_s": 1.0, "val_acc": 0.7, "test_acc": 0.8, "error": None,
              "per_seed": [{"seed": 0, "val_acc": 0.5}, {"seed": 1, "val_acc": 0.9}]}]
    row = bench.against({"seed": 0, "test_acc": 0.7, "search_units": 2.0}, cells)
    assert row["random_same_time"] == 0.6  # A's mean test accuracy
    assert row["percentile"] == 50.0  # 0.7 against the means 0.6 and 0.8


def test_k1_writes_the_committed_darts_table_from_its_json(tmp_path):
    saved = json.loads((BENCH / "results" / "darts.json").read_text())
    bench.write(saved["runs"], saved["meta"], tmp_path)
    assert (tmp_path / "darts.md").read_text() == \
        (BENCH / "results" / "darts.md").read_text()


def _cached(cache: Path, arch: str, seed: int, acc: str = "test_acc") -> float:
    rows = json.loads(cache.read_text())
    (key,) = [k for k in rows if f"|{arch}|" in k and k.endswith(f"|seed{seed}")]
    return rows[key][acc]


@pytest.mark.slow
def test_two_seeds_score_every_training_by_the_mean_of_the_cached_single_seeds(tmp_path):
    cache = tmp_path / "cells.json"
    args = ["--tasks", "digits", "--random", "3", "--steps", "2", "--search-steps", "2",
            "--channels", "2", "--guards", "none", "--seeds", "0", "--unit-cells", "1",
            "--cache", str(cache)]
    one = bench.main([*args, "--out", str(tmp_path / "k1")])["runs"][0]
    assert all("per_seed" not in c for c in one["random"])
    for c in one["random"]:  # K = 1: the seed-0 training itself
        assert c["test_acc"] == _cached(cache, c["arch"], 0)
    md1 = (tmp_path / "k1" / "darts.md").read_text()
    assert "training 2 steps (seed 0, the random cells" in md1
    two = bench.main([*args, "--train-seeds", "2", "--name", "darts_k2",
                      "--out", str(tmp_path / "k2")])
    run = two["runs"][0]
    assert [c["arch"] for c in run["random"]] == [c["arch"] for c in one["random"]]
    pairs = []
    for c in [*run["random"], *run["found"]]:
        s0, s1 = _cached(cache, c["arch"], 0), _cached(cache, c["arch"], 1)
        assert c["test_acc"] == pytest.approx((s0 + s1) / 2)
        assert [p["seed"] for p in c["per_seed"]] == [0, 1]
        assert [p["test_acc"] for p in c["per_seed"]] == [s0, s1]
        pairs.append((s0, s1, _cached(cache, c["arch"], 0, "val_acc"),
                      _cached(cache, c["arch"], 1, "val_acc")))
    assert any(p[0] != p[1] or p[2] != p[3] for p in pairs)  # the seeds train differently
    accs = [c["test_acc"] for c in run["random"]]
    for f in run["found"]:  # the percentile counts the found mean among the random means
        below = sum(a < f["test_acc"] for a in accs) + 0.5 * accs.count(f["test_acc"])
        assert f["percentile"] == pytest.approx(100 * below / 3)
    assert two["meta"]["cache_hits"] >= 4  # seed 0 of the 3 random cells and the found
    md2 = (tmp_path / "k2" / "darts_k2.md").read_text()
    assert md2.startswith("# darts_k2\n") and (tmp_path / "k2" / "darts_k2.json").exists()
    assert "seeds 0, 1, each cell scored by the mean test accuracy of its 2" in md2
    assert "| digits | | 3 random cells, mean of 2 seeds (p90 / median) |" in md2
    assert "| digits | | 3 random cells (p90 / median) |" in md1
    assert "`" + run["found"][0]["arch"] + "` (test " in md2
    # the saved K = 1 run rescored with 2 seeds: the same means, no new search
    again = bench.main(["--merge", str(tmp_path / "k1" / "darts.json"), "--train-seeds",
                        "2", "--cache", str(cache), "--out", str(tmp_path / "m")])
    assert [c["test_acc"] for c in again["runs"][0]["found"]] == \
        [f["test_acc"] for f in run["found"]]
    assert again["meta"]["random"] == 3 and again["meta"]["train_seeds"] == 2
    assert again["meta"]["rescored"]["cache_hits"] == 2 * 3 + 2
    md = (tmp_path / "m" / "darts.md").read_text()
    assert "- Rescored (`python bench/darts.py --merge " in md
    assert "3 random cells trained with 2 training seed(s)" in md


def test_a_train_seeds_below_one_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="--train-seeds must be at least 1"):
        bench.main(["--train-seeds", "0", "--out", str(tmp_path)])
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_clock_cpu_times_every_training_and_search_with_the_cpu_clock(
        tmp_path, monkeypatch):
    ticks = iter(range(0, 10_000, 2))  # a CPU clock 2 s further at every reading
    monkeypatch.setitem(bench.CLOCKS, "cpu", lambda: float(next(ticks)))
    out = bench.main(["--tasks", "digits", "--random", "2", "--steps", "2",
                      "--search-steps", "2", "--channels", "2", "--guards", "none",
                      "--seeds", "0", "--unit-cells", "1", "--cache", str(tmp_path / "c.json"),
                      "--clock", "cpu", "--out", str(tmp_path)])
    run = out["runs"][0]
    # each training and the search read the clock twice: 2 s each, so one unit
    assert [c["time_s"] for c in run["random"]] == [2.0, 2.0]
    assert run["unit_s"] == 2.0 and run["found"][0]["search_units"] == 1.0
    assert out["meta"]["clock"] == "cpu"
    assert "(times are the process's CPU time, `--clock cpu`)" in \
        (tmp_path / "darts.md").read_text()


def test_the_cpu_clock_does_not_count_a_sleep_and_the_wall_clock_does():
    import time

    wall, cpu = bench.CLOCKS["wall"](), bench.CLOCKS["cpu"]()
    time.sleep(0.3)
    assert bench.CLOCKS["wall"]() - wall >= 0.3
    assert bench.CLOCKS["cpu"]() - cpu < 0.1
