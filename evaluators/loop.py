"""The one training loop: every task that trains runs ``TrainLoop`` with hooks of its own.

A task says what one run does in a ``LoopHooks`` subclass; ``TrainLoop.run(hooks,
report)`` owns the rest:

    hooks.setup(loop) -> steps per epoch     build the model (``build_model``), the
                                             optimizers (``loop.adamw``), the batches
    until the StepPlan says stop:
        the lr of the step, on every optimizer made by ``loop.adamw``
        hooks.train_step(loop) -> loss(es)   default: ``loss(loop, batch(loop))`` under
                                             autocast, then ``loop.optimize(loss)``
        hooks.after_step(loop)               optional extra work (an EMA target, ...)
        a non-finite check every ``check_every`` steps, the time limit
        every ``report_every`` steps: ``report(step, hooks.validate(loop))``; True prunes
    hooks.result(loop, pruned) -> Result     scores, costs, ``loop.kept_weights(module)``

Whatever a bad candidate does (fails to build, raises, diverges, runs out of memory or
time) becomes a failed Result saying how far it got, and the process stays healthy for
the next one. A task whose ``evaluate`` is this loop derives from ``LoopTask``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

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
from evaluators.measure import PeakMemory
from evaluators.recipe import TrainConfig, adamw, optimizer_step, set_lr
from evaluators.schedule import StepPlan
from nas import ArchGraph, Budget, Report, Result, compile_graph
from nas.graphspace import load_start_weights
from nas.result import traceback_text


class LoopHooks:
    """What one training run does, as hooks ``TrainLoop`` calls (one instance per run).

    Implement ``setup``, ``validate`` and ``result``, and either ``batch`` and ``loss``
    (one loss, one optimizer) or ``train_step`` (several optimizers, as a GAN's).
    ``loss_names`` names what ``train_step`` returns, in order: one loss, or a vector
    of them; ``loop.train_losses`` holds their means since the last check.
    """

    loss_names: tuple[str, ...] = ("train_loss",)

    def setup(self, loop: TrainLoop) -> int:
        """Build the model (``build_model(model, loop.seed)``), its optimizers
        (``loop.adamw``) and the batches; return the steps in an epoch."""
        raise NotImplementedError

    def batch(self, loop: TrainLoop):
        """The next training batch (anything ``loss`` takes)."""
        raise NotImplementedError

    def loss(self, loop: TrainLoop, batch) -> torch.Tensor:
        """The training loss of ``batch`` (called under the device's autocast)."""
        raise NotImplementedError

    def train_step(self, loop: TrainLoop) -> torch.Tensor:
        """One step: the loss of the next batch and one step of the only optimizer.
        Returns the loss (or a vector of losses, one per ``loss_names``)."""
        batch = self.batch(loop)
        with autocast(loop.device):
            loss = self.loss(loop, batch)
        loop.optimize(loss)
        return loss

    def after_step(self, loop: TrainLoop) -> None:
        """Extra work after each step (``loop.step`` is already counted); none here."""

    def validate(self, loop: TrainLoop) -> float:
        """The value ``report`` gets (the objective on the validation split). A hook
        may keep what it computed for ``result`` after a pruning report."""
        raise NotImplementedError

    def result(self, loop: TrainLoop, pruned: bool) -> Result:
        """The run's Result; a pruned run follows a ``validate`` call."""
        raise NotImplementedError


class _ReportError(Exception):
    """Wraps an exception raised by the caller's report(), which is not the candidate's."""


class TrainLoop:
    """One training run of a candidate within ``budget`` (make one per run).

    ``run(hooks, report)`` returns the hooks' Result, or a failed Result whose error
    starts with one of ``evaluators.failures.REASONS``. ``report(step, value)`` gets
    ``hooks.validate(loop)`` every ``config.report_every`` steps; returning True stops
    the run (``pruned=True``); errors raised by ``report`` itself propagate. The hooks
    read the run's state: ``config``, ``seed``, ``device``, ``step``, ``plan`` (the
    ``StepPlan``: ``plan.position(step)`` on ``plan.schedule_steps``),
    ``train_losses``, ``train_time_s``, ``memory`` (a started ``PeakMemory``).
    """

    def __init__(self, config: TrainConfig, budget: Budget | str | float, seed: int = 0,
                 device: str | torch.device = "auto", keep_weights: bool = False):
        self.config = config
        self.budget = Budget.parse(budget)
        self.seed = seed
        self.device = resolve_device(device)
        self.keep_weights = keep_weights  # kept_weights() returns the state dict
        self.step = 0
        self.checked = 0  # the step of the last non-finite check
        self.plan: StepPlan | None = None  # set once the hooks are set up
        self.optimizers: list[tuple[torch.optim.Optimizer, list[torch.Tensor]]] = []
        self.memory = PeakMemory(self.device)  # model, optimizer state and activations
        self.train_losses: dict[str, float] = {}  # means over the steps up to the last check
        self.train_time_s = math.nan  # training time, set before ``result``
        self.t0: float | None = None
        self._ran = False
        self._loss_sum: torch.Tensor | None = None  # since the last check; NaN stays in a sum

    # ------------------------------------------------------------ for the hooks
    def adamw(self, module: nn.Module) -> torch.optim.Optimizer:
        """AdamW over ``module``'s trainable parameters (``evaluators.adamw``); the loop
        sets its lr each step and ``optimize`` clips its gradients."""
        opt, params = adamw(module, self.config)
        self.optimizers.append((opt, params))
        return opt

    def optimize(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer | None = None
                 ) -> None:
        """Backward ``loss`` and step ``optimizer`` (default: the only one), clipping
        its gradients first."""
        if optimizer is None and len(self.optimizers) != 1:
            raise ValueError(f"optimize() without an optimizer needs exactly one from "
                             f"loop.adamw, there are {len(self.optimizers)}")
        opt, params = next((o, p) for o, p in self.optimizers
                           if optimizer is None or o is optimizer)
        optimizer_step(opt, loss, params, self.config)

    def kept_weights(self, module: nn.Module) -> dict[str, torch.Tensor] | None:
        """``module``'s state dict on the CPU when the run keeps weights, else None."""
        if not self.keep_weights:
            return None
        return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}

    def plan_metrics(self) -> dict[str, float]:
        """``steps`` and the plan's ``planned_steps``, ``capped`` and ``step_ms``."""
        out = {"steps": float(self.step)}
        if self.plan is not None:
            out.update(self.plan.metrics(self.step))
        return out

    def elapsed(self) -> float:
        """Seconds since the first step started."""
        return 0.0 if self.t0 is None else time.perf_counter() - self.t0

    # ------------------------------------------------------------ the run
    def run(self, hooks: LoopHooks, report: Report | None = None) -> Result:
        """Train with ``hooks``; whatever the candidate does, a Result."""
        if self._ran:
            raise RuntimeError("a TrainLoop runs once: make one per run")
        self._ran = True
        try:
            return self._train(hooks, report)
        except _ReportError as exc:
            raise exc.__cause__ from None
        except Exception as exc:  # a bad candidate must never crash the search
            reason, trace = describe_failure(exc), traceback_text(exc)  # text: pins nothing
        free_memory(self.device)  # after the except block: its traceback no longer pins tensors
        return Result.failure(reason, trace, **self.plan_metrics(), train_time_s=self.elapsed(),
                              device=str(self.device))

    def _train(self, hooks: LoopHooks, report: Report | None) -> Result:
        cfg = self.config
        self.train_losses = dict.fromkeys(hooks.loss_names, math.nan)
        self.memory.start()
        self.plan = plan = StepPlan(self.budget, hooks.setup(self), cfg.probe_steps,
                                    device=self.device)
        self.t0 = plan.start()
        while not plan.done(self.step):
            lr = cfg.lr_at(plan.position(self.step), plan.schedule_steps)
            for opt, _ in self.optimizers:
                set_lr(opt, lr)
            loss = hooks.train_step(self)
            self.step += 1
            hooks.after_step(self)
            finished = self._advance(loss)
            if report is not None and self.step % cfg.report_every == 0 \
                    and self._ask(report, hooks.validate(self)):
                return self._finish(hooks, pruned=True)
            if finished:
                break
        self._check()
        return self._finish(hooks, pruned=False)

    def _advance(self, loss: torch.Tensor) -> bool:
        """Count a step's loss, run the periodic non-finite check and the time limit,
        then whether the plan says stop."""
        if self._loss_sum is None:
            self._loss_sum = torch.zeros(loss.shape, device=self.device)
        self._loss_sum += loss.detach()
        if self.step % self.config.check_every == 0:
            self._check()
        self._check_time_limit()
        return self.plan.advance(self.step)

    def _finish(self, hooks: LoopHooks, pruned: bool) -> Result:
        self.train_time_s = self.elapsed()
        return hooks.result(self, pruned)

    def _ask(self, report: Report, value: float) -> bool:
        """``report(step, value)`` for a pruner; True stops the run (pruned)."""
        try:
            return bool(report(self.step, value))
        except Exception as exc:
            raise _ReportError() from exc

    def _check_time_limit(self) -> None:
        """Fail a candidate still training after ``time_limit_s``."""
        limit = self.config.time_limit_s
        spent = self.elapsed()
        if limit is not None and spent > limit:
            raise CandidateFailure(f"time limit: still training after {spent:.1f} s "
                                   f"(limit {limit} s) at step {self.step}")

    def _check(self) -> None:
        """Fail on a NaN or Inf loss since the last check (one host sync), and keep the
        mean of each loss over those steps."""
        since = self.step - self.checked
        if since == 0:
            return
        values = self._loss_sum.reshape(-1).tolist()
        if not all(math.isfinite(v) for v in values):
            raise CandidateFailure(f"non-finite loss (NaN or Inf) by step {self.step}")
        self.train_losses = dict(zip(self.train_losses, (v / since for v in values),
                                     strict=True))
        self.checked = self.step
        self._loss_sum.zero_()


class LoopTask:
    """A task whose ``evaluate`` is one ``TrainLoop`` run with the hooks of ``hooks``.

    Subclasses set ``default_budget`` and ``config`` and implement ``hooks(model)``.
    """

    default_budget: Budget
    config: TrainConfig

    def hooks(self, model) -> LoopHooks:
        """The hooks of one run training ``model`` (a graph or a module) on this task."""
        raise NotImplementedError

    def evaluate(self, graph: ArchGraph | nn.Module, budget: Budget | str | None = None,
                 seed: int = 0, device: str = "auto", report: Report | None = None,
                 keep_weights: bool = False) -> Result:
        """Train ``graph`` within ``budget`` (default ``default_budget``) and score it;
        ``keep_weights`` returns the trained weights in ``result.state_dict``."""
        loop = TrainLoop(self.config, self.default_budget if budget is None else budget,
                         seed, device, keep_weights)
        return loop.run(self.hooks(graph), report)

    def supernet_model(self, supernet) -> nn.Module:
        """What this task's hooks train for one-shot search: the supernet itself, which
        runs its active candidate (a task whose models wrap a graph's module, or split
        it, overrides this and ``inherited_model``)."""
        return supernet

    def inherited_model(self, supernet, graph: ArchGraph) -> nn.Module:
        """What this task's hooks score for ``graph`` with inherited weights: a
        standalone copy of the candidate (``supernet.extract``)."""
        return supernet.extract(graph)

    def train_supernet(self, supernet, budget: Budget | str | float, sampling: str = "uniform",
                       seed: int = 0, device: str = "auto", progress=None,
                       on_path=None, lr: float | None = None) -> Result:
        """Train a ``nas.supernet.SuperNet`` on this task (``evaluators.oneshot``)."""
        from evaluators.oneshot import train_supernet

        return train_supernet(self, supernet, budget, sampling, seed, device, progress,
                              on_path, lr)

    def score_inherited(self, supernet, graph: ArchGraph, seed: int = 0, device: str = "auto",
                        calib_batches: int = 20, finetune_steps: int = 0) -> Result:
        """This task's Result for ``graph`` with inherited supernet weights, untrained
        or fine-tuned ``finetune_steps`` (``evaluators.oneshot.score_inherited``)."""
        from evaluators.oneshot import score_inherited

        return score_inherited(self, supernet, graph, seed, device, calib_batches,
                               finetune_steps)

    def search_darts(self, space, budget: Budget | str | float, **options):
        """A differentiable (DARTS) search of ``space`` on this task
        (``evaluators.darts.search_darts``): the discretized cell and the alpha trajectory."""
        from evaluators.darts import search_darts

        return search_darts(self, space, budget, **options)


def build_model(model: ArchGraph | nn.Module, seed: int) -> nn.Module:
    """The module to train, after ``torch.manual_seed(seed)`` (weights, dropout), so CPU
    runs repeat; a graph's build errors are compile errors. A graph with start weights
    (a ``nas.GraphSpace`` candidate inheriting its parent's) starts from them."""
    torch.manual_seed(seed)
    if isinstance(model, nn.Module):
        return model
    try:
        module = compile_graph(model)
    except Exception as exc:
        if is_out_of_memory(exc):
            raise
        raise compile_failure(exc) from exc
    load_start_weights(module, model)  # a GraphSpace child inherits its parent's weights
    return module


def measure_or_nan(measure: Callable[[], float]) -> float:
    """A cost measurement, or NaN when it cannot be taken (an op the FLOP counter
    rejects, say): a trained candidate is not failed for its bookkeeping."""
    try:
        return float(measure())
    except Exception as exc:
        if is_out_of_memory(exc):
            raise
        return math.nan
