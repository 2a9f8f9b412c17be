"""Differentiable search (DARTS family) on the nb201 space: guarded against unguarded,
against random cells trained with the same recipe.

For each task (mnist1d, digits): ``--random`` cells sampled uniformly (once, with
``--cells-seed``, for every search seed) are trained stand-alone (``--steps``, seed
``--train-seed``) for the distribution (its 90th percentile); for each search seed, each
guard (``--guards``: darts-, drnas, none) searches at most ``--search-steps`` steps with
``evaluators.darts.search_darts`` (its defaults: warmup, early stop) and its discretized
cell is trained stand-alone with the same recipe (``--train-seeds K``: every
stand-alone training done with K seeds and scored by the mean test accuracy,
bench/_seed_means.py; the cost unit stays one training). Stand-alone trainings are cached
(``--cache``, keyed by task, cell, recipe and seed), so reruns and the search seeds reuse
them. Reported: the found cell's test accuracy and its percentile among the random
cells, its parameter-free ops (none, skip, pooling), the search's wall-clock in units of
one stand-alone training (``--unit-cells`` fresh trainings timed in the same process),
and the best random cell (by validation accuracy) among as many as fit in that
wall-clock. Saves darts.json (with each search's alpha trajectory) and darts.md
(``--name``) in ``--out``; ``--merge`` makes one table of runs saved apart (one task a
process), and with ``--random N`` or ``--train-seeds K`` rescores their searches
(trained again at the saved recipe, through the cache, without searching again)::

    python bench/darts.py --tasks digits --out /tmp/d & \
    python bench/darts.py --tasks mnist1d --out /tmp/m; wait
    python bench/darts.py --merge /tmp/d/darts.json /tmp/m/darts.json
    python bench/darts.py --merge bench/results/darts.json --tasks digits \
        --guards drnas none --train-seeds 3 --name darts_seeds3
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
from bench._darts_table import NONE_FINISHED, summary, table, write  # noqa: E402,F401
from bench._seed_means import mean_row, one_training, seeds  # noqa: E402
from evaluators.darts import ARCH_LR, search_darts  # noqa: E402
from nas import get_space, get_task  # noqa: E402
from nas.darts import GUARDS, parameter_free  # noqa: E402
from nas.darts._select import DEFAULT_SELECT, SELECTS  # noqa: E402
from nas.darts._settings import (  # noqa: E402
    ARCH_DATA,
    ARCH_DATA_DEFAULT,
    PATIENCE,
    PRUNE_AT,
    WARMUP,
)
from search_spaces.nb201 import from_arch_string, to_arch_string  # noqa: E402

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
    first cells whose stand-alone trainings fit in it; None when not even the first
    one finished in the time."""
    spent, seen = 0.0, []
    for c in cells:
        if spent + c["time_s"] > budget_s:
            break
        spent += c["time_s"]
        seen.append(c)
    return max(seen, key=lambda c: c["val_acc"]) if seen else None


# What a training's and a search's seconds are read from (``--clock``): the wall-clock,
# or this process's CPU time, which with one torch thread is the wall-clock of a quiet
# machine whatever else runs (bench/_cpu_clock.py). The cost column divides two such
# readings taken minutes apart, so under a changing load only the CPU clock keeps it a
# property of the search: mnist1d seed 1's 3.7 trainings (darts.md) were 138 steps at
# 0.79 s where seed 0 took 133 at 0.59 s with the same ops left after pruning.
CLOCKS = {"wall": lambda: time.perf_counter(), "cpu": lambda: time.process_time()}
clock = CLOCKS["wall"]


def train(task, space, decisions: dict, steps: int, seed: int, device: str) -> dict:
    graph = space.build(decisions)
    t0 = clock()
    r = task.evaluate(graph, f"{steps}steps", seed=seed, device=device)
    return {"arch": to_arch_string(decisions), "val_acc": r.value("val_acc") or math.nan,
            "test_acc": r.metrics.get("test_acc", math.nan),
            "parameter_free": parameter_free(decisions), "time_s": clock() - t0,
            "error": r.error}


