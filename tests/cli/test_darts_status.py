"""`nas status` of a differentiable search: the phase line with the search's step and
current argmax while it searches (stored in the study by ``nas.darts.DartsProgress``),
then the cell found and its stand-alone training."""

from __future__ import annotations

import json

import pytest
import torch
from cli_helpers import nas_cli

import nas
from cli._darts import phase_line
from nas.config import SearchConfig
from nas.darts import TRAJECTORY_FILE, DartsProgress, _progress
from nas.worker import open_study
from search_spaces.nb201 import OPS

SPACE = {"channels": 4, "cells": 1}


def _cell(probs: dict) -> str:
    """The argmax of a trajectory point, written as the phase line writes a cell."""
    return ", ".join(f"{k}={OPS[int(torch.tensor(v).argmax())]}" for k, v in probs.items())


def test_status_before_the_search_stores_anything(tmp_path):
    config = SearchConfig.create(space="nb201", task="mnist1d", trials=1,
                                 differentiable={"guard": "none"})
    st = open_study(config, None, None, tmp_path)
    assert phase_line(st) == "differentiable phase: starting the search (guard none)"
    perturb = open_study(config.replace(differentiable={"select": "perturb"}), None,
                         "perturb", tmp_path)
    assert phase_line(perturb) == ("differentiable phase: starting the search "
                                   "(guard drnas, select perturb)")
    plain = open_study(config.replace(differentiable=None), None, "plain", tmp_path)
    assert phase_line(plain) is None


@pytest.mark.slow  # a tiny search, its cell trained, and one `nas status` subprocess
def test_status_shows_the_step_and_argmax_then_the_cell(tmp_path, monkeypatch):
    lines = []  # the phase line each time the search stores its progress
    real = DartsProgress.__call__

    def spy(self, step, total, answers):
        real(self, step, total, answers)
        lines.append(phase_line(self.study))

    monkeypatch.setattr(DartsProgress, "__call__", spy)
    monkeypatch.setattr(_progress, "PROGRESS_EVERY_S", 0.0)  # store every step
    run = tmp_path / "run"
    st = nas.search("nb201", "mnist1d", budget="2steps", run_dir=run, space_config=SPACE,
                    differentiable={"budget": "3steps", "arch_lr": 0.05}, progress=False,
                    device="cpu")
    saved = json.loads((run / TRAJECTORY_FILE).read_text())
    points = {p["step"]: p["probs"] for p in saved["trajectory"]}
    assert lines == [f"differentiable phase: searching, step {s}/3 (guard drnas); "
                     f"current argmax: {_cell(points[s])}" for s in (1, 2, 3)]
    done = (f"differentiable phase: done, cell trained 1/1 after 3 search steps (guard "
            f"drnas); cell: {_cell(points[3])}")
    assert phase_line(st) == done
    out = nas_cli("status", str(run), check=True).stdout
    assert done in out.splitlines()
    assert "(nb201 on mnist1d, differentiable): 1 trial of 1 finished (1 ok)" in out
