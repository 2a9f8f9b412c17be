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

import math
import time
from typing import Protocol

import torch
from torch import nn

from evaluators.device import autocast, resolve_device
from evaluators.failures import CandidateFailure, describe_failure, free_memory
from evaluators.measure import PeakMemory, latency_ms
from evaluators.splits import Splits
from evaluators.ssl.probe import RidgeProbe, features
from evaluators.trainer import (
    TrainConfig,
    _adamw,
    _build,
    _clip_grad_norm_,
    _lr_at,
    _or_nan,
    _planned_steps,
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
    try:
        return run.fit(model, task, report, keep_weights)
    except _ReportError as exc:
        raise exc.__cause__ from None
    except Exception as exc:  # a bad candidate must never crash the search
        reason = describe_failure(exc)
    free_memory(run.device)
    return Result.failure(reason, steps=float(run.step), train_time_s=run.elapsed(),
                          device=str(run.device))


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


class _ReportError(Exception):
    """Wraps an exception raised by the caller's report()."""


class _Pretrain:
    """The state of one pre-training run (so a failure can say how far it got)."""

    def __init__(self, cfg: TrainConfig, budget: Budget, seed: int, device: torch.device):
        self.cfg, self.budget, self.seed, self.device = cfg, budget, seed, device
        self.step, self.checked = 0, 0
        self.train_loss = math.nan
        self.t0: float | None = None
        self.total: int | None = None  # planned steps (None until a seconds budget is sized)
        self._first = 0.0  # when the first step ended (a seconds budget times the next ones)

    def elapsed(self) -> float:
        return 0.0 if self.t0 is None else time.perf_counter() - self.t0

    def fit(self, model, task: Pretrainable, report: Report | None, keep_weights: bool):
        cfg, dev = self.cfg, self.device
        data = task.splits_on(dev)
        memory = PeakMemory(dev)
        memory.start()
        encoder = _build(model, self.seed).to(dev)
        method = task.method(encoder).to(dev)
        opt = _adamw(method, cfg)
        params = [p for group in opt.param_groups for p in group["params"]]
        n = len(data.x_train)
        batch = min(cfg.batch_size, n)
        self.total = _planned_steps(self.budget, n // batch)
        gen = torch.Generator(dev).manual_seed(self.seed)  # batches and views, on the device
        loss_sum = torch.zeros((), device=dev)
        perm, pos = None, n
        self.t0 = time.perf_counter()
        method.train()
        while self.total is None or self.step < self.total:
            if pos + batch > n:  # a new epoch: no sample twice in a batch (false negatives)
                perm, pos = torch.randperm(n, device=dev, generator=gen), 0
            x = data.x_train[perm[pos:pos + batch]]
            pos += batch
            schedule = self.total or 20 * (cfg.probe_steps + 1)
            for group in opt.param_groups:
                group["lr"] = _lr_at(self.step, schedule, cfg)
            with autocast(dev):
                loss = method.loss(task.augment(x, gen), task.augment(x, gen))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                _clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            self.step += 1
            method.after_step(self.step, schedule)
            loss_sum += loss.detach()
            if self.step % cfg.check_every == 0:
                self._check(loss_sum)
            if self._out_of_time():
                break
            if report is not None and self.step % cfg.report_every == 0:
                _, accs = probe(encoder, task, dev, ("val",))
                try:
                    stop = report(self.step, accs["val"])
                except Exception as exc:
                    raise _ReportError() from exc
                if stop:
                    return self._result(encoder, method, task, memory, True, keep_weights)
        self._check(loss_sum)
        return self._result(encoder, method, task, memory, False, keep_weights)

    def _out_of_time(self) -> bool:
        """Fail past ``time_limit_s``; True at a seconds budget's end. A seconds budget
        times ``probe_steps`` steps (after the first) to fix the schedule's length."""
        now = time.perf_counter() - self.t0
        limit = self.cfg.time_limit_s
        if limit is not None and now > limit:
            raise CandidateFailure(f"time limit: still training after {now:.1f} s "
                                   f"(limit {limit} s) at step {self.step}")
        if self.budget.unit != "seconds":
            return False
        if now >= self.budget.amount:
            return True
        if self.step == 1:
            self._first = now
        elif self.total is None and self.step == self.cfg.probe_steps + 1:
            per_step = (now - self._first) / self.cfg.probe_steps
            self.total = self.step + max(1, int((self.budget.amount - now) / per_step))
        return False

    def _check(self, loss_sum: torch.Tensor) -> None:
        """Fail on a NaN or Inf loss since the last check (one host sync)."""
        since = self.step - self.checked
        if since == 0:
            return
        value = loss_sum.item()
        if not math.isfinite(value):
            raise CandidateFailure(f"non-finite loss (NaN or Inf) by step {self.step}")
        self.train_loss, self.checked = value / since, self.step
        loss_sum.zero_()

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
                   "train_time_s": train_time, "steps": float(self.step),
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