def train_cached(name: str, task, space, decisions: dict, args, cache: CellCache) -> dict:
    """``train`` with the recipe's seeds (``--train-seed`` and, with ``--train-seeds K``,
    the next K - 1), each through the cache; K > 1: their mean (``mean_row``)."""
    arch, ks = to_arch_string(decisions), seeds(args.train_seed, _k(args))
    return mean_row([cache.get_or_train(
        cell_key(name, arch, args.steps, args.channels, args.cells, s),
        lambda s=s: train(task, space, decisions, args.steps, s, args.device))
        for s in ks], ks)


def _k(args) -> int:
    return getattr(args, "train_seeds", 1)


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
    t0 = clock()
    out = search_darts(task, search_space(task, space, args), f"{args.search_steps}steps",
                       guard=guard, seed=seed,
                       device=args.device, record_every=args.record_every,
                       **search_options(args))
    search_s = clock() - t0
    row = {"guard": guard, "seed": seed, "search_s": search_s,
           "search_units": search_s / unit, "steps_run": out.steps,
           "error": out.result.error if out.result is not None else None,
           "trajectory": out.trajectory, "pruned": out.pruned,
           "perturbation": out.to_dict()["perturbation"]}
    if out.graph is not None:
        row.update(train_cached(name, task, space, out.decisions, args, cache))
    return row


def search_options(args) -> dict:
    """The differentiable search's own options given on the command line (the others:
    ``search_darts``'s defaults)."""
    given = {"arch_lr": args.arch_lr, "warmup": args.warmup, "patience": args.patience,
             "arch_data": args.arch_data, "select": args.select,
             "prune_at": None if args.prune_at is None else tuple(args.prune_at)}
    return {k: v for k, v in given.items() if v is not None}


def against(row: dict, cells: list[dict]) -> dict:
    """A found cell's ``row`` scored against the random ``cells``: its percentile and
    the random search given the same time."""
    if row.get("test_acc") is not None:
        row["percentile"] = percentile_rank(row["test_acc"], _accs(cells))
        rs = same_time_random(one_training(cells), row["search_units"], row["seed"])
        row["random_same_time"] = None if rs is None else rs["test_acc"]
    return row


def _accs(cells: list[dict]) -> list[float]:
    return [c["test_acc"] for c in cells if c.get("error") is None]


def rescore(run: dict, args, cache: CellCache) -> dict:
    """``run`` against the first ``--random`` random cells of its task (trained or
    cached since it ran): the distribution, percentiles and same-time random search;
    with ``--train-seeds K`` > 1 the found cells retrained with K seeds too."""
    task = get_task(run["task"])
    space = get_space("nb201", task.in_shape, task.n_out, channels=args.channels,
                      cells=args.cells)
    cells = random_cells(run["task"], task, space, args, cache)
    accs = _accs(cells)
    return dict(run, random=cells, p90=float(np.percentile(accs, 90)),
                median=float(np.median(accs)),
                found=[against(_retrained(f, run["task"], task, space, args, cache), cells)
                       for f in run["found"]])


def _retrained(found: dict, name: str, task, space, args, cache: CellCache) -> dict:
    """A saved search's row, its cell scored with ``--train-seeds`` (K > 1) seeds."""
    if _k(args) == 1 or not found.get("arch"):
        return dict(found)
    return dict(found, **train_cached(name, task, space, from_arch_string(found["arch"]),
                                      args, cache))


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


RECIPE = ("steps", "channels", "cells", "train_seed", "cells_seed")  # a rescore keeps


