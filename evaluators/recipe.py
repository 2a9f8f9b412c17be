"""The training recipe every loop shares: its settings (``TrainConfig``) and the optimizer
pieces (AdamW in one fused group, clipping, the lr curve, seeded batches).

The whole (small) dataset sits on the device as tensors and a step indexes a seeded
random permutation (``epoch_batches``): no DataLoader. AdamW with linear warm-up then
cosine decay, label smoothing, gradient clipping.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

import torch
from torch import nn

from evaluators.failures import CandidateFailure
from evaluators.schedule import lr_at


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe shared by every candidate.

    Defaults chosen on MNIST-1D: lr 1e-2 reaches 90% with the paper's CNN in about a
    fifth of the paper's 6,000 steps and is the best or close to it for sampled MLP,
    CNN, ResNet, RNN and transformer candidates (3e-3 trails in short budgets; 2e-2
    and up help CNNs and RNNs but hurt or break transformers).
    """

    lr: float = 1e-2  # AdamW peak learning rate (after warm-up)
    weight_decay: float = 1e-2  # AdamW decoupled decay (all parameters: one fused group)
    betas: tuple[float, float] = (0.9, 0.999)  # AdamW moment decay rates
    batch_size: int = 100  # samples per step (the MNIST-1D paper's); capped at the train size
    warmup: float = 0.05  # fraction of the steps spent ramping the lr up linearly from 0
    final_lr: float = 0.0  # where the cosine decay ends, as a fraction of lr
    label_smoothing: float = 0.1  # classification only
    grad_clip: float | None = 1.0  # max global gradient norm; None turns clipping off
    report_every: int = 100  # steps between report() calls (each evaluates validation)
    check_every: int = 10  # steps between non-finite loss checks (a host sync on GPU)
    eval_batch: int = 4096  # samples per forward when scoring a split (at most ~1M
    # input values a forward: 4096 MNIST-1D signals, 341 CIFAR images)
    compile: bool = False  # torch.compile the model (slow first call: opt-in)
    time_limit_s: float | None = None  # fail a candidate still training after this long
    probe_steps: int = 10  # steps between estimates of a step's cost (seconds budgets, caps)
    latency_runs: int = 20  # timed batch-1 forwards behind latency_ms (after 5 warm-ups)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """A config from plain values (a YAML section); unknown keys raise, naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown trainer option(s) {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(known))})")
        return cls(**{k: tuple(v) if k == "betas" else v for k, v in d.items()})

    def lr_at(self, position: float, total: int) -> float:
        """The lr at ``position`` of a ``total``-step curve: linear warm-up over the
        ``warmup`` fraction, then cosine decay to ``final_lr * lr``."""
        return lr_at(position, total, self.lr, self.warmup, self.final_lr)


def adamw(net: nn.Module, cfg: TrainConfig) -> tuple[torch.optim.Optimizer, list]:
    """AdamW over every trainable parameter in one group, fused when all allow it, and
    that list of parameters (for gradient clipping).

    The fused kernel (floating point parameters on CPU or CUDA) and a single group
    (a second group for undecayed biases costs a second kernel launch a step, for no
    visible gain at this decay) keep small models as fast as a hand-written loop.
    """
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise CandidateFailure("runtime error: the model has no trainable parameters")
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas,
                             weight_decay=cfg.weight_decay, fused=fused or None), params


def epoch_batches(n: int, batch: int, generator: torch.Generator, device,
                  on_device: bool = False) -> Iterator[torch.Tensor]:
    """Endless batches of sample indices: a fresh random permutation each epoch, cut
    into ``batch``-sized slices (the last partial slice is dropped, so no sample comes
    twice in a batch). The permutation is drawn on the CPU and copied to ``device``, or
    drawn there with ``on_device`` (``generator`` must then live on that device)."""
    while True:
        if on_device:
            perm = torch.randperm(n, device=device, generator=generator)
        else:
            perm = torch.randperm(n, generator=generator).to(device, non_blocking=True)
        for pos in range(0, n - batch + 1, batch):
            yield perm[pos:pos + batch]


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate."""
    for group in opt.param_groups:
        group["lr"] = lr


def optimizer_step(opt: torch.optim.Optimizer, loss: torch.Tensor,
                   params: list[torch.Tensor], cfg: TrainConfig) -> None:
    """One optimizer step on ``loss``, clipping the gradients of ``params`` first."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip:
        _clip_grad_norm_(params, cfg.grad_clip)
    opt.step()


def _clip_grad_norm_(params: list[torch.Tensor], max_norm: float) -> None:
    """Scale gradients so their global L2 norm is at most ``max_norm``.

    What ``nn.utils.clip_grad_norm_`` computes, in three foreach ops and no per-step
    grouping by device and dtype (a fifth of its cost on CPU for small models).
    """
    grads = [p.grad for p in params if p.grad is not None]
    if grads:
        norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        torch._foreach_mul_(grads, (max_norm / (norm + 1e-6)).clamp_(max=1.0))
