"""Budgets (steps, epochs, seconds, capped) and the step plan every training loop follows."""

from __future__ import annotations

import pytest
from clock_helpers import FakeClock, fake_clock, steps_take

from evaluators.schedule import StepPlan, lr_at
from nas import Budget


@pytest.mark.parametrize("text, expected", [
    ("300steps", Budget(300, "steps")),
    ("300", Budget(300, "steps")),
    ("2epochs", Budget(2, "epochs")),
    ("1.5m", Budget(90, "seconds")),
    ("1000steps,30s", Budget(1000, "steps", 30)),
    ("30s, 2epochs", Budget(2, "epochs", 30)),
    ("500 steps, 1m", Budget(500, "steps", 60)),
])
def test_parse_and_round_trip(text, expected):
    budget = Budget.parse(text)
    assert budget == expected
    assert Budget.parse(str(budget)) == budget


@pytest.mark.parametrize("text", ["30s,20s", "100steps,2epochs", "1,2,3", "fast", "0steps",
                                  "100steps,0s"])
def test_bad_budgets_say_what_to_write(text):
    with pytest.raises(ValueError, match="budget"):
        Budget.parse(text)


def test_seconds_is_the_budget_or_its_cap():
    assert Budget.parse("30s").seconds == 30
    assert Budget.parse("100steps,5s").seconds == 5
    assert Budget.parse("100steps").seconds is None


def _run(plan: StepPlan, clock: FakeClock, per_step: float, limit: int = 10_000) -> int:
    """Drive a plan with a fake clock; returns the steps taken."""
    plan.start()
    step = 0
    while not plan.done(step) and step < limit:
        clock.now += per_step
        step += 1
        if plan.advance(step):
            break
    return step


@pytest.fixture
def clock(monkeypatch):
    """One fake clock for wall-clock and CPU time (a quiet machine, one thread)."""
    return fake_clock(monkeypatch)


def test_steps_and_epochs_budgets_fix_the_total(clock):
    assert _run(StepPlan("120steps", 35), clock, 0.5) == 120
    plan = StepPlan("2epochs", 35)
    assert plan.total == 70 and _run(plan, clock, 10.0) == 70  # no clock involved


def test_seconds_budget_is_sized_after_the_probe(clock):
    plan = StepPlan("10s", 35, probe_steps=10)
    assert plan.total is None
    steps = _run(plan, clock, 0.1)
    # sized at step 11 from the steps after the first: 10 s / 0.1 s
    assert plan.total == 100 and steps == 100


def test_a_seconds_cap_shortens_a_slow_candidate_and_spares_a_fast_one(clock):
    slow = StepPlan("1000steps,10s", 35, probe_steps=10)
    assert _run(slow, clock, 0.5) == int(10 / 0.5)  # 20 steps, schedule resized
    assert slow.capped and slow.position(20) == slow.schedule_steps == 1000  # the lr ends
    fast = StepPlan("1000steps,10s", 35, probe_steps=10)
    assert _run(fast, clock, 0.001) == 1000 and not fast.capped
    assert [fast.position(s) for s in (0, 7, 1000)] == [0, 7, 1000]


def test_lr_warms_up_then_decays_to_the_floor():
    lrs = [lr_at(s, 100, 1.0, 0.1, 0.1) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lr_at(100, 100, 1.0, 0.1, 0.1) == pytest.approx(0.1)


def test_trainer_honours_a_seconds_cap(clock, monkeypatch):
    """The real training loop on the fake clock, each step taking 1/64 s (exact in
    binary): a 0.5 s cap stops a million-step budget after 0.5 * 64 = 32 steps."""
    from evaluators import MNIST1D
    from nas.testing import tiny_graph

    steps_take(monkeypatch, clock, 1 / 64)
    task = MNIST1D()
    graph = tiny_graph(task.in_shape, task.n_out)
    capped = task.evaluate(graph, "1000000steps,0.5s")
    assert capped.ok and capped.metrics["steps"] == 32
    assert capped.metrics["train_time_s"] == 0.5
    assert capped.metrics["capped"] == 1.0
    spared = task.evaluate(graph, "20steps,60s")
    assert spared.metrics["steps"] == 20 and spared.metrics["train_time_s"] == 20 / 64


def test_scoring_batches_shrink_for_big_inputs():
    import torch

    from evaluators import TrainConfig
    from evaluators.trainer import eval_batch

    cfg = TrainConfig()
    assert eval_batch(cfg, torch.zeros(5000, 1, 40)) == cfg.eval_batch  # MNIST-1D: one cap
    assert eval_batch(cfg, torch.zeros(5000, 3, 32, 32)) == 2**20 // 3072  # CIFAR: 341
    assert eval_batch(TrainConfig(eval_batch=64), torch.zeros(10, 3, 32, 32)) == 64
