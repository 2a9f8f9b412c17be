"""No pruner, median, successive halving and Hyperband at equal wall-clock on MNIST-1D.

Every run is the default search (evolution on the ``cnn`` space and the ``mnist1d``
task, the default per-candidate budget) for the same wall-clock (``--minutes``, one CPU
thread a run, ``--jobs`` runs at once, the configurations of one seed side by side);
only ``--pruner`` differs. For each configuration and seed it records, over time, the
best validation accuracy of a trial trained to completion (a pruned trial never counts
as a result), the candidates seen (pruned ones included) and those trained to the full
budget, and the winner's test accuracy after `nas train` (trained afresh after the
clock stops, as bench/mnist1d_search.py does, whose runner this reuses). It prints a
table and saves bench/results/multifidelity.{md,json}.

A run's minutes are its own CPU time by default (``--clock cpu``, bench/_cpu_clock.py):
with one thread a run that is its wall-clock on a quiet machine, and other jobs on the
machine slow the benchmark down without shortening any search; ``--clock wall`` counts
the wall clock (on a quiet machine only).

    python bench/multifidelity.py                      # 4 configurations x 5 seeds, 6 min
    python bench/multifidelity.py --minutes 3 --seeds 2
    python bench/multifidelity.py --configs none,hyperband --minutes 1 --seeds 1 \\
        --out /tmp/quick
    python bench/multifidelity.py --configs sha,hyperband --merge \
        bench/results/multifidelity.json    # add configurations to an earlier run's table
    python bench/multifidelity.py --seeds 2 --first-seed 3 --merge \
        bench/results/multifidelity.json    # add seeds 3 and 4 to a run stopped early

Each run also trains its winner at half the wall-clock as `nas train` does, so the
table says whether a pruner's half-time winner matches no pruner's final one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.mnist1d_search import _mean_sd, at, retrained_test, run_one  # noqa: E402

CONFIGS = ("none", "median", "sha", "hyperband")
MARKS = (0.25, 0.5, 0.75, 1.0)  # shares of the wall-clock the table reads the best at


def table(runs: list[dict], minutes: float, configs) -> str:
    """Mean +- sd over seeds per configuration: candidates, best val over time, test."""
    marks = [minutes * 60 * f for f in MARKS]
    head = " | ".join(f"val @ {m / 60:.1f} min" for m in marks)
    lines = [f"| pruner | seeds | candidates seen | trained to full budget | {head} "
             "| winner's test after `nas train` | same, winner at half time |",
             "|---" * (len(marks) + 6) + "|"]
    for config in configs:
        rs = [r for r in runs if r["pruner"] == config]
        if not rs:
            continue
        vals = [_mean_sd([at(r["points"], m)[0] * 100 for r in rs]) for m in marks]
        seen = statistics.mean(r["seen"] for r in rs)
        full = statistics.mean(r["full"] for r in rs)
        test = _mean_sd([retrained_test(r) * 100 for r in rs])
        early = _mean_sd([half_test(r) * 100 for r in rs])
        lines.append(f"| {config} | {len(rs)} | {seen:.1f} | {full:.1f} | "
                     f"{' | '.join(vals)} | {test} | {early} |")
    return "\n".join(lines)


def paired(runs: list[dict], minutes: float, configs) -> str:
    """Each pruned configuration minus no pruner, seed by seed: best val at the end and
    at half the wall-clock (against no pruner's at the end), test after `nas train`."""
    end = minutes * 60
    by = {(r["pruner"], r["seed"]): r for r in runs}
    lines = ["| pruner minus none | seeds | val @ end (points) | val @ half vs none's @ end "
             "| test after `nas train` (points) | test of the winner at half vs none's "
             "at the end |", "|---" * 6 + "|"]
    for config in configs:
        seeds = sorted(s for (c, s) in by if c == config and ("none", s) in by)
        if config == "none" or not seeds:
            continue
        base = [by["none", s] for s in seeds]
        mine = [by[config, s] for s in seeds]
        d_end = [(at(m["points"], end)[0] - at(b["points"], end)[0]) * 100
                 for m, b in zip(mine, base)]
        d_half = [(at(m["points"], end / 2)[0] - at(b["points"], end)[0]) * 100
                  for m, b in zip(mine, base)]
        d_test = [(retrained_test(m) - retrained_test(b)) * 100 for m, b in zip(mine, base)]
        d_early = [(half_test(m) - retrained_test(b)) * 100 for m, b in zip(mine, base)]
        lines.append(f"| {config} | {len(seeds)} | {_mean_sd(d_end)} | {_mean_sd(d_half)} "
                     f"| {_mean_sd(d_test)} | {_mean_sd(d_early)} |")
    return "\n".join(lines)


def half_test(run: dict) -> float:
    """Test accuracy after `nas train` of the run's winner at half its wall-clock (nan
    when the run has none: an older record, or nothing finished by then)."""
    value = (run.get("half_winner") or {}).get("retrain_test")
    return float("nan") if value is None else value


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=6.0, help="time per run (see --clock)")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=0, help="run seeds FIRST_SEED .. "
                   "FIRST_SEED + SEEDS - 1 (with --merge: finish a run stopped early)")
    p.add_argument("--configs", default=",".join(CONFIGS),
                   help=f"comma-separated pruners (default: {','.join(CONFIGS)})")
    p.add_argument("--jobs", type=int, default=4, help="runs at once")
    p.add_argument("--budget", default=None, help="per-candidate budget (default: nas "
                   "search's)")
    p.add_argument("--trials", type=int, default=None, help="stop each run after this "
                   "many trials too (smoke runs)")
    p.add_argument("--retrain", default="4000steps", help="the winner's `nas train` "
                   "budget ('none' skips it)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                   help="what a run's minutes count: its CPU time (default: a quiet "
                   "machine's wall-clock, whatever else runs; bench/_cpu_clock.py) or the "
                   "wall-clock")
    p.add_argument("--merge", type=Path, default=None, help="a multifidelity.json whose "
                   "runs join this run's table, all but those of a configuration and seed "
                   "run now (which replace them)")
    args = p.parse_args(argv)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    from nas.pruners import PRUNERS

    unknown = [c for c in configs if c not in PRUNERS]
    if unknown:
        p.error(f"unknown --configs {', '.join(unknown)}; use {', '.join(PRUNERS)}")
    retrain = None if args.retrain.lower() == "none" else args.retrain
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    # refused before any run
    merged = merged_runs(args.merge, {(c, s) for c in configs for s in seeds}, args.minutes)
    load = os.getloadavg()[0]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_one, "evolution", seed, args.minutes, args.budget, None,
                               retrain, args.trials, config, True, args.clock)
                   for seed in seeds for config in configs]
        runs = []
        for f in futures:
            r = f.result()
            runs.append(r)
            best = r["points"][-1][1] if r["points"] else float("nan")
            print(f"{r['pruner']:<10} seed {r['seed']}: {r['seen']} candidates, "
                  f"{r['full']} full, best val {best:.4f}, after nas train "
                  f"{retrained_test(r):.4f}", flush=True)
            # after each run, so that a run stopped half-way keeps the finished ones
            r["load"] = (load + os.getloadavg()[0]) / 2
            write(args, merged, runs, configs, r["load"], quiet=True)
    write(args, merged, runs, configs, (load + os.getloadavg()[0]) / 2)
    return 0


