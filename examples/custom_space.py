"""Define a search space in Python with the Builder API, then search it on MNIST-1D.

A space is a function of a builder ``b``, the task's input shape and its output size.
It asks the builder for decisions (``b.choice``, ``b.int``, ``b.float``, ``b.bool``) and
adds ops (``b.op``); a decision that is not reached (here the widths of stages beyond
``stages``) is simply absent. Registering it by name lets ``nas.search`` and every
strategy use it like a built-in space.

    python examples/custom_space.py            # 16 trials of 400 steps (minutes on a CPU)
    python examples/custom_space.py --quick    # 4 trials of 20 steps (seconds)

The study goes to runs/custom_space (runs/custom_space-quick); run again to continue it,
and look at it with `nas status runs/custom_space` or `nas show runs/custom_space`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nas


@nas.register_space("example_res_cnn")
def res_cnn(b: nas.Builder, in_shape, n_out: int) -> str:
    """Residual 1-D CNN: 1 to 3 stages of conv, batch norm and activation, each with a
    searched width and kernel, an optional residual connection and optional pooling."""
    x = b.input(in_shape)  # (1, 40)
    act = b.choice("activation", ["relu", "gelu", "silu"])
    for i in range(b.int("stages", 1, 3)):
        h = b.op("conv", x, channels=b.choice(f"width_{i}", [16, 32, 48]),
                 kernel=b.choice(f"kernel_{i}", [3, 5, 7]))  # (C, L): padding keeps L
        h = b.op(act, b.op("batch_norm", h))
        if b.bool(f"residual_{i}"):
            h = b.op("add", h, x)  # a 1x1 projection is added when the channels differ
        x = b.op("max_pool", h, size=2) if b.bool(f"pool_{i}") else h  # (C, L / 2)
    x = b.op("global_avg_pool", x)  # (C,)
    return b.output(b.op("linear", x, features=n_out))  # (n_out,)


def main(argv=None) -> nas.Study:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny budget (a smoke run)")
    p.add_argument("--trials", type=int, default=None)
    p.add_argument("--budget", default=None, help="training per candidate, e.g. 400steps")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    trials = args.trials or (4 if args.quick else 16)
    budget = args.budget or ("20steps" if args.quick else "400steps")

    space = nas.get_space("example_res_cnn", in_shape=(1, 40), n_out=10)
    info = space.describe()  # domains, and the size: exact, else Knuth's estimate
    for name, domain in info["decisions"].items():
        values = domain.get("options") or f"{domain['low']}..{domain['high']}"
        print(f"  {name:<11} {domain['kind']:<7} {values}")
    size = info["size"] or info["size_estimate"]
    print(f"{len(info['decisions'])} decisions, {'' if info['size'] else 'about '}{size:,.0f} "
          "architectures; one of them:")
    print(space.build(space.sample(args.seed)).summary(), "\n")

    run_dir = Path("runs") / ("custom_space-quick" if args.quick else "custom_space")
    study = nas.search("example_res_cnn", "mnist1d", strategy="evolution", trials=trials,
                       budget=budget, seed=args.seed, run_dir=run_dir)
    board = study.leaderboard(include_failed=False).astype({"params": int})
    print(board[["number", "val_acc", "test_acc", "params", "decisions"]].head(5).to_string(
        index=False, max_colwidth=70))
    best = study.best
    print(f"\nbest: trial {best.number}, val_acc {best.values[0]:.3f}, "
          f"test_acc {best.metrics['test_acc']:.3f}, {int(best.metrics['params']):,} params")
    print(f"run folder: {run_dir}")
    return study


if __name__ == "__main__":
    main()
