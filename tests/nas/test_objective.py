"""The Objective type: the one place a direction becomes a sign."""

import json
import math

import pytest

from nas import Objective
from nas.objective import objectives_of, objectives_text, signed


def test_objective_is_a_pair():
    o = Objective("val_acc", "max")
    name, direction = o
    assert (name, direction) == ("val_acc", "max")
    assert o == ("val_acc", "max")
    assert json.loads(json.dumps([o])) == [["val_acc", "max"]]
    assert str(o) == "val_acc:max"


@pytest.mark.parametrize("item", ["params:min", ("params", "min"), ["params", "MIN"],
                                  Objective("params", "min")])
def test_of_reads_every_form(item):
    assert Objective.of(item) == Objective("params", "min")


@pytest.mark.parametrize("bad", [("val_acc", "up"), ("", "max"), "val_acc", "val_acc:"])
def test_bad_objective_names_what_to_write(bad):
    with pytest.raises(ValueError, match="max or min|needs a name"):
        Objective.of(bad)


def test_sign_orders_by_better():
    acc, loss = Objective("acc", "max"), Objective("loss", "min")
    assert acc.signed(0.9) > acc.signed(0.8)
    assert loss.signed(0.1) > loss.signed(0.2)
    assert loss.better(0.1, 0.2) and not loss.better(0.2, 0.1) and loss.better(5.0, None)
    assert acc.signed(math.nan) == -math.inf == loss.signed(None)
    assert loss.unsigned(loss.signed(0.3)) == 0.3
    assert (acc.optuna_direction, loss.optuna_direction) == ("maximize", "minimize")
    assert (acc.label, loss.label) == ("acc (higher is better)", "loss (lower is better)")


def test_helpers_over_lists():
    objs = objectives_of([("acc", "max"), "params:min"])
    assert objectives_text(objs) == "acc:max,params:min"
    assert signed([0.5, 100.0], objs) == [0.5, -100.0]
