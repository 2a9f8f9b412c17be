"""Contract: every registered space goes through a tiny supernet on its own task: the
store is built, a few steps train it, and one candidate is scored with inherited
weights (a space not listed here is tried on MNIST-1D, as spaces take a task's I/O)."""

from __future__ import annotations

import pytest
import torch

import nas

TASKS = {"autoencoder": "ae", "vae": "vae", "gan": "gan", "gnn": "karate",
         "nb201": "cifar10"}  # the rest: mnist1d
QUICK = {"latency_runs": 1, "report_every": 10**6, "batch_size": 16}


@pytest.mark.parametrize("name", nas.list_spaces())
def test_every_space_trains_and_scores_on_a_tiny_supernet(name):
    task = nas.get_task(TASKS.get(name, "mnist1d"), config=QUICK)
    space = nas.get_space(name, in_shape=task.in_shape, n_out=task.n_out,
                          **getattr(task, "space_config", {}))
    supernet = nas.SuperNet(space, rule="slice", probe=6, seed=0)
    before = {k: p.detach().clone() for k, p in supernet.store.items()}
    trained = task.train_supernet(supernet, "3steps", device="cpu")
    assert trained.ok, trained.error
    assert any(not torch.equal(p, before[k]) for k, p in supernet.store.items())
    graph = space.build(space.sample_valid(1))
    scored = task.score_inherited(supernet, graph, device="cpu", calib_batches=2)
    assert scored.ok, scored.error
    assert set(scored.objectives) == {task.objective[0]}
    assert 0.0 <= scored.metrics["coverage"] <= 1.0
