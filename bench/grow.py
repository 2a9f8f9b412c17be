"""Growing the MNIST-1D paper's CNN by graph edits: children inheriting weights vs not.

For each seed, the paper's CNN (5,210 parameters) is trained (``--seed-budget``); then two
searches of its ``nas.GraphSpace`` (evolution or ``--strategy``, same edits, same
per-child budget, same total training) differ in one thing: with inheritance each child
starts from its parent's weights (the trained seed through function-preserving morphisms,
or a trained candidate its edits pass through); from scratch each child starts from a
fresh initialization. A search's budget is ``--steps-total`` children's training steps
(load-independent: the trial count is steps-total / child steps) or ``--minutes`` of wall
clock; both are reported. ``--clock cpu`` counts ``--minutes`` and the reported minutes in
the search process's CPU time (bench/_cpu_clock.py; one torch thread a run), so other jobs
on the machine do not change what a search gets. Per run, for the best-by-validation
candidate and for the best of at most 5,210 parameters (the seed's size: the Pareto point
at the seed's cost): the test accuracy as the search left it, after training it afresh as
`nas train` does (``--retrain``), and after fine-tuning it from the weights its search
trained as `nas train --from-inherited` does (``--finetune``). The test split is never
used for selection. ``--max-params N`` adds a third arm, ``capped``: the inheriting search
under a parameter cap (``GraphSpace(max_params=N)``), so its best is the best model under
the cap from a search aimed at it (``--arms capped --max-params 5210`` runs it alone).

    python bench/grow.py --steps-total 7500 --jobs 3       # 3 seeds at once
    python bench/grow.py --seeds 2 --minutes 2.5 --retrain 2000steps
    python bench/grow.py --quick --out /tmp/grow          # a smoke run (seconds)
    python bench/grow.py --minutes 10 --clock cpu          # equal CPU time, no step cap
    python bench/grow.py --seeds 1 --arms capped --max-params 5210 --chain true

Saves bench/results/grow.{md,json}.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench._cpu_clock
SEED_PARAMS = 5210
EDITS = ("widen", "deepen", "skip", "branch", "change", "insert", "remove", "narrow",
         "remove_block")
ARMS = ("inherit", "scratch", "capped")  # capped: inheriting, under --max-params


def train_seed(seed: int, budget: str):
    """The paper's CNN trained on mnist1d: its ``nas.Traced`` and val/test accuracy."""
    import nas
    from search_spaces.reference import mnist1d_paper_cnn

    graph = mnist1d_paper_cnn()
    result = nas.get_task("mnist1d").evaluate(graph, budget=budget, seed=seed, device="cpu",
                                              keep_weights=True)
    return nas.Traced(graph, result.state_dict), {
        "val": result.objectives["val_acc"], "test": result.metrics.get("test_acc")}


def run_arm(traced, arm: str, seed: int, args) -> dict:
    """One search of the seed's GraphSpace, with or without inherited weights, bounded
    by ``args.steps_total`` children's steps (else ``args.trials``) and ``args.minutes``."""
    import nas

    now = search_clock(args.clock)
    start, wall0, trials = now(), time.time(), []

    def on_trial(rec) -> None:
        if rec.state == "COMPLETE":
            lineage = rec.attrs.get("lineage", {})
            trials.append({"t": now() - start, "number": rec.number,
                           "score": rec.values[0],  # the objective: val_acc or val_loss
                           "val": rec.values[0] if args.objective == "val_acc" else None,
                           "test": rec.metrics.get("test_acc"),
                           "params": rec.metrics.get("params"),
                           "inherited": lineage.get("inherited"),
                           "edits": lineage.get("edits"),
                           "from": lineage.get("weights_from")})

    cap = trial_cap(args)
    with tempfile.TemporaryDirectory(prefix="grow-") as run_dir, _wall_after():
        st = nas.search(from_model=traced.graph if arm == "scratch" else traced,
                        task="mnist1d", strategy=args.strategy, trials=cap,
                        strategy_options=args.strategy_options or None,
                        timeout=args.minutes * 60 if args.minutes else None,
                        budget=args.budget, seed=seed, device="cpu", edits=list(args.edits),
                        objectives=[args.objective],
                        max_edits=args.max_edits, progress=False, on_trial=on_trial,
                        max_params=args.max_params if arm == "capped" else None,
                        space_config={"chain": args.chain, "append": args.append,
                                      "first": args.first},
                        task_config={"config": {"lr": args.lr}} if args.lr else None,
                        run_dir=run_dir, keep_weights=cap or 10_000)
        out = {"arm": arm, "seed": seed, "trials": len(trials), "wall_s": time.time() - wall0,
               "clock": args.clock, "clock_s": now() - start,
               "steps": len(trials) * steps_of(args.budget), "all": trials}
        for key, pool in (("best", trials), ("small", [t for t in trials
                                                       if (t["params"] or 1e18) <= SEED_PARAMS])):
            if pool:
                out[key] = dict(best_of(pool, st.objectives[0]))
                out[key].update(after_search(st, out[key]["number"], run_dir, args, out))
    return out


