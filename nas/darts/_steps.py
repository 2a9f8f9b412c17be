"""The two alternating updates of first-order DARTS, kept apart so that each trains
only its own parameters.

- Weight step: the mixing weights are set *detached* (``mix_for_weights``), so the
  training loss's backward reaches the network weights and never alpha.
- Architecture step (``arch_step``): the validation loss's gradient is taken with
  ``torch.autograd.grad`` with respect to alpha alone, so it never lands on the
  weights (first order: the weights are not unrolled).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nas.darts._arch import Architecture
from nas.darts._program import MixedNet

PARAMETER_FREE = ("none", "skip", "identity", "pool", "zero")  # name parts of such ops


def mix_for_weights(net: MixedNet, arch: Architecture, beta: float = 0.0) -> None:
    """Set the mixing weights of a weight step: drawn (DrNAS, GDAS) or softmax,
    detached."""
    weights = arch.weights(sample=True)
    net.set_mixing({k: w.detach() for k, w in weights.items()}, beta, arch.skipped(weights))


def arch_step(net: MixedNet, arch: Architecture, opt: torch.optim.Optimizer,
              loss_of: Callable[[], torch.Tensor], beta: float = 0.0) -> float:
    """One architecture update: ``loss_of()`` (the validation loss of a batch, run on
    ``net``) differentiated with respect to alpha only; returns the loss."""
    params = list(arch.parameters())
    weights = arch.weights(sample=True)
    net.set_mixing(weights, beta, arch.skipped(weights))
    loss = loss_of()
    grads = torch.autograd.grad(loss.float(), params, allow_unused=True)
    opt.zero_grad(set_to_none=True)
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.zeros_like(p) if g is None else g
    opt.step()
    return float(loss.detach())


def parameter_free(answers: dict) -> int:
    """How many answers are parameter-free ops (none, skip, pooling, identity)."""
    return sum(1 for v in answers.values()
               if isinstance(v, str) and any(part in v for part in PARAMETER_FREE))


__all__ = ["PARAMETER_FREE", "arch_step", "mix_for_weights", "parameter_free"]
