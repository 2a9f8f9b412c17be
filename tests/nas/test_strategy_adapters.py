"""Adapter specifics: optuna samplers, nevergrad optimizers and the RL controller."""

from __future__ import annotations

import hashlib
import importlib.util
import math
import random

import numpy as np
import pytest
import torch
from strategy_helpers import toy_space

from nas import Result, Space
from nas.strategies import get_strategy
from nas.testing import conditional_space as cond_space


def wide_space(b, in_shape, n_out):
    """An int with 1000 values, a log int and a log float."""
    x = b.op("flatten", b.input(in_shape))
    x = b.op("linear", x, features=b.int("units", 1, 1000))
    x = b.op("linear", x, features=b.int("units2", 1, 5000, log=True))
    x = b.op("dropout", x, p=b.float("scale", 1e-5, 1e-1, log=True))
    return b.output(b.op("linear", x, features=n_out))


def toy_score(d: dict) -> float:
    return sum(d[f"op{i}"] == "gelu" for i in range(6))


def _score(d: dict) -> float:
    """A pseudo-score, the same in every process (hashlib, not hash())."""
    return sum(int(hashlib.sha256(str(v).encode()).hexdigest()[:8], 16) % 97
               for v in d.values()) / 97


def _run(strategy, space, n, result=None):
    out = []
    for _ in range(n):
        _, d = space.resolve(strategy.ask())
        strategy.tell(d, result or Result(objectives={"val_acc": _score(d)}))
        out.append(d)
    return out


# ---------------------------------------------------------------- optuna
def test_optuna_sampler_options_are_passed_through():
    space = Space(cond_space, (1, 8), 2)
    calls = []

    def gamma(n):
        calls.append(n)
        return min(3, n)

    s = get_strategy("optuna:tpe", space, seed=0, n_startup_trials=3, gamma=gamma,
                     multivariate=True)
    _run(s, space, 6)
    assert calls, "TPE ran past its 3 startup trials with our gamma"
    calls.clear()
    _run(get_strategy("optuna:tpe", space, seed=0, gamma=gamma), space, 6)
    assert not calls, "the default 10 startup trials are random"


def test_optuna_unknown_sampler_or_option_is_a_clear_error():
    space = Space(cond_space, (1, 8), 2)
    with pytest.raises(ValueError, match="optuna:tpe.*optuna:gp"):
        get_strategy("optuna:tpee", space)
    with pytest.raises(ValueError, match="no option 'n_startup'.*n_startup_trials"):
        get_strategy("optuna:tpe", space, n_startup=3)


@pytest.mark.skipif(importlib.util.find_spec("cmaes") is not None, reason="cmaes installed")
def test_optuna_cmaes_without_the_package_says_what_to_install():
    with pytest.raises(ImportError, match="pip install cmaes"):
        get_strategy("optuna:cmaes", Space(cond_space, (1, 8), 2))


@pytest.mark.parametrize("method,options", [
    ("random", {}), ("nsga2", {"population_size": 4}), ("qmc", {}),
    ("gp", {"n_startup_trials": 2}),
])
def test_optuna_samplers_propose_valid_conditional_decisions(method, options):
    space = Space(cond_space, (1, 8), 2)
    n = 4 if method == "gp" else 12  # the GP sampler is slow on CPU
    for d in _run(get_strategy(f"optuna:{method}", space, seed=0, **options), space, n):
        assert ("layers" in d) == d["deep"] and 0.0 <= d["p"] <= 0.5


def test_optuna_study_records_states_and_foreign_trials():
    from optuna.trial import TrialState

    space = Space(cond_space, (1, 8), 2)
    s = get_strategy("optuna:tpe", space, seed=0, objectives=[("acc", "max"), ("ms", "min")])
    assert [d.name for d in s.study.directions] == ["MAXIMIZE", "MINIMIZE"]
    _, d = space.resolve(s.ask())
    s.tell(d, Result(objectives={"acc": 0.5, "ms": 3.0}))
    _, d = space.resolve(s.ask())
    s.tell(d, Result(objectives={"acc": math.nan, "ms": 1.0}))  # NaN -> FAIL
    _, d = space.resolve(s.ask())
    s.tell(d, Result(objectives={"acc": 0.1, "ms": 1.0}, pruned=True))
    s.tell({"deep": False, "p": 0.25}, Result(objectives={"acc": 0.7, "ms": 2.0}))  # not asked
    trials = s.study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL,
                                         TrialState.PRUNED, TrialState.COMPLETE]
    assert trials[0].values == [0.5, 3.0] and trials[-1].params == {"deep": False, "p": 0.25}


# ---------------------------------------------------------------- nevergrad
def test_nevergrad_unknown_optimizer_is_a_clear_error():
    with pytest.raises(ValueError, match="did you mean NGOpt.*DiscreteOnePlusOne"):
        get_strategy("nevergrad:NGopt", Space(cond_space, (1, 8), 2))


