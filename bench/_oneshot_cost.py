"""Cost and quality of a one-shot search against the default search (bench/oneshot.py
``--cost``): per seed, both searches one after the other in this process, then each
winner trained from scratch as `nas train` does and scored on test.

Each search is timed twice: wall clock and the process's CPU time (one torch thread,
trials in this process). ``clock="cpu"`` (the default) compares CPU times, which other
jobs on a shared machine barely change; ``"wall"`` compares wall clock, which equals it
on a quiet machine. The one-shot search's CPU time is also split into its phases
(supernet training, scoring, retraining the top candidates)."""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import nas

CLOCKS = ("cpu", "wall")


class Stopwatch:
    """Wall-clock and CPU seconds since creation; ``mark(name)`` notes the CPU seconds
    at that moment."""

    def __init__(self):
        self.wall0, self.cpu0, self.marks = time.perf_counter(), time.process_time(), {}

    def wall(self) -> float:
        return time.perf_counter() - self.wall0

    def cpu(self) -> float:
        return time.process_time() - self.cpu0

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, self.cpu())


def train_winner(study: nas.Study, space: str, budget: str, seed: int = 0) -> dict:
    """The study's best trial trained from scratch ``budget`` (as `nas train`, seed 0)."""
    task = nas.get_task("mnist1d")
    graph = study.best.graph
    t0 = time.perf_counter()
    result = task.evaluate(graph, budget=nas.Budget.parse(budget), seed=seed, device="cpu")
    return {"test_acc": result.metrics.get("test_acc", math.nan) if result.ok else math.nan,
            "val_acc": result.value("val_acc") if result.ok else math.nan,
            "error": result.error, "train_s": time.perf_counter() - t0}


def one_seed(seed: int, space: str, one_shot: dict, trials, budget: str | None,
             retrain: str, folder: Path, clock: str = "cpu") -> dict:
    """Default search then one-shot search for ``seed``: wall-clock and CPU seconds
    each (the one-shot search's by phase), their ratio on ``clock``, and the winners'
    test accuracy after `nas train`. ``trials``/``budget``: the default search's
    (None: its defaults); the one-shot search retrains its default top k."""
    common = {"seed": seed, "progress": False, "budget": budget}
    watch = Stopwatch()
    plain = nas.search(space, "mnist1d", trials=trials or "auto", run_dir=folder / "plain",
                       **common)
    default_s, default_cpu = watch.wall(), watch.cpu()
    watch = Stopwatch()

    def on_phase(phase: str, done: int, total: int) -> None:
        if total and done == total:
            watch.mark(phase)

    shot = nas.search(space, "mnist1d", one_shot=one_shot, run_dir=folder / "one_shot",
                      on_phase=on_phase, **common)
    one_shot_s, one_shot_cpu = watch.wall(), watch.cpu()
    supernet = watch.marks.get("supernet", math.nan)
    scored = watch.marks.get("scoring", math.nan)
    ratio = one_shot_cpu / default_cpu if clock == "cpu" else one_shot_s / default_s
    return {"seed": seed, "clock": clock, "default_s": default_s, "one_shot_s": one_shot_s,
            "default_cpu_s": default_cpu, "one_shot_cpu_s": one_shot_cpu, "ratio": ratio,
            "phases_cpu_s": {"supernet": supernet, "scoring": scored - supernet,
                             "retraining": one_shot_cpu - scored},
            "default_trials": len(plain.trials()), "one_shot_trials": len(shot.trials()),
            "default_winner": train_winner(plain, space, retrain),
            "one_shot_winner": train_winner(shot, space, retrain)}


def run_cost(args) -> dict:
    """``--cost``: ``args.seeds`` seeds of ``one_seed``, and their summary."""
    one_shot = nas.OneShot(**args.cost_one_shot).to_dict()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seed, args.seed + args.seeds):
            rows.append(one_seed(seed, args.space[0], one_shot, args.cost_trials,
                                 args.cost_budget, args.retrain, Path(tmp) / str(seed),
                                 args.clock))
            r = rows[-1]
            print(f"seed {seed}: one-shot {r['one_shot_cpu_s']:.0f} CPU-s vs default "
                  f"{r['default_cpu_s']:.0f} ({r['ratio']:.0%} on the {args.clock} clock); "
                  f"test after nas train {r['one_shot_winner']['test_acc']:.4f} vs "
                  f"{r['default_winner']['test_acc']:.4f}", flush=True)
    return summarize({"rows": rows, "one_shot": one_shot, "space": args.space[0],
                      "clock": args.clock})


def summarize(cost: dict) -> dict:
    """``cost`` with its summary: median ratio, mean test accuracy of each side's winners."""
    rows = cost["rows"]
    return {**cost, "median_ratio": statistics.median(r["ratio"] for r in rows),
            "one_shot_test": statistics.fmean(r["one_shot_winner"]["test_acc"] for r in rows),
            "default_test": statistics.fmean(r["default_winner"]["test_acc"] for r in rows)}


def merge_cost(files: list[Path]) -> dict:
    """One cost result from several runs' oneshot_cost.json (seeds run apart, say in
    two processes): their rows by seed, the first run's settings; runs must agree on
    the space, the one-shot settings and the clock."""
    runs = [json.loads(Path(f).read_text()) for f in files]
    first = runs[0]
    for key in ("space", "one_shot", "clock"):
        if any(r.get(key) != first.get(key) for r in runs):
            raise SystemExit(f"--cost-merge: the runs differ in {key}; merge only runs of "
                             "the same settings")
    rows = sorted((row for r in runs for row in r["rows"]), key=lambda row: row["seed"])
    merged = {**first, "rows": rows, "merged_from": [str(f) for f in files],
              "wall_s": sum(r.get("wall_s", 0.0) for r in runs),
              "load_at_start": max(r.get("load_at_start", math.nan) for r in runs)}
    return summarize(merged)


def cost_table(cost: dict) -> str:
    """The cost table (markdown): a row per seed, then the summary line."""
    clock = cost.get("clock", "wall")
    lines = ["| seed | default search CPU s (wall s) | one-shot search CPU s (wall s) | "
             "one-shot phases CPU s: supernet / scoring / retraining | ratio | default "
             "trials | test after `nas train`: default | one-shot |",
             "|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in cost["rows"]:
        ph = r.get("phases_cpu_s", {})
        phases = " / ".join(f"{ph.get(k, math.nan):.0f}"
                            for k in ("supernet", "scoring", "retraining"))
        lines.append(f"| {r['seed']} | {r.get('default_cpu_s', math.nan):.0f} "
                     f"({r['default_s']:.0f}) | {r.get('one_shot_cpu_s', math.nan):.0f} "
                     f"({r['one_shot_s']:.0f}) | {phases} | {r['ratio']:.0%} | "
                     f"{r['default_trials']} | {r['default_winner']['test_acc']:.4f} | "
                     f"{r['one_shot_winner']['test_acc']:.4f} |")
    lines.append(f"\nMedian ratio ({clock} clock) {cost['median_ratio']:.0%} (target <= 50%); "
                 f"mean test accuracy after `nas train`: one-shot {cost['one_shot_test']:.4f}, "
                 f"default {cost['default_test']:.4f} (target >= 0.992).")
    return "\n".join(lines)
