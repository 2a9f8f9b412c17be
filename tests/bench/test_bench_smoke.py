"""Smoke test of bench/compile_overhead.py: each compiled model matches its hand-written twin.

No timing is asserted; this only keeps the benchmark's models building and equal.
"""

from __future__ import annotations

import pytest
import torch
from bench_helpers import load_bench

from nas import count_params

bench = load_bench("compile_overhead")


@pytest.mark.parametrize("case", bench.CASES, ids=lambda c: c.name)
def test_compiled_matches_hand_written(case):
    compiled, hand = bench.build(case)  # copies the hand-written weights in (strict)
    assert count_params(compiled) == count_params(hand) > 0
    x = torch.randn(3, *case.shape)
    torch.testing.assert_close(compiled(x), hand(x))  # training mode, as benchmarked
    assert compiled(x).shape == (3, bench.CLASSES)


def test_paper_cnn_has_the_paper_size():
    compiled, _ = bench.build(bench.CASES[0])
    assert count_params(compiled) == 5210


def test_quick_run_writes_results(tmp_path, capsys):
    rows = bench.main(["--quick", "--steps", "2", "--models", "mlp", "--out", str(tmp_path)])
    assert [r["model"] for r in rows] == ["mlp"]
    loss = rows[0]["final_loss"]  # same weights, same batches, same steps
    assert loss["hand"] == pytest.approx(loss["compiled"], rel=1e-4)
    assert (tmp_path / "compile_overhead.json").exists()
    assert "| mlp" in (tmp_path / "compile_overhead.md").read_text()
