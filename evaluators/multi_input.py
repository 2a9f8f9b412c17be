"""The training loop for tasks whose models take several inputs (graphs, seq2seq, LMs).

The same recipe as ``evaluators.trainer.train`` (AdamW, linear warm-up then cosine
decay, label smoothing, gradient clipping, bf16 autocast on CUDA, data kept on the
device, seeded batches, failure isolation, a ``report`` hook for pruners), for
candidates whose forward takes named inputs: the task hands out batches as
``{input name: tensor}`` and the loop feeds them in the graph's declared order.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import nn

from evaluators.device import autocast, resolve_device
from evaluators.failures import CandidateFailure
from evaluators.measure import PeakMemory, latency_ms
from evaluators.trainer import (
    TrainConfig,
    _adamw,
    _build,
    _lr_at,
    _or_nan,
    _Run,
    optimizer_step,
    set_lr,
)
from nas import ArchGraph, Budget, Report, Result, count_flops, count_params

Inputs = dict[str, torch.Tensor]


class TensorTask:
    """The data side of a multi-input task: named tensors, copied once per device, and the
    training recipe (a TrainConfig or its dict)."""

    def __init__(self, tensors: Inputs, config: TrainConfig | dict | None):
        self.tensors = tensors
        self.config = config if isinstance(config, TrainConfig) else \
            TrainConfig.from_dict(config or {})
        self._on_device: dict[str, Inputs] = {}

    def data_on(self, device: torch.device) -> Inputs:
        key = str(device)
        if key not in self._on_device:
            self._on_device[key] = {k: v.to(device) for k, v in self.tensors.items()}
        return self._on_device[key]


class MultiInputTask(Protocol):
    """What ``train_multi`` needs from a task.

    ``data_on(device)``: the task's tensors on ``device`` (moved once, then reused).
    ``train_batch(data, gen, batch_size)``: one training batch ``(inputs, target)``,
    drawn with ``gen`` (a seeded CPU generator). ``split(data, name)``: the whole
    ``"val"`` or ``"test"`` split as ``(inputs, target)``. ``loss(out, target,
    label_smoothing)`` and ``score(out, target) -> {name: value}`` as in
    ``Trainable``; ``objective[0]`` is ``"val_" +`` one of the score names.
    ``steps_per_epoch(batch_size)``: for epoch budgets. ``batch_axis``: True when every
    input and the target share a leading sample axis (scoring then goes in chunks of
    ``eval_batch``); False for one graph whose nodes are the batch.
    """

    objective: tuple[str, str]
    batch_axis: bool

    def data_on(self, device: torch.device) -> Any: ...

    def train_batch(self, data: Any, gen: torch.Generator,
                    batch_size: int) -> tuple[Inputs, Any]: ...

    def split(self, data: Any, name: str) -> tuple[Inputs, Any]: ...

    def loss(self, out: torch.Tensor, target: Any,
             label_smoothing: float = 0.0) -> torch.Tensor: ...

    def score(self, out: torch.Tensor, target: Any) -> dict[str, float]: ...

    def steps_per_epoch(self, batch_size: int) -> int: ...


def train_multi(model: ArchGraph | nn.Module, task: MultiInputTask, budget: Budget | str | float,
                config: TrainConfig | None = None, seed: int = 0, device: str = "auto",
                report: Report | None = None, keep_weights: bool = False) -> Result:
    """Train ``model`` on ``task`` within ``budget``; a failed Result for a bad candidate.

    Same contract as ``evaluators.trainer.train``: the validation objective, test and
    cost metrics (FLOPs and latency of one validation example: one sample, or the
    whole validation graph when ``batch_axis`` is False), ``report(step, value)``
    every ``config.report_every`` steps (True prunes), errors of ``report`` propagate.
    """
    cfg = config or TrainConfig()
    run = _MultiRun(cfg, Budget.parse(budget), seed, resolve_device(device))
    return run.guarded(run.fit, model, task, report, keep_weights)


class _Bound(nn.Module):
    """``net`` with all inputs but the first fixed, so ``latency_ms(module, x)`` works."""

    def __init__(self, net: nn.Module, rest: tuple[torch.Tensor, ...]):
        super().__init__()
        self.net, self.rest = net, rest

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, *self.rest)


def ordered(net: nn.Module, inputs: Inputs) -> tuple[torch.Tensor, ...]:
    """The task's named inputs in the order ``net`` declares them (``input_names`` of a
    compiled graph); by position when the names differ but the count matches."""
    names = getattr(net, "input_names", None)
    if names is None:
        return tuple(inputs.values())
    if set(names) <= set(inputs):
        return tuple(inputs[n] for n in names)
    if len(names) == len(inputs):
        return tuple(inputs.values())
    raise CandidateFailure(f"runtime error: the model's inputs {list(names)} do not match "
                           f"the task's {list(inputs)}")


class _MultiRun(_Run):
    """A training run over a multi-input task (the state and checks of ``_Run``)."""

    def fit(self, model, task: MultiInputTask, report: Report | None, keep_weights: bool):
        cfg, dev = self.cfg, self.device
        data = task.data_on(dev)
        memory = PeakMemory(dev)
        memory.start()
        net = _build(model, self.seed).to(dev)
        forward = torch.compile(net) if cfg.compile else net
        opt, params = _adamw(net, cfg)
        plan = self.new_plan(task.steps_per_epoch(cfg.batch_size))
        gen = torch.Generator().manual_seed(self.seed)
        loss_sum = torch.zeros((), device=dev)
        self.t0 = plan.start()
        net.train()
        while not plan.done(self.step):
            inputs, target = task.train_batch(data, gen, cfg.batch_size)
            set_lr(opt, _lr_at(plan.position(self.step), plan.schedule_steps, cfg))
            with autocast(dev):
                out = forward(*ordered(net, inputs))
                loss = task.loss(out.float(), target, cfg.label_smoothing)
            optimizer_step(opt, loss, params, cfg)
            loss_sum += loss.detach()
            finished = self._advance(plan, loss_sum)
            if report is not None and self.step % cfg.report_every == 0:
                val = self._score(net, task, data, "val")
                if self.ask(report, val[_key(task)]):
                    return self._result(net, task, data, memory, val, True, keep_weights)
            if finished:
                break
        self._check(loss_sum)
        return self._result(net, task, data, memory, None, False, keep_weights)

    def _score(self, net: nn.Module, task: MultiInputTask, data, split: str) -> dict[str, float]:
        inputs, target = task.split(data, split)
        args = ordered(net, inputs)
        step = self.cfg.eval_batch if task.batch_axis else None
        net.eval()
        with torch.no_grad(), autocast(self.device):
            if step is None:
                out = net(*args).float()
            else:
                n = len(args[0])
                out = torch.cat([net(*(a[i:i + step] for a in args)).float()
                                 for i in range(0, n, step)])
        net.train()
        return task.score(out, target)

    def _result(self, net, task, data, memory, val, pruned: bool, keep_weights: bool) -> Result:
        train_time = self.elapsed()
        if val is None:
            val = self._score(net, task, data, "val")
        metrics = {f"val_{k}": v for k, v in val.items() if k != _key(task)}
        if not pruned:
            test = self._score(net, task, data, "test")
            metrics.update({f"test_{k}": v for k, v in test.items()})
        inputs, _ = task.split(data, "val")
        args = ordered(net, inputs)
        if task.batch_axis:
            args = tuple(a[:1] for a in args)
        metrics.update({"params": float(count_params(net)),
                        "flops": _or_nan(lambda: count_flops(net, args)),
                        "train_loss": self.train_loss, "peak_mem_mb": memory.stop(),
                        "train_time_s": train_time, **self.plan_metrics(),
                        "device": str(self.device)})
        if not pruned:
            bound = _Bound(net, args[1:])
            metrics["latency_ms"] = _or_nan(
                lambda: latency_ms(bound, args[0], runs=self.cfg.latency_runs))
        result = Result(objectives={task.objective[0]: val[_key(task)]}, metrics=metrics,
                        pruned=pruned)
        if keep_weights:
            result.state_dict = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        return result


def _key(task: MultiInputTask) -> str:
    return task.objective[0].removeprefix("val_")
