"""Smoke test of bench/grow.py at a tiny size: both arms run, the inheriting one inherits
(and the other does not), and the table and JSON are written. No accuracy is asserted."""

from __future__ import annotations

import json

import pytest
from bench_helpers import load_bench

from nas import Objective

bench = load_bench("grow")


@pytest.mark.slow
def test_quick_run_writes_both_arms(tmp_path):
    runs = bench.main(["--quick", "--out", str(tmp_path)])
    assert [r["arm"] for r in runs] == ["inherit", "scratch"]
    for r in runs:
        assert r["trials"] == 3 and r["best"]["val"] == max(t["val"] for t in r["all"])
        assert 0.0 <= r["best"]["retrain_test"] <= 1.0
    inherit, scratch = runs
    assert all(t["inherited"] == 0.0 for t in scratch["all"])
    assert any(t["inherited"] > 0.5 for t in inherit["all"])
    text = (tmp_path / "grow.md").read_text()
    assert "| inherit weights | 1 | 3 |" in text and "| from scratch | 1 | 3 |" in text
    assert json.loads((tmp_path / "grow.json").read_text())["runs"][0]["arm"] == "inherit"


@pytest.mark.slow
def test_quick_capped_arm_stays_under_its_cap(tmp_path):
    runs = bench.main(["--quick", "--arms", "capped", "--max-params", "5300", "--edits",
                       "widen,narrow,normalize", "--out", str(tmp_path)])
    (run,) = runs
    assert run["arm"] == "capped" and run["trials"] == 3
    assert all(t["params"] <= 5300 for t in run["all"])  # the task's own count
    assert run["best"]["params"] <= 5300
    assert "| inherit weights, capped at 5,300 params | 1 | 3 |" in \
        (tmp_path / "grow.md").read_text()


def test_max_params_adds_the_capped_arm_and_bad_values_stop():
    def parsed(*argv):
        args = bench.argparse.Namespace(arms=list(bench.ARMS[:2]), max_params=None)
        for flag, value in zip(argv[::2], argv[1::2]):
            setattr(args, flag, value)
        bench.check_arms(args)
        return args.arms

    assert parsed() == ["inherit", "scratch"]
    assert parsed("max_params", 5210) == ["inherit", "scratch", "capped"]
    assert parsed("arms", ["capped"], "max_params", 5210) == ["capped"]
    with pytest.raises(SystemExit, match="needs --max-params"):
        parsed("arms", ["capped"])
    with pytest.raises(SystemExit, match="--max-params must be a positive int"):
        parsed("max_params", 0)
    with pytest.raises(SystemExit, match="unknown arm"):
        parsed("arms", ["capped", "wings"], "max_params", 10)


def test_a_sequential_run_keeps_the_seeds_done_when_a_later_one_fails(tmp_path, monkeypatch):
    """With --jobs 1 the table and records are written after each seed, so a run stopped
    during seed 1 keeps seed 0."""
    def run_seed(seed, args):
        if seed == 1:
            raise KeyboardInterrupt
        return {"val": 0.9, "test": 0.8}, [{"arm": "inherit", "seed": seed, "trials": 2,
                                            "steps": 600, "wall_s": 60.0, "all": []}]

    monkeypatch.setattr(bench, "run_seed", run_seed)
    with pytest.raises(KeyboardInterrupt):
        bench.main(["--seeds", "3", "--arms", "inherit", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "grow.json").read_text())
    assert [r["seed"] for r in data["runs"]] == [0] and data["seeds"] == [
        {"val": 0.9, "test": 0.8}]
    assert "| inherit weights | 1 | 2 | 600 | 1.0 |" in (tmp_path / "grow.md").read_text()


def test_finetune_lrs_train_the_winner_again_at_each_peak_lr(monkeypatch):
    """``--finetune-lrs`` repeats the fine-tune from the same inherited weights at each lr
    (the task built with that peak lr), recorded with its val and test beside the default."""
    import nas

    calls = []

    class Task:
        def __init__(self, lr):
            self.lr = lr

        def evaluate(self, graph, budget, seed, device):
            calls.append((self.lr, graph.meta["start_weights"], budget))
            return bench.argparse.Namespace(ok=True, metrics={"test_acc": self.lr or 0.5},
                                            objectives={"val_acc": (self.lr or 0.5) / 2})

    monkeypatch.setattr(nas, "get_task", lambda name, config=None: Task(
        (config or {}).get("lr")))
    monkeypatch.setattr("nas.graphspace.keep_start_weights", lambda key, w: f"w:{w['x']}")

    class Study:
        def trial(self, number):
            return bench.argparse.Namespace(graph=nas.ArchGraph())

        def load_weights(self, number):
            return {"x": number}

    args = bench.argparse.Namespace(retrain="", finetune="7steps", finetune_lrs=[3e-3, 1e-3])
    out = bench.after_search(Study(), 4, "/nowhere", args, {})
    assert out == {"finetune_test": 0.5, "finetune_lrs": {
        "0.003": {"val": 0.0015, "test": 0.003}, "0.001": {"val": 0.0005, "test": 0.001}}}
    assert calls == [(None, "w:4", "7steps"), (3e-3, "w:4", "7steps"),
                     (1e-3, "w:4", "7steps")]


def test_the_best_is_picked_by_the_searchs_objective():
    trials = [{"number": 0, "score": 0.30, "val": 0.95}, {"number": 1, "score": 0.10,
              "val": 0.94}, {"number": 2, "score": 0.98, "val": 0.98}]
    assert bench.best_of(trials[:2], Objective("val_loss", "min"))["number"] == 1
    assert bench.best_of(trials, Objective("val_acc", "max"))["number"] == 2


@pytest.mark.slow
def test_quick_run_selected_by_validation_loss(tmp_path):
    (run,) = bench.main(["--quick", "--arms", "inherit", "--objective", "val_loss",
                         "--finetune", "", "--out", str(tmp_path)])
    assert run["best"]["score"] == min(t["score"] for t in run["all"])
    assert all(t["val"] is None and t["score"] > 0 for t in run["all"])  # losses, no acc
    assert "selected by val_loss" in (tmp_path / "grow.md").read_text()


@pytest.mark.slow
def test_quick_run_with_hillclimb_chains_children_of_the_incumbent(tmp_path):
    """--strategy hillclimb: after the warm-up (a random candidate, one edit from the
    seed), each child (--quick: 3 trials) is it plus one edit and starts from its weights."""
    options = '{"neighbours": 2, "warmup": 1}'
    (run,) = bench.main(["--quick", "--arms", "inherit", "--strategy", "hillclimb",
                         "--strategy-options", options, "--chain", "true",
                         "--max-edits", "4", "--out", str(tmp_path)])
    (warm,), children = run["all"][:1], run["all"][1:]
    assert len(warm["edits"]) <= 1 and len(children) == 2
    for child in children:
        assert child["edits"][:-1] == warm["edits"] and child["inherited"] > 0
    assert f"hillclimb {options}" in (tmp_path / "grow.md").read_text()
