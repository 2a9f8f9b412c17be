"""Differentiable search (DARTS family) on the nb201 space: guarded against unguarded,
against random cells trained with the same recipe.

For each task (mnist1d, digits): ``--random`` cells sampled uniformly (once, with
``--cells-seed``, for every search seed) are trained stand-alone (``--steps``, seed
``--train-seed``) for the distribution (its 90th percentile); for each search seed, each
guard (``--guards``: darts-, drnas, none) searches at most ``--search-steps`` steps with
``evaluators.darts.search_darts`` (its defaults: warmup, early stop) and its discretized
cell is trained stand-alone with the same recipe. Stand-alone trainings are cached
(``--cache``, keyed by task, cell, recipe and seed), so reruns and the search seeds reuse
them. Reported: the found cell's test accuracy and its percentile among the random
cells, its parameter-free ops (none, skip, pooling), the search's wall-clock in units of
one stand-alone training (``--unit-cells`` fresh trainings timed in the same process),
and the best random cell (by validation accuracy) among as many as fit in that
wall-clock. Saves darts.json (with each search's alpha trajectory) and darts.md in
``--out``; ``--merge`` makes one table of runs saved apart (one task a process)::

    python bench/darts.py --tasks digits --out /tmp/d & \
    python bench/darts.py --tasks mnist1d --out /tmp/m; wait
    python bench/darts.py --merge /tmp/d/darts.json /tmp/m/darts.json
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
from bench._cell_cache import CellCache, cell_key  # noqa: E402
from evaluators.darts import ARCH_LR, search_darts  # noqa: E402
from nas import get_space, get_task  # noqa: E402
from nas.darts import GUARDS, parameter_free  # noqa: E402
from nas.darts._settings import (  # noqa: E402
    ARCH_DATA,
    ARCH_DATA_DEFAULT,
    PATIENCE,
    PRUNE_AT,
    WARMUP,
)
from search_spaces.nb201 import to_arch_string  # noqa: E402

RESULTS = ROOT / "bench" / "results"
NONE_FINISHED = "none finished"  # random search given less time than one training


def percentile_rank(value: float, population: list[float]) -> float:
    """The share of ``population`` strictly below ``value`` plus half the ties, in %."""
    if not population:
        return math.nan
    below = sum(p < value for p in population)
    ties = sum(p == value for p in population)
    return 100.0 * (below + 0.5 * ties) / len(population)


def best_within(cells: list[dict], budget_s: float) -> dict | None:
    """Random search given ``budget_s``: the best by validation accuracy among the
    first cells whose stand-alone trainings fit in it; None when not even the first
    one finished in the time."""
    spent, seen = 0.0, []
    for c in cells:
        if spent + c["time_s"] > budget_s:
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


def train_cached(name: str, task, space, decisions: dict, args, cache: CellCache) -> dict:
    """``train`` with the recipe's seed (``--train-seed``), through the cache."""
    key = cell_key(name, to_arch_string(decisions), args.steps, args.channels, args.cells,
                   args.train_seed)
    return cache.get_or_train(key, lambda: train(task, space, decisions, args.steps,
                                                 args.train_seed, args.device))


def random_cells(name: str, task, space, args, cache: CellCache) -> list[dict]:
    """``--random`` cells sampled with ``--cells-seed`` (the same for every search
    seed), trained with the same recipe; cached."""
    rng = random.Random(args.cells_seed)
    return [train_cached(name, task, space, space.sample(rng), args, cache)
            for _ in range(args.random)]


def unit_time(task, space, args) -> float:
    """One stand-alone training's seconds, measured in this process: the mean of
    ``--unit-cells`` fresh trainings of cells sampled with ``--cells-seed``."""
    rng = random.Random(args.cells_seed)
    times = [train(task, space, space.sample(rng), args.steps, args.train_seed,
                   args.device)["time_s"] for _ in range(max(1, args.unit_cells))]
    return float(np.mean(times))


def same_time_random(cells: list[dict], units: float, seed: int) -> dict | None:
    """Random search given ``units`` stand-alone trainings: the cells in an order of
    ``seed``, each costing its cached seconds over the cached mean."""
    mean = float(np.mean([c["time_s"] for c in cells])) if cells else 1.0
    order = list(cells)
    random.Random(seed).shuffle(order)
    return best_within([dict(c, time_s=c["time_s"] / mean) for c in order], units)


