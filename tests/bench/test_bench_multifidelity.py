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
        assert 0 < run["winner"]["retrain_test"] <= 1
    table = (tmp_path / "multifidelity.md").read_text()
    assert "| none | 1 |" in table and "| sha | 1 |" in table
    assert "--configs none,sha" in table and "load average" in table