def test_nevergrad_choices_are_deterministic():
    import nevergrad as ng

    s = get_strategy("nevergrad:DiscreteOnePlusOne", Space(cond_space, (1, 8), 2), seed=0)
    choices = [p for p in s.param if isinstance(p, ng.p.Choice)]
    assert len(choices) == 5  # deep, layers, w0..w2 (p is a Scalar)
    data = np.random.default_rng(0).normal(size=s.param.dimension)
    values = {s.param.spawn_child().set_standardized_data(data).value for _ in range(20)}
    assert len(values) == 1, "the same data must always give the same choices"


@pytest.mark.parametrize("method", ["PortfolioDiscreteOnePlusOne", "NGOpt"])
def test_nevergrad_grows_when_a_new_decision_shows_up(method):
    space = Space(cond_space, (1, 8), 2)
    s = get_strategy(f"nevergrad:{method}", space, seed=0, samples=1)  # sees too little
    before = len(s.domains)
    s.tell({"deep": True, "layers": 3, "w0": 4, "w1": 8, "w2": 16, "p": 0.1},
           Result(objectives={"val_acc": 0.9}))
    for d in _run(s, space, 10):
        assert ("layers" in d) == d["deep"]
    assert len(s.domains) == 6 > before and s.epoch >= 1


def test_nevergrad_failures_get_a_finite_loss_worse_than_any_success():
    space = Space(cond_space, (1, 8), 2)
    s = get_strategy("nevergrad", space, seed=0)
    _run(s, space, 1, Result.failure("oom"))
    _run(s, space, 3)
    _run(s, space, 1, Result.failure("oom"))
    losses = [loss[0] for _, loss, _ in s.history]
    assert losses[0] == 1e9 and all(math.isfinite(v) for v in losses)
    assert losses[-1] > max(losses[1:4])


# ---------------------------------------------------------------- rl
def test_rl_handles_a_1000_value_int_and_log_domains():
    space = Space(wide_space, (1, 4), 2)
    s = get_strategy("rl", space, seed=0)
    ds = _run(s, space, 40)
    heads = {h.name: h for h in s.policy.heads}
    assert heads["units"].bins.n == 64 and heads["scale"].bins.n == 16
    assert all(1 <= d["units"] <= 1000 and 1 <= d["units2"] <= 5000 for d in ds)
    scales = [d["scale"] for d in ds]
    assert min(scales) < 1e-4 and max(scales) > 1e-2, "log bins span the decades"
    gen = torch.Generator().manual_seed(0)
    for head in heads.values():  # a value sampled in bin a is taught back as bin a
        assert all(head.bins.action(head.bins.value(a, gen)) == a for a in range(head.bins.n))


def test_rl_entropy_decreases_while_learning_a_toy():
    space = Space(toy_space, (4,), 4)
    s = get_strategy("rl", space, seed=0, objectives=[("score", "max")])
    entropies, scores = [], []
    for _ in range(60):
        _, d = space.resolve(s.ask())
        scores.append(toy_score(d))
        s.tell(d, Result(objectives={"score": scores[-1]}))
        entropies.append(s.last_entropy)
    assert entropies[0] == pytest.approx(6 * math.log(4), rel=1e-3)  # uniform at first
    assert np.mean(entropies[-10:]) < np.mean(entropies[:10]) - 0.5
    assert np.mean(scores[-20:]) > np.mean(scores[:20])


def test_rl_leaves_the_global_random_states_alone():
    space = Space(cond_space, (1, 8), 2)
    torch_state, py_state = torch.get_rng_state(), random.getstate()
    _run(get_strategy("rl", space, seed=0), space, 5)
    assert torch.equal(torch.get_rng_state(), torch_state) and random.getstate() == py_state


def test_rl_failures_before_any_success_still_train():
    space = Space(cond_space, (1, 8), 2)
    s = get_strategy("rl", space, seed=0)
    _run(s, space, 5, Result.failure("boom"))
    _run(s, space, 5)
    assert all(torch.isfinite(p).all() for p in s.policy.parameters())


def test_optuna_adapter_leaves_the_users_optuna_logging_alone(caplog):
    """The adapter's private study neither changes optuna's verbosity nor logs its
    "Trial N finished" lines at the user's INFO level."""
    import logging

    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    optuna.logging.enable_propagation()
    try:
        space = Space(toy_space, (4,), 4)
        with caplog.at_level(logging.INFO, logger="optuna"):
            strat = get_strategy("optuna:tpe", space, seed=0)
            for _ in range(3):
                _, decisions = space.resolve(strat.ask())
                strat.tell(decisions, Result({"val_acc": toy_score(decisions)}))
            assert optuna.logging.get_verbosity() == optuna.logging.INFO  # caplog restores
        assert [r.getMessage() for r in caplog.records if r.name.startswith("optuna")] == []
    finally:
        optuna.logging.disable_propagation()
        optuna.logging.set_verbosity(before)
