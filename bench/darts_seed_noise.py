"""How much of the DARTS benchmark's ranking is training noise: the same cells trained
stand-alone with other training seeds.

``bench/darts.py`` trains every cell once (``--train-seed`` 0), so the random cells'
90th percentile is the top of 50 noisy draws. Here the top ``--top`` random cells (by
that seed-0 test accuracy) and the cells a guard found (``--guard``, each search seed)
are retrained with ``--train-seeds`` (same recipe, through the same cache), so a cell's
mean over seeds can be compared with its seed-0 value::

    python bench/darts_seed_noise.py --train-seeds 1 2 --top 3
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
from bench._cell_cache import CellCache  # noqa: E402
from nas import get_space, get_task  # noqa: E402
from search_spaces.nb201 import from_arch_string  # noqa: E402


def cells_of(run: dict, top: int, guard: str) -> list[tuple[str, str]]:
    """(role, arch string): the ``top`` random cells by test accuracy, then the cells
    ``guard`` found (one per search seed, repeats kept once)."""
    ranked = sorted((c for c in run["random"] if c.get("error") is None),
                    key=lambda c: -c["test_acc"])
    out = [(f"random #{i + 1}", c["arch"]) for i, c in enumerate(ranked[:top])]
    for f in run["found"]:
        if f["guard"] == guard and f.get("arch") and f["arch"] not in [a for _, a in out]:
            out.append((f"{guard} seed {f['seed']}", f["arch"]))
    return out


def retrain(run: dict, args, cache: CellCache) -> list[dict]:
    """Each chosen cell's test accuracy at seed 0 and at every ``--train-seeds``."""
    task = get_task(run["task"])
    space = get_space("nb201", task.in_shape, task.n_out, channels=args.channels,
                      cells=args.cells)
    rows = []
    for role, arch in cells_of(run, args.top, args.guard):
        accs = []
        for seed in [0, *args.train_seeds]:
            a = SimpleNamespace(steps=args.steps, channels=args.channels, cells=args.cells,
                                train_seed=seed, device=args.device)
            accs.append(bench.train_cached(run["task"], task, space, from_arch_string(arch),
                                           a, cache)["test_acc"])
        rows.append({"task": run["task"], "role": role, "arch": arch, "test_acc": accs})
    return rows


def table(rows: list[dict], seeds: list[int], p90: dict) -> str:
    head = ("| task | cell | " + " | ".join(f"seed {s}" for s in [0, *seeds])
            + " | mean | mean of the other seeds |")
    lines = [head, "|" + "---|" * (len(seeds) + 5)]
    for r in rows:
        a = r["test_acc"]
        lines.append(f"| {r['task']} (p90 {p90[r['task']]:.3f}) | {r['role']} | "
                     + " | ".join(f"{v:.3f}" for v in a)
                     + f" | {np.mean(a):.3f} | {np.mean(a[1:]):.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, default=bench.RESULTS / "darts.json")
    ap.add_argument("--train-seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--top", type=int, default=3, help="best random cells retrained")
    ap.add_argument("--guard", default="drnas", help="whose found cells are retrained")
    ap.add_argument("--tasks", nargs="+", default=None)
    ap.add_argument("--cache", type=Path, default=bench.RESULTS / "darts_cells.json")
    ap.add_argument("--out", type=Path, default=bench.RESULTS / "darts_seed_noise.md")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    saved = json.loads(args.results.read_text())
    meta = saved["meta"]
    args.steps, args.channels, args.cells = meta["steps"], meta["channels"], meta["cells"]
    args.device = "cpu"
    cache = CellCache(args.cache)
    runs = [r for r in saved["runs"] if args.tasks is None or r["task"] in args.tasks]
    rows = [row for r in runs for row in retrain(r, args, cache)]
    text = table(rows, args.train_seeds, {r["task"]: r["p90"] for r in runs})
    args.out.write_text(
        "# darts seed noise\n\nThe DARTS benchmark's cells (`bench/results/darts.json`: its "
        f"best {args.top} random cells and the cells {args.guard} found) trained "
        f"stand-alone again with other training seeds, same recipe ({meta['steps']} "
        f"steps, nb201 {meta['channels']} channels, {meta['cells']} cell a stage; "
        "test accuracy). The random cells were ranked by their seed-0 value, so their "
        "other seeds show how much of the 90th percentile is luck. Accuracies only (no "
        f"timing), CPU, one torch thread, {datetime.date.today().isoformat()}.\n\n"
        + text + "\n")
    print(text)
    return text


if __name__ == "__main__":
    main()
