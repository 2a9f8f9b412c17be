"""Your own data: MNIST-1D as plain arrays through ``nas.NASClassifier(space="auto")``,
against the same search run by name (``nas search --space sequence --task mnist1d``).

Both search the same number of trials with the same budget and seed, then train their
winner with the same final budget; the test accuracy is on the published 1,000 test
samples, which neither search sees.

    python examples/own_data.py [--trials 10] [--budget 300steps] [--final 2000steps]
    python examples/own_data.py --quick     # 2 trials of 5 steps (a smoke run)
"""

from __future__ import annotations

import argparse

import nas
from evaluators import mnist1d_arrays


def main(argv=None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny budget (a smoke run)")
    p.add_argument("--trials", type=int, default=None)
    p.add_argument("--budget", default=None, help="training per candidate")
    p.add_argument("--final", default=None, help="training of the winner")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    trials = args.trials or (2 if args.quick else 10)
    budget = args.budget or ("5steps" if args.quick else "300steps")
    final = args.final or ("10steps" if args.quick else "2000steps")
    x, y, x_test, y_test = mnist1d_arrays()  # (4000, 40), (4000,), (1000, 40), (1000,)

    # 1. plain arrays: the estimator picks the space from the data and says why
    clf = nas.NASClassifier(space="auto", trials=trials, budget=budget, final_budget=final,
                            seed=args.seed, verbose=1,
                            task_config={"val_size": 500, "test_size": 100})
    clf.fit(x, y)
    acc_arrays = clf.score(x_test, y_test)
    print(f"arrays + space=auto: {clf.study_.config['space']}, winner trial "
          f"{clf.best_trial_.number}, test accuracy {acc_arrays:.4f}")

    # 2. the same search by name, its winner trained with the same final budget
    study = nas.search("sequence", "mnist1d", trials=trials, budget=budget, seed=args.seed)
    result = nas.get_task("mnist1d").evaluate(study.best.graph, budget=final, seed=args.seed)
    acc_named = result.metrics["test_acc"]
    print(f"by name (--space sequence --task mnist1d): winner trial {study.best.number}, "
          f"test accuracy {acc_named:.4f}")
    return {"arrays": acc_arrays, "named": acc_named}


if __name__ == "__main__":
    main()
