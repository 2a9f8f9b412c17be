"""One table of differentiable-search variants measured by ``bench/darts.py`` runs.

Each run (a ``darts.json`` written with ``--label NAME`` and the variant's options)
gives one row per task and guard: the found cell's test accuracy at each search seed,
their mean, the seeds at or above the random cells' 90th percentile, the parameter-free
ops and the search's cost in stand-alone trainings::

    python bench/darts.py --guards drnas --label half --arch-data half --out /tmp/v/half
    python bench/darts_variants.py /tmp/v/*/darts.json --out bench/results/darts_variants.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = ("search_steps", "search_channels")  # the meta keys a variant may change


def describe(meta: dict) -> str:
    """A variant's settings in one cell: the search options and sizes it ran with."""
    opts = dict(meta.get("search_options", {}))
    opts.update({k: meta[k] for k in OPTIONS if k in meta})
    return ", ".join(f"{k}={v}" for k, v in opts.items())


def rows(run_file: dict, seeds: list[int]) -> list[str]:
    """The table rows of one saved ``bench/darts.py`` run."""
    meta, out = run_file["meta"], []
    label = meta.get("label") or "baseline"
    for r in run_file["runs"]:
        for guard in dict.fromkeys(f["guard"] for f in r["found"]):
            fs = {f["seed"]: f for f in r["found"]
                  if f["guard"] == guard and f.get("test_acc") is not None}
            if not fs:
                continue
            accs = [fs[s]["test_acc"] if s in fs else None for s in seeds]
            got = [a for a in accs if a is not None]
            out.append(
                f"| {label} | {r['task']} (p90 {r['p90']:.3f}) | {guard} | "
                + " | ".join("" if a is None else f"{a:.3f}" for a in accs)
                + f" | {np.mean(got):.3f} | {sum(a >= r['p90'] for a in got)} / {len(got)} | "
                f"{np.mean([f['parameter_free'] for f in fs.values()]):.1f} | "
                f"{np.mean([f['search_units'] for f in fs.values()]):.1f} | "
                f"{describe(meta)} |")
    return out


def slim(run_file: dict) -> dict:
    """A saved run without its random cells and alpha trajectories (kept with the table;
    the random cells are in the cell cache)."""
    return {"meta": run_file["meta"],
            "runs": [{k: v for k, v in r.items() if k != "random"}
                     | {"found": [{k: v for k, v in f.items() if k != "trajectory"}
                                  for f in r["found"]]}
                     for r in run_file["runs"]]}


def table(files: list[dict]) -> str:
    """Every run's rows under one header (seeds: every search seed any run used)."""
    seeds = sorted({s for f in files for s in f["meta"]["seeds"]})
    head = ("| variant | task | guard | " + " | ".join(f"seed {s}" for s in seeds)
            + " | mean | seeds >= p90 | param-free ops | search / one training | "
            "settings |")
    sep = "|" + "---|" * (len(seeds) + 8)
    return "\n".join([head, sep] + [row for f in files for row in rows(f, seeds)])


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", type=Path, nargs="+", help="darts.json files of labelled runs")
    ap.add_argument("--out", type=Path, default=None, help="write the table here (.md)")
    ap.add_argument("--intro", default="", help="a paragraph above the table")
    args = ap.parse_args(argv)
    files = [json.loads(p.read_text()) for p in args.runs]
    text = table(files)
    if args.out is not None:
        args.out.with_suffix(".json").write_text(json.dumps(
            [slim(f) for f in files], indent=0, default=str) + "\n")
        args.out.write_text("# darts variants\n\n" + (args.intro + "\n\n" if args.intro else "")
                            + text + "\n")
    print(text)
    return text


if __name__ == "__main__":
    main()