def search_space(task, space, args):
    """The space the mixed network is built from: ``space``, or the same cells with
    ``--search-channels`` (the found cell is trained with ``--channels`` either way)."""
    if not args.search_channels or args.search_channels == args.channels:
        return space
    return get_space("nb201", task.in_shape, task.n_out, channels=args.search_channels,
                     cells=args.cells)


def search_row(name: str, task, space, seed: int, guard: str, unit: float, args,
               cache: CellCache) -> dict:
    """One differentiable search with ``guard`` and its cell trained stand-alone."""
    t0 = time.perf_counter()
    out = search_darts(task, search_space(task, space, args), f"{args.search_steps}steps",
                       guard=guard, seed=seed,
                       device=args.device, record_every=args.record_every,
                       **search_options(args))
    search_s = time.perf_counter() - t0
    row = {"guard": guard, "seed": seed, "search_s": search_s,
           "search_units": search_s / unit, "steps_run": out.steps,
           "error": out.result.error if out.result is not None else None,
           "trajectory": out.trajectory, "pruned": out.pruned}
    if out.graph is not None:
        row.update(train_cached(name, task, space, out.decisions, args, cache))
    return row


def search_options(args) -> dict:
    """The differentiable search's own options given on the command line (the others:
    ``search_darts``'s defaults)."""
    given = {"arch_lr": args.arch_lr, "warmup": args.warmup, "patience": args.patience,
             "arch_data": args.arch_data,
             "prune_at": None if args.prune_at is None else tuple(args.prune_at)}
    return {k: v for k, v in given.items() if v is not None}


def against(row: dict, cells: list[dict]) -> dict:
    """A found cell's ``row`` scored against the random ``cells``: its percentile and
    the random search given the same time."""
    if row.get("test_acc") is not None:
        row["percentile"] = percentile_rank(row["test_acc"], _accs(cells))
        rs = same_time_random(cells, row["search_units"], row["seed"])
        row["random_same_time"] = None if rs is None else rs["test_acc"]
    return row


def _accs(cells: list[dict]) -> list[float]:
    return [c["test_acc"] for c in cells if c.get("error") is None]


def rescore(run: dict, args, cache: CellCache) -> dict:
    """``run`` against the first ``--random`` random cells of its task (trained or
    cached since it ran): the distribution, percentiles and same-time random search."""
    task = get_task(run["task"])
    space = get_space("nb201", task.in_shape, task.n_out, channels=args.channels,
                      cells=args.cells)
    cells = random_cells(run["task"], task, space, args, cache)
    accs = _accs(cells)
    return dict(run, random=cells, p90=float(np.percentile(accs, 90)),
                median=float(np.median(accs)),
                found=[against(dict(f), cells) for f in run["found"]])


def run_task(name: str, args, cache: CellCache) -> dict:
    task = get_task(name)
    space = get_space("nb201", task.in_shape, task.n_out, channels=args.channels,
                      cells=args.cells)
    cells = random_cells(name, task, space, args, cache)
    accs = [c["test_acc"] for c in cells if c["error"] is None]
    unit = unit_time(task, space, args) if args.guards else math.nan
    out = {"task": name, "random": cells,
           "p90": float(np.percentile(accs, 90)) if accs else math.nan,
           "median": float(np.median(accs)) if accs else math.nan,
           "unit_s": unit, "found": []}
    for seed in args.seeds:
        for guard in args.guards:
            row = search_row(name, task, space, seed, guard, unit, args, cache)
            out["found"].append(against(row, cells))
            args.out.mkdir(parents=True, exist_ok=True)  # a stopped run keeps its rows
            (args.out / f"darts-{name}.partial.json").write_text(
                json.dumps(out, default=str) + "\n")
    return out


def _row(r: dict, f: dict) -> str:
    head = f"| {r['task']} | {f['seed']} | {f['guard']} |"
    if f.get("test_acc") is None:
        return f"{head} failed: {f['error']} | | | | | | |"
    same = f.get("random_same_time")
    return (f"{head} {f['test_acc']:.3f} | {f['percentile']:.0f} | "
            f"{'yes' if f['test_acc'] >= r['p90'] else 'no'} | {f['parameter_free']} / 6 | "
            f"{f['search_units']:.1f} | {f.get('steps_run', '')} | "
            f"{NONE_FINISHED if same is None else f'{same:.3f}'} |")


