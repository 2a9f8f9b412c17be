"""Differentiable search (DARTS family) on the one training loop.

``search_darts(task, space, budget)`` trains a ``nas.darts`` mixed network with the
task's own supervised hooks on ``TrainLoop``: each step first updates alpha with Adam
on a batch of the *validation* split (``nas.darts.arch_step``: the gradient reaches
alpha only), then the network weights with the loop's optimizer on a *training* batch
(the mixing weights detached: the gradient reaches the weights only). First order: the
weights are not unrolled. Under the DARTS- guard the auxiliary skip's ``beta`` decays
linearly from ``beta0`` to 0 over the run. The mixing probabilities are recorded every
``record_every`` steps (the trajectory). At the end alpha is discretized (argmax per
decision) into an ordinary ``ArchGraph`` (``space.resolve`` of the answers), which is
then trained stand-alone as any candidate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from evaluators.darts_data import ARCH_DATA, arch_batches
from evaluators.device import autocast
from evaluators.loop import LoopHooks, LoopTask, TrainLoop
from nas import ArchGraph, Budget, Result
from nas.darts import (
    DEFAULT_GUARD,
    Architecture,
    DartsSpace,
    arch_step,
    darts_minus_beta,
    gdas_tau,
    mixed_space,
    parameter_free,
)
from nas.darts._select import DEFAULT_SELECT, SELECTS, perturbation_answers
from nas.darts._settings import ARCH_DATA_DEFAULT, PATIENCE, PRUNE_AT, WARMUP
from nas.darts._steps import mix_for_weights

ARCH_LR = 3e-3  # Adam on alpha (DARTS' 3e-4 is for 50 epochs; these searches are short)
ARCH_WEIGHT_DECAY = 1e-3  # DARTS'
Progress = Callable[[int, int | None, dict], None]  # (step, planned steps, current argmax)


@dataclass
class DartsOutcome:
    """What a differentiable search found: the discretized candidate and how it got there."""

    answers: dict  # the mixed decisions' argmax options
    graph: ArchGraph | None  # space.resolve of answers (with the fixed decisions)
    decisions: dict  # every decision of graph
    guard: str
    trajectory: list[dict] = field(default_factory=list)  # {"step": n, "probs": {...}}
    result: Result | None = None  # the search run's Result (the mixed network's scores)
    search_time_s: float = 0.0
    options: dict = field(default_factory=dict)  # each mixed decision's options, in order
    steps: int = 0  # search steps run (fewer than the budget's when the argmax settled)
    pruned: list[dict] = field(default_factory=list)  # {"step": n, "dropped": {...}}
    select: str = DEFAULT_SELECT  # how the answers were read off: alpha or perturb
    perturbation: dict = field(default_factory=dict)  # perturb: val loss without each option

    @property
    def parameter_free(self) -> int:
        """How many of the found ops are parameter-free (none, skip, pooling)."""
        return parameter_free(self.answers)

    def to_dict(self) -> dict:
        """The JSON form saved in the run folder (``darts/trajectory.json``)."""
        return {"guard": self.guard, "answers": self.answers, "options": self.options,
                "decisions": self.decisions,
                "parameter_free": self.parameter_free, "search_time_s": self.search_time_s,
                "steps": self.steps, "pruned": self.pruned, "select": self.select,
                "perturbation": {k: [None if math.isnan(v) else v for v in row]
                                 for k, row in self.perturbation.items()},
                "trajectory": self.trajectory,
                "error": None if self.result is None else self.result.error}


class Settled:
    """Early stopping on the discretization: called with each step's answers, True
    once they have been the same for ``patience`` steps in a row (0: never)."""

    def __init__(self, patience: int):
        self.patience, self.last, self.same = patience, None, 0

    def __call__(self, answers: dict) -> bool:
        self.same = self.same + 1 if answers == self.last else 0
        self.last = answers
        return bool(self.patience) and self.same >= self.patience


class DartsHooks(LoopHooks):
    """The task's supervised hooks, with an architecture update before each weight step."""

    def __init__(self, inner: LoopHooks, ds: DartsSpace, arch: Architecture,
                 arch_lr: float = ARCH_LR, beta0: float = 1.0, record_every: int = 1,
                 progress: Progress | None = None, warmup: float = WARMUP,
                 patience: int = PATIENCE, arch_data: str = ARCH_DATA_DEFAULT,
                 prune_at: tuple[float, ...] = PRUNE_AT):
        if arch_data not in ARCH_DATA:
            raise ValueError(f"arch_data must be one of {', '.join(ARCH_DATA)}, "
                             f"got {arch_data!r}")
        self.inner, self.ds, self.arch = inner, ds, arch
        self.arch_data, self.prune_at = arch_data, tuple(prune_at)
        self.pruned: list[dict] = []
        self.arch_lr, self.beta0, self.record_every = arch_lr, beta0, record_every
        self.progress = progress
        self.warmup, self.patience = warmup, patience
        self.settled = Settled(patience)
        self.stopped_at: int | None = None
        self.loss_names = inner.loss_names
        self.trajectory: list[dict] = []
        self.beta = beta0 if arch.guard == "darts-" else 0.0

    def setup(self, loop: TrainLoop) -> int:
        n = self.inner.setup(loop)
        data = getattr(self.inner, "data", None)
        if data is None or not hasattr(data, "x_val") or not callable(
                getattr(getattr(self.inner, "task", None), "loss", None)):
            raise TypeError("differentiable search needs a supervised task (train and "
                            "validation splits and a loss); this task's hooks have none")
        self.arch.to(loop.device)
        self.opt = torch.optim.Adam(self.arch.parameters(), lr=self.arch_lr,
                                    betas=(0.5, 0.999), weight_decay=ARCH_WEIGHT_DECAY)
        self.arch_x, self.arch_y, self.val_batches = arch_batches(
            self.inner, self.arch_data, loop)
        self._record(0)
        return n

    def _record(self, step: int) -> None:
        self.trajectory.append({"step": step, "beta": round(self.beta, 6),
                                "probs": self.arch.snapshot()})

    def _set_beta(self, loop: TrainLoop) -> None:
        """DARTS-'s auxiliary skip weight and GDAS' temperature at this step."""
        total = loop.plan.schedule_steps if loop.plan is not None else 0
        if self.arch.guard == "darts-":
            self.beta = darts_minus_beta(loop.step, total, self.beta0)
        elif self.arch.guard == "gdas":
            self.arch.tau = gdas_tau(loop.step, total)

    def train_step(self, loop: TrainLoop) -> torch.Tensor:
        self._set_beta(loop)
        inner, net = self.inner, self.ds.net
        idx = next(self.val_batches)
        xv, yv = self.arch_x[idx], self.arch_y[idx]

        def val_loss() -> torch.Tensor:
            with autocast(loop.device):
                return inner.task.loss(inner.forward(xv), yv)

        if loop.step >= self._warmup_steps(loop):
            arch_step(net, self.arch, self.opt, val_loss, self.beta)
        mix_for_weights(net, self.arch, self.beta)
        batch = inner.batch(loop)
        with autocast(loop.device):
            loss = inner.loss(loop, batch)
        loop.optimize(loss)
        return loss.detach()

    def _warmup_steps(self, loop: TrainLoop) -> int:
        """Steps that train the weights alone before alpha moves (DARTS+, PC-DARTS)."""
        total = loop.plan.schedule_steps if loop.plan is not None else 0
        return int(self.warmup * total)

    def _prune_steps(self, loop: TrainLoop) -> list[int]:
        """The steps after which each decision's weakest option is dropped."""
        total = loop.plan.schedule_steps if loop.plan is not None else 0
        return [max(1, int(share * total)) for share in self.prune_at]

    def after_step(self, loop: TrainLoop) -> None:
        self.inner.after_step(loop)
        prune_steps = self._prune_steps(loop)
        for _ in range(prune_steps.count(loop.step)):
            self.pruned.append({"step": loop.step, "dropped": self.arch.prune_weakest()})
        if loop.step % self.record_every == 0:
            self._record(loop.step)
        searching = max([self._warmup_steps(loop), *prune_steps])
        if loop.step > searching and self.settled(self.arch.answers()) \
                and loop.plan is not None and self.stopped_at is None:
            self.stopped_at = loop.step
            loop.plan.total = loop.step  # the plan ends here: the argmax has settled
        if self.progress is not None:
            self.progress(loop.step, loop.plan.total if loop.plan is not None else None,
                          self.arch.answers())

    def _expected(self) -> None:
        probs = {k: p.detach() for k, p in self.arch.probabilities().items()}
        self.ds.net.set_mixing(probs, self.beta, self.arch.skipped(probs))

    def val_loss(self, loop: TrainLoop) -> float:
        """The mixed network's loss on the whole validation split, in eval mode, with
        the mixing weights as set (what ``select="perturb"`` compares)."""
        inner = self.inner
        return float(inner.task.loss(inner.outputs(loop, "val"), inner.data.y_val))

    def validate(self, loop: TrainLoop) -> float:
        self._expected()
        return self.inner.validate(loop)

    def result(self, loop: TrainLoop, pruned: bool) -> Result:
        if not self.trajectory or self.trajectory[-1]["step"] != loop.step:
            self._record(loop.step)
        self._expected()
        return self.inner.result(loop, pruned)


