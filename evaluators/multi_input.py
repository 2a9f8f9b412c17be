"""Training on ``TrainLoop`` for tasks whose models take several inputs (graphs, seq2seq, LMs).

The supervised hooks (``evaluators.trainer``) with batches of named inputs: the task
hands out batches as ``{input name: tensor}`` and the hooks feed them in the graph's
declared order. Same recipe, budgets, failure isolation and ``report`` as ``train``.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import nn

from evaluators.device import autocast
from evaluators.failures import CandidateFailure
from evaluators.loop import LoopTask, TrainLoop
from evaluators.recipe import TrainConfig
from evaluators.trainer import SupervisedHooks
from nas import ArchGraph, Budget, Report, Result

Inputs = dict[str, torch.Tensor]


class TensorTask(LoopTask):
    """The data side of a multi-input task: named tensors, copied once per device, and the
    training recipe (a TrainConfig or its dict); ``evaluate`` trains with
    ``MultiInputHooks``."""

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

    def hooks(self, model: ArchGraph | nn.Module) -> MultiInputHooks:
        return MultiInputHooks(model, self)


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
    loop = TrainLoop(config or TrainConfig(), budget, seed, device, keep_weights)
    return loop.run(MultiInputHooks(model, task), report)


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


class MultiInputHooks(SupervisedHooks):
    """The hooks of a multi-input run: the task's batches of named inputs, fed to the
    model in its declared order; the supervised hooks' validation and result."""

    task: MultiInputTask

    def setup(self, loop: TrainLoop) -> int:
        self.data = self.task.data_on(loop.device)
        self.build(loop)
        self.gen = torch.Generator().manual_seed(loop.seed)
        return self.task.steps_per_epoch(loop.config.batch_size)

    def batch(self, loop: TrainLoop) -> tuple[Inputs, Any]:
        return self.task.train_batch(self.data, self.gen, loop.config.batch_size)

    def loss(self, loop: TrainLoop, batch: tuple[Inputs, Any]) -> torch.Tensor:
        inputs, target = batch
        out = self.forward(*ordered(self.net, inputs))
        return self.task.loss(out.float(), target, loop.config.label_smoothing)

    def score(self, loop: TrainLoop, split: str) -> dict[str, float]:
        inputs, target = self.task.split(self.data, split)
        args = ordered(self.net, inputs)
        step = loop.config.eval_batch if self.task.batch_axis else None
        self.net.eval()
        with torch.no_grad(), autocast(loop.device):
            if step is None:
                out = self.net(*args).float()
            else:
                n = len(args[0])
                out = torch.cat([self.net(*(a[i:i + step] for a in args)).float()
                                 for i in range(0, n, step)])
        self.net.train()
        return self.task.score(out, target)

    def example(self, loop: TrainLoop) -> tuple[torch.Tensor, ...]:
        """One validation example: one sample, or the whole validation graph when the
        task has no batch axis."""
        args = ordered(self.net, self.task.split(self.data, "val")[0])
        return tuple(a[:1] for a in args) if self.task.batch_axis else args
