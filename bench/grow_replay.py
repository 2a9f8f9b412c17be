"""Retrain the winners of a recorded ``bench/grow.py`` run from their recorded edits.

A ``bench/grow.py`` record keeps each trial's edits as lineage writes them (``"widen
conv3 2.0"``, ``"skip relu1->conv3"``), not its graph (the searches' run folders are
temporary). The architecture is the seed CNN with those edits applied in order, so a
winner can be trained again without searching again: this script rebuilds it (each
edit matched to the one site and variant of its kind whose description is the recorded
text; the rebuilt model must have the recorded parameter count), trains it as `nas
train` does (``bench/grow.py``'s ``train``: seed 0, from a fresh initialization) and
writes ``retrain_test`` into a copy of the record. ``--train-seeds 0,1,2`` trains each
winner once per seed (``retrain_seeds``, with their mean): one retrain's test accuracy
moves by tenths of a point with the training seed (or the thread count), as much as the
arms differ by::

    python bench/grow_replay.py bench/results/grow_child250.json --arms inherit \\
        --retrain 2000steps --train-seeds 0,1,2 --out /tmp/replayed.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rebuild(edits: list[str]):
    """The seed CNN's graph after ``edits`` (lineage texts), each replayed on the graph
    as edited so far; a text no site of its kind describes is a ``ValueError``."""
    import nas
    from nas.graphspace._edits import EDITS
    from nas.graphspace._space import _describe
    from search_spaces.reference import mnist1d_paper_cnn

    t = nas.GraphSpace(mnist1d_paper_cnn(), edits=list(EDITS), max_edits=1).seed
    for i, text in enumerate(edits):
        kind = text.split(" ", 1)[0]
        if kind not in EDITS:
            raise ValueError(f"edit {i} {text!r}: unknown kind {kind!r}")
        sites_of, apply = EDITS[kind]
        found = [(site, arg) for site in sites_of(t.graph) for arg in site.args
                 if _describe(kind, site.nodes, arg) == text]
        if not found:
            raise ValueError(f"edit {i} {text!r}: no {kind} site fits the graph as edited "
                             f"so far ({len(t.graph)} nodes)")
        site, arg = found[0]
        t = apply(t, site, arg, i)
    return t.graph


def train_graph(graph, budget: str, seed: int = 0) -> float | None:
    """Test accuracy of ``graph`` trained as `nas train --seed` does (``bench/grow.py``),
    on one thread as bench/grow.py's processes train."""
    import torch

    from bench.grow import train

    torch.set_num_threads(1)
    return train(graph, budget, None, seed=seed)


def retrain(trial: dict, budget: str, seed: int = 0) -> float | None:
    """``trial``'s architecture rebuilt and trained as `nas train` does: its test acc."""
    from nas.graphspace._cap import param_count

    graph = rebuild(trial["edits"] or [])
    if trial.get("params") is not None and param_count(graph) != int(trial["params"]):
        raise ValueError(f"trial {trial['number']}: rebuilt with {param_count(graph):,} "
                         f"parameters, recorded {int(trial['params']):,}")
    return train_graph(graph, budget, seed)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("record", type=Path, help="a bench/grow.py record (JSON)")
    p.add_argument("--retrain", default="2000steps", help="`nas train` budget")
    p.add_argument("--arms", default="", help="only these arms (comma-separated)")
    p.add_argument("--seeds", default="", help="only the runs of these search seeds "
                   "(comma-separated)")
    p.add_argument("--train-seeds", default="0", help="train each winner once per seed "
                   "(comma-separated; 0 is `nas train`'s)")
    p.add_argument("--jobs", type=int, default=1, help="trainings at once (one process each)")
    p.add_argument("--out", type=Path, required=True, help="the record with retrain_test")
    args = p.parse_args(argv)
    record = json.loads(args.record.read_text())
    arms = {a for a in args.arms.split(",") if a}
    seeds = {int(x) for x in args.seeds.split(",") if x}
    runs = [r for r in record["runs"] if (not arms or r["arm"] in arms)
            and (not seeds or r["seed"] in seeds)]
    train_seeds = [int(x) for x in args.train_seeds.split(",") if x]
    runs = [r for r in runs if "best" in r]
    todo = [(r["best"], args.retrain, s) for r in runs for s in train_seeds]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            tests = list(pool.map(retrain, *zip(*todo)))
    else:
        tests = [retrain(*job) for job in todo]
    for i, run in enumerate(runs):
        best, was = run["best"], run["best"].get("retrain_test")
        got = dict(zip(train_seeds, tests[i * len(train_seeds):(i + 1) * len(train_seeds)]))
        best["retrain_seeds"] = {str(s): acc for s, acc in got.items()}
        if 0 in got:
            best["retrain_test"] = got[0]
        mean = statistics.mean(got.values())
        print(f"{run['arm']} seed {run['seed']}: trial #{best['number']}, "
              f"{int(best['params']):,} params, {len(best['edits'] or [])} edits: test "
              + ", ".join(f"{100 * acc:.1f}" for acc in got.values())
              + f"% (mean {100 * mean:.2f}) after `nas train` {args.retrain}, seeds "
              + ",".join(map(str, got))
              + (f" (recorded, seed 0: {100 * was:.1f}%)" if was is not None else ""),
              flush=True)
    record.setdefault("replayed", []).append({"retrain": args.retrain, "seeds": train_seeds,
                                              "arms": sorted(arms) or "all"})
    args.out.write_text(json.dumps(record, indent=1))
    return record


if __name__ == "__main__":
    main()
