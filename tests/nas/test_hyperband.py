"""Successive halving and Hyperband with evolution proposing, on one or two workers.

The "flat_curves" task (tests/plugins/curve_task.py) reports one value per architecture,
``score(fingerprint)``, at every step of a 27-step budget, so each rung's verdict can be
checked from the fingerprints alone: with reduction factor 3 the rungs derived from the
budget sit at steps 1, 3 and 9; a trial stopped at a rung had a better rival that
reached that rung; the study's best architecture is never stopped; and no trial that
trained its whole budget is thrown away as pruned.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import nas
from nas.pruners import make_pruner, min_steps
from nas.strategies import get_strategy

PLUGINS = str(Path(__file__).resolve().parents[1] / "plugins")
STEPS = 27  # curve_task.DEFAULT_STEPS
RUNGS = {1, 3, 9}  # 27 // 27 * 3**k below the full budget


@pytest.fixture
def curves(monkeypatch):
    """The flat_curves task, here and in spawned workers; returns its score function."""
    import sys

    sys.path.insert(0, PLUGINS)
    import curve_task

    curve_task.register()
    monkeypatch.setenv("NAS_PLUGINS", "curve_task")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([PLUGINS, os.environ.get(
        "PYTHONPATH", "")]))
    return curve_task.score


def test_the_first_rung_is_a_27th_of_a_steps_budget():
    assert min_steps(1000) == 37 and min_steps(27) == 1 and min_steps(10) == 1
    assert min_steps(None) == "auto"
    band = make_pruner("hyperband", 1000)
    assert (band._min_resource, band._max_resource, band._reduction_factor) == (37, 1000, 3)
    sha = make_pruner("sha", 1000)
    assert (sha._min_resource, sha._reduction_factor) == (37, 3)


def _check_rungs(trials, score) -> None:
    """Each rung's verdicts, checked against the fingerprints (see the module doc)."""
    assert {t.state for t in trials} <= {"COMPLETE", "PRUNED"}
    reached = [(t.metrics["steps"], score(t.fingerprint)) for t in trials]
    best = max(trials, key=lambda t: score(t.fingerprint))
    assert best.state == "COMPLETE"
    for t in trials:
        if t.state == "COMPLETE":
            assert t.metrics["steps"] == STEPS
            continue
        step, mine = t.metrics["steps"], score(t.fingerprint)
        assert step in RUNGS  # stopped at a rung, never after its last step
        assert any(s >= step and v > mine for s, v in reached)  # a better rival there


@pytest.mark.parametrize("pruner", ["hyperband", "sha"])
def test_rungs_stop_the_trials_a_better_one_beat(curves, pruner, tmp_path):
    st = nas.search("mlp", "flat_curves", strategy="evolution", trials=30, seed=0,
                    pruner=pruner, run_dir=tmp_path)
    trials = st.trials()
    assert len(trials) == 30
    assert {t.metrics["steps"] for t in trials if t.state == "PRUNED"} & RUNGS
    _check_rungs(trials, curves)


@pytest.mark.slow  # two spawned worker processes
def test_two_workers_share_the_rungs_and_evolution_learns_from_them(curves, tmp_path):
    st = nas.search("mlp", "flat_curves", strategy="evolution", trials=40, workers=2,
                    seed=0, pruner="hyperband", run_dir=tmp_path)
    trials = st.trials()
    assert len(trials) == 40
    assert len({t.attrs["worker"]["index"] for t in trials}) == 2  # both workers ran trials
    pruned = [t for t in trials if t.state == "PRUNED"]
    assert len(pruned) > 20  # Hyperband stops most of them early
    _check_rungs(trials, curves)
    # what a worker's evolution learns from the study: the rung each pruned trial reached
    strategy = get_strategy("evolution", nas.get_space("mlp"), seed=0,
                            objectives=list(st.objectives))
    for t in trials:
        strategy.tell(dict(t.decisions), t.result)
    fidelities = sorted(f for f, _ in strategy.partial.values())
    assert fidelities == sorted(t.metrics["steps"] / STEPS for t in pruned)
