"""evaluators.darts: the weight-only warmup before alpha moves, and the early stop once
the argmax has settled (``warmup``, ``patience``), with their settings."""

from __future__ import annotations

import pytest
import torch

from evaluators.darts import Settled, search_darts
from nas import get_space, get_task
from nas.darts import Differentiable
from nas.settings import ConfigError

SPACE = {"channels": 4, "cells": 1}


def _search(budget: str, **options):
    options.setdefault("prune_at", ())  # warmup and patience alone (pruning: its own tests)
    task = get_task("mnist1d")
    space = get_space("nb201", task.in_shape, task.n_out, **SPACE)
    return search_darts(task, space, budget, device="cpu", record_every=1, **options)


def test_settled_counts_unchanged_answers_in_a_row():
    s = Settled(2)
    seq = [{"a": 1}, {"a": 1}, {"a": 2}, {"a": 2}, {"a": 2}]
    # by hand: same-in-a-row 0, 1, 0, 1, 2 -> True only at the fifth
    assert [s(x) for x in seq] == [False, False, False, False, True]
    never = Settled(0)
    assert not any(never({"a": 1}) for _ in range(5))


def test_warmup_keeps_alpha_still_then_lets_it_move():
    out = _search("6steps", warmup=0.5, arch_lr=0.05)
    assert out.result.ok, out.result.error
    probs = [p["probs"] for p in out.trajectory]
    assert [p["step"] for p in out.trajectory] == list(range(7))
    # int(0.5 * 6) = 3 weight-only steps: alpha is exactly its initial value after them
    assert probs[1] == probs[0] and probs[2] == probs[0] and probs[3] == probs[0]
    assert probs[4] != probs[3]  # the fourth step updates alpha


def test_patience_stops_once_the_argmax_is_unchanged():
    # alpha barely moves (lr 1e-9): the argmax is the same after steps 1 and 2, so
    # patience 1 stops at step 2 of 50
    out = _search("50steps", patience=1, arch_lr=1e-9, warmup=0.0)
    assert out.result.ok, out.result.error
    assert out.steps == 2 and out.trajectory[-1]["step"] == 2
    assert out.to_dict()["steps"] == 2
    assert out.graph is not None
    # after a warmup of int(0.2 * 50) = 10 steps the count starts: steps 11 and 12 agree
    late = _search("50steps", patience=1, arch_lr=1e-9, warmup=0.2)
    assert late.steps == 12
    full = _search("3steps", patience=0, arch_lr=1e-9)
    assert full.steps == 3  # patience 0: the whole budget


def test_a_search_repeats_whatever_ran_before_it():
    first = _search("3steps", guard="none", arch_lr=0.05)
    torch.manual_seed(12345)  # another run's draws in between
    torch.randn(1000)
    again = _search("3steps", guard="none", arch_lr=0.05)
    assert again.trajectory == first.trajectory and again.answers == first.answers


def test_settings_check_warmup_and_patience():
    s = Differentiable(warmup=0.25, patience=10)
    assert Differentiable.from_dict(s.to_dict()) == s
    for bad, word in (({"warmup": 1.0}, "differentiable.warmup"),
                      ({"warmup": -0.1}, "differentiable.warmup"),
                      ({"patience": -1}, "differentiable.patience"),
                      ({"patience": 2.5}, "differentiable.patience")):
        with pytest.raises(ConfigError, match=word):
            Differentiable(**bad)
