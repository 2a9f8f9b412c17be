"""Small things a newcomer meets: commands in hints print whole at any width, the first
line names the budget that applies, the leaderboard marks the Pareto front, and a trial
stopped by Ctrl-C is counted as stopped, not failed."""

from __future__ import annotations

import re

import fake_task  # noqa: F401  (tests/plugins: the "fake" task)
from study_helpers import hand_study
from typer.testing import CliRunner

import nas
from cli._leaderboard import print_leaderboard, status_line
from cli._search import _budget_text
from cli.main import app


def test_hints_print_commands_whole_at_80_columns(tmp_path):
    run = tmp_path / "a-rather-long-folder-name-for-this-run-of-the-search"
    res = CliRunner().invoke(app, ["search", "--space", "mlp", "--task", "fake", "--trials",
                                   "1", "--run-dir", str(run)], terminal_width=80)
    assert res.exit_code == 0, res.output
    for command in (f"nas train {run}", f"nas export {run}", f"nas status {run}"):
        assert any(command in line for line in res.output.splitlines()), res.output
    # a space's winner trains afresh (only a grown one is fine-tuned: test_search_from.py)
    assert "train the winner fully" in res.output and "--from-inherited" not in res.output


def test_the_first_line_names_the_tasks_default_budget():
    config = nas.SearchConfig.create(space="mlp", task="mnist1d")
    assert _budget_text(None, config) == "1000steps,30s (the task's default)"  # the issue's
    config = nas.SearchConfig.create(space="mlp", task="mnist1d", budget="30steps")
    assert _budget_text("30steps", config) == "30steps"


def test_a_stopped_trial_is_not_counted_as_failed():
    st = hand_study([(0.5,), "stop", None, (0.7,)])
    assert status_line(st) == ("study 's' (mlp on fake, random): 3 trials of 4 finished "
                               "(2 ok, 1 failed, 1 stopped (not counted))")


def test_the_leaderboard_marks_the_pareto_front(capsys):
    st = hand_study([(0.9, 5000.0), (0.5, 100.0), (0.6, 400.0), (0.7, 300.0)],
                (("val_acc", "max"), ("params", "min")))
    print_leaderboard(st)
    out = capsys.readouterr().out
    marked = {int(n) for n in re.findall(r"^\s*(\d+)\*", out, re.M)}
    assert marked == {0, 1, 3}  # by hand: trial 2 (0.6, 400) is dominated by 3 (0.7, 300)
    assert re.search(r"^\s*2 ", out, re.M) and "on the Pareto front (3 trials" in out
