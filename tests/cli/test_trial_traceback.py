"""Why a trial failed: the full traceback is kept with the trial and shown by
`nas status RUN --trial N` and in its JSON."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import nas
from cli.main import app
from evaluators import LoopHooks, LoopTask, TrainConfig

runner = CliRunner()


def _explode_deep_inside():
    raise ValueError("bad setup, deep inside")


class _Hooks(LoopHooks):
    def setup(self, loop):  # the training loop catches what a candidate raises
        _explode_deep_inside()


class LoopBoom(LoopTask):
    """LoopBoom: a task whose training loop fails in setup (tests only)."""

    name, in_shape, n_out, objective = "loop_boom", (1, 40), 10, ("val_acc", "max")
    default_budget = nas.Budget(1, "steps")
    config = TrainConfig()

    def hooks(self, model):
        return _Hooks()


class RaiseBoom(LoopBoom):
    """RaiseBoom: a task whose evaluate itself raises (tests only; the worker catches)."""

    name = "raise_boom"

    def evaluate(self, graph, *args, **kwargs):
        _explode_deep_inside()


@pytest.mark.parametrize("task", [LoopBoom, RaiseBoom])
def test_a_failed_trial_keeps_its_traceback(task, tmp_path):
    nas.register_task(task.name)(task)
    run = tmp_path / "run"
    st = nas.search("mlp", task.name, trials=1, run_dir=run, progress=False)
    rec = st.trial(0)
    assert rec.state == "FAIL" and rec.error == \
        "runtime error: ValueError: bad setup, deep inside"
    lines = rec.traceback.splitlines()  # as Python prints it: the frames, then the error
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: bad setup, deep inside"
    assert "in _explode_deep_inside" in rec.traceback and __file__ in rec.traceback

    res = runner.invoke(app, ["status", str(run), "--trial", "0"], terminal_width=80)
    assert res.exit_code == 0, res.output
    assert "trial 0: fail" in res.output and rec.traceback in res.output  # whole, unwrapped
    res = runner.invoke(app, ["status", str(run), "--trial", "0", "--format", "json"])
    assert json.loads(res.output)["traceback"] == rec.traceback
    res = runner.invoke(app, ["status", str(run), "--format", "json"])
    assert json.loads(res.output)[0]["traceback"] == rec.traceback
    res = runner.invoke(app, ["status", str(run), "--trial", "5"])
    assert res.exit_code == 2 and "no such trial" in res.output and "0 to 0" in res.output


def test_a_completed_trial_has_no_traceback_and_shows_its_metrics(tmp_path):
    import fake_task  # noqa: F401  (tests/plugins: the "fake" task)

    st = nas.search("mlp", "fake", trials=1, run_dir=tmp_path / "r", progress=False)
    assert st.trial(0).traceback is None
    res = runner.invoke(app, ["status", str(tmp_path / "r"), "--trial", "0"])
    assert res.exit_code == 0 and "trial 0: complete" in res.output
    assert f"val_acc: {st.trial(0).values[0]:.6g}" in res.output
    res = runner.invoke(app, ["status", str(tmp_path / "r"), "--trial", "0", "--format", "csv"])
    assert res.exit_code == 2
