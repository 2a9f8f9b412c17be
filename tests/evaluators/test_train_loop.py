"""The public training loop (``evaluators.TrainLoop``) with a task of a user's own.

``SumTask`` below is the whole of a new task with its own loop: one ``LoopHooks``
subclass (setup, batch, loss, validate, result: about 30 lines) and one ``LoopTask``
subclass (the task's data, objective and budget: about 15 lines), in one file. The loop
brings the lr schedule, budgets, non-finite checks, the time limit, failure
isolation, pruning reports and ``keep_weights``.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import nas
from evaluators import LoopHooks, LoopTask, TrainConfig, TrainLoop, build_model
from nas import Budget, Result


# ---------------------------------------------------------------- the user's task
class SumHooks(LoopHooks):
    """Regress the sum of a sample's 4 values; fresh random samples every step."""

    def __init__(self, model, task: SumTask):
        self.model, self.task = model, task

    def setup(self, loop: TrainLoop) -> int:
        self.net = build_model(self.model, loop.seed).to(loop.device)
        loop.adamw(self.net)
        self.gen = torch.Generator().manual_seed(loop.seed)
        return 1  # an "epoch" is a step: the data never runs out

    def batch(self, loop: TrainLoop) -> torch.Tensor:
        return torch.randn(32, 4, generator=self.gen).to(loop.device)

    def loss(self, loop: TrainLoop, x: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self.net(x), x.sum(1, keepdim=True))

    @torch.no_grad()
    def validate(self, loop: TrainLoop) -> float:
        x = self.task.x_val.to(loop.device)
        return F.mse_loss(self.net(x), x.sum(1, keepdim=True)).item()

    def result(self, loop: TrainLoop, pruned: bool) -> Result:
        return Result({"val_mse": self.validate(loop)},
                      {**loop.train_losses, **loop.plan_metrics()}, pruned=pruned,
                      state_dict=loop.kept_weights(self.net))


class SumTask(LoopTask):
    """Sum: regress the sum of 4 Gaussian values (a test task)."""

    name, in_shape, n_out, objective = "sum", (4,), 1, ("val_mse", "min")
    default_budget = Budget(40, "steps")

    def __init__(self, config: TrainConfig | None = None):
        self.config = config or TrainConfig(lr=0.1, report_every=10)
        self.x_val = torch.randn(256, 4, generator=torch.Generator().manual_seed(123))

    def hooks(self, model) -> SumHooks:
        return SumHooks(model, self)


# ---------------------------------------------------------------- helpers
def linear_graph() -> nas.ArchGraph:
    g = nas.ArchGraph()
    g.set_output("y", g.add_node("fc", "linear", {"features": 1}, [g.add_input("x", (4,))]))
    return g


def untrained_mse(task: SumTask, seed: int = 0) -> float:
    net = build_model(linear_graph(), seed)
    with torch.no_grad():
        return F.mse_loss(net(task.x_val), task.x_val.sum(1, keepdim=True)).item()


class Failing(SumHooks):
    """Raises ``error`` from its loss at step ``at`` (1-based)."""

    def __init__(self, model, task, error: Exception, at: int):
        super().__init__(model, task)
        self.error, self.at, self.calls = error, at, 0

    def loss(self, loop, x):
        self.calls += 1
        if self.calls == self.at:
            raise self.error
        return super().loss(loop, x)


class NaNFrom(SumHooks):
    """A loss that turns NaN from step ``at`` on."""

    def __init__(self, model, task, at: int):
        super().__init__(model, task)
        self.at = at

    def loss(self, loop, x):
        loss = super().loss(loop, x)
        return loss * math.nan if loop.step + 1 >= self.at else loss


class TwoLosses(SumHooks):
    """Two optimizers (two halves of the model, as a GAN's G and D) and two losses."""

    loss_names = ("first", "second")

    def setup(self, loop):
        self.net = build_model(self.model, loop.seed).to(loop.device)
        self.a, self.b = torch.nn.Linear(4, 1), torch.nn.Linear(4, 1)
        self.opt_a, self.opt_b = loop.adamw(self.a), loop.adamw(self.b)
        self.gen = torch.Generator().manual_seed(loop.seed)
        return 1

    def train_step(self, loop):
        x = self.batch(loop)
        first = F.mse_loss(self.a(x), x.sum(1, keepdim=True))
        loop.optimize(first, self.opt_a)
        second = F.mse_loss(self.b(x), x.sum(1, keepdim=True))
        loop.optimize(second, self.opt_b)
        return torch.stack([first.detach(), second.detach()])


# ---------------------------------------------------------------- the tests
def test_a_task_of_its_own_trains_on_the_loop_and_repeats_for_a_seed():
    task = SumTask()
    assert isinstance(task, nas.Task)
    result = task.evaluate(linear_graph(), seed=0, device="cpu")
    assert result.ok, result.error
    assert result.metrics["steps"] == 40 and result.metrics["planned_steps"] == 40
    assert math.isfinite(result.metrics["train_loss"])
    assert result.objectives["val_mse"] < untrained_mse(task) / 10
    again = task.evaluate(linear_graph(), seed=0, device="cpu")
    assert again.objectives == result.objectives and again.metrics == result.metrics
    other = task.evaluate(linear_graph(), seed=1, device="cpu")
    assert other.objectives != result.objectives


