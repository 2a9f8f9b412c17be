"""How much of the DARTS benchmark's random-cell spread is the cells and how much is noise.

From a ``bench/darts.py`` run with ``--train-seeds K`` (K >= 2), the random cells'
per-seed test accuracies give a one-way random-effects split (cells that failed to
train left out): the spread of the cells' true accuracies (``tau``), the noise of one
training (``sigma``), the reliability of one training and of a K-seed mean (the share
of their variance that is the cell's), and the correlation of the validation accuracy
(what a search sees) with the test accuracy across cells. Then, under that normal
model, the chance that a search which always returns a cell at a given quantile of
*true* quality measures at or above the observed 90th percentile of K-seed means, at
one search seed and at three (the benchmark's "every seed" target)::

    python bench/darts_noise.py bench/results/darts_seeds3.json --task digits \
        --out bench/results/darts_noise.md

Saves ``--out`` (.md) and its .json beside it.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from statistics import NormalDist

import numpy as np

QUANTILES = (0.5, 0.9, 0.99)  # the true-quality quantiles of a hypothetical search's cell
N = NormalDist()


def components(acc: np.ndarray) -> dict:
    """One-way random-effects ANOVA of ``acc`` (cells x seeds): the cells' true spread
    ``tau``, one training's noise ``sigma``, and the reliabilities."""
    n, k = acc.shape
    if n < 2 or k < 2:
        raise ValueError(f"need at least 2 cells and 2 training seeds, got {n} x {k}")
    ms_within = float(acc.var(axis=1, ddof=1).mean())
    ms_between = float(k * acc.mean(axis=1).var(ddof=1))
    tau2 = max(0.0, (ms_between - ms_within) / k)
    one = tau2 / (tau2 + ms_within) if tau2 + ms_within > 0 else 0.0
    return {"cells": n, "seeds": k, "tau": math.sqrt(tau2), "sigma": math.sqrt(ms_within),
            "mean": float(acc.mean()), "reliability_one": one,
            "reliability_mean": k * one / (1 + (k - 1) * one) if one < 1 else 1.0}


def pass_chance(c: dict, p90: float, q: float) -> float:
    """P(a cell at true-quality quantile ``q`` has a K-seed mean >= ``p90``)."""
    true = c["mean"] + N.inv_cdf(q) * c["tau"]
    noise = c["sigma"] / math.sqrt(c["seeds"])
    if noise == 0:
        return float(true >= p90)
    return 1.0 - N.cdf((p90 - true) / noise)


def analyse(run: dict, task: str) -> dict:
    """The numbers of ``task``'s random cells in a saved ``bench/darts.py`` run."""
    found = [r for r in run["runs"] if r["task"] == task]
    if not found:
        raise SystemExit(f"no task {task!r} in the run (it has "
                         f"{', '.join(r['task'] for r in run['runs'])})")
    cells = [c for c in found[0]["random"] if c.get("error") is None and "per_seed" in c]
    if not cells:
        raise SystemExit("the run's random cells have no per-seed rows: run bench/darts.py "
                         "with --train-seeds 2 or more")
    k = min(len(c["per_seed"]) for c in cells)
    acc = np.array([[s["test_acc"] for s in c["per_seed"][:k]] for c in cells])
    val = np.array([np.mean([s["val_acc"] for s in c["per_seed"][:k]]) for c in cells])
    working = acc.mean(axis=1) > 0.5  # cells that did not learn (chance) are no spread
    c = components(acc[working])
    means = acc.mean(axis=1)
    p90 = float(np.percentile(means, 90))
    v, m = val[working], means[working]
    corr = float(np.corrcoef(v, m)[0, 1]) if v.std() > 0 and m.std() > 0 else None
    c.update(task=task, p90=p90, failed_to_learn=int((~working).sum()), val_test_corr=corr)
    c["chances"] = [{"quantile": q, "one_seed": pass_chance(c, p90, q),
                     "three_seeds": pass_chance(c, p90, q) ** 3} for q in QUANTILES]
    return c


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def render(c: dict, source: str) -> str:
    rows = "\n".join(f"| {q['quantile']:.2f} | {q['one_seed']:.2f} | {q['three_seeds']:.2f} |"
                     for q in c["chances"])
    return f"""# darts_noise: {c['task']}

The random cells of `{source}` ({c['cells']} that learned, {c['failed_to_learn']} at chance
left out; {c['seeds']} training seeds each), split into the cells' true spread and one
training's noise (one-way random effects).

| quantity | value |
|---|---|
| mean test accuracy | {c['mean']:.4f} |
| spread of the cells' true accuracies (tau) | {c['tau']:.4f} |
| noise of one training (sigma) | {c['sigma']:.4f} |
| reliability of one training | {c['reliability_one']:.2f} |
| reliability of a {c['seeds']}-seed mean | {c['reliability_mean']:.2f} |
| 90th percentile of the {c['seeds']}-seed means | {c['p90']:.4f} |
| correlation of validation with test accuracy across cells | {_num(c['val_test_corr'])} |

The chance that a search which always returns a cell at a quantile of true quality
measures at or above that 90th percentile (its {c['seeds']}-seed mean), at one search seed
and at all of three:

| the found cell's true quantile | one seed | three of three |
|---|---|---|
{rows}
"""


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a bench/darts.py json run with --train-seeds K")
    ap.add_argument("--task", default="digits")
    ap.add_argument("--out", type=Path, default=None, help="write NAME.md and NAME.json")
    args = ap.parse_args(argv)
    c = analyse(json.loads(args.run.read_text()), args.task)
    text = render(c, args.run.name)
    print(text)
    if args.out is not None:
        args.out.write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(c, indent=1) + "\n")
    return c


if __name__ == "__main__":
    main()
