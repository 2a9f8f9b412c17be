"""Growing the MNIST-1D paper's CNN by graph edits: children inheriting weights vs not.

For each seed, the paper's CNN (5,210 parameters) is trained (``--seed-budget``); then
two searches of its ``nas.GraphSpace`` (evolution, same edits, same per-child budget,
same wall clock ``--minutes``) differ in one thing: with inheritance each child starts
from its parent's weights (the trained seed through function-preserving morphisms, or
a trained candidate its edits pass through); from scratch each child starts from a
fresh initialization. Per run: the best-by-validation candidate's test accuracy as the
search left it, and after training it afresh as `nas train` does (``--retrain``); the
same for the best candidate of at most 5,210 parameters (the seed's size: the Pareto
point at the seed's cost). The test split is never used for selection.

    python bench/grow.py                                  # 3 seeds, 5 min per search
    python bench/grow.py --seeds 2 --minutes 2.5 --retrain 2000steps
    python bench/grow.py --quick --out /tmp/grow          # a smoke run (seconds)

Saves bench/results/grow.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_PARAMS = 5210
EDITS = ("widen", "deepen", "skip", "branch", "change", "insert", "remove")
ARMS = ("inherit", "scratch")


def train_seed(seed: int, budget: str):
    """The paper's CNN trained on mnist1d: its ``nas.Traced`` and val/test accuracy."""
    import nas
    from search_spaces.reference import mnist1d_paper_cnn

    graph = mnist1d_paper_cnn()
    result = nas.get_task("mnist1d").evaluate(graph, budget=budget, seed=seed, device="cpu",
                                              keep_weights=True)
    return nas.Traced(graph, result.state_dict), {
        "val": result.objectives["val_acc"], "test": result.metrics.get("test_acc")}


def run_arm(traced, arm: str, seed: int, minutes: float, budget: str, max_trials: int | None,
            edits, max_edits: int, retrain: str | None) -> dict:
    """One timed search of the seed's GraphSpace, with or without inherited weights."""
    import nas

    start, trials = time.time(), []

    def on_trial(rec) -> None:
        if rec.state == "COMPLETE":
            lineage = rec.attrs.get("lineage", {})
            trials.append({"t": time.time() - start, "number": rec.number,
                           "val": rec.values[0], "test": rec.metrics.get("test_acc"),
                           "params": rec.metrics.get("params"),
                           "inherited": lineage.get("inherited"),
                           "edits": lineage.get("edits"),
                           "from": lineage.get("weights_from")})

    st = nas.search(from_model=traced if arm == "inherit" else traced.graph, task="mnist1d",
                    strategy="evolution", trials=max_trials, timeout=minutes * 60,
                    budget=budget, seed=seed, device="cpu", edits=list(edits),
                    max_edits=max_edits, progress=False, on_trial=on_trial)
    out = {"arm": arm, "seed": seed, "trials": len(trials), "wall_s": time.time() - start,
           "all": trials}
    for key, pool in (("best", trials),
                      ("small", [t for t in trials if (t["params"] or 1e18) <= SEED_PARAMS])):
        if not pool:
            continue
        best = max(pool, key=lambda t: t["val"])
        out[key] = dict(best)
        if retrain and key == "small" and best["number"] == out["best"]["number"]:
            out[key]["retrain_test"] = out["best"]["retrain_test"]  # the same trial
        elif retrain:
            out[key]["retrain_test"] = train_afresh(st.trial(best["number"]).graph, retrain)
    return out


def train_afresh(graph, budget: str) -> float | None:
    """Test accuracy of ``graph`` trained from a fresh initialization as `nas train` does
    (seed 0; its inherited start weights, which a new process would not have, dropped)."""
    import nas

    graph = graph.copy()
    graph.meta.pop("start_weights", None)
    result = nas.get_task("mnist1d").evaluate(graph, budget=budget, seed=0, device="cpu")
    return result.metrics.get("test_acc") if result.ok else None


def _mean_sd(xs: list, digits: int = 1) -> str:
    xs = [x for x in xs if x is not None and x == x]
    if not xs:
        return "-"
    if len(xs) == 1:
        return f"{xs[0]:,.{digits}f}"
    return f"{statistics.mean(xs):,.{digits}f} ± {statistics.stdev(xs):,.{digits}f}"


