"""bench/nb201_strategies.py --add: the rows kept from the saved results keep the date
they were run (the table's header lists each strategy's), the new rows get today's; the
rows run replace their own strategy's."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from bench_helpers import load_bench

bench = load_bench("nb201_strategies")


def rows(strategy: str, mean: float) -> list[dict]:
    return [{"strategy": strategy, "dataset": "cifar10", "evals": n, "seeds": 2,
             "mean": mean, "std": 0.1, "regret": 94.37 - mean, "optimum": 94.37}
            for n in (50, 100)]


def test_add_keeps_the_saved_rows_dates(tmp_path):
    saved = {"meta": {"date": "2026-11-25T16:14:12+00:00", "cpus": 2},
             "rows": rows("evolution", 94.0) + rows("hillclimb", 93.0)}
    (tmp_path / "nb201_strategies.json").write_text(json.dumps(saved))
    fresh = tmp_path / "fresh.json"
    fresh.write_text(json.dumps(rows("hillclimb", 93.5)))
    bench.main(["--from-json", str(fresh), "--add", "--out", str(tmp_path)])

    out = json.loads((tmp_path / "nb201_strategies.json").read_text())
    today = datetime.now(timezone.utc).date().isoformat()
    assert [(r["strategy"], r["mean"], r["date"][:10]) for r in out["rows"]] == [
        ("evolution", 94.0, "2026-11-25")] * 2 + [("hillclimb", 93.5, today)] * 2
    assert out["meta"]["date"][:10] == today
    text = (tmp_path / "nb201_strategies.md").read_text()
    assert f"Run 2026-11-25 (evolution), {today} (hillclimb);" in text
    assert "| hillclimb | 2 | 93.50 +- 0.10 |" in text and "93.00" not in text
