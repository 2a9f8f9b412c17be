"""Pruners end poor trials as PRUNED and the search goes on to its target.

The task reports a constant curve per architecture at steps 1..5: 1.0 for "good" ones
(fingerprint's first hex digit 8-f), 0.0 for "bad" ones. Whatever the pruner (median,
Hyperband, successive halving), a curve no worse than every other is never pruned, and a
curve of 0.0 below a curve of 1.0 is: so the oracle is the fingerprint.
"""

from __future__ import annotations

import pytest
from curve_helpers import good, register_curve_task

import nas
from nas import Result

STEPS = 5


@pytest.fixture
def curves():
    """Registers the "curves" task (0.0 or 1.0); yields {fingerprint: last step reported}."""
    reported: dict[str, int] = {}
    register_curve_task("curves", STEPS, 0.0, reported.__setitem__,
                        lambda step, value: Result(objectives={"val_acc": value},
                                                   pruned=True))
    return reported


@pytest.mark.parametrize("pruner", ["median", "hyperband", "sha"])
def test_pruners_end_bad_trials_as_pruned_and_the_search_goes_on(curves, pruner):
    trials = 16
    st = nas.search("mlp", "curves", strategy="random", trials=trials, seed=0,
                    pruner=pruner)
    recs = st.trials()
    states = [t.state for t in recs]
    assert len(recs) == trials  # the target is reached: pruned trials count
    assert set(states) <= {"COMPLETE", "PRUNED"}
    assert "PRUNED" in states
    first_pruned = states.index("PRUNED")
    assert "COMPLETE" in states[first_pruned + 1:]  # the search went on after it
    for t in recs:
        if t.state == "PRUNED":
            assert not good(t.fingerprint)  # only a bad curve is pruned ...
            assert curves[t.fingerprint] < STEPS  # ... and its training stopped early
        else:
            assert curves[t.fingerprint] == STEPS
            assert t.values == [1.0 if good(t.fingerprint) else 0.0]


def test_without_a_pruner_every_trial_completes(curves):
    st = nas.search("mlp", "curves", strategy="random", trials=8, seed=0)
    assert [t.state for t in st.trials()] == ["COMPLETE"] * 8
    assert all(step == STEPS for step in curves.values())
