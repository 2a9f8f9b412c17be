"""Quick start: a small architecture search on MNIST-1D, offline, on the CPU.

Searches the `cnn` space with regularized evolution; every candidate is trained
briefly and scored on the validation split. Prints each trial and the winner.

    python examples/quickstart.py [--trials 12] [--budget 300steps] [--seed 0]
    python examples/quickstart.py --quick     # 3 trials of 20 steps (seconds)
"""

from __future__ import annotations

import argparse
import time

import nas


def main(argv=None) -> nas.ArchGraph:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny budget (a smoke run)")
    p.add_argument("--trials", type=int, default=None)
    p.add_argument("--budget", default=None)
    p.add_argument("--space", default="cnn")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.trials = args.trials or (3 if args.quick else 12)
    args.budget = args.budget or ("20steps" if args.quick else "300steps")

    task = nas.get_task("mnist1d")
    space = nas.get_space(args.space, in_shape=task.in_shape, n_out=task.n_out)
    strategy = nas.get_strategy("evolution", space, seed=args.seed,
                                population=max(4, args.trials // 3))
    best, best_graph = None, None
    t0 = time.perf_counter()
    for trial in range(args.trials):
        graph, decisions = space.resolve(strategy.ask())
        result = task.evaluate(graph, budget=args.budget, seed=args.seed + trial)
        strategy.tell(decisions, result)
        if result.ok:
            acc = result.objectives["val_acc"]
            line = f"val_acc {acc:.3f}  params {int(result.metrics['params']):>7,}"
            if best is None or acc > best.objectives["val_acc"]:
                best, best_graph = result, graph
        else:
            line = f"failed: {result.error}"
        print(f"trial {trial:>3}  {line}  ({time.perf_counter() - t0:.0f}s)", flush=True)
    if best is None:
        raise SystemExit("every trial failed")
    print(f"\nbest: val_acc {best.objectives['val_acc']:.3f}, "
          f"test_acc {best.metrics['test_acc']:.3f}, params {int(best.metrics['params']):,}")
    print(best_graph.summary())
    return best_graph


if __name__ == "__main__":
    main()
