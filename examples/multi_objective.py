"""Multi-objective search on MNIST-1D: accuracy against size (or latency), and its Pareto front.

With several objectives a search keeps every trade-off: the Pareto front is the set of
architectures no other one beats on all objectives at once (more accurate *and* smaller).
The strategy (regularized evolution here) ranks candidates by non-dominated sorting.

    python examples/multi_objective.py                # 30 trials of 500 steps (minutes)
    python examples/multi_objective.py --latency      # accuracy vs batch-1 latency instead
    python examples/multi_objective.py --quick        # 6 trials of 20 steps (seconds)

Writes the study and pareto.png in runs/multi_objective (runs/multi_objective-quick).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import nas  # noqa: E402


def plot_front(study: nas.Study, path: Path) -> Path:
    """Every completed trial, and the Pareto front as the staircase it dominates."""
    (acc, _), (cost, _) = study.objectives
    done = study.completed()
    front = sorted(study.pareto_front(), key=lambda r: r.values[1])
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.scatter([r.values[1] for r in done], [r.values[0] for r in done], s=18, alpha=0.5,
               label="trial")
    ax.plot([r.values[1] for r in front], [r.values[0] for r in front], "o-", color="C3",
            drawstyle="steps-post", label=f"Pareto front ({len(front)})")
    for r in front:
        ax.annotate(f"#{r.number}", (r.values[1], r.values[0]), xytext=(4, 4),
                    textcoords="offset points", fontsize=7, color="C3")
    ax.set_xscale("log")
    ax.set_xlabel(f"{cost} (lower is better)")
    ax.set_ylabel(f"{acc} (higher is better)")
    ax.set_title(f"{acc} vs {cost}: {len(done)} architectures")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv=None) -> nas.Study:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny budget (a smoke run)")
    p.add_argument("--latency", action="store_true", help="trade accuracy for latency_ms "
                   "(batch-1 forward time) instead of parameters")
    p.add_argument("--space", default="cnn")
    p.add_argument("--trials", type=int, default=None)
    p.add_argument("--budget", default=None, help="training per candidate, e.g. 500steps")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    trials = args.trials or (6 if args.quick else 30)
    budget = args.budget or ("20steps" if args.quick else "500steps")
    cost = "latency_ms" if args.latency else "params"

    run_dir = Path("runs") / ("multi_objective-quick" if args.quick else "multi_objective")
    study = nas.search(args.space, "mnist1d", strategy="evolution", trials=trials,
                       budget=budget, seed=args.seed, run_dir=run_dir,
                       objectives=[("val_acc", "max"), (cost, "min")])
    front = sorted(study.pareto_front(), key=lambda r: r.values[1])
    print(f"Pareto front: {len(front)} of {len(study.completed())} architectures")
    print(f"{'trial':>6}  {'val_acc':>7}  {'test_acc':>8}  {cost:>10}")
    for r in front:
        value = f"{r.values[1]:,.0f}" if cost == "params" else f"{r.values[1]:.3f}"
        print(f"{'#' + str(r.number):>6}  {r.values[0]:7.3f}  {r.metrics['test_acc']:8.3f}  "
              f"{value:>10}")
    print(f"wrote {plot_front(study, run_dir / 'pareto.png')}; run folder: {run_dir}")
    return study


if __name__ == "__main__":
    main()
