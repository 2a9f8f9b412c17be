"""The default search against optuna TPE and random search on MNIST-1D, same wall clock.

Every run searches the default space (``cnn``) on the default task (``mnist1d``) with the
default per-candidate budget through the same evaluator; only the strategy differs.
Each run gets the same wall-clock budget (``--minutes``) and one CPU thread; ``--jobs``
runs that many at once, seed by seed, so with the default (one job per strategy) the
strategies of one seed run side by side under the same machine load. For each
strategy and seed the script records, over time, the best validation accuracy found so
far and the test accuracy of that best-by-validation candidate (the test split is never
used for selection). It prints a table, saves bench/results/mnist1d_search.{md,json}
and a plot of best-so-far validation accuracy over time (mnist1d_search.png).

    python bench/mnist1d_search.py                 # 3 strategies x 3 seeds, 10 min each
    python bench/mnist1d_search.py --minutes 2 --seeds 1 --out /tmp/quick
    python bench/mnist1d_search.py --strategies 'evolution;evolution{"cost": null};random'

A strategy entry may end with JSON options for it (``evolution{"population": 8}``);
entries are separated by ``;``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = ("evolution", "optuna:tpe", "random")


def parse_entry(entry: str) -> tuple[str, dict]:
    """'evolution{"cost": null}' -> ("evolution", {"cost": None})."""
    name, brace, opts = entry.partition("{")
    return name.strip(), json.loads(brace + opts) if brace else {}


def run_one(strategy: str, seed: int, minutes: float, budget: str | None) -> dict:
    """One timed search; returns its trajectory [(seconds, val, test, params)]."""
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    import nas
    from cli._search import DEFAULTS  # the defaults `nas search` uses

    budget = budget or DEFAULTS.get("budget")
    name, options = parse_entry(strategy)
    start = time.time()
    points: list[list[float]] = []
    trials: list[dict] = []  # every completed trial, for later analysis
    best = [-1.0]

    def on_trial(rec) -> None:
        if rec.state != "COMPLETE":
            return
        val = rec.values[0]
        trials.append({"t": time.time() - start, "number": rec.number, "val": val,
                       **{k: rec.metrics.get(k) for k in ("test_acc", "params", "flops",
                                                          "train_time_s", "steps")}})
        if val > best[0]:
            best[0] = val
            points.append([time.time() - start, val, rec.metrics.get("test_acc", float("nan")),
                           rec.metrics.get("params", float("nan"))])

    with tempfile.TemporaryDirectory() as tmp:
        st = nas.search(space=DEFAULTS["space"], task=DEFAULTS["task"], strategy=name,
                        trials=10_000, timeout=minutes * 60, seed=seed, budget=budget,
                        run_dir=tmp, device="cpu", on_trial=on_trial,
                        strategy_options=options)
        n = len(st.completed())
    return {"strategy": strategy, "seed": seed, "trials": n, "points": points,
            "all": trials, "wall_s": time.time() - start}


def at(points: list, t: float) -> tuple[float, float]:
    """Best validation accuracy (and its test accuracy) reached by time ``t``."""
    val, test = float("nan"), float("nan")
    for s, v, te, _ in points:
        if s <= t:
            val, test = v, te
    return val, test


def table(runs: list[dict], minutes: float, strategies=STRATEGIES) -> str:
    marks = [minutes * 60 * f for f in (0.25, 0.5, 0.75, 1.0)]
    head = " | ".join(f"val @ {m / 60:.1f} min" for m in marks)
    lines = [f"| strategy | trials | {head} | test acc (best val) @ end |",
             "|---" * (len(marks) + 3) + "|"]
    for strategy in strategies:
        rs = [r for r in runs if r["strategy"] == strategy]
        if not rs:
            continue
        cells = []
        for m in marks:
            vals = [at(r["points"], m)[0] * 100 for r in rs]
            cells.append(_mean_sd(vals))
        tests = [at(r["points"], marks[-1])[1] * 100 for r in rs]
        trials = statistics.mean(r["trials"] for r in rs)
        lines.append(f"| {strategy} | {trials:.0f} | {' | '.join(cells)} | {_mean_sd(tests)} |")
    return "\n".join(lines)


def _mean_sd(xs: list[float]) -> str:
    xs = [x for x in xs if x == x]
    if not xs:
        return "-"
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.mean(xs):.2f} +- {sd:.2f}"


def plot(runs: list[dict], path: Path, minutes: float, strategies=STRATEGIES) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    colors = dict(zip(strategies, ("tab:blue", "tab:orange", "tab:gray", "tab:green",
                                   "tab:red", "tab:purple")))
    for r in runs:
        pts = r["points"]
        if not pts:
            continue
        xs = [p[0] / 60 for p in pts] + [minutes]
        ys = [p[1] * 100 for p in pts] + [pts[-1][1] * 100]
        label = r["strategy"] if r["seed"] == 0 else None
        ax.step(xs, ys, where="post", color=colors[r["strategy"]], label=label, alpha=0.8)
    ax.set_xlabel("wall clock (min)")
    ax.set_ylabel("best validation accuracy so far (%)")
    ax.set_ylim(bottom=90)
    ax.set_title("cnn space on MNIST-1D, same budget per run")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="wall clock per run")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--jobs", type=int, default=3, help="runs at once")
    p.add_argument("--budget", default=None, help="per-candidate budget (default: nas "
                   "search's)")
    p.add_argument("--strategies", default=";".join(STRATEGIES),
                   help="';'-separated, each optionally with JSON options")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    entries = [e.strip() for e in args.strategies.split(";") if e.strip()]
    jobs = [(s, seed) for seed in range(args.seeds) for s in entries]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_one, s, seed, args.minutes, args.budget) for s, seed in jobs]
        runs = []
        for f in futures:
            r = f.result()
            runs.append(r)
            last = r["points"][-1] if r["points"] else [0, float("nan"), float("nan"), 0]
            print(f"{r['strategy']:<12} seed {r['seed']}: {r['trials']} trials, best val "
                  f"{last[1]:.4f} (test {last[2]:.4f}, {int(last[3]):,} params)", flush=True)
    text = table(runs, args.minutes, entries)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mnist1d_search.json").write_text(json.dumps(
        {"minutes": args.minutes, "seeds": args.seeds, "budget": args.budget, "runs": runs},
        indent=1))
    (args.out / "mnist1d_search.md").write_text(
        f"# Default search vs TPE vs random on MNIST-1D\n\n`python bench/mnist1d_search.py "
        f"--minutes {args.minutes:g} --seeds {args.seeds}"
        + (f" --strategies '{args.strategies}'" if entries != list(STRATEGIES) else "")
        + "`: the `cnn` space on `mnist1d`, "
        f"{args.minutes:g} min of wall clock per run, one CPU thread per run, {args.jobs} runs "
        "at once (the strategies of one seed side by side); mean +- sd over seeds of the best "
        "validation accuracy found by each time and the test accuracy of that "
        "best-by-validation candidate at the end.\n\n"
        f"{text}\n")
    plot(runs, args.out / "mnist1d_search.png", args.minutes, entries)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
