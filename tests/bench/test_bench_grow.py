"""Smoke test of bench/grow.py at a tiny size: both arms run, the inheriting one inherits
(and the other does not), and the table and JSON are written. No accuracy is asserted."""

from __future__ import annotations

import json

import pytest
from bench_helpers import load_bench

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
