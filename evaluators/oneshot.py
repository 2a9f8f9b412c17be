"""One-shot evaluation on the one training loop: train a supernet, score candidates on it.

``train_supernet(task, supernet, budget)`` runs ``TrainLoop`` with the task's own hooks
on the supernet (the hooks' model): one AdamW over the whole weight store; each step
takes the candidates of ``supernet.paths(sampling)``, runs the task's loss of one
training batch through each, sums them (gradients accumulate over the step's paths)
and takes one optimizer step. A weight a step's candidates do not use gets no gradient
and no update; a sliced weight's unused part gets a zero gradient (AdamW's moments and
decay still move it, as in Once-for-All with Adam).

``score_inherited(task, supernet, graph)`` is the task's ordinary Result for the
candidate with its inherited weights and no training: its batch-norm statistics are
reset and recomputed as the plain average over ``calib_batches`` training batches (a
shared supernet's running statistics belong to no single candidate), then the
objective on the validation split, and params/FLOPs/latency of the candidate's own
graph; with ``finetune_steps`` the copy is first trained that many steps (the store is
untouched). Both are also ``LoopTask`` methods, which is how ``nas`` reaches them.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Iterator

import torch
from torch import nn

from evaluators.device import autocast
from evaluators.failures import compile_failure, describe_failure, is_out_of_memory
from evaluators.loop import LoopHooks, LoopTask, TrainLoop
from evaluators.recipe import set_lr
from nas import ArchGraph, Budget, Result
from nas.supernet import SuperNet

SUPERNET_LR_SCALE = 0.3  # a supernet's peak lr, unless given: this share of the task's
# (cnn on mnist1d, 5 seeds: winners 0.9932 after `nas train` at 0.3x, 0.9882 at 1x with
# uniform sampling, whose update per pass made the candidates without batch norm spike;
# bench/results/oneshot_cost_uniform*.md)

Progress = Callable[[int, int | None], None]
OnPath = Callable[[int, ArchGraph, float], None]  # (step, candidate, its training loss)


def _own(hooks: LoopHooks, name: str) -> bool:
    """Whether ``hooks`` overrides LoopHooks' method ``name``."""
    return getattr(type(hooks), name) is not getattr(LoopHooks, name)


class SupernetHooks(LoopHooks):
    """The task's hooks, training every path of a step on the supernet's store.

    Hooks with their own ``train_step`` (several optimizers, as a GAN's) take one
    step per path instead of one accumulated step.
    """

    def __init__(self, inner: LoopHooks, supernet: SuperNet,
                 paths: Iterator[list[ArchGraph]], progress: Progress | None = None,
                 on_path: OnPath | None = None):
        self.inner, self.supernet, self.paths, self.progress = inner, supernet, paths, progress
        self.on_path = on_path
        self.loss_names = inner.loss_names
        self.trained_paths = 0

    def setup(self, loop: TrainLoop) -> int:
        self.supernet.activate(next(self.paths)[0])  # a model to run before the first step
        return self.inner.setup(loop)

    def train_step(self, loop: TrainLoop) -> torch.Tensor:
        graphs = next(self.paths)
        self.trained_paths += len(graphs)
        if _own(self.inner, "train_step"):
            for graph in graphs:
                self.supernet.activate(graph)
                loss = self.inner.train_step(loop)
                self._tell(loop, graph, loss)
            return loss
        batch = self.inner.batch(loop)  # one batch for every path of the step (FairNAS)
        total = None
        for graph in graphs:
            self.supernet.activate(graph)
            with autocast(loop.device):
                loss = self.inner.loss(loop, batch)
            self._tell(loop, graph, loss)
            total = loss if total is None else total + loss
        loop.optimize(total)
        return total.detach() / len(graphs)

    def _tell(self, loop: TrainLoop, graph: ArchGraph, loss: torch.Tensor) -> None:
        """``on_path`` of the candidate's loss (a host sync: only when asked for)."""
        if self.on_path is not None:
            self.on_path(loop.step, graph, float(loss.detach().float().sum()))

    def after_step(self, loop: TrainLoop) -> None:
        self.inner.after_step(loop)
        if self.progress is not None:
            self.progress(loop.step, loop.plan.total if loop.plan is not None else None)

    def validate(self, loop: TrainLoop) -> float:
        return self.inner.validate(loop)

    def result(self, loop: TrainLoop, pruned: bool) -> Result:
        result = self.inner.result(loop, pruned)
        result.metrics.update({"supernet_mb": self.supernet.store_mb,
                               "trained_paths": float(self.trained_paths)})
        return result


def batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The batch norms of ``module`` that keep running statistics."""
    return [m for m in module.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


class CalibrateHooks(LoopHooks):
    """No training: ``calib_batches`` forwards of training batches in training mode
    recompute the batch-norm statistics (reset, then a plain average: momentum None),
    then the task's ordinary result. Hooks with their own ``train_step`` (a GAN's) run
    it with every learning rate at 0, which leaves the weights as they are."""

    def __init__(self, inner: LoopHooks, net: nn.Module, calib_batches: int):
        self.inner, self.net, self.calib_batches = inner, net, calib_batches
        self.loss_names = inner.loss_names
        self.norms = batch_norms(net)
        self.momenta = [m.momentum for m in self.norms]

    def setup(self, loop: TrainLoop) -> int:
        n = self.inner.setup(loop)
        self.setup_norms()
        return n

    def setup_norms(self) -> None:
        """Reset the statistics; momentum None: a plain average over what follows."""
        for m in self.norms:
            m.reset_running_stats()
            m.momentum = None

    def train_step(self, loop: TrainLoop) -> torch.Tensor:
        if self.calib_batches and self.norms:
            self.net.train()
            if _own(self.inner, "train_step"):
                for opt, _ in loop.optimizers:
                    set_lr(opt, 0.0)
                return self.inner.train_step(loop)
            with torch.no_grad(), autocast(loop.device):
                return self.inner.loss(loop, self.inner.batch(loop)).float()
        return torch.zeros(len(self.loss_names) if len(self.loss_names) > 1 else (),
                           device=loop.device)

    def validate(self, loop: TrainLoop) -> float:
        return self.inner.validate(loop)

    def restore_momenta(self) -> None:
        for m, momentum in zip(self.norms, self.momenta, strict=True):
            m.momentum = momentum

    def result(self, loop: TrainLoop, pruned: bool) -> Result:
        self.restore_momenta()
        return self.inner.result(loop, pruned)


def passes_budget(budget: Budget | str | float, per_step: int) -> Budget:
    """A budget of N steps read as N candidate passes: ceil(N / ``per_step``) steps of
    ``per_step`` paths each (so fair and sandwich sampling cost what uniform does).
    Epochs and seconds are left as they are."""
    b = Budget.parse(budget)
    if b.unit != "steps" or per_step <= 1:
        return b
    return dataclasses.replace(b, amount=math.ceil(b.amount / per_step))


def train_supernet(task: LoopTask, supernet: SuperNet, budget: Budget | str | float,
                   sampling: str = "uniform", seed: int = 0, device: str = "auto",
                   progress: Progress | None = None, on_path: OnPath | None = None,
                   lr: float | None = None) -> Result:
    """Train ``supernet``'s store on ``task`` within ``budget``: candidate passes (a
    budget in steps, ``passes_budget``), epochs or seconds of the one loop.

    Each step trains the candidates of ``supernet.paths(sampling, seed)`` on one
    training batch (``"uniform"``: SPOS, one a step; ``"fair"``: FairNAS, m a step;
    ``"sandwich"``: four a step), so every sampling gets the same passes.
    ``progress(step, total)`` is called after each step; ``on_path(step, graph, loss)``
    with each candidate's training loss (which parts of a space the supernet learns:
    ``bench/oneshot.py --trace``). ``lr``: the supernet's peak learning rate (None:
    ``SUPERNET_LR_SCALE`` times the task recipe's: every step of a supernet trains weights
    that other candidates also use, and at the full rate those pulls make candidates
    without normalization spike); candidates' own trainings keep the recipe's. Returns
    the run's Result (the task's metrics of the last trained candidate, plus
    ``supernet_mb`` and ``trained_paths``); a failure is a failed Result, as for any candidate.
    """
    paths = supernet.paths(sampling, seed)
    first = next(paths)
    paths = itertools.chain([first], paths)
    peak = task.config.lr * SUPERNET_LR_SCALE if lr is None else lr
    config = dataclasses.replace(task.config, lr=peak)
    loop = TrainLoop(config, passes_budget(budget, len(first)), seed, device)
    hooks = task.hooks(task.supernet_model(supernet))
    return loop.run(SupernetHooks(hooks, supernet, paths, progress, on_path))


def score_inherited(task: LoopTask, supernet: SuperNet, graph: ArchGraph, seed: int = 0,
                    device: str = "auto", calib_batches: int = 20,
                    finetune_steps: int = 0) -> Result:
    """The task's Result for ``graph`` with the weights it inherits from ``supernet``:
    batch-norm statistics recalibrated on ``calib_batches`` training batches, the
    objective on the validation split, the candidate's own params/FLOPs/latency, and
    ``coverage`` (the share of its parameters the store held).

    ``finetune_steps`` > 0 first trains the inherited copy that many steps of the
    task's own loop (its recipe: warm-up and cosine decay over those steps), so the
    score says how well the candidate does from its inherited start rather than how
    well the shared weights happen to fit it; the store is untouched (the copy is the
    candidate's own). Its cost is ``finetune_steps`` stand-alone steps a candidate."""
    if calib_batches < 0:
        raise ValueError(f"calib_batches must be >= 0, got {calib_batches}")
    if finetune_steps < 0:
        raise ValueError(f"finetune_steps must be >= 0, got {finetune_steps}")
    try:
        net = task.inherited_model(supernet, graph)
    except Exception as exc:  # a candidate that cannot be built is a failed Result
        return Result.failure(describe_failure(exc if is_out_of_memory(exc)
                                               else compile_failure(exc)))
    if finetune_steps:
        loop = TrainLoop(task.config, Budget(finetune_steps, "steps"), seed, device)
        result = loop.run(FinetuneHooks(task.hooks(net), net, calib_batches))
    else:
        loop = TrainLoop(task.config, Budget(max(1, calib_batches), "steps"), seed, device)
        result = loop.run(CalibrateHooks(task.hooks(net), net, calib_batches))
    result.metrics.update({"coverage": supernet.coverage(graph),
                           "calib_batches": float(calib_batches),
                           "finetune_steps": float(finetune_steps)})
    return result


class FinetuneHooks(LoopHooks):
    """The task's own training of the inherited copy ``net``, its batch-norm statistics
    first recomputed (``CalibrateHooks``' plain average over ``calib_batches``
    training batches, before the first step), then updated as in any training."""

    def __init__(self, inner: LoopHooks, net: nn.Module, calib_batches: int):
        self.inner, self.net, self.calib_batches = inner, net, calib_batches
        self.loss_names = inner.loss_names

    def setup(self, loop: TrainLoop) -> int:
        n = self.inner.setup(loop)
        calibrate = CalibrateHooks(self.inner, self.net, self.calib_batches)
        calibrate.setup_norms()
        for _ in range(self.calib_batches if calibrate.norms else 0):
            calibrate.train_step(loop)
        calibrate.restore_momenta()
        return n

    def batch(self, loop: TrainLoop):
        return self.inner.batch(loop)

    def loss(self, loop: TrainLoop, batch) -> torch.Tensor:
        return self.inner.loss(loop, batch)

    def train_step(self, loop: TrainLoop) -> torch.Tensor:
        return self.inner.train_step(loop)

    def after_step(self, loop: TrainLoop) -> None:
        self.inner.after_step(loop)

    def validate(self, loop: TrainLoop) -> float:
        return self.inner.validate(loop)

    def result(self, loop: TrainLoop, pruned: bool) -> Result:
        return self.inner.result(loop, pruned)
