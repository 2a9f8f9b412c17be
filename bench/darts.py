"""Differentiable search (DARTS family) on the nb201 space: guarded against unguarded,
against random cells trained with the same recipe.

For each task (mnist1d, digits) and seed: ``--random`` cells sampled uniformly are
trained stand-alone (``--steps``) for the distribution (its 90th percentile); each guard
(``--guards``: darts-, drnas, none) searches ``--search-steps`` steps with
``evaluators.darts.search_darts`` and its discretized cell is trained stand-alone with
the same recipe. Reported: the found cell's test accuracy and its percentile among the
random cells, its parameter-free ops (none, skip, pooling), the search's wall-clock in
units of one stand-alone training (the random cells' mean), and the best random cell
(by validation accuracy) among as many as fit in that wall-clock. Saves darts.json
(with each search's alpha trajectory) and darts.md in ``--out``::

    python bench/darts.py --seeds 0 --random 20 --steps 300 --search-steps 150
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import evaluators  # noqa: E402,F401  (registers the tasks)
import search_spaces  # noqa: E402,F401  (registers nb201 and its mixer)
from evaluators.darts import search_darts  # noqa: E402
from nas import get_space, get_task  # noqa: E402
from nas.darts import GUARDS, parameter_free  # noqa: E402
from search_spaces.nb201 import to_arch_string  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def percentile_rank(value: float, population: list[float]) -> float:
    """The share of ``population`` strictly below ``value`` plus half the ties, in %."""
    if not population:
        return math.nan
    below = sum(p < value for p in population)
    ties = sum(p == value for p in population)
    return 100.0 * (below + 0.5 * ties) / len(population)


def best_within(cells: list[dict], budget_s: float) -> dict | None:
    """Random search given ``budget_s``: the best by validation accuracy among the
    first cells whose stand-alone trainings fit in it (at least one)."""
    spent, seen = 0.0, []
    for c in cells:
        if seen and spent + c["time_s"] > budget_s:
            break
        spent += c["time_s"]
        seen.append(c)
    return max(seen, key=lambda c: c["val_acc"]) if seen else None


def train(task, space, decisions: dict, steps: int, seed: int, device: str) -> dict:
    graph = space.build(decisions)
    t0 = time.perf_counter()
    r = task.evaluate(graph, f"{steps}steps", seed=seed, device=device)
    return {"arch": to_arch_string(decisions), "val_acc": r.value("val_acc") or math.nan,
            "test_acc": r.metrics.get("test_acc", math.nan),
            "parameter_free": parameter_free(decisions), "time_s": time.perf_counter() - t0,
            "error": r.error}


def run_task(name: str, seed: int, args) -> dict:
    task = get_task(name)
    space = get_space("nb201", task.in_shape, task.n_out, channels=args.channels,
                      cells=args.cells)
    rng = random.Random(seed)
    cells = [train(task, space, space.sample(rng), args.steps, seed, args.device)
             for _ in range(args.random)]
    accs = [c["test_acc"] for c in cells if c["error"] is None]
    unit = float(np.mean([c["time_s"] for c in cells])) if cells else math.nan
    found = []
    for guard in args.guards:
        t0 = time.perf_counter()
        out = search_darts(task, space, f"{args.search_steps}steps", guard=guard, seed=seed,
                           device=args.device, record_every=args.record_every)
        search_s = time.perf_counter() - t0
        row = {"guard": guard, "search_s": search_s, "search_units": search_s / unit,
               "error": out.result.error if out.result is not None else None,
               "trajectory": out.trajectory}
        if out.graph is not None:
            row.update(train(task, space, out.decisions, args.steps, seed, args.device))
            row["percentile"] = percentile_rank(row["test_acc"], accs)
            rs = best_within(cells, search_s)
            row["random_same_time"] = None if rs is None else rs["test_acc"]
        found.append(row)
    return {"task": name, "seed": seed, "random": cells,
            "p90": float(np.percentile(accs, 90)) if accs else math.nan,
            "median": float(np.median(accs)) if accs else math.nan,
            "unit_s": unit, "found": found}


def table(runs: list[dict]) -> str:
    lines = ["| task | seed | search | test acc | percentile among random | >= p90 | "
             "param-free ops | search / one training | random, same time |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['task']} | {r['seed']} | random cells (p90 / median) | "
                     f"{r['p90']:.3f} / {r['median']:.3f} | | | | 1 | |")
        for f in r["found"]:
            if f.get("test_acc") is None:
                lines.append(f"| {r['task']} | {r['seed']} | {f['guard']} | failed: "
                             f"{f['error']} | | | | | |")
                continue
            same = f.get("random_same_time")
            lines.append(
                f"| {r['task']} | {r['seed']} | {f['guard']} | {f['test_acc']:.3f} | "
                f"{f['percentile']:.0f} | {'yes' if f['test_acc'] >= r['p90'] else 'no'} | "
                f"{f['parameter_free']} / 6 | {f['search_units']:.1f} | "
                f"{'' if same is None else f'{same:.3f}'} |")
    return "\n".join(lines)


def cells_text(runs: list[dict]) -> str:
    return "\n".join(f"- {r['task']} seed {r['seed']}, {f['guard']}: `{f.get('arch')}`"
                     for r in runs for f in r["found"])


def write(runs: list[dict], meta: dict, folder: Path) -> dict:
    md = table(runs)
    print(md)
    folder.mkdir(parents=True, exist_ok=True)
    out = {"meta": meta, "runs": runs}
    (folder / "darts.json").write_text(json.dumps(out, indent=1, default=str) + "\n")
    text = (f"# darts\n\nDifferentiable search (first-order DARTS) of the `nb201` space with "
            f"each guard, its cell trained stand-alone, against {meta['random']} random "
            f"cells trained with the same recipe (test accuracy; selection only saw the "
            f"validation split).\n\n{md}\n\nCells found:\n\n{cells_text(runs)}\n\n"
            f"- Size: nb201 with {meta['channels']} channels, {meta['cells']} cell(s) a "
            f"stage; stand-alone training {meta['steps']} steps, search {meta['search_steps']}"
            f" steps (each an alpha step on a validation batch and a weight step on a "
            f"training batch); seeds {meta['seeds']}; {meta['device']}, "
            f"{meta['threads']} thread(s) of {meta['cores']} cores, load "
            f"{meta['load_at_start']:.1f} at start, {meta['wall_s'] / 60:.0f} min, "
            f"{meta['date']}.\n- The alpha trajectories are in darts.json.\n")
    (folder / "darts.md").write_text(text)
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", nargs="+", default=["mnist1d", "digits"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--random", type=int, default=20, help="random cells trained")
    ap.add_argument("--steps", type=int, default=300, help="stand-alone training steps")
    ap.add_argument("--search-steps", type=int, default=150, help="differentiable search steps")
    ap.add_argument("--guards", nargs="+", default=list(GUARDS), choices=list(GUARDS))
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--cells", type=int, default=1, help="cells a stage (the benchmark's 5)")
    ap.add_argument("--record-every", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    runs = [run_task(name, seed, args) for seed in args.seeds for name in args.tasks]
    meta = {"random": args.random, "steps": args.steps, "search_steps": args.search_steps,
            "channels": args.channels, "cells": args.cells, "seeds": args.seeds,
            "device": args.device, "threads": torch.get_num_threads(),
            "cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
            "load_at_start": load, "torch": torch.__version__,
            "wall_s": time.perf_counter() - t0,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    return write(runs, meta, args.out)


if __name__ == "__main__":
    main()