def same_time_text(fs: list[dict]) -> str:
    """The random search given the same time over seeds: the mean test accuracy of
    those that finished a training, and how many finished none."""
    same = [f["random_same_time"] for f in fs if f.get("random_same_time") is not None]
    if not same:
        return NONE_FINISHED
    missing = len(fs) - len(same)
    return f"{np.mean(same):.3f}" + (f" ({NONE_FINISHED} in {missing} of {len(fs)} seeds)"
                                     if missing else "")


def table(runs: list[dict]) -> str:
    """Every search, after its task's random cells' row."""
    lines = ["| task | seed | search | test acc | percentile among random | >= p90 | "
             "param-free ops | search / one training | search steps | random, same time |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['task']} | | {len(r['random'])} random cells (p90 / median) | "
                     f"{r['p90']:.3f} / {r['median']:.3f} | | | | 1 | | |")
        lines += [_row(r, f) for f in r["found"]]
    return "\n".join(lines)


def summary(runs: list[dict]) -> str:
    """Each task and guard over the seeds: mean accuracy, seeds at or above the p90."""
    lines = ["| task | search | mean test acc | seeds >= p90 | mean percentile | "
             "mean param-free ops | mean search / one training | random, same time |",
             "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        for guard in dict.fromkeys(f["guard"] for f in r["found"]):
            fs = [f for f in r["found"] if f["guard"] == guard and f.get("test_acc") is not None]
            if not fs:
                continue
            lines.append(
                f"| {r['task']} | {guard} | {np.mean([f['test_acc'] for f in fs]):.3f} | "
                f"{sum(f['test_acc'] >= r['p90'] for f in fs)} / {len(fs)} | "
                f"{np.mean([f['percentile'] for f in fs]):.0f} | "
                f"{np.mean([f['parameter_free'] for f in fs]):.1f} / 6 | "
                f"{np.mean([f['search_units'] for f in fs]):.1f} | "
                f"{same_time_text(fs)} |")
    return "\n".join(lines)


def cells_text(runs: list[dict]) -> str:
    return "\n".join(f"- {r['task']} seed {f['seed']}, {f['guard']}: `{f.get('arch')}`"
                     for r in runs for f in r["found"])


def _at_once(meta: dict) -> str:
    n = meta.get("runs_at_once", 1)
    return f" ({n} runs merged, some of them at once)" if n > 1 else ""


def write(runs: list[dict], meta: dict, folder: Path) -> dict:
    md = table(runs)
    print(md)
    folder.mkdir(parents=True, exist_ok=True)
    out = {"meta": meta, "runs": runs}
    (folder / "darts.json").write_text(json.dumps(out, indent=1, default=str) + "\n")
    text = (f"# darts\n\nDifferentiable search (first-order DARTS) of the `nb201` space with "
            f"each guard, its cell trained stand-alone, against random cells trained "
            f"with the same recipe (their number in each task's first row of the second "
            f"table; test accuracy; selection only saw the validation split).\n\n"
            f"{summary(runs)}\n\n{md}\n\nCells found:\n\n"
            f"{cells_text(runs)}\n\n"
            f"- Size: nb201 with {meta['channels']} channels, {meta['cells']} cell(s) a "
            f"stage; stand-alone training {meta['steps']} steps (seed {meta['train_seed']}, "
            f"the random cells and the cells found alike), search at most "
            f"{meta['search_steps']} steps (each an alpha step on a validation batch and a "
            f"weight step on a training batch; options {meta['search_options']}); search "
            f"seeds {meta['seeds']}; the random cells sampled once (seed "
            f"{meta['cells_seed']}) for every search seed; random search given the same "
            f"time takes them in an order of the search seed. One training's time is the "
            f"mean of {meta['unit_cells']} fresh trainings in the same process. "
            f"{meta['device']}, {meta['threads']} thread(s) of {meta['cores']} cores"
            f"{_at_once(meta)}, load "
            f"{meta['load_at_start']:.1f} at start, {meta['wall_s'] / 60:.0f} min "
            f"({meta['cache_hits']} trainings from the cache), {meta['date']}.\n"
            f"- The alpha trajectories are in darts.json.\n")
    (folder / "darts.md").write_text(text)
    return out


def merge(paths: list[Path], folder: Path, args=None) -> dict:
    """One table from runs saved apart (``darts.json`` of each, e.g. one task per
    process run at once); with ``args.random`` set, each run rescored against that
    many random cells (``rescore``)."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    if args is not None and args.random is not None:
        cache = CellCache(args.cache)
        for p in parts:
            p["runs"] = [rescore(r, args, cache) for r in p["runs"]]
            p["meta"]["random"] = args.random
    meta = dict(parts[0]["meta"])
    meta.update(wall_s=max(p["meta"]["wall_s"] for p in parts),
                load_at_start=max(p["meta"]["load_at_start"] for p in parts),
                cache_hits=sum(p["meta"]["cache_hits"] for p in parts),
                runs_at_once=len(parts))
    return write(by_task([r for p in parts for r in p["runs"]]), meta, folder)


def by_task(runs: list[dict]) -> list[dict]:
    """One run a task: a task's later runs (other guards, same random cells) add their
    searches to its first."""
    out: dict[str, dict] = {}
    for r in runs:
        if r["task"] in out:
            out[r["task"]]["found"] += r["found"]
        else:
            out[r["task"]] = dict(r, found=list(r["found"]))
    return list(out.values())


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", nargs="+", default=["mnist1d", "digits"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="search seeds")
    ap.add_argument("--random", type=int, default=None,
                    help="random cells trained (default 50; with --merge: rescore against "
                         "this many)")
    ap.add_argument("--steps", type=int, default=200, help="stand-alone training steps")
    ap.add_argument("--search-steps", type=int, default=150, help="differentiable search steps")
    ap.add_argument("--guards", nargs="*", default=list(GUARDS), choices=list(GUARDS),
                    help="none given: only the random cells (to fill the cache)")
    ap.add_argument("--train-seed", type=int, default=0, help="every stand-alone training's")
    ap.add_argument("--cells-seed", type=int, default=0, help="samples the random cells")
    ap.add_argument("--unit-cells", type=int, default=3,
                    help="fresh trainings timed for the unit of one training")
    ap.add_argument("--cache", type=Path, default=RESULTS / "darts_cells.json",
                    help="stand-alone trainings reused across runs")
    ap.add_argument("--arch-lr", type=float, default=None, help="Adam's lr on alpha")
    ap.add_argument("--warmup", type=float, default=None,
                    help="share of the search steps training the weights alone")
    ap.add_argument("--patience", type=int, default=None,
                    help="stop once the argmax is unchanged this many steps (0: never)")
    ap.add_argument("--arch-data", default=None, choices=list(ARCH_DATA),
                    help="alpha's data: val, half (of the training split), train")
    ap.add_argument("--prune-at", type=float, nargs="*", default=None,
                    help="shares of the search steps after which each edge's weakest op "
                         "is dropped (progressive pruning; none given: no pruning)")
    ap.add_argument("--search-channels", type=int, default=None,
                    help="channels of the mixed network (default: --channels)")
    ap.add_argument("--label", default="", help="the variant's name in the variants table")
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--cells", type=int, default=1, help="cells a stage (the benchmark's 5)")
    ap.add_argument("--record-every", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--merge", type=Path, nargs="+", default=None, metavar="DARTS_JSON",
                    help="write one table from these saved runs (run nothing)")
    args = ap.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out, args)
    args.random = 50 if args.random is None else args.random
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    cache = CellCache(args.cache)
    runs = [run_task(name, args, cache) for name in args.tasks]
    meta = {"random": args.random, "steps": args.steps, "search_steps": args.search_steps,
            "channels": args.channels, "cells": args.cells, "seeds": args.seeds,
            "train_seed": args.train_seed, "cells_seed": args.cells_seed,
            "unit_cells": args.unit_cells,
            "search_options": {"arch_lr": ARCH_LR, "warmup": WARMUP, "patience": PATIENCE,
                               "arch_data": ARCH_DATA_DEFAULT, "prune_at": PRUNE_AT,
                               **search_options(args)},
            "search_channels": args.search_channels or args.channels, "label": args.label,
            "cache_hits": cache.hits,
            "device": args.device, "threads": torch.get_num_threads(),
            "cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
            "load_at_start": load, "torch": torch.__version__,
            "wall_s": time.perf_counter() - t0,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    return write(runs, meta, args.out)


if __name__ == "__main__":
    main()
