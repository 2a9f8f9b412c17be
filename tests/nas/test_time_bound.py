"""A search bounded by time alone (no trial count) starts trials until its timeout, so
the time a pruner saves buys more candidates. A fake clock, moved one second per
training step by the task, stands in for the wall clock."""

from __future__ import annotations

import time

import pytest
from curve_helpers import good, register_curve_task

import nas
from nas import Result
from nas.settings import ConfigError
from tests.cli_helpers import nas_cli

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


def test_a_trial_training_at_the_timeout_stops_at_its_next_report_and_does_not_count(
        clock, tmp_path, capsys):
    """35 fake seconds, 10 s a training: trials 0-2 finish at 10, 20, 30 s; trial 3,
    started at 30 s, stops at its report at step 6 (36 s, the first past the timeout):
    PRUNED with its last value, marked stopped, not counted. A resume to 4 trials trains
    one more in full and leaves the others as they were."""
    st = nas.search("mlp", "ticks", strategy="random", trials=None, timeout=35, seed=0,
                    run_dir=tmp_path)
    trials = st.trials()
    assert [r.state for r in trials] == ["COMPLETE"] * 3 + ["PRUNED"]
    last = trials[-1]
    assert last.stopped and not last.counts and st.finished_count() == 3
    assert last.metrics["steps"] == 6
    assert last.values == [1.0 if good(last.fingerprint) else 0.2]
    value = f"{last.values[0]:.4g}"
    assert last.error == f"timeout reached at step 6/{STEPS} (val_acc {value})"
    assert f"trial   3 stopped: {last.error}" in capsys.readouterr().out.splitlines()
    out = nas_cli("status", str(tmp_path), check=True).stdout
    assert "3 trials finished" in out and "1 stopped (not counted)" in out
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == ["3"])
    assert row[1:3] == ["stopped", f"6/{STEPS}"]
    assert "1 of 4 trials stopped at the timeout" in out and "trials pruned" not in out

    before = {r.number: (r.state, r.values) for r in trials}
    again = nas.search("mlp", "ticks", strategy="random", trials=4, seed=0,
                       run_dir=tmp_path, progress=False)
    after = again.trials()
    assert {r.number: (r.state, r.values) for r in after[:4]} == before
    assert len(after) == 5 and after[4].state == "COMPLETE" and again.finished_count() == 4
    assert len(clock) == 5  # each trial evaluated once: the stopped one is not redone


def test_a_trial_that_ends_exactly_at_the_timeout_is_complete(clock):
    """30 fake seconds: trial 2 reports its last step at exactly 30 s: not past it."""
    st = nas.search("mlp", "ticks", strategy="random", trials=None, timeout=30, seed=0,
                    progress=False)
    assert [r.state for r in st.trials()] == ["COMPLETE"] * 3


def test_a_search_whose_every_trial_hit_the_timeout_says_so(clock):
    """5 fake seconds, 10 s a training: the only trial stops at the timeout; the CLI's
    closing error says that and what to change, not "see the errors above" (there are
    none)."""
    from cli._search import _none_completed

    st = nas.search("mlp", "ticks", strategy="random", trials=None, timeout=5, seed=0,
                    progress=False)
    assert st.best is None and [t.stopped for t in st.trials()] == [True]
    message = _none_completed(st.trials())
    assert message.startswith("no trial completed: 1 stopped at the --timeout")
    assert "--timeout" in message and "--budget" in message and "errors" not in message
    assert _none_completed([]).startswith("no trial started")
