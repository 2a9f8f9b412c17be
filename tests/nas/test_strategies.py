"""Contract suite over every registered strategy (nas.testing.StrategyContract, which
users run on their own strategies), and statistical checks on toys."""

from __future__ import annotations

import json
import math
import random
import statistics

import pytest

import nas
from nas import Result, Space
from nas.strategies import get_strategy, list_strategies
from nas.testing import StrategyContract, pseudo_score, run_strategy

STRATEGIES = list_strategies()


class TestEveryStrategy(StrategyContract):
    @pytest.fixture(params=STRATEGIES)
    def strategy_under_test(self, request):
        return request.param


def toy_space(b, in_shape, n_out):
    x = b.input(in_shape)
    for i in range(8):
        x = b.op(b.choice(f"op{i}", ["relu", "tanh", "sigmoid", "gelu", "silu"]), x)
    return b.output(x)


def toy_score(d: dict) -> float:
    """Known optimum 8: each position has one right op, with an interaction bonus."""
    target = ["relu", "tanh", "sigmoid", "gelu", "silu", "relu", "tanh", "sigmoid"]
    hits = [d[f"op{i}"] == t for i, t in enumerate(target)]
    return sum(hits) + 0.5 * sum(a and b for a, b in zip(hits, hits[1:])) / 7


@pytest.mark.parametrize("name", [s for s in STRATEGIES if s != "random"])
def test_beats_random_on_a_toy_with_a_known_optimum(name):
    space = Space(toy_space, (4,), 4)

    def best(strategy_name, seed):
        s = get_strategy(strategy_name, space, seed=seed, objectives=[("score", "max")])
        top = -math.inf
        for _ in range(40):
            _, d = space.resolve(s.ask())
            v = toy_score(d)
            s.tell(d, Result(objectives={"score": v}))
            top = max(top, v)
        return top

    seeds = range(6)
    ours = [best(name, s) for s in seeds]
    rand = [best("random", s) for s in seeds]
    assert statistics.fmean(ours) > statistics.fmean(rand)
    wins = sum(o > r for o, r in zip(ours, rand))
    assert wins >= 5, f"{name} beat random on {wins}/6 seeds: {ours} vs {rand}"


def test_unknown_strategy_suggests():
    with pytest.raises(ValueError, match="did you mean evolution"):
        get_strategy("evolutoin", nas.get_space("mlp"))


def test_multi_objective_evolution_keeps_proposing():
    """Told two random objectives, evolution keeps proposing new architectures (never one
    it proposed before) and keeps exactly the non-dominated ones told (brute force)."""
    space = nas.get_space("mlp")
    s = get_strategy("evolution", space, seed=0,
                     objectives=[("val_acc", "max"), ("params", "min")])
    rng = random.Random(0)
    fingerprints, told = [], []
    for _ in range(40):
        graph, d = space.resolve(s.ask())
        values = (rng.random(), rng.random())
        s.tell(d, Result(objectives={"val_acc": values[0], "params": values[1]}))
        fingerprints.append(graph.fingerprint())
        told.append((values[0], -values[1]))  # both higher-is-better
    assert len(set(fingerprints)) == len(fingerprints)
    front = {p for p in told if not any(q != p and q[0] >= p[0] and q[1] >= p[1]
                                        for q in told)}
    assert {tuple(m[1]) for m in s.front} == front


def _toy_pair(space, d):
    """A two-objective toy on the mlp space: 'accuracy' grows with the parameter count,
    plus a fixed per-architecture offset (so some points are dominated); 'size' is the
    real parameter count."""
    g = space.build(d)
    params = nas.count_params(nas.compile_graph(g))
    offset = random.Random(g.fingerprint()).random() * 0.2
    return {"val_acc": 1 - 1 / (1 + 0.02 * params ** 0.5) + offset, "params": float(params)}


