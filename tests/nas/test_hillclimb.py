"""Hill climbing (NASH): generations of mutants of one incumbent, the best succeeding it.
(The contract suite in test_strategies.py covers it with every other strategy.)"""

from __future__ import annotations

import json

import pytest
from strategy_helpers import toy_space

import nas
from nas import Result, Space
from nas.strategies import get_strategy

OPS = ["relu", "tanh", "sigmoid", "gelu", "silu", "elu"]


def score(d: dict) -> float:
    return sum(d[f"op{i}"] == "relu" for i in range(6)) / 6


@pytest.fixture
def space():
    return Space(toy_space, (4,), 4)


def spy_parents(space, monkeypatch) -> list[dict]:
    """The decisions every mutation starts from, in order."""
    parents, mutate = [], space.mutate

    def spy(decisions, rng=None, tries=20):
        parents.append(dict(decisions))
        return mutate(decisions, rng, tries)

    monkeypatch.setattr(space, "mutate", spy)
    return parents


def ask_all(s, space, n) -> list[dict]:
    return [space.resolve(s.ask())[1] for _ in range(n)]


def test_a_generation_is_mutants_of_the_warmup_best(space, monkeypatch):
    s = get_strategy("hillclimb", space, seed=0, neighbours=4, warmup=6)
    warm = ask_all(s, space, 6)
    values = [0.1, 0.5, 0.9, 0.3, 0.2, 0.4]
    for d, v in zip(warm, values):
        s.tell(d, Result({"val_acc": v}))
    assert s.best == (0.9, warm[2]) and s.generation == 1
    parents = spy_parents(space, monkeypatch)
    children = ask_all(s, space, 4)
    assert parents and all(p == warm[2] for p in parents)
    assert all(c != warm[2] for c in children)


def test_comma_moves_to_the_best_child_even_below_the_incumbent(space):
    for elitist, expect_child in ((False, True), (True, False)):
        s = get_strategy("hillclimb", space, seed=1, neighbours=3, elitist=elitist)
        warm = ask_all(s, space, 3)
        for d, v in zip(warm, (0.9, 0.2, 0.1)):
            s.tell(d, Result({"val_acc": v}))
        children = ask_all(s, space, 3)
        for d, v in zip(children, (0.5, 0.8, 0.3)):
            s.tell(d, Result({"val_acc": v}))
        assert s.best == ((0.8, children[1]) if expect_child else (0.9, warm[0])), elitist


def test_every_child_failed_keeps_the_incumbent(space):
    s = get_strategy("hillclimb", space, seed=2, neighbours=2)
    warm = ask_all(s, space, 2)
    s.tell(warm[0], Result({"val_acc": 0.4}))
    s.tell(warm[1], Result({"val_acc": 0.7}))
    for d in ask_all(s, space, 2):
        s.tell(d, Result.failure("runtime error: out of memory"))
    assert s.best == (0.7, warm[1]) and s.generation == 2


def test_a_pruned_child_ranks_below_a_finished_one(space):
    s = get_strategy("hillclimb", space, seed=3, neighbours=2)
    warm = ask_all(s, space, 2)
    s.tell(warm[0], Result({"val_acc": 0.99}, {"steps": 50, "planned_steps": 100},
                                pruned=True))
    s.tell(warm[1], Result({"val_acc": 0.2}))
    assert s.best == (0.2, warm[1])


def test_asynchronous_asks_join_the_generation_and_late_results_change_nothing(space):
    s = get_strategy("hillclimb", space, seed=4, neighbours=2)
    warm = ask_all(s, space, 3)  # a third worker asked before the warm-up closed
    s.tell(warm[0], Result({"val_acc": 0.3}))
    s.tell(warm[1], Result({"val_acc": 0.6}))  # closes the warm-up: warm[1] leads
    s.tell(warm[2], Result({"val_acc": 1.0}))  # late (generation 0 closed)
    assert s.best == (0.6, warm[1]) and s.generation == 1
    assert s.state_dict()["born"] == {}


def test_workers_asking_at_once_get_different_children():
    """One decision of six values: the incumbent's five neighbours, each asked once."""
    space = Space(lambda b, i, n: b.output(b.op(b.choice("op", OPS), b.input(i))), (4,), 4)
    s = get_strategy("hillclimb", space, seed=0, neighbours=5, warmup=1)
    (warm,) = ask_all(s, space, 1)
    s.tell(warm, Result({"val_acc": 0.5}))
    children = ask_all(s, space, 5)  # five workers ask before any result is told
    assert sorted(c["op"] for c in children) == sorted(set(OPS) - {warm["op"]})


def test_it_climbs_the_toy(space):
    """Each generation's best child can only add relus it keeps (elitist): 60 asks reach
    the optimum from the best of 6 random samples on most seeds."""
    tops = []
    for seed in range(5):
        s = get_strategy("hillclimb", space, seed=seed, neighbours=6, elitist=True)
        top = 0.0
        for _ in range(60):
            _, d = space.resolve(s.ask())
            s.tell(d, Result({"val_acc": score(d)}))
            top = max(top, score(d))
        tops.append(top)
    assert sum(t == 1.0 for t in tops) >= 4, tops


def test_state_round_trips_mid_generation(space):
    s1 = get_strategy("hillclimb", space, seed=5, neighbours=4)
    for n in (4, 2):  # the warm-up, then two of the first generation's four children
        for d in ask_all(s1, space, n):
            s1.tell(d, Result({"val_acc": score(d)}))
    pending = ask_all(s1, space, 2)
    s2 = get_strategy("hillclimb", space, seed=0, neighbours=4)
    s2.load_state_dict(json.loads(json.dumps(s1.state_dict())))
    for s in (s1, s2):
        for d in pending:
            s.tell(d, Result({"val_acc": score(d)}))
    assert s1.best == s2.best and s1.generation == s2.generation == 2
    assert ask_all(s1, space, 3) == ask_all(s2, space, 3)


def test_bad_neighbours_is_a_clear_error(space):
    with pytest.raises(ValueError, match="neighbours >= 1"):
        get_strategy("hillclimb", space, neighbours=0)
    assert "hillclimb" in nas.list_strategies()