def search_darts(task: LoopTask, space, budget: Budget | str | float,
                 guard: str = DEFAULT_GUARD, seed: int = 0, device: str = "auto",
                 arch_lr: float = ARCH_LR, beta0: float = 1.0, record_every: int = 1,
                 progress: Progress | None = None, warmup: float = WARMUP,
                 patience: int = PATIENCE, arch_data: str = ARCH_DATA_DEFAULT,
                 prune_at: tuple[float, ...] = PRUNE_AT,
                 select: str = DEFAULT_SELECT) -> DartsOutcome:
    """Differentiable search of ``space`` on ``task`` within ``budget`` (steps of the
    task's loop); the discretized candidate and the alpha trajectory. ``select``: how
    the answers are read off the trained mixed network (``nas.darts.SELECTS``: the
    largest alpha, or DARTS-PT's perturbation of the validation loss). A failed run
    (diverged, out of memory) gives an outcome with ``graph`` None and the error."""
    if select not in SELECTS:
        raise ValueError(f"select must be one of {', '.join(SELECTS)}, got {select!r}")
    with torch.random.fork_rng(devices=[]):  # the mixed network's initial weights:
        torch.manual_seed(seed)  # from the seed, not from whatever ran before
        ds = mixed_space(space, seed)
    arch = Architecture(ds.choices, guard=guard, seed=seed)
    hooks = DartsHooks(task.hooks(ds.net), ds, arch, arch_lr, beta0, record_every, progress,
                       warmup, patience, arch_data, prune_at)
    t0 = time.perf_counter()
    loop = TrainLoop(task.config, budget, seed, device)
    result = loop.run(hooks)
    answers, perturbation = arch.answers(), {}
    if select == "perturb" and result.ok:
        answers, perturbation = perturbation_answers(
            arch, ds.net, lambda: hooks.val_loss(loop), hooks.beta)
    spent = time.perf_counter() - t0
    graph, decisions = ds.resolve(answers) if result.ok else (None, {})
    steps = int(result.metrics.get("steps", len(hooks.trajectory) and
                                   hooks.trajectory[-1]["step"]))
    return DartsOutcome(answers, graph, decisions, guard, hooks.trajectory, result, spent,
                        ds.choices, steps, hooks.pruned, select, perturbation)


__all__ = ["ARCH_LR", "DartsHooks", "DartsOutcome", "search_darts"]