def test_multi_objective_evolution_keeps_its_front_and_resumes_it():
    from nas.strategies._pareto import nondominated_ranks

    space = nas.get_space("mlp")
    objectives = [("val_acc", "max"), ("params", "min")]
    s = get_strategy("evolution", space, seed=1, objectives=objectives)
    told = []
    for i in range(30):
        _, d = space.resolve(s.ask())
        values = _toy_pair(space, d) if i % 7 else {"val_acc": float("nan"), "params": 1.0}
        s.tell(d, Result(objectives=values))
        told.append(values)
    finite = [[v["val_acc"], -v["params"]] for v in told if v["val_acc"] == v["val_acc"]]
    ranks = nondominated_ranks(finite)
    expected = sorted({tuple(v) for v, r in zip(finite, ranks) if r == 0})
    assert len(expected) < len(finite)  # the toy has dominated points
    assert sorted(tuple(m[1]) for m in s.front) == expected  # the front, failures left out
    clone = get_strategy("evolution", space, seed=1, objectives=objectives)
    clone.load_state_dict(json.loads(json.dumps(s.state_dict())))
    assert sorted(tuple(m[1]) for m in clone.front) == expected
    assert [clone.ask() for _ in range(3)] == [s.ask() for _ in range(3)]


def test_multi_objective_surrogate_spreads_over_the_front():
    """With several objectives the surrogate scores by random scalarizations: over many
    asks it proposes both small and large children (not only the first objective's)."""
    space = nas.get_space("mlp")
    s = get_strategy("evolution", space, seed=0,
                     objectives=[("val_acc", "max"), ("params", "min")])
    for _ in range(25):
        _, d = space.resolve(s.ask())
        s.tell(d, Result(objectives=_toy_pair(space, d)))
    sizes = [_toy_pair(space, space.resolve(s.ask())[1])["params"] for _ in range(12)]
    front = sorted(-m[1][1] for m in s.front)
    assert min(sizes) <= front[len(front) // 2] <= max(sizes)


def _run_with_cost(strategy, space, n):
    """Toy search: fitness = a pseudo-random score per architecture, cost = its params."""
    proposed = []
    for _ in range(n):
        _, d = space.resolve(strategy.ask())
        params = nas.count_params(nas.compile_graph(space.build(d)))
        strategy.tell(d, Result(objectives={"val_acc": pseudo_score(d)},
                                metrics={"train_time_s": 1e-3 * params}))
        proposed.append(params)
    return proposed


def test_cost_aware_evolution_proposes_cheaper_children():
    """Among children the surrogate ranks alike, evolution proposes the cheapest by its
    predicted cost: after the warm-up its proposals are smaller than cost-blind ones."""
    space = nas.get_space("mlp")
    aware, blind = [], []
    for seed in range(3):
        aware += _run_with_cost(get_strategy("evolution", space, seed=seed,
                                             cost="train_time_s"), space, 40)[10:]
        blind += _run_with_cost(get_strategy("evolution", space, seed=seed), space, 40)[10:]
    log_mean = lambda xs: statistics.fmean(math.log(x) for x in xs)  # noqa: E731
    assert log_mean(aware) < log_mean(blind) - 0.3


def test_cost_aware_evolution_without_costs_is_the_plain_algorithm():
    space = nas.get_space("mlp")
    a = run_strategy(get_strategy("evolution", space, seed=4, cost="train_time_s"), space, 30)
    b = run_strategy(get_strategy("evolution", space, seed=4), space, 30)
    assert a == b


def test_evolution_resumes_with_its_costs():
    space = nas.get_space("mlp")
    s = get_strategy("evolution", space, seed=2, cost="train_time_s")
    _run_with_cost(s, space, 25)
    clone = get_strategy("evolution", space, seed=2, cost="train_time_s")
    clone.load_state_dict(json.loads(json.dumps(s.state_dict())))
    assert clone.costs == s.costs and all(c is not None for c in s.costs)
    assert _run_with_cost(clone, space, 8) == _run_with_cost(s, space, 8)


def test_evolution_warmup_starts_breeding_early():
    """After ``warmup`` results the next proposal is a mutant: close to a parent (a
    fresh random sample is close to one only by chance)."""
    space = nas.get_space("mlp")

    def near_a_parent(warmup, seed):
        s = get_strategy("evolution", space, seed=seed, warmup=warmup)
        run_strategy(s, space, 4)
        child = s.ask()
        return min(sum(child.get(k) != p.get(k) for k in set(child) | set(p))
                   for p, _ in s.history) <= 3

    assert all(near_a_parent(4, seed) for seed in range(10))
    assert sum(near_a_parent(None, seed) for seed in range(10)) <= 6
