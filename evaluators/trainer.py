"""The training loop behind every supervised task: one candidate in, one Result out.

The whole (small) dataset sits on the device as tensors and a step indexes a seeded
random permutation: no DataLoader. AdamW with linear warm-up then cosine decay,
label smoothing, gradient clipping; bf16 autocast on CUDA. Whatever a bad candidate
does (fails to build, raises, diverges, runs out of memory or time) becomes a failed
Result; the process stays healthy for the next one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Protocol

import torch
from torch import nn

from evaluators.device import autocast, resolve_device
from evaluators.failures import (
    CandidateFailure,
    compile_failure,
    describe_failure,
    free_memory,
    is_out_of_memory,
)
from evaluators.measure import PeakMemory, latency_ms
from evaluators.schedule import StepPlan, lr_at
from evaluators.splits import Splits
from nas import ArchGraph, Budget, Report, Result, compile_graph, count_flops, count_params


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
    run = _Run(config or TrainConfig(), Budget.parse(budget), seed, resolve_device(device))
    run.keep_weights = keep_weights
    return run.guarded(run.fit, model, task, report)


class _ReportError(Exception):
    """Wraps an exception raised by the caller's report(), which is not the candidate's."""


class _Run:
    """The state of one training run (so a failure can still say how far it got)."""

    def __init__(self, cfg: TrainConfig, budget: Budget, seed: int, device: torch.device):
        self.cfg, self.budget, self.seed, self.device = cfg, budget, seed, device
        self.step = 0
        self.checked = 0  # the step of the last non-finite check
        self.train_loss = math.nan  # mean training loss over the last check_every steps
        self.t0: float | None = None
        self.plan: StepPlan | None = None  # set when training starts

    def new_plan(self, steps_per_epoch: int) -> StepPlan:
        """The run's step plan (kept for its metrics, also those of a failed run)."""
        self.plan = StepPlan(self.budget, steps_per_epoch, self.cfg.probe_steps,
                             device=self.device)
        return self.plan

    def plan_metrics(self) -> dict[str, float]:
        """``steps`` and the plan's ``planned_steps``, ``capped`` and ``step_ms``."""
        out = {"steps": float(self.step)}
        if self.plan is not None:
            out.update(self.plan.metrics(self.step))
        return out

    def elapsed(self) -> float:
        return 0.0 if self.t0 is None else time.perf_counter() - self.t0

    def guarded(self, fit: Callable[..., Result], *args) -> Result:
        """``fit(*args)``, whatever the candidate does: a failure (raise, NaN, out of memory
        or time) becomes a failed Result saying how far it got. Errors raised by the
        caller's ``report`` are not the candidate's: they propagate."""
        try:
            return fit(*args)
        except _ReportError as exc:
            raise exc.__cause__ from None
        except Exception as exc:  # a bad candidate must never crash the search
            reason = describe_failure(exc)
        free_memory(self.device)  # after the except block: its traceback no longer pins tensors
        return Result.failure(reason, **self.plan_metrics(), train_time_s=self.elapsed(),
                              device=str(self.device))

    def ask(self, report: Report, value: float) -> bool:
        """``report(step, value)`` for a pruner; True stops the run (pruned)."""
        try:
            return bool(report(self.step, value))
        except Exception as exc:
            raise _ReportError() from exc

    def fit(self, model: ArchGraph | nn.Module, task: Trainable, report: Report | None):
        cfg, dev = self.cfg, self.device
        data = task.splits_on(dev)
        memory = PeakMemory(dev)  # model, optimizer state and activations (and, on CUDA,
        memory.start()  # the data already on the device)
        net = _build(model, self.seed).to(dev)
        forward = torch.compile(net) if cfg.compile else net
        opt, params = _adamw(net, cfg)
        n = len(data.x_train)
        batch = min(cfg.batch_size, n)
        plan = self.new_plan(n // batch)
        batches = epoch_batches(n, batch, torch.Generator().manual_seed(self.seed), dev)
        loss_sum = torch.zeros((), device=dev)  # since the last check; NaN/Inf stay in a sum
        self.t0 = plan.start()
        net.train()
        while not plan.done(self.step):
            idx = next(batches)
            set_lr(opt, _lr_at(plan.position(self.step), plan.schedule_steps, cfg))
            with autocast(dev):
                loss = task.loss(forward(data.x_train[idx]), data.y_train[idx],
                                 cfg.label_smoothing)
            optimizer_step(opt, loss, params, cfg)
            loss_sum += loss.detach()
            finished = self._advance(plan, loss_sum)
            if report is not None and self.step % cfg.report_every == 0:
                val = self._score(net, task, data.x_val, data.y_val)
                if self.ask(report, val[_key(task)]):
                    return self._result(net, task, data, memory, val, pruned=True)
            if finished:
                break
        self._check(loss_sum)
        return self._result(net, task, data, memory, None, pruned=False)

    def _advance(self, plan: StepPlan, loss_sum: torch.Tensor) -> bool:
        """Count a step done: the periodic non-finite check, the time limit, then whether
        the plan says stop."""
        self.step += 1
        if self.step % self.cfg.check_every == 0:
            self._check(loss_sum)
        self._check_time_limit()
        return plan.advance(self.step)

    def _check_time_limit(self) -> None:
        """Fail a candidate still training after ``time_limit_s``."""
        limit = self.cfg.time_limit_s
        spent = self.elapsed()
        if limit is not None and spent > limit:
            raise CandidateFailure(f"time limit: still training after {spent:.1f} s "
                                   f"(limit {limit} s) at step {self.step}")

    def _check(self, loss_sum: torch.Tensor) -> None:
        """Fail on a NaN or Inf loss since the last check (one host sync), and keep the
        mean training loss of those steps."""
        since = self.step - self.checked
        if since == 0:
            return
        value = loss_sum.item()
        if not math.isfinite(value):
            raise CandidateFailure(f"non-finite loss (NaN or Inf) by step {self.step}")
        self.train_loss, self.checked = value / since, self.step
        loss_sum.zero_()

    def _score(self, net: nn.Module, task: Trainable, x: torch.Tensor,
               y: torch.Tensor) -> dict[str, float]:
        net.eval()
        with torch.no_grad(), autocast(self.device):
            step = eval_batch(self.cfg, x)
            out = torch.cat([net(x[i:i + step]).float() for i in range(0, len(x), step)])
        net.train()
        return task.score(out, y)

    def _result(self, net: nn.Module, task: Trainable, data: Splits, memory: PeakMemory,
                val: dict[str, float] | None, pruned: bool) -> Result:
        """Objective and metrics; a pruned run keeps its last validation scores and skips
        the test split and the latency measurement."""
        train_time = self.elapsed()
        if val is None:
            val = self._score(net, task, data.x_val, data.y_val)
        metrics = {f"val_{k}": v for k, v in val.items() if k != _key(task)}
        if not pruned:
            test = self._score(net, task, data.x_test, data.y_test)
            metrics.update({f"test_{k}": v for k, v in test.items()})
        metrics.update({"params": float(count_params(net)),
                        "flops": _or_nan(lambda: count_flops(net, (data.x_val[:1],))),
                        "train_loss": self.train_loss,
                        "peak_mem_mb": memory.stop(), "train_time_s": train_time,
                        **self.plan_metrics(), "device": str(self.device)})
        if not pruned:
            metrics["latency_ms"] = _or_nan(
                lambda: latency_ms(net, data.x_val[:1], runs=self.cfg.latency_runs))
        result = Result(objectives={task.objective[0]: val[_key(task)]}, metrics=metrics,
                        pruned=pruned)
        if getattr(self, "keep_weights", False):
            result.state_dict = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        return result


EVAL_VALUES = 2**20  # input values per scoring forward (bounds activation memory)


def eval_batch(cfg: TrainConfig, x: torch.Tensor) -> int:
    """Samples per forward when scoring ``x``: ``cfg.eval_batch``, fewer for big inputs
    (activations of a wide CNN on 32x32 images would otherwise take gigabytes)."""
    per_sample = max(1, x[0].numel()) if len(x) else 1
    return max(1, min(cfg.eval_batch, EVAL_VALUES // per_sample))


def _or_nan(measure) -> float:
    """A cost measurement, or NaN when it cannot be taken (an op the FLOP counter
    rejects, say): a trained candidate is not failed for its bookkeeping."""
    try:
        return float(measure())
    except Exception as exc:
        if is_out_of_memory(exc):
            raise
        return math.nan


def _key(task: Trainable) -> str:
    """The score name behind the objective: "val_acc" -> "acc"."""
    return task.objective[0].removeprefix("val_")


def _build(model: ArchGraph | nn.Module, seed: int) -> nn.Module:
    """The module to train, after seeding (weights, dropout); graph build errors are
    compile errors."""
    torch.manual_seed(seed)
    if isinstance(model, nn.Module):
        return model
    try:
        return compile_graph(model)
    except Exception as exc:
        if is_out_of_memory(exc):
            raise
        raise compile_failure(exc) from exc


def _adamw(net: nn.Module, cfg: TrainConfig) -> tuple[torch.optim.Optimizer, list]:
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


def _lr_at(step: float, total: int, cfg: TrainConfig) -> float:
    """The recipe's lr at position ``step`` of ``total`` (warm-up, then cosine decay)."""
    return lr_at(step, total, cfg.lr, cfg.warmup, cfg.final_lr)
