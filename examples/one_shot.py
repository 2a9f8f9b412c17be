"""One-shot search: one weight-sharing supernet instead of training every candidate.

Trains a supernet of the `cnn` space on MNIST-1D (SPOS: each step one uniformly sampled
candidate, at 0.3 times the task's learning rate; the budget counts candidate passes),
lets regularized evolution score candidates with the weights they inherit from it (no
training each), then trains the best few stand-alone as ordinary trials. Prints each
phase, and the retrained candidates' one-shot score beside their stand-alone one.

    python examples/one_shot.py [--candidates 100] [--trials 3] [--seed 0]
    python examples/one_shot.py --quick     # a tiny supernet, 6 candidates (a minute)
"""

from __future__ import annotations

import argparse
import time

import nas


def main(argv=None) -> nas.Study:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny budget (a smoke run)")
    p.add_argument("--candidates", type=int, default=None)
    p.add_argument("--trials", type=int, default=None, help="candidates retrained")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    quick = {"budget": "40steps", "candidates": 6, "probe": 20} if args.quick else {}
    one_shot = nas.OneShot(**{**quick, **({"candidates": args.candidates}
                                         if args.candidates else {})})
    trials = args.trials or (2 if args.quick else 3)
    t0 = time.perf_counter()

    def on_phase(phase: str, done: int, total: int) -> None:
        if total and done == total:
            what = f"supernet trained: {done} steps" if phase == "supernet" else \
                f"candidates scored: {done}"
            print(f"{what} ({time.perf_counter() - t0:.0f}s)", flush=True)

    run_dir = "runs/one_shot-quick" if args.quick else f"runs/one_shot-{args.seed}"
    study = nas.search("cnn", "mnist1d", strategy="evolution", trials=trials, seed=args.seed,
                       one_shot=one_shot, budget="30steps" if args.quick else None,
                       run_dir=run_dir, on_phase=on_phase)
    print(f"\nretrained the top {trials} of {one_shot.candidates} candidates "
          f"({time.perf_counter() - t0:.0f}s in all):")
    for t in study.trials():
        print(f"  trial {t.number}: one-shot val_acc {t.metrics['one_shot_val_acc']:.3f}  "
              f"stand-alone val_acc {t.values[0]:.3f}  params {int(t.metrics['params']):,}")
    best = study.best
    print(f"best: trial {best.number}, val_acc {best.values[0]:.3f}; run folder {run_dir} "
          f"(nas status {run_dir}, nas export {run_dir})")
    return study


if __name__ == "__main__":
    main()
