"""A pruned trial keeps its last value and the step it reached, and strategies learn from
it: evolution (tournament and surrogate), the optuna samplers (a PRUNED trial with its
intermediate value). The study never ranks it with finished trials."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from curve_helpers import register_curve_task

import nas
from nas import Result
from nas.strategies import get_strategy, pruned_values
from nas.strategies._evolution import tournament_key
from nas.strategies._surrogate import RidgeSurrogate
from nas.testing import pseudo_score, run_strategy

STEPS = 10


def _pruned(value: float, steps: float = 4, planned: float = STEPS) -> Result:
    return Result(objectives={"val_acc": value}, pruned=True,
                  metrics={"steps": steps, "planned_steps": planned})


# ---------------------------------------------------------------------------- Result
def test_fidelity_is_the_share_of_planned_steps_a_pruned_result_trained():
    assert _pruned(0.5, steps=3, planned=12).fidelity == 0.25
    assert Result(objectives={"val_acc": 0.5}).fidelity == 1.0  # finished
    assert Result(objectives={"val_acc": 0.5}, pruned=True).fidelity == 0.0  # unknown
    assert Result.failure("boom").fidelity == 1.0
    assert pruned_values(_pruned(0.7), [("val_acc", "min")]) == [-0.7]
    assert pruned_values(Result(objectives={"val_acc": 0.7}), ["val_acc:max"]) is None


# ---------------------------------------------------------------------------- evolution
def _evolution(seed: int = 3):
    space = nas.get_space("mlp")
    s = get_strategy("evolution", space, seed=seed, population=6)
    run_strategy(s, space, 8)
    return s, space


def _next(s, space, n: int = 6) -> list[dict]:
    return [d for d, _ in run_strategy(s, space, n)]


def test_evolution_proposes_otherwise_when_told_a_pruned_result():
    """The issue's acceptance test: told a pruned result versus nothing (and versus the
    same candidate failed, which is what a pruned result used to be), the next
    proposals differ; with the same seed and tells they are the same."""
    runs = {}
    for told in ("pruned", "pruned again", "nothing", "failed"):
        s, space = _evolution()
        if told != "nothing":
            decisions = space.resolve(s.ask())[1]
            s.tell(decisions, Result.failure("boom") if told == "failed" else
                   _pruned(pseudo_score(decisions) + 0.5))
        runs[told] = _next(s, space)
    assert runs["pruned"] == runs["pruned again"]
    assert runs["pruned"] != runs["nothing"]
    assert runs["pruned"] != runs["failed"]


def test_tournament_ranks_finished_then_pruned_by_fidelity_then_failed():
    """Hand-ordered members, worst first: a failure, pruned ones by (fidelity, value)
    whatever their value, then finished ones by value."""
    order = [([-math.inf], None),
             ([-math.inf], (0.0, [0.99])),
             ([-math.inf], (0.3, [0.1])),
             ([-math.inf], (0.3, [0.9])),
             ([-math.inf], (0.6, [0.2])),
             ([0.05], None),
             ([0.5], None)]
    keys = [tournament_key(v, p) for v, p in order]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_a_pruned_member_wins_a_tournament_against_failures_only():
    """A population of failures and one pruned result: every mutant descends from the
    pruned one (a tournament draws it whenever it is among the picks; sample = 6
    draws of 6 members make that likely, and parents are otherwise failures whose
    decisions differ)."""
    space = nas.get_space("mlp")
    s = get_strategy("evolution", space, seed=0, population=6, sample=6, surrogate=False,
                     warmup=1)
    told = []
    for i in range(6):
        decisions = space.resolve(s.ask())[1]
        s.tell(decisions, _pruned(0.3) if i == 2 else Result.failure("boom"))
        told.append(decisions)
    picks = [s._select() for _ in range(20)]
    # the chance that no pick of 6 hits the pruned member: (5/6)^6 = 0.33 per tournament
    assert sum(p == told[2] for p in picks) > 10


def test_surrogate_takes_a_lower_bound_raised_to_the_median_of_exact_targets():
    """Exact targets 1..4 (median 2.5) and lower bounds 0, 0.5 and 5: the fit equals an
    unclipped fit on the hand-clipped targets 2.5, 2.5, 3, 4 | 2.5, 2.5, 5. Unflagged,
    the bounds would move the median (to 2 of all seven)."""
    space = nas.get_space("mlp")
    decisions = [space.resolve(nas.RandomProposal(random.Random(i)))[1] for i in range(7)]
    y = [1, 2, 3, 4, 0, 0.5, 5]
    fitted = RidgeSurrogate()
    fitted.fit(space.domains, decisions, y, lower=[False] * 4 + [True] * 3)
    oracle = RidgeSurrogate(clip_median=False)
    oracle.fit(space.domains, decisions, [2.5, 2.5, 3, 4, 2.5, 2.5, 5])
    assert np.allclose(fitted.predict(decisions), oracle.predict(decisions))
    plain = RidgeSurrogate()
    plain.fit(space.domains, decisions, y)
    assert not np.allclose(plain.predict(decisions), fitted.predict(decisions))


def test_evolution_state_round_trip_keeps_pruned_members():
    s, space = _evolution()
    for value in (0.2, 0.9):
        decisions = space.resolve(s.ask())[1]
        s.tell(decisions, _pruned(value))
    clone = get_strategy("evolution", space, seed=3, population=6)
    clone.load_state_dict(json.loads(json.dumps(s.state_dict())))
    assert sorted(clone.partial.values()) == sorted(s.partial.values())
    assert _next(clone, space) == _next(s, space)


# ---------------------------------------------------------------------------- optuna
@pytest.mark.parametrize("asked_here", [True, False])
def test_optuna_sees_a_pruned_trial_with_its_intermediate_value(asked_here):
    """As optuna's own pruned trials: PRUNED, the value at the step reached, that value
    as the trial's value; kept through a state round trip."""
    space = nas.get_space("mlp")
    s = get_strategy("optuna:tpe", space, seed=0)
    decisions = space.resolve(s.ask() if asked_here else nas.RandomProposal(
        random.Random(5)))[1]
    s.tell(decisions, _pruned(0.625, steps=4))
    clone = get_strategy("optuna:tpe", space, seed=0)
    clone.load_state_dict(json.loads(json.dumps(s.state_dict())))
    for strategy in (s, clone):
        (t,) = strategy.study.get_trials()
        assert t.state.name == "PRUNED"
        assert t.intermediate_values == {4: 0.625}
        assert t.values == [0.625]


