"""Which stand-alone training recipe lets the DARTS benchmark tell its random cells apart.

The benchmark's target ("the found cell at or above the 90th percentile of random
cells") only means something when the cells' true accuracies spread more than one
training's noise. For each recipe (``STEPSxCHANNELSxCELLS``: training steps, channels,
cells a stage) the same ``--random`` cells (``--cells-seed``) are trained with
``--train-seeds K`` seeds through the benchmark's cache (bench/darts.py), and their
accuracies split as bench/darts_noise.py does: the cells' true spread (tau), one
training's noise (sigma), the reliability of one training, and the correlation of
validation with test accuracy across cells (what a search can see of what it is scored
on). No search runs here, so a recipe chosen by these numbers is chosen before any
search is scored on it::

    python bench/darts_recipes.py --task digits --recipes 200x8x1 50x8x1 200x8x3 \\
        --random 20 --train-seeds 3

Saves ``--out``/``--name``.md and .json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import darts as bench  # noqa: E402
from bench import darts_noise as noise  # noqa: E402
from bench._cell_cache import CellCache  # noqa: E402
from nas import get_space, get_task  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def parse_recipe(text: str) -> dict:
    """``"200x8x1"`` -> steps 200, channels 8, cells 1 (a clear error otherwise)."""
    parts = text.lower().split("x")
    try:
        steps, channels, cells = (int(p) for p in parts)
    except ValueError:
        raise SystemExit(f"recipe {text!r}: write STEPSxCHANNELSxCELLS, e.g. 200x8x1") from None
    if min(steps, channels, cells) < 1:
        raise SystemExit(f"recipe {text!r}: steps, channels and cells must be >= 1")
    return {"steps": steps, "channels": channels, "cells": cells}


def measure(task_name: str, recipe: dict, args, cache: CellCache) -> dict:
    """The random cells trained with ``recipe`` (K seeds each) and their split."""
    task = get_task(task_name)
    space = get_space("nb201", task.in_shape, task.n_out, channels=recipe["channels"],
                      cells=recipe["cells"])
    a = SimpleNamespace(**recipe, random=args.random, cells_seed=args.cells_seed,
                        train_seed=args.train_seed, train_seeds=args.train_seeds,
                        device=args.device)
    cells = bench.random_cells(task_name, task, space, a, cache)
    try:
        c = noise.analyse({"runs": [{"task": task_name, "random": cells}]}, task_name)
    except ValueError:  # fewer than 2 cells learned: nothing to split
        learned = sum(cell["test_acc"] > 0.5 for cell in cells if cell.get("error") is None)
        c = dict.fromkeys(("tau", "sigma", "reliability_one", "reliability_mean",
                           "val_test_corr", "p90"))
        c.update(task=task_name, cells=learned, seeds=args.train_seeds,
                 mean=float(sum(cell["test_acc"] for cell in cells) / len(cells)),
                 failed_to_learn=len(cells) - learned)
    c = {("cells_split" if k == "cells" else k): v for k, v in c.items() if k != "chances"}
    return {"recipe": f"{recipe['steps']}x{recipe['channels']}x{recipe['cells']}", **c,
            **upper_half(cells), **recipe}


def upper_half(cells: list[dict]) -> dict:
    """The split among the better half of the cells, what a 90th-percentile target
    rests on: the cells at or above the median of their first seed's test accuracy,
    split on their other seeds only (picking and measuring on the same seed would
    count the pick's luck as spread). ``None`` with fewer than 3 seeds or 2 cells."""
    rows = [[s["test_acc"] for s in c["per_seed"]] for c in cells
            if c.get("error") is None and len(c.get("per_seed", [])) >= 3]
    if len(rows) < 4:
        return {"upper_tau": None, "upper_reliability_one": None}
    acc = np.array([r[:min(map(len, rows))] for r in rows])
    picked = acc[acc[:, 0] >= np.median(acc[:, 0])][:, 1:]
    if len(picked) < 2:
        return {"upper_tau": None, "upper_reliability_one": None}
    c = noise.components(picked)
    return {"upper_tau": c["tau"], "upper_reliability_one": c["reliability_one"]}


def _f(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def render(rows: list[dict], meta: dict) -> str:
    lines = [f"| {r['recipe']} | {r['steps']} | {r['channels']} | {r['cells']} | "
             f"{r['mean']:.3f} | {r['failed_to_learn']} | {_f(r['tau'], 4)} | "
             f"{_f(r['sigma'], 4)} | {_f(r['reliability_one'])} | {_f(r['reliability_mean'])} "
             f"| {_f(r['val_test_corr'])} | {_f(r['p90'], 3)} | {_f(r['upper_tau'], 4)} | "
             f"{_f(r['upper_reliability_one'])} |" for r in rows]
    k = meta["train_seeds"]
    header = ("| recipe | steps | channels | cells a stage | mean test acc | at chance | tau | "
              f"sigma | reliability of one training | of a {k}-seed mean | val-test "
              f"correlation | p90 of {k}-seed means | tau, upper half | reliability, upper "
              "half |")
    return f"""# darts recipes: {meta['task']}

The same {meta['random']} random `nb201` cells (cells seed {meta['cells_seed']}) trained
stand-alone with each recipe, {k} training seeds each, split as `bench/darts_noise.py`
does (cells at chance left out of the split). A recipe can rank searches only where tau,
the cells' true spread, is not small against sigma, one training's noise; a 90th
percentile target needs that among the better cells too ("upper half": the cells at or
above the median of their first training, split on their other trainings).

{header}
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(lines)}

- `{meta['command']}`; {meta['device']}, {meta['threads']} thread(s), {meta['date']}.
"""


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", default="digits")
    ap.add_argument("--recipes", nargs="+", default=["200x8x1", "50x8x1", "200x8x3"],
                    help="STEPSxCHANNELSxCELLS each")
    ap.add_argument("--random", type=int, default=20, help="random cells a recipe")
    ap.add_argument("--cells-seed", type=int, default=0)
    ap.add_argument("--train-seed", type=int, default=0)
    ap.add_argument("--train-seeds", type=int, default=3, help="K >= 2 seeds a cell")
    ap.add_argument("--cache", type=Path, default=RESULTS / "darts_cells.json")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--name", default="darts_recipes")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if args.train_seeds < 2:
        ap.error("--train-seeds must be 2 or more (one seed has no noise to split off)")
    recipes = [parse_recipe(r) for r in args.recipes]
    torch.set_num_threads(args.threads)
    cache = CellCache(args.cache)
    rows = []
    for recipe in recipes:
        rows.append(measure(args.task, recipe, args, cache))
        r = rows[-1]
        print(f"{r['recipe']}: tau {_f(r['tau'], 4)}, sigma {_f(r['sigma'], 4)}, "
              f"reliability {_f(r['reliability_one'])}", flush=True)
    meta = {"task": args.task, "random": args.random, "cells_seed": args.cells_seed,
            "train_seeds": args.train_seeds, "threads": args.threads, "device": args.device,
            "command": " ".join(["python bench/darts_recipes.py",
                                 *(sys.argv[1:] if argv is None else argv)]),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    text = render(rows, meta)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.md").write_text(text)
    (args.out / f"{args.name}.json").write_text(
        json.dumps({"meta": meta, "recipes": rows}, indent=1) + "\n")
    return rows


if __name__ == "__main__":
    main()
