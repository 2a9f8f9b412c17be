"""Grow your own model: start a search from a trained PyTorch module and evolve it by
graph edits (widen, deepen, add a skip, ...); children inherit their parent's weights.

The model is the MNIST-1D paper's CNN (5,210 parameters). It is trained briefly, then
each candidate is a few edits of it that starts from the weights it inherits and
trains for a short budget. Prints each trial's edits and inherited share, and exports
the winner as standalone PyTorch.

    python examples/grow.py [--trials 12] [--budget 300steps] [--seed 0]
    python examples/grow.py --quick     # 3 trials of 20 steps (seconds)

The same from the command line (this file's build() and example_inputs()):

    nas search --from examples/grow.py:build --edits widen,deepen,skip --trials 12
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

import nas


class PaperCNN(nn.Module):
    """ConvBase of github.com/greydanus/mnist1d: three strided convs and a linear layer."""

    def __init__(self, channels: int = 25):
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.linear = nn.Linear(channels * 5, 10)

    def forward(self, x):
        h = self.conv1(x).relu()
        h = self.conv3(self.conv2(h).relu()).relu()
        return self.linear(h.flatten(1))


def build() -> nn.Module:
    """The model a search grows from (load your trained weights here)."""
    return PaperCNN()


def example_inputs() -> torch.Tensor:
    """A batch of MNIST-1D inputs (batch, 1 channel, 40 points) to trace the model on."""
    return torch.randn(2, 1, 40)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny budget (a smoke run)")
    p.add_argument("--trials", type=int, default=None)
    p.add_argument("--budget", default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.trials = args.trials or (3 if args.quick else 12)
    args.budget = args.budget or ("20steps" if args.quick else "300steps")

    torch.manual_seed(args.seed)
    model = build()
    task = nas.get_task("mnist1d")
    result = task.evaluate(model, budget="40steps" if args.quick else "2000steps",
                           seed=args.seed, keep_weights=True)  # the "trained" seed model
    model.load_state_dict(result.state_dict)
    print(f"seed model: {nas.count_params(model):,} parameters, val_acc "
          f"{result.objectives['val_acc']:.3f}")

    run = Path("runs") / ("grow-quick" if args.quick else "grow")
    study = nas.search(from_model=model, example_inputs=example_inputs(), task="mnist1d",
                       edits=["widen", "deepen", "skip", "branch", "change"], max_edits=2,
                       trials=args.trials, budget=args.budget, seed=args.seed,
                       run_dir=run, keep_weights=1, progress=False)
    for rec in study.trials():
        lineage = rec.attrs["lineage"]
        print(f"trial {rec.number}: val_acc {rec.objectives.get('val_acc', float('nan')):.3f}"
              f"  inherited {lineage['inherited']:.0%}  edits: "
              f"{'; '.join(lineage['edits']) or 'none'}")
    best = study.best
    print(f"best: trial {best.number}, val_acc {best.objectives['val_acc']:.3f}")
    out = nas.export(study, run / "exported_model")
    print(f"exported to {out}")


if __name__ == "__main__":
    main()
