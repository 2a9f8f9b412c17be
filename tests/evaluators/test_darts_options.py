"""evaluators.darts: what alpha's steps see (``arch_data``) and progressive pruning
during a search (``prune_at``), with their settings."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from evaluators.darts import search_darts
from evaluators.darts_data import arch_batches, half_split
from nas import get_space, get_task
from nas.darts import Differentiable
from nas.settings import ConfigError

SPACE = {"channels": 4, "cells": 1}


def _search(budget: str, **options):
    task = get_task("mnist1d")
    space = get_space("nb201", task.in_shape, task.n_out, **SPACE)
    return search_darts(task, space, budget, device="cpu", record_every=1, **options)


def _stub(n_train: int = 10, n_val: int = 4, batch: int = 2):
    data = SimpleNamespace(x_train=torch.arange(n_train) * 10, y_train=torch.arange(n_train),
                           x_val=torch.arange(n_val) * 100, y_val=torch.arange(n_val))
    inner = SimpleNamespace(data=data, batches=None)
    loop = SimpleNamespace(config=SimpleNamespace(batch_size=batch), device="cpu", seed=0)
    return inner, loop


def _epoch(batches, n: int) -> list[int]:
    return sorted(int(i) for _ in range(n) for i in next(batches))


def test_half_gives_the_weights_and_alpha_disjoint_halves_of_the_training_split():
    inner, loop = _stub()
    x, y, alpha = arch_batches(inner, "half", loop)
    assert x is inner.data.x_train and y is inner.data.y_train  # never val, never test
    mine, theirs = _epoch(inner.batches, 3), _epoch(alpha, 3)  # halves of 5, batches of 2
    a, b = half_split(10, loop.seed + 2)
    assert set(mine) <= set(a.tolist()) and set(theirs) <= set(b.tolist())
    assert sorted(a.tolist() + b.tolist()) == list(range(10)) and len(a) == len(b) == 5
    # every sample each side sees over many epochs: its own half, exactly
    assert set(_epoch(inner.batches, 40)) == set(a.tolist())
    assert set(_epoch(alpha, 40)) == set(b.tolist())


def test_val_and_train_draw_alpha_batches_from_those_splits():
    inner, loop = _stub()
    x, _, batches = arch_batches(inner, "val", loop)
    assert x is inner.data.x_val and set(_epoch(batches, 20)) == {0, 1, 2, 3}
    assert inner.batches is None  # the weights' batches are left alone
    x, _, batches = arch_batches(inner, "train", loop)
    assert x is inner.data.x_train and set(_epoch(batches, 40)) == set(range(10))


def test_half_split_is_a_seeded_partition():
    a, b = half_split(7, 3)
    assert sorted(a.tolist() + b.tolist()) == list(range(7)) and len(a) == 3
    assert torch.equal(half_split(7, 3)[0], a) and not torch.equal(half_split(7, 4)[0], a)


@pytest.mark.parametrize("arch_data", ["half", "train"])
def test_a_search_runs_with_alpha_on_the_training_split(arch_data):
    out = _search("4steps", arch_data=arch_data, warmup=0.0, arch_lr=0.05)
    assert out.result.ok, out.result.error
    assert out.trajectory[-1]["probs"] != out.trajectory[0]["probs"]


def test_pruning_drops_the_weakest_op_of_each_edge_at_its_step_and_keeps_it_out():
    plain = _search("6steps", guard="none", warmup=0.0, arch_lr=0.05, patience=0)
    pruned = _search("6steps", guard="none", warmup=0.0, arch_lr=0.05, patience=0,
                     prune_at=(0.5,))
    assert [p["step"] for p in pruned.pruned] == [3]  # int(0.5 * 6)
    ops = pruned.options
    # oracle: the same search unpruned (identical up to step 3): its argmin per edge
    at3 = plain.trajectory[3]["probs"]
    want = {k: ops[k][min(range(len(v)), key=v.__getitem__)] for k, v in at3.items()}
    assert pruned.pruned[0]["dropped"] == want
    for point in pruned.trajectory[3:]:
        for k, v in point["probs"].items():
            assert v[ops[k].index(want[k])] == 0.0
    assert pruned.trajectory[:3] == plain.trajectory[:3]
    assert pruned.to_dict()["pruned"] == pruned.pruned


def test_early_stop_waits_for_the_last_prune():
    # argmax fixed (lr 1e-9), patience 1: counting starts after the prune at step 25
    out = _search("50steps", patience=1, arch_lr=1e-9, warmup=0.0, prune_at=(0.5,))
    assert out.steps == 27 and len(out.pruned) == 1


def test_settings_check_arch_data_and_prune_at():
    s = Differentiable(arch_data="half", prune_at=[0.75, 0.5])
    assert s.prune_at == (0.5, 0.75)
    assert Differentiable.from_dict(s.to_dict()) == s
    for bad in ({"arch_data": "test"}, {"prune_at": [1.0]}, {"prune_at": "0.5"},
                {"prune_at": [0]}, {"prune_at": [True]}):
        name = next(iter(bad))
        with pytest.raises(ConfigError, match=f"differentiable.{name}"):
            Differentiable(**bad)


def test_a_gdas_search_moves_alpha_and_discretizes():
    out = _search("6steps", guard="gdas", warmup=0.0, arch_lr=0.05)
    assert out.result.ok, out.result.error
    assert out.trajectory[-1]["probs"] != out.trajectory[0]["probs"]
    assert out.graph is not None and out.guard == "gdas"
