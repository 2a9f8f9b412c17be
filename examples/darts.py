"""Differentiable search (DARTS) of the NAS-Bench-201 cell on MNIST-1D, guarded against
collapse.

Trains one network in which every cell edge is a softmax-weighted mixture of its five
ops (the architecture weights learn on the validation split, the network weights on
the training split), keeps the strongest op per edge, and trains that cell stand-alone
as the run's trial. Prints the cell found, how many of its ops are parameter-free
(skip, none, pooling: what an unguarded search collapses onto) and its accuracy.
``nas plot RUN`` draws the mixing weights over the search (RUN-alphas.png).

    python examples/darts.py [--guard drnas|darts-|none] [--seed 0]
    python examples/darts.py --quick     # a tiny network, a few steps (a minute)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import nas
from nas.darts import GUARDS, TRAJECTORY_FILE, parameter_free


def main(argv=None) -> nas.Study:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny budget (a smoke run)")
    p.add_argument("--guard", default="drnas", choices=list(GUARDS))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    search = nas.Differentiable(budget="6steps" if args.quick else "600steps",
                                guard=args.guard)
    space = {"channels": 4, "cells": 1} if args.quick else {"channels": 8, "cells": 1}
    run_dir = Path("runs/darts-quick" if args.quick else f"runs/darts-{args.seed}")
    study = nas.search("nb201", "mnist1d", differentiable=search, seed=args.seed,
                       budget="5steps" if args.quick else "1000steps", space_config=space,
                       run_dir=run_dir, progress=False)
    record = json.loads((run_dir / TRAJECTORY_FILE).read_text())
    trial = study.best
    cell = trial.decisions
    print(f"searched {record['trajectory'][-1]['step']} steps with guard {record['guard']} "
          f"in {record['search_time_s']:.0f}s")
    print("cell found: " + ", ".join(f"{k}={v}" for k, v in cell.items()))
    print(f"parameter-free ops: {parameter_free(cell)} of {len(cell)}")
    print(f"trained stand-alone: val_acc {trial.values[0]:.3f}, test_acc "
          f"{trial.metrics['test_acc']:.3f}; run folder {run_dir} (nas plot {run_dir})")
    return study


if __name__ == "__main__":
    main()
