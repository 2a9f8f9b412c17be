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


SIDES = ("both", "default", "one_shot")


def default_side(seed: int, space: str, trials, budget: str | None, retrain: str,
                 folder: Path) -> dict:
    """The default search for ``seed``: its wall-clock and CPU seconds, trials, and its
    winner's test accuracy after `nas train`. ``trials``/``budget``: None for its
    defaults."""
    watch = Stopwatch()
    plain = nas.search(space, "mnist1d", trials=trials or "auto", run_dir=folder / "plain",
                       seed=seed, progress=False, budget=budget)
    return {"default_s": watch.wall(), "default_cpu_s": watch.cpu(),
            "default_trials": len(plain.trials()),
            "default_winner": train_winner(plain, space, retrain)}


def one_shot_side(seed: int, space: str, one_shot: dict, budget: str | None, retrain: str,
                  folder: Path) -> dict:
    """The one-shot search for ``seed`` (retraining its default top k): its wall-clock
    and CPU seconds, the CPU seconds of each phase, and its winner after `nas train`."""
    watch = Stopwatch()

    def on_phase(phase: str, done: int, total: int) -> None:
        if total and done == total:
            watch.mark(phase)

    shot = nas.search(space, "mnist1d", one_shot=one_shot, run_dir=folder / "one_shot",
                      on_phase=on_phase, seed=seed, progress=False, budget=budget)
    cpu = watch.cpu()
    supernet = watch.marks.get("supernet", math.nan)
    scored = watch.marks.get("scoring", math.nan)
    return {"one_shot_s": watch.wall(), "one_shot_cpu_s": cpu,
            "phases_cpu_s": {"supernet": supernet, "scoring": scored - supernet,
                             "retraining": cpu - scored},
            "one_shot_trials": len(shot.trials()),
            "one_shot_winner": train_winner(shot, space, retrain)}


def with_ratio(row: dict, clock: str) -> dict:
    """``row`` with its one-shot / default ratio on ``clock`` when it has both sides."""
    if "default_s" not in row or "one_shot_s" not in row:
        return row
    ratio = (row["one_shot_cpu_s"] / row["default_cpu_s"] if clock == "cpu"
             else row["one_shot_s"] / row["default_s"])
    return {**row, "clock": clock, "ratio": ratio}


def one_seed(seed: int, space: str, one_shot: dict, trials, budget: str | None,
             retrain: str, folder: Path, clock: str = "cpu", side: str = "both") -> dict:
    """Default search then one-shot search for ``seed`` (or only one ``side`` of it, to
    be joined with ``merge_cost``): wall-clock and CPU seconds each (the one-shot
    search's by phase), their ratio on ``clock``, and the winners' test accuracy after
    `nas train`."""
    row = {"seed": seed}
    if side in ("both", "default"):
        row.update(default_side(seed, space, trials, budget, retrain, folder))
    if side in ("both", "one_shot"):
        row.update(one_shot_side(seed, space, one_shot, budget, retrain, folder))
    return with_ratio(row, clock)


def run_cost(args) -> dict:
    """``--cost``: ``args.seeds`` seeds of ``one_seed``, and their summary."""
    one_shot = nas.OneShot(**args.cost_one_shot).to_dict()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seed, args.seed + args.seeds):
            rows.append(one_seed(seed, args.space[0], one_shot, args.cost_trials,
                                 args.cost_budget, args.retrain, Path(tmp) / str(seed),
                                 args.clock, args.cost_side))
            times = {k: v for k, v in rows[-1].items() if k in ("default_cpu_s", "one_shot_cpu_s")}
            print(f"seed {seed}: " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()),
                  flush=True)
            args.out.mkdir(parents=True, exist_ok=True)  # seeds so far, in case of a stop
            (args.out / "oneshot_cost.partial.json").write_text(
                json.dumps({"rows": rows, "one_shot": one_shot}, default=str) + "\n")
    return summarize({"rows": rows, "one_shot": one_shot, "space": args.space[0],
                      "clock": args.clock, "side": args.cost_side})


def summarize(cost: dict) -> dict:
    """``cost`` with its summary over the rows that have both sides: median ratio, mean
    test accuracy of each side's winners (NaN without such rows)."""
    rows = [r for r in cost["rows"] if "ratio" in r]
    if not rows:
        return {**cost, "median_ratio": math.nan, "one_shot_test": math.nan,
                "default_test": math.nan}
    return {**cost, "median_ratio": statistics.median(r["ratio"] for r in rows),
            "one_shot_test": statistics.fmean(r["one_shot_winner"]["test_acc"] for r in rows),
            "default_test": statistics.fmean(r["default_winner"]["test_acc"] for r in rows)}


def merge_cost(files: list[Path]) -> dict:
    """One cost result from several runs' oneshot_cost.json: seeds run apart, or the
    two sides of a seed run apart (``--cost-side``), joined by seed. Runs must agree on
    the space and the clock, and those with a one-shot side on its settings."""
    runs = [json.loads(Path(f).read_text()) for f in files]
    shots = [r for r in runs if r.get("side", "both") != "default"]
    for key, group in (("space", runs), ("clock", runs), ("one_shot", shots)):
        if any(r.get(key) != group[0].get(key) for r in group):
            raise SystemExit(f"--cost-merge: the runs differ in {key}; merge only runs of "
                             "the same settings")
    by_seed: dict[int, dict] = {}
    for run in runs:
        for row in run["rows"]:
            by_seed.setdefault(row["seed"], {}).update(row)
    clock = runs[0].get("clock", "wall")
    rows = [with_ratio(by_seed[s], clock) for s in sorted(by_seed)]
    first = shots[0] if shots else runs[0]
    merged = {**first, "rows": rows, "side": "both", "merged_from": [str(f) for f in files],
              "commands": [r.get("command", "") for r in runs],
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
        if "ratio" not in r:
            continue  # one side only (see merge_cost)
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
