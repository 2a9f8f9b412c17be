"""`nas search --differentiable` and `nas plot` of its run, end to end in a subprocess at
a tiny size, and the flags' errors."""

from __future__ import annotations

import json

import pytest
from cli_helpers import nas_cli

from nas.darts import TRAJECTORY_FILE

TINY = ("--space", "nb201", "--task", "mnist1d", "--space-option", "channels=4",
        "--space-option", "cells=1", "--budget", "3steps", "--device", "cpu")


@pytest.mark.slow  # two CLI runs, one search
def test_differentiable_search_trains_its_cell_and_plots_the_alphas(tmp_path):
    r = tmp_path / "run"
    res = nas_cli("search", *TINY, "--differentiable", "--darts-budget", "4steps",
                  "--darts-guard", "drnas", "--run-dir", str(r), check=True)
    assert "differentiable search 4steps (guard drnas)" in res.stdout
    # no strategy proposes here: the header says how it searches, and its one trial
    assert "on task mnist1d by differentiable search: 1 trial, budget" in res.stdout
    assert "differentiable search done: 4 steps" in res.stdout
    saved = json.loads((r / TRAJECTORY_FILE).read_text())
    assert saved["guard"] == "drnas" and saved["trajectory"][-1]["step"] == 4
    trials = json.loads(nas_cli("status", str(r), "--format", "json", check=True).stdout)
    assert len(trials) == 1 and trials[0]["decisions"] == saved["answers"]  # --trials: 1
    out = tmp_path / "fig.png"
    res = nas_cli("plot", str(r), "--out", str(out), check=True)
    assert out.is_file() and (tmp_path / "fig-alphas.png").stat().st_size > 1000
    assert "fig-alphas.png" in res.stdout


@pytest.mark.parametrize("args,text", [
    (("--darts-guard", "none"), "--darts-guard is for a differentiable search"),
    (("--differentiable", "--darts-guard", "sdarts"), "--darts-guard must be one of"),
    (("--differentiable", "--one-shot"), "not both"),
])
def test_bad_flags_exit_2_naming_them(args, text, tmp_path):
    res = nas_cli("search", *TINY, *args, "--run-dir", str(tmp_path / "r"))
    assert res.returncode == 2, res.stdout + res.stderr
    assert text in res.stdout + res.stderr
