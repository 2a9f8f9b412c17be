"""Strategies on NAS-Bench-201: best test accuracy after N evaluations, 3 datasets.

Runs every strategy through the same harness as `nas benchmark nb201` (no training: the
table scores each cell) and writes bench/results/nb201_strategies.{json,md}. The bar
(issue 5): the default strategy beats optuna's TPE at N=50 and N=100 on CIFAR-10, over
>= 20 seeds, measured side by side; the RL controller beats random search at N=100.

    python bench/nb201_strategies.py --table nb201_test_accuracy.csv [--seeds 20]
    python bench/nb201_strategies.py --from-json a.json b.json   # tables from `nas benchmark
                                                                  #   nb201 --format json` runs
    python bench/nb201_strategies.py --table T --strategies hillclimb --add   # one more row
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timezone
from pathlib import Path

STRATEGIES = ["evolution", "optuna:tpe", "random", "rl", "nevergrad:NGOpt", "hillclimb"]
DATASETS = ["cifar10", "cifar100", "imagenet16"]
HERE = Path(__file__).resolve().parent


def run(table: Path, seeds: int, strategies: list[str]) -> list[dict]:
    import nas
    from nas.benchmark import compare
    from search_spaces.nb201 import load_table, to_arch_string

    rows = []
    space = nas.get_space("nb201", skeleton=False)
    for ds in DATASETS:
        scores = load_table(table, ds)
        out = compare(space, lambda d, s=scores: s[to_arch_string(d)], strategies, [50, 100],
                      seeds, optimum=max(scores.values()),
                      progress=lambda m, ds=ds: print(f"{ds} {m}", flush=True))
        for r in out:
            r["dataset"] = ds
        rows += out
    return rows


def run_dates(rows: list[dict]) -> str:
    """When each strategy's rows were run: ``"2026-11-25 (evolution, random),
    2026-12-03 (hillclimb)"``, oldest first."""
    days: dict[str, list[str]] = {}
    for r in sorted(rows, key=lambda r: r["date"]):
        names = days.setdefault(r["date"][:10], [])
        if r["strategy"] not in names:
            names.append(r["strategy"])
    return ", ".join(f"{day} ({', '.join(names)})" for day, names in days.items())


def write(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    meta = {"date": max(r["date"] for r in rows), "cpus": os.cpu_count()}
    (out / "nb201_strategies.json").write_text(json.dumps({"meta": meta, "rows": rows},
                                                          indent=2))
    lines = ["# Strategies on NAS-Bench-201 (test accuracy, best after N evaluations)", "",
             f"Run {run_dates(rows)}; mean +- std over seeds; regret = optimum - mean; "
             "ms/iter is the strategy's ask+tell time (no training).", ""]
    for ds in DATASETS:
        sub = [r for r in rows if r["dataset"] == ds]
        if not sub:
            continue
        lines += [f"## {ds} (optimum {sub[0]['optimum']:.2f})", "",
                  "| strategy | seeds | N=50 | N=100 | regret N=100 | ms/iter |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name in dict.fromkeys(r["strategy"] for r in sub):
            a = next(r for r in sub if r["strategy"] == name and r["evals"] == 50)
            b = next(r for r in sub if r["strategy"] == name and r["evals"] == 100)
            lines.append(f"| {name} | {a['seeds']} | {a['mean']:.2f} +- {a['std']:.2f} | "
                         f"{b['mean']:.2f} +- {b['std']:.2f} | {b['regret']:.2f} | "
                         f"{a.get('ms_per_iteration', float('nan')):.2f} |")
        lines.append("")
    (out / "nb201_strategies.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", type=Path, default=os.environ.get("NAS_NB201_TABLE"))
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--strategies", nargs="+", default=STRATEGIES)
    p.add_argument("--from-json", nargs="+", type=Path, default=None)
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--add", action="store_true", help="keep the saved results' rows of "
                   "other strategies (those run replace their own)")
    args = p.parse_args(argv)
    if args.from_json:
        rows = [r for f in args.from_json for r in json.loads(f.read_text())]
    else:
        if args.table is None:
            p.error("pass --table PATH (or set NAS_NB201_TABLE)")
        rows = run(args.table, args.seeds, args.strategies)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    rows = [{**r, "date": r.get("date", now)} for r in rows]
    saved = args.out / "nb201_strategies.json"
    if args.add and saved.exists():  # the other strategies' rows, with the date they ran
        ran, old = {r["strategy"] for r in rows}, json.loads(saved.read_text())
        rows = [{**r, "date": r.get("date", old["meta"]["date"])} for r in old["rows"]
                if r["strategy"] not in ran] + rows
    write(rows, args.out)


if __name__ == "__main__":
    main()