def test_the_lr_follows_the_recipe_schedule_on_every_optimizer():
    seen = []

    class Watch(TwoLosses):
        def train_step(self, loop):
            seen.append((self.opt_a.param_groups[0]["lr"], self.opt_b.param_groups[0]["lr"]))
            return super().train_step(loop)

    cfg = TrainConfig(lr=0.1, warmup=0.1)
    TrainLoop(cfg, "20steps", device="cpu").run(Watch(linear_graph(), SumTask()))
    assert [a for a, _ in seen] == [b for _, b in seen] == [cfg.lr_at(s, 20) for s in range(20)]
    assert seen[0][0] == pytest.approx(0.05) and seen[1][0] == pytest.approx(0.1)


def test_keep_weights_returns_a_state_dict_that_loads_into_the_model():
    task = SumTask()
    result = task.evaluate(linear_graph(), device="cpu", keep_weights=True)
    model = nas.compile_graph(linear_graph())
    model.load_state_dict(result.state_dict)  # strict: every name and shape matches
    with torch.no_grad():
        mse = F.mse_loss(model(task.x_val), task.x_val.sum(1, keepdim=True)).item()
    assert mse == pytest.approx(result.objectives["val_mse"], rel=1e-6)
    assert task.evaluate(linear_graph(), device="cpu").state_dict is None  # default: none


def test_report_pruning_stops_the_run_with_its_last_validation():
    calls = []

    def report(step: int, value: float) -> bool:
        calls.append((step, value))
        return step >= 20

    result = SumTask().evaluate(linear_graph(), device="cpu", report=report)
    assert result.pruned and not result.ok and result.error is None
    assert [s for s, _ in calls] == [10, 20] and result.metrics["steps"] == 20
    assert result.objectives["val_mse"] == calls[-1][1]


def test_an_error_in_report_is_the_callers_and_propagates():
    def report(step, value):
        raise KeyError("the pruner's own bug")

    with pytest.raises(KeyError, match="pruner's own bug"):
        SumTask().evaluate(linear_graph(), device="cpu", report=report)


@pytest.mark.parametrize("hooks, error, steps", [
    (lambda g, t: Failing(g, t, ValueError("boom"), at=3), "runtime error: ValueError: boom",
     2),
    (lambda g, t: NaNFrom(g, t, at=12), "non-finite loss (NaN or Inf) by step 20", 20),
    (lambda g, t: Failing(g, t, RuntimeError("CUDA out of memory. Tried 9 GiB"), at=1),
     "out of memory: CUDA out of memory. Tried 9 GiB", 0),
], ids=["raises", "nan", "oom"])
def test_a_failing_hook_becomes_a_failed_result(hooks, error, steps):
    loop = TrainLoop(SumTask().config, "40steps", device="cpu")
    result = loop.run(hooks(linear_graph(), SumTask()))
    assert result.error == error and result.metrics["steps"] == steps
    assert result.metrics["planned_steps"] == 40 and result.metrics["device"] == "cpu"


def test_a_graph_that_cannot_build_is_a_compile_error():
    g = nas.ArchGraph()
    g.set_output("y", g.add_node("fc", "linear", {"features": 0}, [g.add_input("x", (4,))],
                                 resolve=False))
    result = SumTask().evaluate(g, device="cpu")
    assert result.error.startswith("compile error:") and result.metrics["steps"] == 0


def test_the_time_limit_fails_a_slow_run():
    class Slow(SumHooks):
        def after_step(self, loop):
            import time
            time.sleep(0.02)

    loop = TrainLoop(TrainConfig(time_limit_s=0.05), "1000steps", device="cpu")
    result = loop.run(Slow(linear_graph(), SumTask()))
    assert result.error.startswith("time limit: still training after")
    assert 0 < result.metrics["steps"] < 1000


def test_several_losses_and_optimizers_are_named_and_checked():
    loop = TrainLoop(TrainConfig(check_every=5), "20steps", device="cpu")
    hooks = TwoLosses(linear_graph(), SumTask())
    result = loop.run(hooks)
    assert result.ok and set(loop.train_losses) == {"first", "second"}
    assert list(result.metrics)[:2] == ["first", "second"]
    assert all(math.isfinite(v) for v in loop.train_losses.values())


def test_optimize_without_an_optimizer_needs_exactly_one():
    class NoChoice(TwoLosses):
        def train_step(self, loop):
            return LoopHooks.train_step(self, loop)  # the default: one optimizer only

    result = TrainLoop(TrainConfig(), "5steps", device="cpu").run(
        NoChoice(linear_graph(), SumTask()))
    assert result.error == ("runtime error: ValueError: optimize() without an optimizer "
                            "needs exactly one from loop.adamw, there are 2")


def test_a_loop_runs_once():
    loop = TrainLoop(TrainConfig(), "3steps", device="cpu")
    assert loop.run(SumHooks(linear_graph(), SumTask())).ok
    with pytest.raises(RuntimeError, match="make one per run"):
        loop.run(SumHooks(linear_graph(), SumTask()))


def test_a_search_runs_the_task_and_keeps_the_best_weights(tmp_path):
    """Registered, the task is searched like a built-in one; --keep-weights works."""
    nas.register_task("sum_loop_test")(SumTask)
    study = nas.search("mlp", "sum_loop_test", strategy="random", trials=3, seed=0,
                       budget="20steps", run_dir=tmp_path, device="cpu", keep_weights=1)
    assert len(study.completed()) == 3
    best = study.best
    saved = list((tmp_path / "weights").glob("trial_*.pt"))
    assert [p.name for p in saved] == [f"trial_{best.number}.pt"]
    model = nas.compile_graph(best.graph)
    model.load_state_dict(torch.load(saved[0], weights_only=True))
