"""Search an encoder without labels: SimCLR (or BYOL) on MNIST-1D, scored by a linear probe.

Every candidate from the `cnn` space is pre-trained on unlabeled training signals
(two augmented views per sample), frozen, and scored by a ridge classifier fit on 500
labeled samples; the search maximizes the probe's validation accuracy. Prints the
leaderboard, then the best encoder's probe accuracy before and after pre-training.
Writes the study under runs/ssl-<method>-<dataset>-<space>/ (run again to resume it),
with the leaderboard in it as leaderboard.csv.

    python examples/ssl_search.py [--method simclr|byol] [--trials 10] [--budget 300steps]
    python examples/ssl_search.py --quick      # a tiny budget, for a smoke test
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import nas
from evaluators.ssl import probe


def main(argv=None) -> nas.Study:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", choices=["simclr", "byol"], default="simclr")
    p.add_argument("--dataset", default="mnist1d", help="mnist1d or digits (needs sklearn)")
    p.add_argument("--space", default="cnn")
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--budget", default="300steps", help="pre-training steps per candidate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="3 trials of 20 steps")
    args = p.parse_args(argv)
    task_config = {}
    if args.quick:
        args.trials, args.budget = 3, "20steps"
        task_config = {"config": {"batch_size": 64, "latency_runs": 2}}
        torch.set_num_threads(1)  # tiny models: a second thread only adds overhead

    task_name = f"{args.method}:{args.dataset}"
    run_dir = Path("runs") / f"ssl-{args.method}-{args.dataset}-{args.space}"
    t0 = time.perf_counter()

    def on_trial(rec: nas.TrialRecord) -> None:
        line = (f"val_acc {rec.objectives['val_acc']:.3f}" if rec.state == "COMPLETE"
                else f"{rec.state.lower()}: {rec.error}")
        print(f"trial {rec.number:>3}  {line}  ({time.perf_counter() - t0:.0f}s)", flush=True)

    study = nas.search(space=args.space, task=task_name, strategy="evolution",
                       trials=args.trials, budget=args.budget, seed=args.seed, device="auto",
                       run_dir=run_dir, task_config=task_config, on_trial=on_trial)
    board = study.leaderboard()
    board.to_csv(run_dir / "leaderboard.csv", index=False)
    print()
    print(board[["number", "state", "val_acc", "test_acc", "params"]].to_string(index=False))

    best = study.best
    if best is None:
        raise SystemExit("every trial failed")
    task = nas.get_task(task_name, **task_config)
    torch.manual_seed(args.seed + best.number)  # the weights its pre-training started from
    untrained = nas.compile_graph(best.graph)
    _, before = probe(untrained, task, torch.device("cpu"))
    print(f"\nbest: trial {best.number}, probe val_acc {best.objectives['val_acc']:.3f} "
          f"(untrained encoder: {before['val']:.3f}), test_acc {best.metrics['test_acc']:.3f}")
    print(f"study in {run_dir}/, leaderboard in {run_dir / 'leaderboard.csv'}")
    return study


if __name__ == "__main__":
    main()
