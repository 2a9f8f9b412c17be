"""evaluators.darts: differentiable search on the one training loop, end to end at a
tiny size, and through ``nas.search(differentiable=...)`` (phase 3: the Worker)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

import nas
from evaluators.darts import search_darts
from nas import get_space, get_task
from nas.darts import TRAJECTORY_FILE, Differentiable, differentiable_of
from nas.settings import ConfigError
from search_spaces.nb201 import OPS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
import fake_task  # noqa: E402,F401  (the "fake" task: no training loop)

SPACE = {"channels": 4, "cells": 1}


def _argmax(probs: dict, choices) -> dict:
    return {k: choices[int(torch.tensor(v).argmax())] for k, v in probs.items()}


@pytest.mark.parametrize("guard", ["darts-", "drnas", "none"])
def test_search_records_the_trajectory_and_discretizes_its_last_point(guard):
    task = get_task("mnist1d")
    space = get_space("nb201", task.in_shape, task.n_out, **SPACE)
    out = search_darts(task, space, "6steps", guard=guard, device="cpu", record_every=2,
                       arch_lr=0.05)
    assert out.result.ok, out.result.error
    assert [p["step"] for p in out.trajectory] == [0, 2, 4, 6]
    first, last = out.trajectory[0]["probs"], out.trajectory[-1]["probs"]
    assert first != last  # alpha moved
    ops = space.domains["edge_1_0"].values()
    assert out.answers == _argmax(last, ops)  # the argmax of the last point, by hand
    assert out.graph == space.build(out.answers)
    betas = [p["beta"] for p in out.trajectory]
    if guard == "darts-":  # 1 - step / 6 at steps 0, 2, 4 (set before each step), 0 at the end
        assert betas[0] == 1.0 and betas[1] == pytest.approx(1 - 1 / 6, abs=1e-6)
        assert betas[-1] == pytest.approx(1 - 5 / 6, abs=1e-6)
    else:
        assert set(betas) == {0.0}
    for probs in last.values():
        assert sum(probs) == pytest.approx(1.0, abs=1e-5)


def test_settings_round_trip_and_errors():
    s = Differentiable()
    assert s.guard == "drnas" and Differentiable.from_dict(s.to_dict()) == s
    assert differentiable_of(True) == s and differentiable_of(None) is None
    for bad, word in (({"guard": "sdarts"}, "differentiable.guard"),
                      ({"budget": "lots"}, "differentiable.budget"),
                      ({"arch_lr": 0}, "arch_lr"), ({"colour": 1}, "colour")):
        with pytest.raises(ConfigError, match=word):
            differentiable_of(bad)


def test_more_than_one_trial_is_refused():
    from nas.config import SearchConfig

    with pytest.raises(ConfigError, match="trials must be 1, got 3"):
        SearchConfig(space="nb201", differentiable=True, trials=3)
    assert SearchConfig(space="nb201", differentiable=True, trials=1).trials == 1


def test_a_task_without_a_training_loop_is_refused_naming_it():
    with pytest.raises(ConfigError, match="task 'fake' cannot be searched differentiably"):
        nas.search("nb201", task="fake", differentiable=True, progress=False)


@pytest.mark.slow
def test_nas_search_trains_the_found_cell_as_a_trial_and_resumes(tmp_path):
    run = tmp_path / "run"
    kw = dict(task="mnist1d", budget="3steps", run_dir=run, space_config=SPACE,
              differentiable={"budget": "4steps", "record_every": 2}, progress=False,
              device="cpu")
    st = nas.search("nb201", **kw)
    trials = [t for t in st.trials() if t.state == "COMPLETE"]
    saved = json.loads((run / TRAJECTORY_FILE).read_text())
    assert len(trials) == 1 and trials[0].decisions == saved["answers"]
    assert saved["answers"] == _argmax(saved["trajectory"][-1]["probs"], OPS)
    assert saved["guard"] == "drnas"  # the default
    assert "one_shot_val_acc" in trials[0].metrics
    again = nas.search("nb201", **{**kw, "trials": 1})  # resume: nothing redone
    assert len(again.trials()) == 1
