"""The retrained top of a one-shot search skips near-copies (``distinct``): a greedy
pick in rank order, checked against a brute-force reading of the rule."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from nas import OneShot
from nas.oneshot._book import Score, decision_distance, distinct
from nas.settings import ConfigError


def score(i: int, **decisions) -> Score:
    return Score(i, decisions, f"fp{i}", {"val_acc": 1.0 - i / 100})


def test_decision_distance_counts_either_sides_decisions():
    assert decision_distance({"a": 1, "b": 2}, {"a": 1, "b": 2}) == 0.0
    assert decision_distance({"a": 1, "b": 2}, {"a": 1, "b": 3}) == 0.5
    assert decision_distance({"a": 1}, {"a": 1, "b": 3}) == 0.5  # b: only one has it
    assert decision_distance({"a": None}, {}) == 1.0  # a missing decision is not None
    assert decision_distance({}, {}) == 0.0


def test_near_copies_of_the_best_are_skipped_then_fill_in():
    ranked = [score(0, a=1, b=1, c=1, d=1), score(1, a=1, b=1, c=1, d=2),  # 1 of 4 differs
              score(2, a=2, b=2, c=1, d=1), score(3, a=1, b=1, c=2, d=2),
              score(4, a=2, b=2, c=1, d=2)]
    assert [s.index for s in distinct(ranked, 3, 0.5)] == [0, 2, 3]
    assert [s.index for s in distinct(ranked, 3, 0.0)] == [0, 1, 2]  # off: the plain top
    # too few far apart (0 and 4 differ in 3 of 4): the best skipped ones fill up to k
    assert [s.index for s in distinct(ranked, 4, 0.75)] == [0, 1, 2, 4]
    assert [s.index for s in distinct(ranked, 9, 0.5)] == [0, 1, 2, 3, 4]


@settings(max_examples=60, deadline=None)
@given(hs.integers(0, 10_000), hs.integers(1, 6), hs.sampled_from([0.0, 0.25, 0.5, 0.75]))
def test_distinct_is_the_greedy_rule(seed, k, share):
    rng = random.Random(seed)
    ranked = [score(i, **{n: rng.randint(0, 2) for n in "abcd" if rng.random() < 0.9})
              for i in range(rng.randint(0, 12))]
    picked = distinct(ranked, k, share)
    assert len(picked) == min(k, len(ranked))
    assert [s.index for s in picked] == sorted(s.index for s in picked)  # rank order kept
    far = []  # brute force: walk the ranking, keep what is far from all kept so far
    for s in ranked:
        if len(far) < k and all(decision_distance(s.decisions, t.decisions) >= share
                                for t in far):
            far.append(s)
    assert set(map(id, far)) <= set(map(id, picked))
    for a, b in itertools.combinations(far, 2):
        assert decision_distance(a.decisions, b.decisions) >= share


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2, True, "0.2"])
def test_distinct_must_be_a_share(bad):
    with pytest.raises(ConfigError, match="one_shot.distinct"):
        OneShot(distinct=bad)