# ---------------------------------------------------------------------------- the study
@pytest.fixture
def curves():
    """The "curves" task: a constant curve per architecture at steps 1..STEPS, 1.0 or 0.2
    by its fingerprint; yields {fingerprint: last step reported}."""
    reached: dict[str, int] = {}
    # a pruned run returns no value: the study takes the reported one
    register_curve_task("curves", STEPS, 0.2, reached.__setitem__,
                        lambda step, value: Result(pruned=True))
    return reached


def test_a_pruned_trial_keeps_its_last_value_and_step_and_is_never_ranked(curves, tmp_path):
    st = nas.search("mlp", "curves", strategy="evolution", trials=12, seed=0,
                    pruner="median", run_dir=tmp_path, progress=False)
    pruned = st.trials(("PRUNED",))
    assert pruned and st.completed()
    for rec in pruned:
        result = rec.result
        assert result.pruned and not result.ok
        assert result.objectives == {"val_acc": 0.2}  # the value it reported last
        assert rec.metrics["steps"] == curves[rec.fingerprint] < STEPS
    assert all(r.state == "COMPLETE" for r in st.ranked())
    assert st.best.state == "COMPLETE"
    board = st.leaderboard()
    states = list(board["state"])
    assert states == sorted(states, key=lambda s: s != "COMPLETE")  # finished ones first
    assert "PRUNED" not in set(st.leaderboard(include_failed=False)["state"])
    # a worker rebuilt from the storage (a resume) tells its strategy the same results
    from nas.worker import Worker

    again = Worker(st, nas.SearchConfig.from_dict(st.config))
    again.sync()
    assert sorted(again.strategy.partial.values()) == sorted(
        (0.0, [0.2]) for _ in pruned)


def test_export_and_train_refuse_a_pruned_trial(curves, tmp_path):
    from tests.cli_helpers import nas_cli

    st = nas.search("mlp", "curves", strategy="random", trials=10, seed=0,
                    pruner="median", run_dir=tmp_path, progress=False)
    number = st.trials(("PRUNED",))[0].number
    for command in ("export", "train"):
        res = nas_cli(command, str(tmp_path), "--trial", str(number))
        assert res.returncode != 0
        assert f"trial {number} is not a completed trial" in res.stdout + res.stderr


def test_progress_line_and_status_show_the_step_a_pruned_trial_reached(curves, tmp_path):
    from nas.progress import TrialProgress
    from tests.cli_helpers import nas_cli

    st = nas.search("mlp", "curves", strategy="random", trials=10, seed=0,
                    pruner="median", run_dir=tmp_path, progress=False)
    rec = st.trials(("PRUNED",))[0]
    step = curves[rec.fingerprint]
    lines: list[str] = []
    TrialProgress(10, st.objectives, out=lines.append)(rec)
    assert f"trial {rec.number:>3}  pruned at step {step} (val_acc 0.2)  (best" in lines[0]
    out = nas_cli("status", str(tmp_path), check=True).stdout
    row = next(line for line in out.splitlines() if line.split()[:2] == [str(rec.number),
                                                                           "pruned"])
    assert row.split()[2] == str(step)  # the steps column: where the pruner stopped it
    assert "trials pruned: a pruner stopped their training at the step shown" in out