def best_of(trials: list[dict], objective) -> dict:
    """The best trial by the search's objective (a ``nas.Objective``, its direction the
    one the task declares: ``val_loss`` the lowest)."""
    return max(trials, key=lambda t: objective.signed(t["score"]))


def search_clock(clock: str):
    """The search's clock: ``"cpu"`` points the runner's and the worker's deadlines at this
    process's CPU time (bench/_cpu_clock.py) and returns that clock's reader; ``"wall"``
    leaves (or puts back) the wall clock."""
    from bench._cpu_clock import cpu_deadlines, wall_deadlines

    if clock == "cpu":
        return cpu_deadlines().time
    wall_deadlines()
    return time.time


@contextlib.contextmanager
def _wall_after():
    """Put the wall clock back for the runner and the worker however the search ends."""
    from bench._cpu_clock import wall_deadlines

    try:
        yield
    finally:
        wall_deadlines()


def trial_cap(args) -> int | None:
    """The trials of a search: ``--steps-total`` over the child's steps, else ``--trials``."""
    if args.steps_total:
        return max(1, args.steps_total // steps_of(args.budget))
    return args.trials


def steps_of(budget: str) -> int:
    if not budget.endswith("steps"):
        raise SystemExit(f"--steps-total needs a --budget in steps, not {budget!r}")
    return int(budget[:-len("steps")])


def after_search(st, number: int, run_dir: str, args, done: dict) -> dict:
    """The trial's test accuracy retrained from scratch and fine-tuned from its trained
    weights (reused when the best trial is also the small one)."""
    best = done.get("best") or {}
    if best.get("number") == number and "finetune_test" in best:
        return {k: best[k] for k in ("retrain_test", "finetune_test") if k in best}
    out = {}
    graph = st.trial(number).graph
    if args.retrain:
        out["retrain_test"] = train(graph, args.retrain, None)
    if args.finetune:
        st.folder = run_dir  # where the search kept its trials' trained weights
        out["finetune_test"] = train(graph, args.finetune, st.load_weights(number))
        # other peak lrs for the same fine-tune: {lr: {"val": ..., "test": ...}}
        out["finetune_lrs"] = {f"{lr:g}": train(graph, args.finetune, st.load_weights(number),
                                                 lr=lr, both=True)
                               for lr in args.finetune_lrs}
    return out


def train(graph, budget: str, start: dict | None, lr: float | None = None,
          both: bool = False, seed: int = 0):
    """Test accuracy of ``graph`` trained as `nas train` does (seed 0, or ``seed``): from
    a fresh initialization, or from ``start`` (`nas train --from-inherited`); at the
    task's peak lr or ``lr``; ``both``: ``{"val": ..., "test": ...}``."""
    import nas
    from nas.graphspace import keep_start_weights

    graph = graph.copy()
    graph.meta.pop("start_weights", None)
    if start is not None:
        graph.meta["start_weights"] = keep_start_weights(f"bench-grow-{id(start)}", start)
    task = nas.get_task("mnist1d", **({"config": {"lr": lr}} if lr else {}))
    result = task.evaluate(graph, budget=budget, seed=seed, device="cpu")
    test = result.metrics.get("test_acc") if result.ok else None
    if both:
        return {"val": result.objectives.get("val_acc") if result.ok else None, "test": test}
    return test


def _mean_sd(xs: list, digits: int = 1) -> str:
    xs = [x for x in xs if x is not None and x == x]
    if not xs:
        return "-"
    if len(xs) == 1:
        return f"{xs[0]:,.{digits}f}"
    return f"{statistics.mean(xs):,.{digits}f} ± {statistics.stdev(xs):,.{digits}f}"


def table(runs: list[dict], args) -> str:
    minutes = "CPU min" if getattr(args, "clock", "wall") == "cpu" else "wall min"
    lines = [f"| children | seeds | trials | child steps | {minutes} | inherited share "
             "| best val | its test | after `nas train` | after `--from-inherited` | params "
             "| best <= 5,210 params: val | test | after `nas train` "
             "| after `--from-inherited` | params |", "|---" * 16 + "|"]
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
        name = {"inherit": "inherit weights", "scratch": "from scratch",
                "capped": f"inherit weights, capped at {args.max_params or 0:,} params"}[arm]
        picks = " | ".join(f"{col(key, 'val')} | {col(key, 'test')} | "
                           f"{col(key, 'retrain_test')} | {col(key, 'finetune_test')} | "
                           f"{col(key, 'params', 1.0)}" for key in ("best", "small"))
        lines.append(f"| {name} | {len(rs)} | {_mean_sd([r['trials'] for r in rs], 0)} | "
                     f"{_mean_sd([r['steps'] for r in rs], 0)} | "
                     f"{_mean_sd([r.get('clock_s', r['wall_s']) / 60 for r in rs])} | "
                     f"{_mean_sd(share)}% | "
                     f"{picks} |")
    return "\n".join(lines)


def write(out: Path, runs: list[dict], seeds: list[dict], args, wall: float,
          loads: list[float]) -> str:
    seed_val = _mean_sd([s["val"] * 100 for s in seeds])
    seed_test = _mean_sd([s["test"] * 100 for s in seeds])
    bound = (f"{args.steps_total:,} children's steps ({trial_cap(args)} children)"
             if args.steps_total else f"{args.trials} trials" if args.trials else "")
    clock = ((f"{args.minutes:g} min of CPU time (`--clock cpu`: the search process's own "
              f"CPU seconds, one torch thread, whatever else runs)" if args.clock == "cpu"
              else f"{args.minutes:g} min wall clock") if args.minutes else "")
    text = (f"# Growing the MNIST-1D paper CNN: inherited weights vs from scratch\n\n"
            f"- Seed model: the paper's CNN (5,210 parameters) trained {args.seed_budget} "
            f"(val {seed_val}%, test {seed_test}%), seeds {len(seeds)}.\n"
            f"- Each search: {args.strategy}"
            f"{f' {json.dumps(args.strategy_options)}' if args.strategy_options else ''}"
            f" over the seed's GraphSpace (edits "
            f"{', '.join(args.edits)}; at most {args.max_edits} per candidate"
            f"{cap_text(args)}"
            f"{chain_text(args)}), "
            f"{f'children trained at peak lr {args.lr:g}, ' if args.lr else ''}"
            f"{'' if args.objective == 'val_acc' else f'selected by {args.objective}, '}"
            f"{' or '.join(x for x in (bound, clock) if x)}, {args.budget} per child; "
            f"winners retrained {args.retrain or 'not'} from scratch (`nas train`) and "
            f"fine-tuned {args.finetune or 'not'} from their search-trained weights "
            f"(`nas train --from-inherited`).\n"
            f"- `{' '.join(['python bench/grow.py', *(args.argv or [])])}`: cpu, 1 thread per "
            f"run, {args.jobs} run(s) at once, load {min(loads):.1f}-{max(loads):.1f} on "
            f"{os.cpu_count()} cores (shared with other jobs), {wall / 60:.0f} min in all; "
            f"{time.strftime('%Y-%m-%d')}.\n\n"
            f"Accuracies in %, mean ± sd over seeds.\n\n{table(runs, args)}\n")
    out.mkdir(parents=True, exist_ok=True)
    (out / "grow.md").write_text(text)
    (out / "grow.json").write_text(json.dumps({"args": {k: str(v) for k, v in
                                                        vars(args).items()},
                                               "clock": args.clock,
                                               "seeds": seeds, "runs": runs}, indent=1))
    return text


def seeds_of(args) -> range:
    return range(args.first_seed, args.first_seed + args.seeds)


def chain_text(args) -> str:
    """How children relate to parents, for the results' header."""
    if not args.chain:
        return "; each candidate a fresh edit list from the seed"
    return (f"; chained: a child is its parent plus {args.append} edit(s), a warm-up "
            f"candidate at most {args.first} from the seed")


def cap_text(args) -> str:
    """The capped arm's cap, for the results' header."""
    if "capped" not in args.arms:
        return ""
    return (f"; the capped arm: at most {args.max_params:,} parameters a candidate, an "
            f"edit past it not applied")


def check_arms(args) -> None:
    """``--max-params`` adds the capped arm; the capped arm needs a cap."""
    unknown = [a for a in args.arms if a not in ARMS]
    if unknown:
        raise SystemExit(f"--arms: unknown arm(s) {unknown}; choose among {', '.join(ARMS)}")
    if args.max_params is not None and args.max_params < 1:
        raise SystemExit(f"--max-params must be a positive int, not {args.max_params}")
    if args.max_params is not None and "capped" not in args.arms:
        args.arms = [*args.arms, "capped"]
    if "capped" in args.arms and args.max_params is None:
        raise SystemExit("the capped arm needs --max-params N (a parameter cap)")


def run_seed(seed: int, args) -> tuple[dict, list[dict]]:
    """The seed model trained, then both arms' searches (one process, one thread)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    traced, metrics = train_seed(seed, args.seed_budget)
    runs = []
    for arm in args.arms:
        runs.append(run_arm(traced, arm, seed, args))
        print(f"seed {seed} {arm}: {runs[-1]['trials']} trials, best val "
              f"{runs[-1].get('best', {}).get('val')}, load {os.getloadavg()[0]:.1f}",
              flush=True)
    return metrics, runs


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--minutes", type=float, default=5.0, help="time per search, see "
                   "--clock (0: none; with --steps-total a cap)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="what "
                   "--minutes and the reported minutes count: the wall clock, or the search "
                   "process's CPU time (bench/_cpu_clock.py; other jobs do not shorten it)")
    p.add_argument("--steps-total", type=int, default=None, help="children's training steps "
                   "per search (load-independent): steps-total / child steps trials")
    p.add_argument("--trials", type=int, default=None, help="stop a search after N trials")
    p.add_argument("--budget", default="300steps", help="training per child")
    p.add_argument("--seed-budget", default="2000steps", help="training of the seed model")
    p.add_argument("--retrain", default="4000steps", help="`nas train` budget of winners "
                                                           "('' to skip)")
    p.add_argument("--finetune", default="4000steps", help="`nas train --from-inherited` "
                   "budget of winners ('' to skip)")
    p.add_argument("--edits", type=lambda s: s.split(","), default=list(EDITS))
    p.add_argument("--max-edits", type=int, default=3)
    p.add_argument("--chain", type=lambda s: s.lower() in ("1", "true", "yes"),
                   default=False, help="children chain through generations: a mutant is "
                   "its parent plus --append new edits (GraphSpace(chain=True))")
    p.add_argument("--append", type=int, default=1, help="with --chain: edits per child")
    p.add_argument("--first", type=int, default=1, help="with --chain: at most this many "
                   "edits in a random (warm-up) candidate")
    p.add_argument("--lr", type=float, default=None, help="children's peak learning rate "
                   "(default: the task's, 1e-2)")
    p.add_argument("--objective", choices=("val_acc", "val_loss"), default="val_acc",
                   help="what the searches select by (and the best is picked by)")
    p.add_argument("--finetune-lrs", type=lambda s: [float(x) for x in s.split(",") if x],
                   default=[], help="with --finetune: the same fine-tune again at these "
                   "peak lrs, recorded beside it (val and test) as finetune_lrs")
    p.add_argument("--strategy", default="evolution", help="the searches' strategy "
                   "(hillclimb: NASH's generations of the incumbent's children)")
    p.add_argument("--strategy-options", type=json.loads, default={},
                   help='the strategy\'s options as JSON, e.g. \'{"neighbours": 4}\'')
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--arms", type=lambda s: s.split(","), default=list(ARMS[:2]),
                   help="inherit,scratch (default both), capped (with --max-params)")
    p.add_argument("--max-params", type=int, default=None, help="a parameter cap: adds "
                   "the capped arm (inheriting, GraphSpace(max_params=N))")
    p.add_argument("--jobs", type=int, default=1, help="seeds at once (one process each)")
    p.add_argument("--quick", action="store_true", help="1 seed, 3 trials of 10 steps")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    check_arms(args)
    if args.quick:
        args.seeds, args.trials, args.budget, args.steps_total = 1, 3, "10steps", None
        args.seed_budget, args.retrain, args.minutes = "20steps", "10steps", 2.0
        args.finetune = "10steps"
    start, runs, seeds, loads = time.time(), [], [], [os.getloadavg()[0]]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            done = list(pool.map(run_seed, seeds_of(args), [args] * args.seeds))
    else:
        done = []
        for seed in seeds_of(args):  # the seeds done so far are written after each
            done.append(run_seed(seed, args))
            if seed != seeds_of(args)[-1]:
                write(args.out, [r for _, rs in done for r in rs], [m for m, _ in done],
                      args, time.time() - start, [*loads, os.getloadavg()[0]])
    for metrics, arm_runs in done:
        seeds.append(metrics)
        runs += arm_runs
    loads.append(os.getloadavg()[0])
    print(write(args.out, runs, seeds, args, time.time() - start, loads))
    return runs


if __name__ == "__main__":
    main()
