"""The default search against optuna TPE and random search on MNIST-1D, same wall clock.

Every run searches the default space (``cnn``) on the default task (``mnist1d``) with the
default per-candidate budget through the same evaluator; only the strategy differs.
Each run gets the same wall-clock budget (``--minutes``) and one CPU thread; ``--jobs``
runs that many at once, seed by seed, so with the default (one job per strategy) the
strategies of one seed run side by side under the same machine load. For each
strategy and seed the script records, over time, the best validation accuracy found so
far and the test accuracy of that best-by-validation candidate (the test split is never
used for selection). After the clock stops, each run's winner is trained afresh as
`nas train` would (``--retrain``, default 4000steps, no time cap: what a user gets, and
independent of the machine's load during the search). It prints a table, saves
bench/results/mnist1d_search.{md,json}
and a plot of best-so-far validation accuracy over time (mnist1d_search.png).

    python bench/mnist1d_search.py                 # 3 strategies x 3 seeds, 10 min each
    python bench/mnist1d_search.py --minutes 2 --seeds 1 --out /tmp/quick
    python bench/mnist1d_search.py --trials 3 --budget 20steps --seeds 1 --out /tmp/smoke
    python bench/mnist1d_search.py --strategies 'evolution;evolution{"cost": null};random'

    python bench/mnist1d_search.py --task-config '{"val_size": 1000}' --out /tmp/val1000
    python bench/mnist1d_search.py --first-seed 3 --seeds 3 --out /tmp/more
    python bench/mnist1d_search.py --from-json bench/results/mnist1d_search.json \
        /tmp/more/mnist1d_search.json          # one table over both runs' seeds

A strategy entry may end with JSON options for it (``evolution{"population": 8}``);
entries are separated by ``;``. ``--trials N`` stops each run after N trials as well
(whichever comes first): the same work for every strategy whatever the machine's speed,
which makes a smoke run a fixed amount of work rather than what a few seconds allow.
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
GOOD = 0.99  # validation accuracy of a "good" candidate: the share of these per run is a
# steadier measure of how well a strategy aims than the maximum, which the noise of a
# 500-sample validation split and of training (about 0.3 points each) dominates


def parse_entry(entry: str) -> tuple[str, dict]:
    """'evolution{"cost": null}' -> ("evolution", {"cost": None})."""
    name, brace, opts = entry.partition("{")
    return name.strip(), json.loads(brace + opts) if brace else {}


def run_one(strategy: str, seed: int, minutes: float, budget: str | None,
            task_config: dict | None = None, retrain: str | None = None,
            max_trials: int | None = None, pruner: str = "none",
            half: bool = False, clock: str = "wall") -> dict:
    """One timed search (at most ``max_trials`` trials when given; ``pruner``: a name in
    nas.pruners, bench/multifidelity.py's variable); returns its trajectory
    [(seconds, val, test, params)] and, with ``retrain`` (a budget), the best-by-validation
    candidate trained afresh as `nas train` does (after the clock stops; no time cap, so
    the machine's load does not change it). ``half``: also the winner at half the
    wall-clock (``half_winner``; the same training when it is the final winner).
    ``clock="cpu"``: the timeout and time stamps count this process's CPU time
    (bench/_cpu_clock.py), the wall-clock of a quiet machine, whatever else runs."""
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    import nas
    from bench._cpu_clock import cpu_deadlines, wall_deadlines
    from cli._search import DEFAULTS  # the defaults `nas search` uses

    budget = budget or DEFAULTS.get("budget")
    name, options = parse_entry(strategy)
    if clock == "cpu":
        now = cpu_deadlines().time
    else:
        wall_deadlines()
        now = time.time
    start, wall0 = now(), time.time()
    points: list[list[float]] = []
    trials: list[dict] = []  # every completed trial, for later analysis
    best = [-1.0, None]  # best validation accuracy so far, its trial number

    def on_trial(rec) -> None:
        if rec.state != "COMPLETE":
            return
        val = rec.values[0]
        trials.append({"t": now() - start, "number": rec.number, "val": val,
                       **{k: rec.metrics.get(k) for k in ("test_acc", "params", "flops",
                                                          "train_time_s", "steps")},
                       "decisions": rec.decisions})
        if val > best[0]:
            best[:] = [val, rec.number]
            points.append([now() - start, val, rec.metrics.get("test_acc", float("nan")),
                           rec.metrics.get("params", float("nan"))])

    with tempfile.TemporaryDirectory() as tmp:
        st = nas.search(space=DEFAULTS["space"], task=DEFAULTS["task"], strategy=name,
                        trials=max_trials or 10_000, timeout=minutes * 60, seed=seed, budget=budget,
                        run_dir=tmp, device="cpu", on_trial=on_trial, task_config=task_config,
                        strategy_options=options, pruner=pruner)
        n = len(st.completed())
        seen = len(st.trials())  # candidates, pruned and failed ones included
        full = sum(not t.capped for t in st.completed())  # trained to the full budget
        wall = time.time() - wall0
        spent = now() - start
        winner = st.trial(best[1]) if best[1] is not None else None
        final = None
        if winner is not None:
            final = {"number": winner.number, "decisions": winner.decisions}
            if retrain:
                final.update(train_winner(winner.graph, retrain, task_config))
        number = half_winner(trials, minutes * 30) if half else None
        early = None
        if number is not None and final is not None and number == final["number"]:
            early = dict(final)
        elif number is not None:
            rec = st.trial(number)
            early = {"number": rec.number, "decisions": rec.decisions}
            if retrain:
                early.update(train_winner(rec.graph, retrain, task_config))
    out = {"strategy": strategy, "seed": seed, "trials": n, "points": points,
           "pruner": pruner, "seen": seen, "full": full,
           "all": trials, "wall_s": wall, "task_config": task_config or {},
           "winner": final, "clock": clock, "clock_s": spent}
    if half:
        out["half_winner"] = early
    return out


def half_winner(trials: list[dict], seconds: float) -> int | None:
    """The number of the best-by-validation trial completed within ``seconds`` (the
    first of equals, as the search's own best), None when none was."""
    best = None
    for t in trials:
        if t["t"] <= seconds and (best is None or t["val"] > best["val"]):
            best = t
    return None if best is None else best["number"]


def train_winner(graph, budget: str, task_config: dict | None) -> dict:
    """Train ``graph`` from scratch on the default task as `nas train` does (seed 0)."""
    import nas
    from cli._search import DEFAULTS

    task = nas.get_task(DEFAULTS["task"], **(task_config or {}))
    t0 = time.time()
    result = task.evaluate(graph, budget=nas.Budget.parse(budget), seed=0, device="cpu")
    if not result.ok:
        return {"retrain": budget, "retrain_error": str(result.error)}
    metrics = {**result.objectives, **result.metrics}
    return {"retrain": budget, "retrain_test": metrics.get("test_acc"),
            "retrain_val": metrics.get("val_acc"), "retrain_s": time.time() - t0}


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
    lines = [f"| strategy | seeds | trials | {head} | test acc (best val) @ end "
             f"| same, after `nas train` | trials >= {GOOD:.0%} val |",
             "|---" * (len(marks) + 6) + "|"]
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
        good = [100 * sum(t["val"] >= GOOD for t in r["all"]) / len(r["all"])
                for r in rs if r.get("all")]
        retrained = [retrained_test(r) * 100 for r in rs]
        lines.append(f"| {strategy} | {len(rs)} | {trials:.0f} | {' | '.join(cells)} | "
                     f"{_mean_sd(tests)} | {_mean_sd(retrained)}{_count(retrained, rs)} | "
                     f"{_mean_sd(good)}{'%' if good else ''} |")
    return "\n".join(lines)


def retrained_test(run: dict) -> float:
    """Test accuracy of the run's best-by-validation candidate trained by `nas train`
    (nan when the run did not retrain it)."""
    value = (run.get("winner") or {}).get("retrain_test")
    return float("nan") if value is None else value


def retrain_budgets(runs: list[dict]) -> set[str]:
    """The budgets the runs' winners were trained afresh with (none: empty)."""
    return {r["winner"]["retrain"] for r in runs if (r.get("winner") or {}).get("retrain")}


def _count(xs: list[float], rs: list[dict]) -> str:
    """' (n of N seeds)' when only some runs have the value."""
    n = sum(x == x for x in xs)
    return f" ({n} of {len(rs)} seeds)" if 0 < n < len(rs) else ""


def paired(runs: list[dict], minutes: float, strategies) -> str:
    """The first strategy against each other one, seed by seed (the runs of a seed ran
    side by side): mean difference and wins / ties / losses, on validation, test and
    test after `nas train` (over the seeds where both runs have the value)."""
    end = minutes * 60
    by = {(r["strategy"], r["seed"]): (*at(r["points"], end), retrained_test(r))
          for r in runs}
    first = strategies[0]
    lines = [f"| {first} minus | seeds | val (points) | val wins/ties/losses | test (points) "
             "| test wins/ties/losses | after `nas train` (points) | wins/ties/losses |",
             "|---" * 8 + "|"]
    for other in strategies[1:]:
        seeds = sorted(s for (name, s) in by if name == other and (first, s) in by)
        if not seeds:
            continue
        cols = []
        for k in (0, 1, 2):
            d = [round((by[first, s][k] - by[other, s][k]) * 100, 2) for s in seeds]
            d = [x for x in d if x == x]
            record = f"{sum(x > 0 for x in d)}/{sum(x == 0 for x in d)}/{sum(x < 0 for x in d)}"
            cols += [_mean_sd(d), record if d else "-"]
        lines.append(f"| {other} | {len(seeds)} | {' | '.join(cols)} |")
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
    labelled: set[str] = set()
    for r in runs:
        pts = r["points"]
        if not pts:
            continue
        xs = [p[0] / 60 for p in pts] + [minutes]
        ys = [p[1] * 100 for p in pts] + [pts[-1][1] * 100]
        label = r["strategy"] if r["strategy"] not in labelled else None
        labelled.add(r["strategy"])
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
    p.add_argument("--trials", type=int, default=None, help="stop each run after this "
                   "many trials too (default: as many as --minutes allows)")
    p.add_argument("--first-seed", type=int, default=0, help="seeds first-seed, ... (to "
                   "add seeds to an earlier run)")
    p.add_argument("--from-json", nargs="+", type=Path, default=None,
                   help="no runs: merge these runs' records into one table")
    p.add_argument("--jobs", type=int, default=3, help="runs at once")
    p.add_argument("--budget", default=None, help="per-candidate budget (default: nas "
                   "search's)")
    p.add_argument("--strategies", default=";".join(STRATEGIES),
                   help="';'-separated, each optionally with JSON options")
    p.add_argument("--task-config", type=json.loads, default=None, metavar="JSON",
                   help='the task\'s options, e.g. \'{"val_size": 1000}\' (default: none)')
    p.add_argument("--retrain", default="4000steps", help="train each run's best-by-"
                   "validation candidate afresh with this budget, as `nas train` does "
                   "(default: its default, 4000steps); 'none' skips it")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = p.parse_args(argv)
    if args.trials is not None and args.trials < 1:
        p.error(f"--trials must be at least 1, got {args.trials}")
    sys.path.insert(0, str(ROOT))
    entries = [e.strip() for e in args.strategies.split(";") if e.strip()]
    if args.from_json:
        return merge(args, entries)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [(s, seed) for seed in seeds for s in entries]
    with ProcessPoolExecutor(args.jobs) as pool:
        retrain = None if args.retrain.lower() == "none" else args.retrain
        futures = [pool.submit(run_one, s, seed, args.minutes, args.budget, args.task_config,
                               retrain, args.trials) for s, seed in jobs]
        runs = []
        for f in futures:
            r = f.result()
            runs.append(r)
            last = r["points"][-1] if r["points"] else [0, float("nan"), float("nan"), 0]
            after = retrained_test(r)
            print(f"{r['strategy']:<12} seed {r['seed']}: {r['trials']} trials, best val "
                  f"{last[1]:.4f} (test {last[2]:.4f}, {int(last[3]):,} params"
                  + (f"; after nas train {after:.4f}" if after == after else "") + ")",
                  flush=True)
    command = (f"python bench/mnist1d_search.py --minutes {args.minutes:g} --seeds "
               f"{args.seeds}" + (f" --trials {args.trials}" if args.trials else "")
               + (f" --first-seed {args.first_seed}" if args.first_seed else "")
               + (f" --strategies '{args.strategies}'" if entries != list(STRATEGIES) else "")
               + (f" --task-config '{json.dumps(args.task_config)}'" if args.task_config else "")
               + (f" --retrain {args.retrain}" if args.retrain != "4000steps" else ""))
    write(args.out, runs, args.minutes, entries, args.jobs, command, args.budget, args.trials)
    return 0


def merge(args, entries: list[str]) -> int:
    """One table over the runs recorded in several JSON files (same minutes)."""
    runs, minutes, budget, trials = [], set(), set(), set()
    for path in args.from_json:
        data = json.loads(path.read_text())
        minutes.add(data["minutes"])
        budget.add(data.get("budget"))
        trials.add(data.get("max_trials"))
        runs += data["runs"]
    if len(minutes) != 1 or len(budget) != 1:
        raise SystemExit(f"the runs differ in --minutes {sorted(minutes)} or --budget "
                         f"{sorted(map(str, budget))}: not one table")
    if len(trials) != 1:
        raise SystemExit(f"the runs differ in --trials {sorted(map(str, trials))}: "
                         "not one table")
    configs = {json.dumps(r.get("task_config") or {}, sort_keys=True) for r in runs}
    if len(configs) > 1:
        raise SystemExit(f"the runs differ in --task-config {sorted(configs)}: not one table")
    if len(retrain_budgets(runs)) > 1:
        raise SystemExit(f"the runs differ in --retrain {sorted(retrain_budgets(runs))}: "
                         "not one table")
    seen = [(r["strategy"], r["seed"]) for r in runs]
    if len(set(seen)) != len(seen):
        raise SystemExit("a (strategy, seed) pair appears twice; run the later one with "
                         "--first-seed past the earlier seeds")
    present = list(dict.fromkeys(r["strategy"] for r in runs))
    entries = [e for e in entries if e in present] + [e for e in present if e not in entries]
    command = "python bench/mnist1d_search.py --from-json " + " ".join(
        p.name if p.parent == args.out else str(p) for p in args.from_json)
    write(args.out, runs, minutes.pop(), entries, args.jobs, command, budget.pop(),
          trials.pop())
    return 0


def write(out: Path, runs: list[dict], minutes: float, entries: list[str], jobs: int,
          command: str, budget: str | None, max_trials: int | None = None) -> None:
    text = table(runs, minutes, entries) + "\n\n" + paired(runs, minutes, entries)
    retrain = ", ".join(sorted(retrain_budgets(runs))) or "none of these runs"
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    seeds = {s: sorted(r["seed"] for r in runs if r["strategy"] == s) for s in entries}
    (out / "mnist1d_search.json").write_text(json.dumps(
        {"minutes": minutes, "seeds": seeds, "budget": budget, "max_trials": max_trials,
         "runs": runs}, indent=1))
    (out / "mnist1d_search.md").write_text(
        f"# Default search vs TPE vs random on MNIST-1D\n\n`{command}`: the `cnn` space on "
        f"`mnist1d`, {minutes:g} min of wall clock per run"
        + (f" and at most {max_trials} trials" if max_trials else "")
        + f", one CPU thread per run, {jobs} "
        "runs at once (the strategies of one seed side by side); mean +- sd over seeds of "
        "the best validation accuracy found by each time and the test accuracy of that "
        "best-by-validation candidate at the end (as the search trained it, and trained "
        f"afresh after the clock stops as `nas train` does: {retrain}, seed 0, no time "
        "cap), and the share of each run's trials "
        f"reaching {GOOD:.0%} validation accuracy; then the first strategy against each "
        "other one seed by seed.\n\n"
        f"{text}\n")
    plot(runs, out / "mnist1d_search.png", minutes, entries)


if __name__ == "__main__":
    raise SystemExit(main())
