"""Pareto fronts against a brute-force oracle written here, not the code under test.

A point is on the front iff no other point is >= in every (signed, higher is better)
objective and > in one. Later fronts: the front of what is left once the earlier ones are
taken away. Values come from a small grid so that ties and duplicates are common.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import nas
from nas import Result, Study
from nas.strategies._pareto import nondominated_ranks


def brute_front(points: list[list[float]], among: list[int] | None = None) -> set[int]:
    idx = range(len(points)) if among is None else among
    return {i for i in idx
            if not any(all(b >= a for a, b in zip(points[i], points[j]))
                       and any(b > a for a, b in zip(points[i], points[j]))
                       for j in idx if j != i)}


def brute_ranks(points: list[list[float]]) -> list[int]:
    left, ranks, r = list(range(len(points))), [0] * len(points), 0
    while left:
        front = brute_front(points, left)
        for i in front:
            ranks[i] = r
        left, r = [i for i in left if i not in front], r + 1
    return ranks


def test_the_oracle_itself_on_a_hand_made_set():
    pts = [[1, 1], [2, 0], [0, 2], [1, 1], [0, 0], [2, 2], [1, 0]]
    assert brute_front(pts) == {5}
    # without (2, 2): the two copies of (1, 1) tie and both stay; (2, 0) and (0, 2) too
    assert brute_front(pts[:5]) == {0, 1, 2, 3}
    assert brute_ranks(pts) == [1, 1, 1, 1, 3, 0, 2]


def random_points(rng: random.Random, n: int, k: int, grid: int) -> list[list[float]]:
    return [[float(rng.randrange(grid)) for _ in range(k)] for _ in range(n)]


@pytest.mark.parametrize("seed", range(40))
def test_nondominated_ranks_match_brute_force_on_random_sets(seed):
    rng = random.Random(seed)
    n, k, grid = rng.randint(1, 30), rng.randint(1, 4), rng.choice([2, 3, 5, 100])
    pts = random_points(rng, n, k, grid)
    ranks = nondominated_ranks(pts)
    assert {i for i, r in enumerate(ranks) if r == 0} == brute_front(pts)
    assert ranks == brute_ranks(pts)


values = hs.lists(hs.sampled_from([-1.0, 0.0, 0.5, 1.0, 3.0, float("-inf")]),
                  min_size=2, max_size=2)


@settings(max_examples=200, deadline=None)
@given(hs.lists(values, max_size=25))
def test_nondominated_ranks_match_brute_force_hypothesis(pts):
    # -inf is what a missing value signs to; it ties with itself and loses to anything.
    assert nondominated_ranks(pts) == brute_ranks(pts)


def test_empty_and_single():
    assert nondominated_ranks([]) == []
    assert nondominated_ranks([[3.0, -1.0]]) == [0]


# ---------------------------------------------------------------------- Study.pareto_front


def study_with(objectives, rows, extra_failed: int = 0) -> Study:
    """A study holding one COMPLETE trial per row (values in the objectives' order)."""
    st = Study(nas.open_storage(None), "s", list(objectives))
    domains = {"i": nas.Domain.choice("i", list(range(len(rows) + extra_failed + 1)))}
    for i, row in enumerate(rows):
        tid, _ = st.new_trial({"i": i}, domains, {"fingerprint": f"fp{i}"})
        assert st.finish(tid, Result(dict(zip([n for n, _ in objectives], row)))) is True
    for j in range(extra_failed):  # failed and pruned trials are never on the front
        tid, _ = st.new_trial({"i": len(rows) + j}, domains, {"fingerprint": f"bad{j}"})
        res = Result.failure("boom") if j % 2 else Result({}, {}, pruned=True)
        assert st.finish(tid, res) is True
    return st


def signed_by_hand(row, objectives):
    return [v if d == "max" else -v for v, (_, d) in zip(row, objectives)]


@pytest.mark.parametrize("seed", range(8))
def test_study_pareto_front_matches_brute_force_with_min_objectives(seed):
    rng = random.Random(1000 + seed)
    k = rng.randint(1, 3)
    objectives = [(f"o{i}", rng.choice(["max", "min"])) for i in range(k)]
    rows = random_points(rng, rng.randint(1, 15), k, rng.choice([2, 3, 10]))
    st = study_with(objectives, rows, extra_failed=2)
    expected = brute_front([signed_by_hand(r, objectives) for r in rows])
    assert sorted(t.number for t in st.pareto_front()) == sorted(expected)


def test_study_pareto_front_hand_made_min_max():
    # maximise acc, minimise params: (0.9, 100) and (0.8, 10) trade off; (0.8, 50) is
    # beaten by (0.8, 10) on params alone (a tie in acc); the duplicate (0.9, 100) stays.
    objectives = [("acc", "max"), ("params", "min")]
    rows = [[0.9, 100.0], [0.8, 10.0], [0.8, 50.0], [0.7, 100.0], [0.9, 100.0]]
    st = study_with(objectives, rows, extra_failed=1)
    assert sorted(t.number for t in st.pareto_front()) == [0, 1, 4]
    assert brute_front([signed_by_hand(r, objectives) for r in rows]) == {0, 1, 4}


# ---------------------------------------------------------------------- evolution's front


def test_multi_objective_evolution_front_matches_brute_force():
    space = nas.get_space("mlp")
    objectives = [("val_acc", "max"), ("params", "min")]
    s = nas.get_strategy("evolution", space, seed=1, objectives=objectives)
    rng = random.Random(3)
    told = []
    for i in range(30):
        _, d = space.resolve(s.ask())
        # values from a coarse grid so that ties happen; every 7th trial fails (NaN)
        acc = float("nan") if i % 7 == 0 else rng.choice([0.1, 0.2, 0.3, 0.4])
        v = {"val_acc": acc, "params": float(rng.choice([10, 20, 30]))}
        s.tell(d, Result(objectives=v))
        if acc == acc:
            told.append([v["val_acc"], -v["params"]])
    expected = sorted({tuple(told[i]) for i in brute_front(told)})
    assert len(expected) < len(set(map(tuple, told)))  # some points are dominated
    assert sorted({tuple(m[1]) for m in s.front}) == expected
