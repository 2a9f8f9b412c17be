"""Cost and quality of a one-shot search against the default search (bench/oneshot.py
``--cost``): per seed, both searches one after the other in this process (the ratio of
their wall-clock times is what is compared, so a load that lasts the whole run cancels
out), then each winner trained from scratch as `nas train` does and scored on test."""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from pathlib import Path

import nas


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
             retrain: str, folder: Path) -> dict:
    """Default search then one-shot search for ``seed``: wall-clock each, winners'
    test accuracy after `nas train`. ``trials``/``budget``: the default search's
    (None: its defaults); the one-shot search retrains its top ``RETRAIN``."""
    common = {"seed": seed, "progress": False, "budget": budget}
    t0 = time.perf_counter()
    plain = nas.search(space, "mnist1d", trials=trials or "auto", run_dir=folder / "plain",
                       **common)
    t1 = time.perf_counter()
    shot = nas.search(space, "mnist1d", one_shot=one_shot, run_dir=folder / "one_shot",
                      **common)
    t2 = time.perf_counter()
    return {"seed": seed, "default_s": t1 - t0, "one_shot_s": t2 - t1,
            "ratio": (t2 - t1) / (t1 - t0),
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
                                 args.cost_budget, args.retrain, Path(tmp) / str(seed)))
            r = rows[-1]
            print(f"seed {seed}: one-shot {r['one_shot_s']:.0f} s vs default "
                  f"{r['default_s']:.0f} s ({r['ratio']:.0%}); test after nas train "
                  f"{r['one_shot_winner']['test_acc']:.4f} vs "
                  f"{r['default_winner']['test_acc']:.4f}", flush=True)
    return {"rows": rows, "one_shot": one_shot, "space": args.space[0],
            "median_ratio": statistics.median(r["ratio"] for r in rows),
            "one_shot_test": statistics.fmean(r["one_shot_winner"]["test_acc"] for r in rows),
            "default_test": statistics.fmean(r["default_winner"]["test_acc"] for r in rows)}


def cost_table(cost: dict) -> str:
    """The cost table (markdown): a row per seed, then the summary line."""
    lines = ["| seed | default search s | one-shot search s | ratio | default trials | "
             "test after `nas train`: default | one-shot |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in cost["rows"]:
        lines.append(f"| {r['seed']} | {r['default_s']:.0f} | {r['one_shot_s']:.0f} | "
                     f"{r['ratio']:.0%} | {r['default_trials']} | "
                     f"{r['default_winner']['test_acc']:.4f} | "
                     f"{r['one_shot_winner']['test_acc']:.4f} |")
    lines.append(f"\nMedian wall-clock ratio {cost['median_ratio']:.0%} (target <= 50%); mean "
                 f"test accuracy after `nas train`: one-shot {cost['one_shot_test']:.4f}, "
                 f"default {cost['default_test']:.4f} (target >= 0.992).")
    return "\n".join(lines)
