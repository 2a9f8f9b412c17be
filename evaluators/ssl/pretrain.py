"""Self-supervised training on ``TrainLoop``: pre-train an encoder without labels, then probe it.

The trainer's recipe (AdamW over encoder and heads, linear warm-up then cosine
decay, gradient clipping, bf16 autocast on CUDA, data on the device, failure
isolation) with two augmented views per batch instead of labels. The result has the
same fields as a supervised task's: the objective ``val_acc`` is the linear probe's
validation accuracy, ``test_acc`` its test accuracy; ``val_loss`` is the
self-supervised loss on the validation split (fixed views); params, FLOPs and
latency are the encoder's alone (the heads are dropped after pre-training).
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from evaluators.device import autocast
from evaluators.failures import CandidateFailure
from evaluators.loop import LoopHooks, TrainLoop, build_model, measure_or_nan
from evaluators.measure import latency_ms
from evaluators.recipe import TrainConfig, epoch_batches
from evaluators.splits import Splits
from evaluators.ssl.probe import RidgeProbe, features
from nas import ArchGraph, Budget, Report, Result, count_flops, count_params

VIEW_SEED = 12345  # the generator seed of the fixed validation views behind val_loss


class Pretrainable(Protocol):
    """What ``pretrain`` needs from a task.

    ``splits_on(device)``: the dataset on ``device`` (labels feed only the probe).
    ``method(encoder)``: the module around the encoder with ``loss(view1, view2)`` and
    ``after_step(step, total)`` (``SimCLR``, ``BYOL``). ``augment(x, gen)``: one random
    view of a batch. ``probe_index``: the labeled training samples the probe fits.
    """

    n_classes: int
    probe_index: torch.Tensor

    def splits_on(self, device: torch.device) -> Splits: ...

    def method(self, encoder: nn.Module) -> nn.Module: ...

    def augment(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor: ...


def pretrain(model: ArchGraph | nn.Module, task: Pretrainable, budget: Budget | str | float,
             config: TrainConfig | None = None, seed: int = 0, device: str = "auto",
             report: Report | None = None, keep_weights: bool = False) -> Result:
    """Pre-train the encoder ``model`` on ``task`` within ``budget``, then probe it.

    ``report(step, probe val_acc)`` every ``config.report_every`` steps (the probe
    is cheap); True prunes. Errors of ``report`` propagate; a bad candidate becomes
    a failed Result. ``keep_weights`` returns the encoder's state dict.
    """
    loop = TrainLoop(config or TrainConfig(), budget, seed, device, keep_weights)
    return loop.run(PretrainHooks(model, task), report)


def probe(encoder: nn.Module, task: Pretrainable, device: torch.device,
          splits: tuple[str, ...] = ("val", "test")) -> tuple[RidgeProbe, dict[str, float]]:
    """Fit the linear probe on the frozen encoder; its accuracy on each named split."""
    data = task.splits_on(device)
    idx = task.probe_index.to(device)
    try:
        fitted = RidgeProbe.fit(features(encoder, data.x_train[idx]), data.y_train[idx],
                                task.n_classes)
    except ValueError as exc:
        raise CandidateFailure(f"non-finite loss (NaN or Inf) in the probe: {exc}") from exc
    accs = {name: fitted.accuracy(features(encoder, getattr(data, f"x_{name}")),
                                  getattr(data, f"y_{name}")) for name in splits}
    return fitted, accs


class PretrainHooks(LoopHooks):
    """The hooks of self-supervised pre-training: the method's loss on two augmented
    views of each batch, its ``after_step`` (BYOL's EMA target), the probe's accuracy
    for ``report``."""

    def __init__(self, model: ArchGraph | nn.Module, task: Pretrainable):
        self.model, self.task = model, task

    def setup(self, loop: TrainLoop) -> int:
        cfg, dev = loop.config, loop.device
        self.data = self.task.splits_on(dev)
        self.encoder = build_model(self.model, loop.seed).to(dev)
        self.method = self.task.method(self.encoder).to(dev)
        if cfg.compile:  # the training forward only; the probe runs the plain encoder
            self.method.encoder = torch.compile(self.encoder)
        loop.adamw(self.method)  # encoder and heads; BYOL's target: no gradients
        n = len(self.data.x_train)
        batch = min(cfg.batch_size, n)
        self.gen = torch.Generator(dev).manual_seed(loop.seed)  # batches and views, on device
        # no sample twice in a batch: a repeat would be a false negative pair
        self.batches = epoch_batches(n, batch, self.gen, dev, on_device=True)
        self.method.train()
        return n // batch

    def batch(self, loop: TrainLoop) -> torch.Tensor:
        return self.data.x_train[next(self.batches)]

    def loss(self, loop: TrainLoop, batch: torch.Tensor) -> torch.Tensor:
        return self.method.loss(self.task.augment(batch, self.gen),
                                self.task.augment(batch, self.gen))

    def after_step(self, loop: TrainLoop) -> None:
        self.method.after_step(loop.plan.position(loop.step), loop.plan.schedule_steps)

    def validate(self, loop: TrainLoop) -> float:
        return probe(self.encoder, self.task, loop.device, ("val",))[1]["val"]

    @torch.no_grad()
    def val_loss(self, loop: TrainLoop) -> float:
        """The self-supervised loss on the validation split, in training-size batches of
        views drawn from a fixed seed (the same views for every candidate), eval mode."""
        x, method = self.data.x_val, self.method
        gen = torch.Generator(loop.device).manual_seed(VIEW_SEED)
        batch = max(2, min(loop.config.batch_size, len(x)))
        method.eval()
        try:
            with autocast(loop.device):
                losses = [method.loss(self.task.augment(x[i:i + batch], gen),
                                      self.task.augment(x[i:i + batch], gen)).float()
                          for i in range(0, len(x) - 1, batch) if len(x) - i >= 2]
        finally:
            method.train()
        return torch.stack(losses).mean().item()

    def result(self, loop: TrainLoop, pruned: bool) -> Result:
        """The probe's accuracies and the encoder's costs; a pruned run skips the test
        split and the latency measurement."""
        encoder, task = self.encoder, self.task
        fitted, accs = probe(encoder, task, loop.device, ("val",) if pruned else ("val", "test"))
        x1 = self.data.x_val[:1]
        metrics = {"val_loss": self.val_loss(loop),
                   "params": float(count_params(encoder)),
                   "flops": measure_or_nan(lambda: count_flops(encoder, (x1,))),
                   **loop.train_losses, "peak_mem_mb": loop.memory.stop(),
                   "train_time_s": loop.train_time_s, **loop.plan_metrics(),
                   "probe_labels": float(len(task.probe_index)),
                   "probe_loo_acc": fitted.loo_acc, "device": str(loop.device)}
        if not pruned:
            metrics["test_acc"] = accs["test"]
            metrics["latency_ms"] = measure_or_nan(
                lambda: latency_ms(encoder, x1, runs=loop.config.latency_runs))
        return Result(objectives={"val_acc": accs["val"]}, metrics=metrics, pruned=pruned,
                      state_dict=loop.kept_weights(encoder))
