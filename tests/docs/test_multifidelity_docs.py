"""The pruner table in docs/default-search.md quotes bench/results/multifidelity.md, row
for row, so the default decision stands on the recorded measurement."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_pruner_table_quotes_the_benchmark_results():
    results = (ROOT / "bench" / "results" / "multifidelity.md").read_text().splitlines()
    page = (ROOT / "docs" / "default-search.md").read_text().splitlines()
    rows = [line for line in page if re.match(r"\| (none|median|sha|hyperband) \|", line)]
    assert len(rows) >= 4
    for row in rows:
        assert row in results, f"docs/default-search.md quotes a row not in the results: {row}"
