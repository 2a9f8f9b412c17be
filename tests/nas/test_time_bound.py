"""A search bounded by time alone (no trial count) starts trials until its timeout, so
the time a pruner saves buys more candidates. A fake clock, moved one second per
training step by the task, stands in for the wall clock."""

from __future__ import annotations

import time

import pytest
from curve_helpers import register_curve_task

import nas
from nas import Result
from nas.settings import ConfigError

STEPS = 10  # fake seconds a full training takes


@pytest.fixture
def clock(monkeypatch):
    """A fake ``time.time`` and the "ticks" task: a constant curve per architecture (1.0
    or 0.2 by fingerprint), one fake second per step; yields the evaluations' count."""
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    evaluations = []


    def tick(fingerprint: str, step: int) -> None:
        if step == 1:
            evaluations.append(fingerprint)
        now[0] += 1.0

    register_curve_task("ticks", STEPS, 0.2, tick, lambda step, value: Result(
        pruned=True, metrics={"steps": step, "planned_steps": STEPS}))
    return evaluations


def test_no_trial_count_runs_until_the_timeout_and_pruning_buys_candidates(clock):
    """100 fake seconds: 10 full trainings of 10 s without a pruner (hand count: the
    deadline is checked before each trial), more with one (pruned ones stop early)."""
    plain = nas.search("mlp", "ticks", strategy="random", trials=None, timeout=100, seed=0,
                       progress=False)
    assert len(plain.trials()) == 10 and len(clock) == 10
    pruned = nas.search("mlp", "ticks", strategy="random", trials=None, timeout=100, seed=0,
                        pruner="median", progress=False)
    states = [r.state for r in pruned.trials()]
    assert "PRUNED" in states and len(states) > 10
    steps = sum(r.metrics.get("steps", STEPS) for r in pruned.trials())
    assert 100 <= steps < 100 + STEPS  # every fake second went to some trial


def test_a_trial_count_still_bounds_a_timed_search(clock):
    st = nas.search("mlp", "ticks", strategy="random", trials=3, timeout=1000, seed=0,
                    progress=False)
    assert len(st.trials()) == 3


def test_no_trial_count_and_no_timeout_is_refused(clock):
    with pytest.raises(ConfigError, match="trial count"):
        nas.search("mlp", "ticks", strategy="random", trials=None, progress=False)
    assert clock == []  # refused before anything trained


def test_progress_lines_of_a_huge_trial_count_show_the_time_to_the_timeout(clock, capsys):
    """10,000 trials for 35 fake seconds, 10 s a training: the lines say how long to the
    timeout (hand count), not an ETA of 9,999 more trials."""
    nas.search("mlp", "ticks", strategy="random", trials=10_000, timeout=35, seed=0)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert [line.rsplit("(best ", 1)[1].split(", ", 1)[1] for line in lines[:3]] == [
        "10s, timeout in 25s)", "20s, timeout in 15s)", "30s, timeout in 5s)"]
    assert not any("ETA" in line for line in lines)
