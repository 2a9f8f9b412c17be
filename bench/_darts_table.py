"""The DARTS benchmark's tables (bench/darts.py): a row per search after its task's
random cells, a summary a task and guard over the search seeds, the cells found, and
the Size line saying the recipe, the machine and the load; written as NAME.md next to
NAME.json (``write``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench._seed_means import per_seed_text, seeds

NONE_FINISHED = "none finished"  # random search given less time than one training


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
        lines.append(f"| {r['task']} | | {len(r['random'])} random cells{_k_text(r)} "
                     f"(p90 / median) | "
                     f"{r['p90']:.3f} / {r['median']:.3f} | | | | 1 | | |")
        lines += [_row(r, f) for f in r["found"]]
    return "\n".join(lines)


def _k_text(run: dict) -> str:
    """``, mean of K seeds`` when the random cells were trained K > 1 times."""
    k = len(run["random"][0].get("per_seed", [0])) if run["random"] else 1
    return f", mean of {k} seeds" if k > 1 else ""


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
                     f"{per_seed_text(f)}" for r in runs for f in r["found"])


def seeds_text(meta: dict) -> str:
    """The recipe's training seeds: ``seed 0``, or K of them and how a cell is scored."""
    ks = seeds(meta["train_seed"], meta.get("train_seeds", 1))
    if len(ks) == 1:
        return f"seed {ks[0]}"
    return (f"seeds {', '.join(map(str, ks))}, each cell scored by the mean test accuracy "
            f"of its {len(ks)} trainings (each seed's in the json; the cost unit is one)")


def rescored_text(meta: dict) -> str:
    """The line a table rescored by ``--merge`` adds: when, how long, at what load."""
    r = meta.get("rescored")
    if not r:
        return ""
    cpu = f" ({r['cpu_s'] / 60:.0f} CPU-min)" if "cpu_s" in r else ""
    command = f" (`{r['command']}`)" if r.get("command") else ""
    return (f"- Rescored{command}: the searches above reused, their cells and "
            f"{meta['random']} random cells trained with {meta.get('train_seeds', 1)} "
            f"training seed(s), on {r['date']}: {r['wall_s'] / 60:.0f} min{cpu}, load "
            f"{r['load_at_start']:.1f} at start, {r['cache_hits']} trainings from the cache."
            f"\n")


def _cpu(meta: dict) -> str:
    if meta.get("clock", "wall") == "wall":
        return ""
    return " (times are the process's CPU time, `--clock cpu`)"


def _at_once(meta: dict) -> str:
    n = meta.get("runs_at_once", 1)
    return f" ({n} runs merged, some of them at once)" if n > 1 else ""


def write(runs: list[dict], meta: dict, folder: Path) -> dict:
    md = table(runs)
    print(md)
    folder.mkdir(parents=True, exist_ok=True)
    out = {"meta": meta, "runs": runs}
    name = meta.get("name", "darts")
    (folder / f"{name}.json").write_text(json.dumps(out, indent=1, default=str) + "\n")
    text = (f"# {name}\n\nDifferentiable search (first-order DARTS) of the `nb201` space with "
            f"each guard, its cell trained stand-alone, against random cells trained "
            f"with the same recipe (their number in each task's first row of the second "
            f"table; test accuracy; selection only saw the validation split).\n\n"
            f"{summary(runs)}\n\n{md}\n\nCells found:\n\n"
            f"{cells_text(runs)}\n\n"
            f"- Size: nb201 with {meta['channels']} channels, {meta['cells']} cell(s) a "
            f"stage; stand-alone training {meta['steps']} steps ({seeds_text(meta)}, "
            f"the random cells and the cells found alike), search at most "
            f"{meta['search_steps']} steps (each an alpha step on a validation batch and a "
            f"weight step on a training batch; options {meta['search_options']}); search "
            f"seeds {meta['seeds']}; the random cells sampled once (seed "
            f"{meta['cells_seed']}) for every search seed; random search given the same "
            f"time takes them in an order of the search seed. One training's time is the "
            f"mean of {meta['unit_cells']} fresh trainings in the same process"
            f"{_cpu(meta)}. "
            f"{meta['device']}, {meta['threads']} thread(s) of {meta['cores']} cores"
            f"{_at_once(meta)}, load "
            f"{meta['load_at_start']:.1f} at start, {meta['wall_s'] / 60:.0f} min "
            f"({meta['cache_hits']} trainings from the cache), {meta['date']}.\n"
            f"{rescored_text(meta)}- The alpha trajectories are in {name}.json.\n")
    (folder / f"{name}.md").write_text(text)
    return out


__all__ = ["NONE_FINISHED", "cells_text", "seeds_text", "summary", "table", "write"]