def merged_runs(path: Path | None, replaced: set[tuple[str, int]],
                minutes: float) -> list[dict]:
    """The runs of ``path`` (a multifidelity.json) but those whose (configuration, seed)
    is in ``replaced``, each marked with the load it ran under; none without a path."""
    if path is None:
        return []
    data = json.loads(path.read_text())
    if data["minutes"] != minutes:
        raise SystemExit(f"--merge {path}: its runs had {data['minutes']:g} min, this one "
                         f"{minutes:g}; merge runs of the same wall-clock")
    return [{**r, "load": r.get("load", data.get("load"))} for r in data["runs"]
            if (r["pruner"], r["seed"]) not in replaced]


def _configs(merged: list[dict], configs: list[str]) -> list[str]:
    """The configurations of the merged runs and this run's, in CONFIGS' order."""
    have = {r["pruner"] for r in merged} | set(configs)
    return [c for c in CONFIGS if c in have] + [c for c in configs if c not in CONFIGS]


def write(args, merged: list[dict], mine: list[dict], configs: list[str], load: float,
          quiet: bool = False) -> None:
    """Save the table and records (and print the table, unless ``quiet``): this run's
    runs (``mine``, of ``configs``) and the runs ``merged`` in; an earlier run kept
    under "earlier" stays."""
    runs = sorted(merged + mine, key=lambda r: r["seed"])  # stable: configs stay in order
    shown = _configs(merged, configs)
    text = table(runs, args.minutes, shown) + "\n\n" + paired(runs, args.minutes, shown)
    if not quiet:
        print(text)
    command = (f"python bench/multifidelity.py --minutes {args.minutes:g} --seeds "
               f"{args.seeds} --configs {','.join(configs)} --jobs {args.jobs}"
               + (f" --first-seed {args.first_seed}" if args.first_seed else "")
               + (f" --budget {args.budget}" if args.budget else "")
               + (f" --trials {args.trials}" if args.trials else "")
               + (f" --retrain {args.retrain}" if args.retrain != "4000steps" else "")
               + (" --clock wall" if args.clock == "wall" else ""))
    minutes = (f"{args.minutes:g} min of wall clock per run" if args.clock == "wall" else
               f"{args.minutes:g} min of CPU time per run (`--clock cpu`: the timeout counts "
               "the run's own CPU time, a quiet machine's wall clock, so other jobs "
               "slow the run but do not shorten its search)")
    if merged:
        parts = []
        for c in _configs(merged, []):
            rs = [r for r in merged if r["pruner"] == c]
            seeds = ", ".join(str(r["seed"]) for r in sorted(rs, key=lambda r: r["seed"]))
            load_c = statistics.mean(r.get("load") or float("nan") for r in rs)
            parts.append(f"{c} seed{'s' if len(rs) > 1 else ''} {seeds} (load {load_c:.1f})")
        text = (f"Runs merged from {args.merge} (`--merge`): {'; '.join(parts)}.\n\n"
                + text)
    args.out.mkdir(parents=True, exist_ok=True)
    old = args.out / "multifidelity.json"
    earlier = json.loads(old.read_text()).get("earlier") if old.exists() else None
    old_md = args.out / "multifidelity.md"
    tail = old_md.read_text().partition("\n## Earlier run")[1:] if old_md.exists() else ()
    record = {"minutes": args.minutes, "configs": shown, "budget": args.budget,
              "jobs": args.jobs, "load": load, "runs": runs}
    if earlier is not None:
        record["earlier"] = earlier
    old.write_text(json.dumps(record, indent=1))
    (args.out / "multifidelity.md").write_text(
        f"# Pruners at equal wall-clock on MNIST-1D\n\n`{command}`: the default search "
        f"(evolution, `cnn` on `mnist1d`, "
        f"{f'budget {args.budget}' if args.budget else 'the default budget'}), "
        f"{minutes}, one CPU thread a run, {args.jobs} runs at once on a 2-core "
        f"machine (load average {load:.1f}, mean of the start's and the end's); only "
        "`--pruner` differs. "
        "Mean +- sd over seeds of the best validation accuracy of a finished trial by "
        "each time, the candidates seen (pruned ones included) and trained to the full "
        "budget, and the winner's test accuracy after `nas train` "
        f"({args.retrain}, seed 0), and that of the best at half the wall-clock; then "
        f"each pruner minus no pruner, seed by seed.\n\n{text}\n" + "".join(tail))


if __name__ == "__main__":
    raise SystemExit(main())
