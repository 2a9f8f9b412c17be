"""Supervised training on ``TrainLoop``: one candidate and a task's splits in, one Result out.

Each step feeds a seeded random batch of the training split to the model and takes
the task's loss (label smoothing for classification); bf16 autocast on CUDA. The
result holds the validation objective, the other validation and test scores, and the
costs: parameters, FLOPs and latency of one sample, peak memory, training time.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from evaluators.device import autocast
from evaluators.loop import LoopHooks, TrainLoop, build_model, measure_or_nan
from evaluators.measure import latency_ms
from evaluators.recipe import TrainConfig, epoch_batches
from evaluators.splits import Splits
from nas import ArchGraph, Budget, Report, Result, count_flops, count_params


class Trainable(Protocol):
    """What ``train`` needs from a task: splits, a training loss and split scores.

    ``score(out, y)`` returns named values for one split (e.g. ``acc``, ``loss``); the
    trainer records them as ``val_*`` and ``test_*``; ``objective[0]`` names one of
    the ``val_*`` values.
    """

    objective: tuple[str, str]

    def splits_on(self, device: torch.device) -> Splits: ...

    def loss(self, out: torch.Tensor, y: torch.Tensor,
             label_smoothing: float = 0.0) -> torch.Tensor: ...

    def score(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, float]: ...


def train(model: ArchGraph | nn.Module, task: Trainable, budget: Budget | str | float,
          config: TrainConfig | None = None, seed: int = 0, device: str = "auto",
          report: Report | None = None, keep_weights: bool = False) -> Result:
    """Train ``model`` (a graph, compiled here, or a module) on ``task`` within ``budget``.

    Returns the validation objective, test and cost metrics, or a failed Result whose
    error starts with one of ``evaluators.failures.REASONS``. ``report(step, value)``
    gets the validation objective every ``config.report_every`` steps; returning True
    stops the run (``pruned=True``). Errors raised by ``report`` itself propagate.
    ``keep_weights`` puts the trained state dict (on the CPU) in ``result.state_dict``.
    A graph is built after ``torch.manual_seed(seed)``, so CPU runs are reproducible.
    """
    loop = TrainLoop(config or TrainConfig(), budget, seed, device, keep_weights)
    return loop.run(SupervisedHooks(model, task), report)


class SupervisedHooks(LoopHooks):
    """The hooks of supervised training: ``task.loss(model(x), y)`` on seeded batches.

    ``weights``: the module whose state dict a run that keeps weights returns (default:
    the model itself; a wrapper passes the module it wraps).
    """

    def __init__(self, model: ArchGraph | nn.Module, task: Trainable,
                 weights: nn.Module | None = None):
        self.model, self.task, self.weights = model, task, weights
        self.key = task.objective[0].removeprefix("val_")  # "val_acc" -> "acc"
        self.val: dict[str, float] = {}  # the last validation scores

    def setup(self, loop: TrainLoop) -> int:
        self.data = self.task.splits_on(loop.device)
        self.build(loop)
        n = len(self.data.x_train)
        batch = min(loop.config.batch_size, n)
        gen = torch.Generator().manual_seed(loop.seed)
        self.batches = epoch_batches(n, batch, gen, loop.device)
        return n // batch

    def build(self, loop: TrainLoop) -> None:
        """The model on the device in training mode, its forward (compiled when the
        recipe says so) and its optimizer."""
        self.net = build_model(self.model, loop.seed).to(loop.device)
        self.forward = torch.compile(self.net) if loop.config.compile else self.net
        loop.adamw(self.net)
        self.net.train()

    def batch(self, loop: TrainLoop) -> torch.Tensor:
        return next(self.batches)

    def loss(self, loop: TrainLoop, batch: torch.Tensor) -> torch.Tensor:
        return self.task.loss(self.forward(self.data.x_train[batch]), self.data.y_train[batch],
                              loop.config.label_smoothing)

    def validate(self, loop: TrainLoop) -> float:
        self.val = self.score(loop, "val")
        return self.val[self.key]

    def score(self, loop: TrainLoop, split: str) -> dict[str, float]:
        """The task's scores of one split (``"val"`` or ``"test"``), in eval mode."""
        return self.task.score(self.outputs(loop, split), getattr(self.data, f"y_{split}"))

    def outputs(self, loop: TrainLoop, split: str) -> torch.Tensor:
        """The model's outputs on one split, in eval mode and without gradients, in
        batches of ``eval_batch`` samples (float32)."""
        x = getattr(self.data, f"x_{split}")
        self.net.eval()
        with torch.no_grad(), autocast(loop.device):
            step = eval_batch(loop.config, x)
            out = torch.cat([self.net(x[i:i + step]).float() for i in range(0, len(x), step)])
        self.net.train()
        return out

    def example(self, loop: TrainLoop) -> tuple[torch.Tensor, ...]:
        """The model's inputs for one sample (what FLOPs and latency are measured on)."""
        return (self.data.x_val[:1],)

    def result(self, loop: TrainLoop, pruned: bool) -> Result:
        """Objective and metrics; a pruned run keeps its last validation scores and skips
        the test split and the latency measurement."""
        net = self.net
        val = self.val if pruned else self.score(loop, "val")
        metrics = {f"val_{k}": v for k, v in val.items() if k != self.key}
        if not pruned:
            metrics.update({f"test_{k}": v for k, v in self.score(loop, "test").items()})
        args = self.example(loop)
        metrics.update({"params": float(count_params(net)),
                        "flops": measure_or_nan(lambda: count_flops(net, args)),
                        **loop.train_losses, "peak_mem_mb": loop.memory.stop(),
                        "train_time_s": loop.train_time_s, **loop.plan_metrics(),
                        "device": str(loop.device)})
        if not pruned:
            timed = net if len(args) == 1 else _Bound(net, args[1:])
            metrics["latency_ms"] = measure_or_nan(
                lambda: latency_ms(timed, args[0], runs=loop.config.latency_runs))
        return Result(objectives={self.task.objective[0]: val[self.key]}, metrics=metrics,
                      pruned=pruned, state_dict=loop.kept_weights(self.weights or net))


class _Bound(nn.Module):
    """``net`` with all inputs but the first fixed, so ``latency_ms(module, x)`` works."""

    def __init__(self, net: nn.Module, rest: tuple[torch.Tensor, ...]):
        super().__init__()
        self.net, self.rest = net, rest

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, *self.rest)


EVAL_VALUES = 2**20  # input values per scoring forward (bounds activation memory)


def eval_batch(cfg: TrainConfig, x: torch.Tensor) -> int:
    """Samples per forward when scoring ``x``: ``cfg.eval_batch``, fewer for big inputs
    (activations of a wide CNN on 32x32 images would otherwise take gigabytes)."""
    per_sample = max(1, x[0].numel()) if len(x) else 1
    return max(1, min(cfg.eval_batch, EVAL_VALUES // per_sample))