def merge(paths: list[Path], folder: Path, args=None) -> dict:
    """One table from runs saved apart (``darts.json`` of each, e.g. one task per
    process run at once); with ``args.random`` set, each run rescored against that
    many random cells (``rescore``)."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    t0, c0, load = time.perf_counter(), time.process_time(), _load()
    if args is not None:  # only --tasks and --guards (all by default)
        for p in parts:
            p["runs"] = [dict(r, found=[f for f in r["found"] if f["guard"] in args.guards])
                         for r in p["runs"] if r["task"] in args.tasks]
    if args is not None and args.random is None and _k(args) > 1:
        args.random = parts[0]["meta"]["random"]  # K seeds: rescored at the saved size
    if args is not None and args.random is not None:
        for k in RECIPE:  # the saved runs' recipe, not the command line's defaults
            setattr(args, k, parts[0]["meta"][k])
        cache = CellCache(args.cache)
        for p in parts:
            p["runs"] = [rescore(r, args, cache) for r in p["runs"]]
            p["meta"].update(random=args.random, train_seeds=_k(args), rescored={
                "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                "load_at_start": load, "cache_hits": cache.hits, "date": _now(),
                "command": getattr(args, "command", "")})
    meta = dict(parts[0]["meta"])
    meta.update(wall_s=max(p["meta"]["wall_s"] for p in parts),
                load_at_start=max(p["meta"]["load_at_start"] for p in parts),
                cache_hits=sum(p["meta"]["cache_hits"] for p in parts),
                seeds=sorted({s for p in parts for s in p["meta"].get("seeds", [])}),
                runs_at_once=len(parts), name=args.name if args is not None else "darts")
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


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


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
    ap.add_argument("--train-seeds", type=int, default=1,
                    help="K: every stand-alone training done with seeds --train-seed .. + K - 1"
                         ", scored by the mean test accuracy (with --merge: rescored so)")
    ap.add_argument("--clock", choices=list(CLOCKS), default="wall",
                    help="the seconds of trainings and searches (the cost column): "
                         "wall-clock, or this process's CPU time (one thread: a quiet "
                         "machine's wall-clock, whatever else runs)")
    ap.add_argument("--name", default="darts", help="the results files' name (NAME.md/.json)")
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
    ap.add_argument("--select", default=None, choices=list(SELECTS),
                    help="how the trained mixed network is discretized: the largest alpha "
                         "(DARTS) or perturbation of the validation loss (DARTS-PT)")
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
    args.command = " ".join(["python bench/darts.py", *(sys.argv[1:] if argv is None else argv)])
    seeds(args.train_seed, args.train_seeds)  # K < 1: a clear error before any work
    torch.set_num_threads(args.threads)
    global clock
    clock = CLOCKS[args.clock]
    if args.merge:
        return merge(args.merge, args.out, args)
    args.random = 50 if args.random is None else args.random
    t0 = time.perf_counter()
    load = _load()
    cache = CellCache(args.cache)
    runs = [run_task(name, args, cache) for name in args.tasks]
    meta = {"random": args.random, "steps": args.steps, "search_steps": args.search_steps,
            "channels": args.channels, "cells": args.cells, "seeds": args.seeds,
            "train_seed": args.train_seed, "train_seeds": args.train_seeds,
            "cells_seed": args.cells_seed, "name": args.name, "clock": args.clock,
            "unit_cells": args.unit_cells,
            "search_options": {"arch_lr": ARCH_LR, "warmup": WARMUP, "patience": PATIENCE,
                               "arch_data": ARCH_DATA_DEFAULT, "prune_at": PRUNE_AT,
                               "select": DEFAULT_SELECT,
                               **search_options(args)},
            "search_channels": args.search_channels or args.channels, "label": args.label,
            "cache_hits": cache.hits,
            "device": args.device, "threads": torch.get_num_threads(),
            "cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
            "load_at_start": load, "torch": torch.__version__,
            "wall_s": time.perf_counter() - t0,
            "date": _now()}
    return write(runs, meta, args.out)


if __name__ == "__main__":
    main()
