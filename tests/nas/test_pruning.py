"""Pruners end poor trials as PRUNED and the search goes on to its target.

The task reports a constant curve per architecture at steps 1..5: 1.0 for "good" ones
(fingerprint's first hex digit 8-f), 0.0 for "bad" ones. Whatever the pruner (median,
Hyperband, successive halving), a curve no worse than every other is never pruned, and a
curve of 0.0 below a curve of 1.0 is: so the oracle is the fingerprint.
"""

from __future__ import annotations

import pytest

import nas
from nas import Result

STEPS = 5


def _good(fingerprint: str) -> bool:
    return fingerprint[0] in "89abcdef"


@pytest.fixture
def curves():
    """Registers the "curves" task; yields {fingerprint: last step it reported}."""
    reported: dict[str, int] = {}

    @nas.register_task("curves")
    class Curves:
        """A constant curve per architecture, reported at steps 1..5 (tests only)."""

        name = "curves"
        in_shape = (1, 40)
        n_out = 10
        objective = ("val_acc", "max")
        metrics = ("val_acc",)

        def evaluate(self, graph, budget=None, seed=0, device="auto", report=None,
                     keep_weights=False):
            fp = graph.fingerprint()
            value = 1.0 if _good(fp) else 0.0
            for step in range(1, STEPS + 1):
                reported[fp] = step
                if report is not None and report(step, value):
                    return Result(objectives={"val_acc": value}, pruned=True)
            return Result(objectives={"val_acc": value})

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
            assert not _good(t.fingerprint)  # only a bad curve is pruned ...
            assert curves[t.fingerprint] < STEPS  # ... and its training stopped early
        else:
            assert curves[t.fingerprint] == STEPS
            assert t.values == [1.0 if _good(t.fingerprint) else 0.0]


def test_without_a_pruner_every_trial_completes(curves):
    st = nas.search("mlp", "curves", strategy="random", trials=8, seed=0)
    assert [t.state for t in st.trials()] == ["COMPLETE"] * 8
    assert all(step == STEPS for step in curves.values())
