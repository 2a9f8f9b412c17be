"""The self-supervised training loop: pre-train an encoder without labels, then probe it.

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

from evaluators.device import autocast, resolve_device
from evaluators.failures import CandidateFailure
from evaluators.measure import PeakMemory, latency_ms
from evaluators.splits import Splits
from evaluators.ssl.probe import RidgeProbe, features
from evaluators.trainer import (
    TrainConfig,
    _adamw,
    _build,
    _lr_at,
    _or_nan,
    _Run,
    epoch_batches,
    optimizer_step,
)
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
    run = _Pretrain(config or TrainConfig(), Budget.parse(budget), seed, resolve_device(device))
    return run.guarded(run.fit, model, task, report, keep_weights)


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


class _Pretrain(_Run):
    """A pre-training run (the state, checks and failure isolation of ``_Run``)."""

    def fit(self, model, task: Pretrainable, report: Report | None, keep_weights: bool):
        cfg, dev = self.cfg, self.device
        data = task.splits_on(dev)
        memory = PeakMemory(dev)
        memory.start()
        encoder = _build(model, self.seed).to(dev)
        method = task.method(encoder).to(dev)
        if cfg.compile:  # the training forward only; the probe runs the plain encoder
            method.encoder = torch.compile(encoder)
        opt, params = _adamw(method, cfg)  # encoder and heads; BYOL's target: no gradients
        n = len(data.x_train)
        batch = min(cfg.batch_size, n)
        plan = self.new_plan(n // batch)
        gen = torch.Generator(dev).manual_seed(self.seed)  # batches and views, on the device
        loss_sum = torch.zeros((), device=dev)
        # no sample twice in a batch: a repeat would be a false negative pair
        batches = epoch_batches(n, batch, gen, dev, on_device=True)
        self.t0 = plan.start()
        method.train()
        while not plan.done(self.step):
            x = data.x_train[next(batches)]
            for group in opt.param_groups:
                group["lr"] = _lr_at(plan.position(self.step), plan.schedule_steps, cfg)
            with autocast(dev):
                loss = method.loss(task.augment(x, gen), task.augment(x, gen))
            optimizer_step(opt, loss, params, cfg)
            self.step += 1
            method.after_step(plan.position(self.step), plan.schedule_steps)
            loss_sum += loss.detach()
            if self.step % cfg.check_every == 0:
                self._check(loss_sum)
            self._check_time_limit()
            finished = plan.advance(self.step)
            if report is not None and self.step % cfg.report_every == 0:
                _, accs = probe(encoder, task, dev, ("val",))
                if self.ask(report, accs["val"]):
                    return self._result(encoder, method, task, memory, True, keep_weights)
            if finished:
                break
        self._check(loss_sum)
        return self._result(encoder, method, task, memory, False, keep_weights)

    @torch.no_grad()
    def _val_loss(self, method: nn.Module, task: Pretrainable) -> float:
        """The self-supervised loss on the validation split, in training-size batches of
        views drawn from a fixed seed (the same views for every candidate), eval mode."""
        x = task.splits_on(self.device).x_val
        gen = torch.Generator(self.device).manual_seed(VIEW_SEED)
        batch = max(2, min(self.cfg.batch_size, len(x)))
        method.eval()
        try:
            with autocast(self.device):
                losses = [method.loss(task.augment(x[i:i + batch], gen),
                                      task.augment(x[i:i + batch], gen)).float()
                          for i in range(0, len(x) - 1, batch) if len(x) - i >= 2]
        finally:
            method.train()
        return torch.stack(losses).mean().item()

    def _result(self, encoder: nn.Module, method: nn.Module, task: Pretrainable,
                memory: PeakMemory, pruned: bool, keep_weights: bool) -> Result:
        """The probe's accuracies and the encoder's costs; a pruned run skips the test
        split and the latency measurement."""
        train_time = self.elapsed()
        fitted, accs = probe(encoder, task, self.device, ("val",) if pruned else ("val", "test"))
        x1 = task.splits_on(self.device).x_val[:1]
        metrics = {"val_loss": self._val_loss(method, task),
                   "params": float(count_params(encoder)),
                   "flops": _or_nan(lambda: count_flops(encoder, (x1,))),
                   "train_loss": self.train_loss, "peak_mem_mb": memory.stop(),
                   "train_time_s": train_time, **self.plan_metrics(),
                   "probe_labels": float(len(task.probe_index)),
                   "probe_loo_acc": fitted.loo_acc, "device": str(self.device)}
        if not pruned:
            metrics["test_acc"] = accs["test"]
            metrics["latency_ms"] = _or_nan(
                lambda: latency_ms(encoder, x1, runs=self.cfg.latency_runs))
        result = Result(objectives={"val_acc": accs["val"]}, metrics=metrics, pruned=pruned)
        if keep_weights:
            result.state_dict = {k: v.detach().cpu().clone()
                                 for k, v in encoder.state_dict().items()}
        return result
