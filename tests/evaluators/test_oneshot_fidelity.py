"""A supernet over a space of one candidate trains exactly as that candidate does
stand-alone (same init, batches, lr curve and AdamW): the mechanics of sharing (store
views, the optimizer over the store, extraction) add nothing of their own."""

from __future__ import annotations

import torch

from evaluators import Splits, SupervisedTask, TrainConfig
from nas import Space, SuperNet


def one(b, in_shape, n_out):
    """A single candidate: conv, relu, flatten, linear (no batch norm: its running
    statistics are recalibrated when scored, not trained)."""
    x = b.op("relu", b.op("conv", b.input(in_shape), channels=6, kernel=3))
    return b.output(b.op("linear", b.op("flatten", x), features=n_out))


def task() -> SupervisedTask:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(120, 1, 12, generator=g)
    y = (x[:, 0, :6].mean(1) > x[:, 0, 6:].mean(1)).long()
    splits = Splits(x[:80], y[:80], x[80:100], y[80:100], x[100:], y[100:])
    cfg = TrainConfig(batch_size=10, latency_runs=1, report_every=10**6)
    return SupervisedTask(splits, "classification", n_out=2, config=cfg)


def test_a_one_candidate_supernet_trains_as_the_candidate_alone():
    space, t = Space(one, (1, 12), 2), task()
    graph = space.build({})
    net = SuperNet(space, probe=3, seed=0)
    trained = t.train_supernet(net, "40steps", sampling="uniform", seed=0, device="cpu",
                               lr=t.config.lr)  # the candidate's own rate (default: 0.3x)
    alone = t.evaluate(graph, budget="40steps", seed=0, device="cpu", keep_weights=True)
    assert trained.ok and alone.ok, (trained.error, alone.error)
    extracted = net.extract(graph).state_dict()
    assert extracted.keys() == alone.state_dict.keys()
    untrained = SuperNet(space, probe=3, seed=0).extract(graph).state_dict()
    for k, v in alone.state_dict.items():
        assert torch.allclose(extracted[k], v, atol=1e-5), k
        assert not torch.allclose(untrained[k], v, atol=1e-3), k  # training moved it
    inherited = t.score_inherited(net, graph, seed=0, device="cpu", calib_batches=0)
    assert inherited.value("val_acc") == alone.value("val_acc")
    assert inherited.value("val_acc") > 0.6  # it learned: the task is separable
