"""Strategy overhead: milliseconds per ask+tell, measured around trial 1,000.

Runs each strategy for ``--trials`` ask/tell rounds on the NAS-Bench-201 cell space
with a synthetic score (no training, no table needed) and reports the mean time per
round over the last 100 rounds and over all rounds. Target: < 2 ms for `evolution`
(optuna's TPE measured about 8.5 ms here).

    python bench/strategy_overhead.py [--trials 1000] [--strategies evolution random ...]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from datetime import datetime, timezone
from pathlib import Path

import nas
from nas.strategies import get_strategy, list_strategies


def measure(name: str, trials: int, seed: int = 0) -> dict:
    space = nas.get_space("nb201", skeleton=False)
    strategy = get_strategy(name, space, seed=seed)
    rng = random.Random(seed)
    times = []
    for _ in range(trials):
        t0 = time.perf_counter()
        _, decisions = space.identify(strategy.ask())
        score = rng.random()
        strategy.tell(decisions, nas.Result(objectives={"val_acc": score}))
        times.append(time.perf_counter() - t0)
    last = times[-100:]
    return {"strategy": name, "trials": trials,
            "ms_per_iteration_last100": 1e3 * sum(last) / len(last),
            "ms_per_iteration_mean": 1e3 * sum(times) / len(times)}


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--strategies", nargs="+", default=None)
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = p.parse_args(argv)
    names = args.strategies or [s for s in list_strategies() if s not in ("optuna",
                                                                           "nevergrad")]
    if args.strategies is None:
        names += ["optuna:tpe", "nevergrad:NGOpt"]
    rows = []
    for name in names:
        try:
            rows.append(measure(name, args.trials))
        except (ValueError, ImportError) as exc:
            print(f"skipping {name}: {exc}")
            continue
        r = rows[-1]
        print(f"{name:>18}: {r['ms_per_iteration_last100']:8.2f} ms/iter (last 100), "
              f"{r['ms_per_iteration_mean']:8.2f} mean", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "platform": platform.platform(), "python": platform.python_version()}
    (args.out / "strategy_overhead.json").write_text(json.dumps({"meta": meta, "rows": rows},
                                                                indent=2))
    lines = ["# Strategy overhead per ask+tell (NB201 cell space, synthetic score)", "",
             f"{args.trials} trials; {meta['date']}; {meta['platform']}", "",
             "| strategy | ms/iter (last 100) | ms/iter (mean) |", "|---|---:|---:|"]
    lines += [f"| {r['strategy']} | {r['ms_per_iteration_last100']:.2f} | "
              f"{r['ms_per_iteration_mean']:.2f} |" for r in rows]
    (args.out / "strategy_overhead.md").write_text("\n".join(lines) + "\n")
    return rows


if __name__ == "__main__":
    main()
