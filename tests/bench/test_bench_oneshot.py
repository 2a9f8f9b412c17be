"""Smoke test of bench/oneshot.py at a tiny size: its Kendall tau against a brute-force
count, and a run (and a merge of runs) writing its table. No timing is asserted."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from bench_helpers import load_bench

import nas

bench = load_bench("oneshot")


def brute_tau(a, b) -> float:
    """(concordant - discordant) / pairs, for values without ties."""
    signs = [(x1 - x2) * (y1 - y2) for (x1, y1), (x2, y2)
             in itertools.combinations(zip(a, b), 2)]
    return (sum(s > 0 for s in signs) - sum(s < 0 for s in signs)) / len(signs)


@pytest.mark.parametrize("b", [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [2, 1, 5, 3, 4],
                               [3, 5, 1, 4, 2]])
def test_tau_is_the_pair_count(b):
    a = [0.1, 0.4, 0.2, 0.9, 0.5]
    assert bench.tau(a, b) == pytest.approx(brute_tau(a, b))


def test_tau_leaves_out_failed_candidates():
    assert bench.tau([0.1, math.nan, 0.3, 0.2], [1, 9, 3, 2]) == pytest.approx(1.0)
    assert math.isnan(bench.tau([0.1, math.nan], [1, 2]))


@pytest.mark.slow
def test_quick_run_writes_and_merges_results(tmp_path, capsys):
    out = bench.main(["--space", "mlp", "--archs", "3", "--standalone-steps", "3",
                      "--supernet-steps", "4", "--probe", "4", "--calib-batches", "1",
                      "--samplings", "uniform", "sandwich", "--noise-archs", "3",
                      "--finetune", "0", "2", "--out", str(tmp_path / "a")])
    rows = out["spaces"][0]["oneshot"]
    assert [(r["rule"], r["sampling"], r["finetune_steps"]) for r in rows] == [
        (rule, sampling, ft) for rule in ("identity", "slice")
        for sampling in ("uniform", "sandwich") for ft in (0, 2)]
    assert all(len(r["scores"]) == len(r["losses"]) == 3 for r in rows)
    assert all(r["step_ratio"] > 0 for r in rows)
    assert rows[2]["trained_paths"] == 4  # sandwich: one step of 4 paths
    # one supernet, scored twice: as inherited, then fine-tuned (other scores)
    assert rows[0]["supernet_s"] == rows[1]["supernet_s"]
    assert rows[0]["scores"] != rows[1]["scores"] or rows[0]["losses"] != rows[1]["losses"]
    md = (tmp_path / "a" / "oneshot.md").read_text()
    assert "| mlp | slice (lr=0.003) | uniform | shared |" in md and "Ranks best: `" in md
    assert "noise floor, mlp: 3 of the architectures" in md
    saved = json.loads((tmp_path / "a" / "oneshot.json").read_text())
    top = max(rows, key=lambda r: r["kendall_tau"])
    assert saved["best_rule"]["per_space"]["mlp"]["kendall_tau"] == top["kendall_tau"]
    assert saved["best_rule"]["per_space"]["mlp"]["variant"] == bench.variant(top)
    merged = bench.main(["--merge", str(tmp_path / "a" / "oneshot.json"),
                         str(tmp_path / "a" / "oneshot.json"), "--out", str(tmp_path / "b")])
    assert len(merged["spaces"]) == 2
    assert (tmp_path / "b" / "oneshot.md").read_text().count(
        "| mlp | slice (lr=0.003) | uniform | shared |") == 2 * 2


def test_variant_names_the_rule_sampling_norms_and_fine_tune():
    row = {"rule": "slice", "sampling": "fair", "norms": "shared", "finetune_steps": 0}
    assert bench.variant(row) == "`slice` / `fair`"
    assert bench.variant({**row, "norms": "per_width", "finetune_steps": 50}) == \
        "`slice` / `fair` / per_width norms / 50-step fine-tune"
    assert bench.variant({"rule": "identity", "sampling": "uniform"}) == \
        "`identity` / `uniform`"  # a row from before these settings


class CountingTask:
    """A task whose evaluate counts its calls and returns a made-up accuracy."""

    def __init__(self):
        self.calls = 0

    def evaluate(self, graph, budget, seed, device):
        self.calls += 1
        return nas.Result(objectives={"val_acc": graph.meta["decisions"]["x"] / 10},
                          metrics={"train_time_s": 2.0, "steps": 4.0})


def test_truth_cache_trains_each_architecture_once(tmp_path):
    space = nas.Space(lambda b, s, n: b.output(b.op("linear", b.input(s), features=b.choice(
        "x", [1, 2, 3]))), (4,), 3)
    graphs = [space.build({"x": x}) for x in (1, 2)]
    task, cache = CountingTask(), tmp_path / "truth.json"
    first = bench.standalone(task, graphs, 4, 0, "cpu", cache)
    again = bench.standalone(task, [space.build({"x": 3}), *graphs], 4, 0, "cpu", cache)
    assert task.calls == 3  # x=1 and x=2 reused from the cache
    assert [r["val_acc"] for r in again] == pytest.approx([0.3, 0.1, 0.2])
    assert [r["arch"] for r in again] == [0, 1, 2] and first[1]["val_acc"] == again[2]["val_acc"]
    bench.standalone(task, graphs, 8, 0, "cpu", cache)  # other steps: trained again
    assert task.calls == 5
    assert bench.step_seconds(first) == pytest.approx(0.5)  # 4 s over 8 steps


@pytest.mark.slow
def test_few_shot_run_shares_the_passes_among_the_parts(tmp_path):
    args = ["--space", "mlp", "--archs", "4", "--standalone-steps", "2", "--supernet-steps",
            "6", "--probe", "6", "--calib-batches", "1", "--rules", "slice", "--split", "norm",
            "--supernet-cache", str(tmp_path / "cache"), "--out", str(tmp_path)]
    (row,) = bench.main(args)["spaces"][0]["oneshot"]
    assert row["split"] == "norm" and row["trained_paths"] == 3 * 2  # 3 norms, 2 passes each
    assert len(row["scores"]) == 4
    md = (tmp_path / "oneshot.md").read_text()
    assert "| mlp | slice (few-shot on norm) (lr=0.003) | uniform |" in md
    assert len(list((tmp_path / "cache").glob("*.pt"))) == 3
    # run again: the three trained supernets are loaded, so the scores are the same
    (again,) = bench.main(args)["spaces"][0]["oneshot"]
    assert again["scores"] == row["scores"] and again["trained_paths"] == 6


@pytest.mark.slow
def test_cost_mode_runs_both_searches_per_seed_and_writes_the_table(tmp_path):
    cost = bench.main(["--cost", "--space", "mlp", "--seeds", "1", "--cost-trials", "2",
                       "--cost-budget", "3steps", "--retrain", "3steps", "--cost-one-shot",
                       '{"budget": "4steps", "candidates": 3, "probe": 4}',
                       "--out", str(tmp_path)])
    (row,) = cost["rows"]
    assert row["default_trials"] == 2 and row["one_shot_trials"] == 3  # RETRAIN retrained
    assert row["clock"] == "cpu"  # the default: CPU seconds, steady on a shared machine
    assert row["ratio"] == pytest.approx(row["one_shot_cpu_s"] / row["default_cpu_s"])
    phases = row["phases_cpu_s"]
    assert all(v >= 0.0 for v in phases.values())
    assert sum(phases.values()) == pytest.approx(row["one_shot_cpu_s"])
    for side in ("default_winner", "one_shot_winner"):
        assert 0.0 <= row[side]["test_acc"] <= 1.0 and row[side]["error"] is None
    md = (tmp_path / "oneshot_cost.md").read_text()
    assert "| seed | default search CPU s (wall s) |" in md and "Median ratio (cpu clock)" in md
    assert json.loads((tmp_path / "oneshot_cost.json").read_text())["space"] == "mlp"


def _cost_run(seed: int, ratio: float, one_shot: dict | None = None) -> dict:
    winner = {"test_acc": 0.99, "val_acc": 0.99, "error": None, "train_s": 1.0}
    row = {"seed": seed, "clock": "cpu", "default_s": 10.0, "one_shot_s": 10.0 * ratio,
           "default_cpu_s": 10.0, "one_shot_cpu_s": 10.0 * ratio, "ratio": ratio,
           "phases_cpu_s": {"supernet": 1.0, "scoring": 1.0, "retraining": 10 * ratio - 2},
           "default_trials": 20, "one_shot_trials": 3, "default_winner": winner,
           "one_shot_winner": {**winner, "test_acc": 0.98 + seed / 100}}
    return {"rows": [row], "one_shot": one_shot or {"budget": "2000steps"}, "space": "cnn",
            "clock": "cpu", "median_ratio": ratio, "one_shot_test": 0.0, "default_test": 0.0,
            "load_at_start": 1.0, "wall_s": 60.0, "threads": 1, "cores": 2,
            "retrain": "4000steps", "command": "--cost", "date": "2026-12-02"}


def test_cost_merge_joins_seeds_run_apart_and_refuses_other_settings(tmp_path):
    files = []
    for seed, ratio in ((1, 0.4), (0, 0.3), (2, 0.6)):
        files.append(tmp_path / f"run{seed}.json")
        files[-1].write_text(json.dumps(_cost_run(seed, ratio)))
    cost = bench.main(["--cost-merge", *map(str, files), "--out", str(tmp_path / "out")])
    assert [r["seed"] for r in cost["rows"]] == [0, 1, 2]
    assert cost["median_ratio"] == pytest.approx(0.4)
    assert cost["one_shot_test"] == pytest.approx(0.99)  # (0.98 + 0.99 + 1.00) / 3
    md = (tmp_path / "out" / "oneshot_cost.md").read_text()
    assert "seed(s) 0, 1, 2" in md and "merged with `--cost-merge`" in md
    other = tmp_path / "other.json"
    other.write_text(json.dumps(_cost_run(3, 0.5, {"budget": "8000steps"})))
    with pytest.raises(SystemExit, match="differ in one_shot"):
        bench.main(["--cost-merge", str(files[0]), str(other), "--out", str(tmp_path)])


def test_cost_merge_joins_the_two_sides_of_a_seed_run_apart(tmp_path):
    full = _cost_run(0, 0.25)["rows"][0]
    default = {k: v for k, v in full.items() if k.startswith("default") or k == "seed"}
    shot = {k: v for k, v in full.items() if k.startswith(("one_shot", "phases")) or k == "seed"}
    files = []
    for side, row, one_shot in (("default", default, {"budget": "ignored"}),
                                ("one_shot", shot, {"budget": "2000steps"})):
        run = {**_cost_run(0, 0.25, one_shot), "rows": [row], "side": side}
        files.append(tmp_path / f"{side}.json")
        files[-1].write_text(json.dumps(run))
    cost = bench.main(["--cost-merge", *map(str, files), "--out", str(tmp_path / "out")])
    (row,) = cost["rows"]
    assert row["ratio"] == pytest.approx(full["one_shot_cpu_s"] / full["default_cpu_s"])
    assert cost["one_shot"] == {"budget": "2000steps"}  # the one-shot side's settings
    assert cost["median_ratio"] == pytest.approx(0.25)


@pytest.mark.slow
def test_few_shot_parts_start_from_a_supernet_of_the_whole_space(tmp_path):
    args = ["--space", "mlp", "--archs", "4", "--standalone-steps", "2", "--supernet-steps",
            "12", "--probe", "6", "--calib-batches", "1", "--rules", "slice", "--split", "norm",
            "--split-inherit", "6", "--finetune-lr", "0.001", "--finetune", "2",
            "--supernet-cache", str(tmp_path / "cache"), "--out", str(tmp_path)]
    (row,) = bench.main(args)["spaces"][0]["oneshot"]
    # 6 passes of the whole space, then the other 6 shared out: 3 norms, 2 passes each
    assert row["split_inherit"] == 6 and row["trained_paths"] == 6 + 3 * 2
    assert row["options"] == {"lr": 0.003, "finetune_lr": 0.001} and row["finetune_steps"] == 2
    md = (tmp_path / "oneshot.md").read_text()
    assert ("| mlp | slice (few-shot on norm, from a 6-pass supernet) (lr=0.003) "
            "(finetune_lr=0.001) |") in md
    names = sorted(p.stem for p in (tmp_path / "cache").glob("*.pt"))
    assert len(names) == 4 and sum(n.endswith("-from6") for n in names) == 3


def test_trace_fifths_group_the_passes_by_step_and_count_spikes():
    trace = load_bench("_oneshot_trace")
    passes = [(s, g, loss) for s in range(10) for g, loss in (("a", 1.0 + s), ("b", 2.0))]
    rows = trace.fifths(passes, chance=2.0)  # spikes: losses over 4.0
    assert [(r["fifth"], r["group"], r["passes"]) for r in rows] == [
        (k, g, 2) for k in range(1, 6) for g in ("a", "b")]
    a = [r for r in rows if r["group"] == "a"]
    assert [r["median_loss"] for r in a] == [1.5, 3.5, 5.5, 7.5, 9.5]
    assert [r["max_loss"] for r in a] == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert [r["spikes"] for r in a] == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert all(r["spikes"] == 0 and r["median_loss"] == 2.0 for r in rows if r["group"] == "b")


@pytest.mark.slow
def test_trace_run_writes_each_groups_losses_and_scores(tmp_path):
    out = bench.main(["--space", "cnn", "--trace", "batch_norm", "--archs", "4",
                      "--supernet-steps", "20", "--probe", "4", "--calib-batches", "1",
                      "--widths", "16", "--samplings", "fair", "--supernet-lr", "0.003",
                      "--out", str(tmp_path)])
    assert {r["group"] for r in out["fifths"]} == {"False", "True"}
    assert sum(r["passes"] for r in out["fifths"]) >= 20  # every pass, in whole steps
    assert sum(v["archs"] for v in out["scores"].values()) == 4
    md = (tmp_path / "oneshot_trace.md").read_text()
    assert "| fifth of training | batch_norm |" in md and "--trace batch_norm" in md
    assert out["options"] == {"lr": 0.003} and "--widths 16 --supernet-lr 0.003`" in md
    assert json.loads((tmp_path / "oneshot_trace.json").read_text())["decision"] == "batch_norm"
