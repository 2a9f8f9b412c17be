"""Smoke test of bench/load_robustness.py: a tiny run under one burner writes its table
and records, and leaves no background process behind.

Nothing about the load's effect is asserted here (tests/evaluators/test_busy_machine.py does that
with fake clocks); this keeps the benchmark running and its records complete.
"""

from __future__ import annotations

import json

import pytest
from bench_helpers import load_bench

bench = load_bench("load_robustness")


def test_burners_are_killed_when_the_block_fails():
    with pytest.raises(KeyboardInterrupt), bench.burners(1) as procs:
        assert procs[0].poll() is None  # running
        raise KeyboardInterrupt
    assert procs[0].poll() is not None


@pytest.mark.slow
def test_tiny_run_writes_results(tmp_path, capsys):
    out = tmp_path / "out"
    assert bench.main(["--trials", "2", "--budget", "20steps", "--train-steps", "30",
                       "--burners", "1", "--work", str(tmp_path / "work"),
                       "--out", str(out)]) == 0
    data = json.loads((out / "load_robustness.json").read_text())
    quiet, busy = data["conditions"]
    assert (quiet["condition"], busy["condition"], busy["burners"]) == ("quiet", "busy", 1)
    for row in (quiet, busy):
        assert row["trials"] == 2 and row["full"] == 2 and row["capped"] == 0
        assert all(t["steps"] == t["planned_steps"] == 20 for t in row["all"])
        assert 0 <= row["test_after_train"] <= 1 and row["winner"] in (0, 1)
    text = (out / "load_robustness.md").read_text()
    assert "| quiet | 0 |" in text and "| busy | 1 |" in text and "Targets" in text
    assert "--trials 2 --budget 20steps --train-steps 30 --burners 1" in text
