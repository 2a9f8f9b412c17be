"""How a trained mixed network is discretized into one candidate (``SELECTS``).

- ``"alpha"`` (DARTS): each decision's option of largest mixing weight.
- ``"perturb"`` (DARTS-PT, Wang et al. 2021, "Rethinking Architecture Selection in
  Differentiable NAS"): the magnitude of alpha need not say how much the supernet
  relies on an option (skip connections gain weight without carrying the accuracy).
  Decision by decision, each still active option is taken out of the mixture (its
  weight set to 0, the others renormalized) and the supernet's validation loss is
  measured; the option whose removal raises it most is kept, and the decision is
  fixed to it (one-hot) before the next is measured. The paper fine-tunes the
  supernet between decisions; this version does not (no training, only forwards:
  about ``decisions x options`` passes over the validation split).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nas.darts._arch import Architecture
from nas.darts._program import MixedNet

SELECTS = ("alpha", "perturb")
DEFAULT_SELECT = "alpha"


def _without(p: torch.Tensor, i: int) -> torch.Tensor:
    """Weights ``p`` with option ``i`` removed and the rest renormalized (all zero if
    nothing else is left)."""
    q = p.clone()
    q[i] = 0.0
    total = q.sum()
    return q / total if float(total) > 0 else q


def _one_hot(p: torch.Tensor, i: int) -> torch.Tensor:
    return torch.zeros_like(p).index_fill(0, torch.tensor([i], device=p.device), 1.0)


def perturbation_answers(arch: Architecture, net: MixedNet, loss_of: Callable[[], float],
                         beta: float = 0.0) -> tuple[dict, dict[str, list[float]]]:
    """DARTS-PT's selection without fine-tuning: ``loss_of()`` runs ``net`` (mixing
    already set) on the validation split and returns its loss. Returns the answers and,
    per decision, the loss with each option removed (``nan`` for pruned options)."""
    with torch.no_grad():
        weights = {k: p.detach().clone() for k, p in arch.probabilities().items()}
        skip = arch.skipped(weights)
        answers, losses = {}, {}
        for name, options in arch.choices.items():
            active = [i for i, on in enumerate(arch.active(name).tolist()) if on]
            row = [float("nan")] * len(options)
            if len(active) == 1:
                best = active[0]
            else:
                for i in active:
                    net.set_mixing({**weights, name: _without(weights[name], i)}, beta, skip)
                    row[i] = float(loss_of())
                best = max(active, key=lambda i: (row[i], -i))  # the first on a tie
            answers[name], losses[name] = options[best], row
            weights[name] = _one_hot(weights[name], best)
    return answers, losses


__all__ = ["DEFAULT_SELECT", "SELECTS", "perturbation_answers"]
