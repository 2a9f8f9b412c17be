"""Strategies hold their objectives as ``nas.Objective``s and sign results through them."""

from __future__ import annotations

import math

import pytest

import nas
from nas import Objective, Result
from nas.strategies import signed_values


def test_a_strategy_s_objectives_are_objectives_whatever_it_was_given():
    space = nas.get_space("mlp")
    s = nas.get_strategy("random", space, objectives=[("val_acc", "max"), "params:min"])
    assert s.objectives == [Objective("val_acc", "max"), Objective("params", "min")]
    assert all(isinstance(o, Objective) for o in s.objectives)
    assert nas.get_strategy("random", space).objectives == [("val_acc", "max")]
    with pytest.raises(ValueError, match="objective 'acc': the direction must be max or min"):
        nas.get_strategy("random", space, objectives=[("acc", "up")])


def test_signed_values_orient_each_objective_and_rank_failures_last():
    objectives = [("val_acc", "max"), ("params", "min")]
    assert signed_values(Result(objectives={"val_acc": 0.5, "params": 3.0}),
                         objectives) == [0.5, -3.0]
    assert signed_values(Result(objectives={"val_acc": math.nan}), objectives) == [-math.inf] * 2
    assert signed_values(Result.failure("x"), objectives) == [-math.inf] * 2


def test_the_optuna_adapter_gives_optuna_each_objective_s_direction():
    s = nas.get_strategy("optuna:tpe", nas.get_space("mlp"),
                         objectives=[("val_acc", "max"), ("params", "min")])
    assert [d.name for d in s.study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert s._raw([0.5, -3.0]) == [0.5, 3.0]  # signed back to optuna's own direction
