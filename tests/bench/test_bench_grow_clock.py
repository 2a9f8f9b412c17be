"""bench/grow.py --clock cpu: a search's time limit and its reported minutes count the
search process's CPU time, not the wall clock (bench/_cpu_clock.py).

The search is a stand-in that sleeps (wall time passes, almost no CPU time) and reads the
runner's clock, as the runner does for its deadline; the seed model is not trained. So
the test takes about a second and fails if the flag does nothing."""

from __future__ import annotations

import json
import time
import types

import pytest
from bench_helpers import load_bench

bench = load_bench("grow")
NAP = 0.4  # seconds the stand-in search sleeps


@pytest.fixture
def fake_search(monkeypatch):
    """``nas.search`` replaced: one finished child, a nap, the runner's clock read around
    it; ``train_seed`` replaced by a stand-in seed model."""
    import nas
    import nas.runner

    seen: dict = {}

    def search(**kw):
        seen["timeout"] = kw["timeout"]
        before = nas.runner.time.time()
        time.sleep(NAP)
        seen["runner_s"] = nas.runner.time.time() - before
        kw["on_trial"](types.SimpleNamespace(
            state="COMPLETE", number=0, values=[0.9], attrs={"lineage": {"inherited": 0.0}},
            metrics={"test_acc": 0.88, "params": 6000}))
        return types.SimpleNamespace(trial=lambda n: types.SimpleNamespace(graph=None),
                                     objectives=[nas.Objective("val_acc", "max")])

    monkeypatch.setattr(nas, "search", search)
    monkeypatch.setattr(bench, "train_seed", lambda seed, budget: (
        types.SimpleNamespace(graph=None), {"val": 0.93, "test": 0.92}))
    return seen


def run(tmp_path, *flags) -> dict:
    (record,) = bench.main(["--seeds", "1", "--arms", "scratch", "--minutes", "10",
                            "--retrain", "", "--finetune", "", "--out", str(tmp_path),
                            *flags])
    return record


def test_clock_cpu_counts_the_search_process_cpu_time(tmp_path, fake_search):
    import nas.runner
    import nas.worker

    record = run(tmp_path, "--clock", "cpu")
    assert fake_search["timeout"] == 600
    # the runner's deadline clock did not advance with the nap; the wall clock did
    assert fake_search["runner_s"] < NAP / 2
    assert record["clock"] == "cpu" and record["clock_s"] < NAP / 2 <= NAP <= record["wall_s"]
    assert record["all"][0]["t"] < NAP / 2
    # the wall clock is back for whatever runs next in this process
    assert nas.runner.time is time and nas.worker.time is time
    text = (tmp_path / "grow.md").read_text()
    assert "10 min of CPU time (`--clock cpu`" in text and "| CPU min |" in text
    assert json.loads((tmp_path / "grow.json").read_text())["clock"] == "cpu"


def test_the_default_wall_clock_counts_the_nap(tmp_path, fake_search):
    record = run(tmp_path)
    assert fake_search["runner_s"] >= NAP
    assert record["clock"] == "wall" and record["clock_s"] >= NAP
    text = (tmp_path / "grow.md").read_text()
    assert "10 min wall clock" in text and "| wall min |" in text
