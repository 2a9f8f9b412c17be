"""Search a graph neural network (GCN, GIN, GAT or GraphSAGE-style layers) on a graph task.

The `gnn` space takes node features ``x`` and an ``edge_index``; the task tells it the
level (node classification here) through its space settings. `karate` is Zachary's
karate club (34 members, which club each joined); `sbm` is a stochastic block model
whose features alone are weak evidence, so message passing has to help.

    python examples/gnn_search.py                  # karate, 20 trials of 200 steps
    python examples/gnn_search.py --task sbm       # the stochastic block model
    python examples/gnn_search.py --quick          # 4 trials of 20 steps (seconds)

The study goes to runs/gnn-<task> (runs/gnn-<task>-quick).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nas


def main(argv=None) -> nas.Study:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny budget (a smoke run)")
    p.add_argument("--task", default="karate", choices=["karate", "sbm"])
    p.add_argument("--trials", type=int, default=None)
    p.add_argument("--budget", default=None, help="training per candidate, e.g. 200steps")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    trials = args.trials or (4 if args.quick else 20)
    budget = args.budget or ("20steps" if args.quick else "200steps")

    task = nas.get_task(args.task)
    print(f"task {args.task}: node features {task.in_shape}, {task.n_out} classes, "
          f"space settings {task.space_config}")
    run_dir = Path("runs") / f"gnn-{args.task}{'-quick' if args.quick else ''}"
    study = nas.search("gnn", args.task, strategy="evolution", trials=trials, budget=budget,
                       seed=args.seed, run_dir=run_dir)
    for r in sorted(study.completed(), key=lambda r: -r.values[0])[:5]:
        d = r.decisions
        print(f"trial {r.number:>3}: val_acc {r.values[0]:.3f}  test_acc "
              f"{r.metrics['test_acc']:.3f}  {d['layers']} x {d['layer']} (hidden "
              f"{d['hidden']}, {d['activation']}, norm {d['norm']})")
    best = study.best
    print(f"\nbest: trial {best.number}, {int(best.metrics['params']):,} parameters")
    print(best.graph.summary())
    print(f"run folder: {run_dir}  (picture: nas show {run_dir} --out gnn.png)")
    return study


if __name__ == "__main__":
    main()
