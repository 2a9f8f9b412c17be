"""`nas resume RUN --timeout T`: alone, it starts trials until T (no trial count, as
`nas search --timeout` does); with --trials, whichever comes first. A fake clock, moved
one second per training step by the task, stands in for the wall clock: a full training
takes 10 fake seconds, and the deadline is checked before each trial, so T seconds buy
T / 10 trials (hand count)."""

from __future__ import annotations

import time

import pytest
from curve_helpers import register_curve_task
from typer.testing import CliRunner

import nas
from cli.main import app
from nas import Result, open_storage

STEPS = 10
runner = CliRunner()
TICKS = ["--space", "mlp", "--task", "ticks", "--strategy", "random", "--keep-weights", "0"]


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """A fake ``time.time`` and the "ticks" task (one fake second per step)."""
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])

    def tick(fingerprint: str, step: int) -> None:
        now[0] += 1.0

    register_curve_task("ticks", STEPS, 0.2, tick, lambda step, value: Result(
        pruned=True, metrics={"steps": step, "planned_steps": STEPS}))


def _count(run) -> int:
    return len(nas.Study.load(open_storage(None, run)).trials())


def test_resume_with_a_timeout_alone_runs_trials_until_then(tmp_path):
    run = str(tmp_path / "run")
    res = runner.invoke(app, ["search", *TICKS, "--trials", "3", "--run-dir", run])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["resume", run, "--timeout", "50s"])
    assert res.exit_code == 0, res.output
    assert _count(run) == 3 + 5  # past the run's 3-trial target: 50 s of 10 s trials
    res = runner.invoke(app, ["resume", run, "--timeout", "50s", "--trials", "9"])
    assert res.exit_code == 0, res.output
    assert _count(run) == 9  # the target comes first


def test_a_time_bounded_run_resumes_with_a_timeout_or_a_trial_count(tmp_path):
    run = str(tmp_path / "run")
    res = runner.invoke(app, ["search", *TICKS, "--timeout", "20s", "--run-dir", run])
    assert res.exit_code == 0, res.output
    assert _count(run) == 2
    res = runner.invoke(app, ["resume", run])
    assert res.exit_code != 0
    assert "--timeout" in res.output and "--trials" in res.output
    res = runner.invoke(app, ["resume", run, "--trials", "4"])
    assert res.exit_code == 0, res.output
    assert _count(run) == 4