def table(runs: list[dict]) -> str:
    lines = ["| children | seeds | trials | inherited share | best val | its test "
             "| its test after `nas train` | params | best <= 5,210 params: val | test "
             "| test after `nas train` |", "|---" * 11 + "|"]
    for arm in ARMS:
        rs = [r for r in runs if r["arm"] == arm]
        if not rs:
            continue

        def col(key, field, scale=100.0, rs=rs):
            return _mean_sd([(r.get(key) or {}).get(field) * scale
                             if (r.get(key) or {}).get(field) is not None else None
                             for r in rs], 1 if scale == 100.0 else 0)

        share = [statistics.mean(t["inherited"] for t in r["all"]) * 100
                 for r in rs if r["all"]]
        name = "inherit weights" if arm == "inherit" else "from scratch"
        lines.append(f"| {name} | {len(rs)} | {_mean_sd([r['trials'] for r in rs], 0)} | "
                     f"{_mean_sd(share)}% | {col('best', 'val')} | {col('best', 'test')} | "
                     f"{col('best', 'retrain_test')} | {col('best', 'params', 1.0)} | "
                     f"{col('small', 'val')} | {col('small', 'test')} | "
                     f"{col('small', 'retrain_test')} |")
    return "\n".join(lines)


def write(out: Path, runs: list[dict], seeds: list[dict], args, wall: float) -> str:
    load = os.getloadavg()[0]
    seed_val = _mean_sd([s["val"] * 100 for s in seeds])
    seed_test = _mean_sd([s["test"] * 100 for s in seeds])
    text = (f"# Growing the MNIST-1D paper CNN: inherited weights vs from scratch\n\n"
            f"- Seed model: the paper's CNN (5,210 parameters) trained {args.seed_budget} "
            f"(val {seed_val}%, test {seed_test}%), seeds {len(seeds)}.\n"
            f"- Each search: evolution over the seed's GraphSpace (edits "
            f"{', '.join(args.edits)}; at most {args.max_edits} per candidate), "
            f"{args.minutes:g} min wall clock"
            f"{f' or {args.trials} trials' if args.trials else ''}, {args.budget} per child; "
            f"winners retrained {args.retrain or 'not'} (from scratch, as `nas train`).\n"
            f"- cpu, 1 thread, load {load:.1f} at the end on {os.cpu_count()} cores, "
            f"{wall / 60:.0f} min in all; {time.strftime('%Y-%m-%d')}.\n\n"
            f"Accuracies in %, mean ± sd over seeds.\n\n{table(runs)}\n")
    out.mkdir(parents=True, exist_ok=True)
    (out / "grow.md").write_text(text)
    (out / "grow.json").write_text(json.dumps({"args": {k: str(v) for k, v in
                                                        vars(args).items()},
                                               "seeds": seeds, "runs": runs}, indent=1))
    return text


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--minutes", type=float, default=5.0, help="wall clock per search")
    p.add_argument("--trials", type=int, default=None, help="stop a search after N trials")
    p.add_argument("--budget", default="300steps", help="training per child")
    p.add_argument("--seed-budget", default="2000steps", help="training of the seed model")
    p.add_argument("--retrain", default="4000steps", help="`nas train` budget of winners "
                                                           "('' to skip)")
    p.add_argument("--edits", type=lambda s: s.split(","), default=list(EDITS))
    p.add_argument("--max-edits", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="1 seed, 3 trials of 10 steps")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.trials, args.budget = 1, 3, "10steps"
        args.seed_budget, args.retrain, args.minutes = "20steps", "10steps", 2.0
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    start, runs, seeds = time.time(), [], []
    for seed in range(args.seeds):
        traced, metrics = train_seed(seed, args.seed_budget)
        seeds.append(metrics)
        for arm in ARMS:
            runs.append(run_arm(traced, arm, seed, args.minutes, args.budget, args.trials,
                                args.edits, args.max_edits, args.retrain or None))
            print(f"seed {seed} {arm}: {runs[-1]['trials']} trials, best val "
                  f"{runs[-1].get('best', {}).get('val')}", flush=True)
    print(write(args.out, runs, seeds, args, time.time() - start))
    return runs


if __name__ == "__main__":
    main()
