"""A task with fake one-shot methods: the orchestration of a one-shot search is tested
here independently of the real supernet's training and scoring.

Stand-alone score ``standalone(fp)`` and one-shot score ``one_shot(fp) = 1 - standalone``
are known functions of the architecture's fingerprint, so a test computes by hand which
candidates must be retrained. ``CALLS`` counts each method's calls in this process;
``INTERRUPT`` = {method: n} raises KeyboardInterrupt at that method's n-th call (a
Ctrl-C landing in that phase). ``FakeSuperNet`` stands in for ``nas.supernet.SuperNet``
(one parameter, which ``train_supernet`` sets to 1: scoring an untrained one fails);
with ``NAS_FAKE_SUPERNET=1`` set when this plugin loads, searches of this process use it
(a CLI test in a subprocess), else a test patches ``nas.oneshot._flow.build_supernet``.
"""

from __future__ import annotations

import os
from collections import Counter

import torch
from torch import nn

import nas
from nas import Result

CALLS: Counter = Counter()
INTERRUPT: dict[str, int] = {}


def standalone(fp: str) -> float:
    return int(fp[:6], 16) / 0xFFFFFF


def one_shot(fp: str) -> float:
    return 1.0 - standalone(fp)


def _call(method: str) -> None:
    CALLS[method] += 1
    if INTERRUPT.get(method) == CALLS[method]:
        raise KeyboardInterrupt


class FakeSuperNet(nn.Module):
    """A supernet of one weight (``build_supernet``'s signature)."""

    def __init__(self, space=None, config=None):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))


if os.environ.get("NAS_FAKE_SUPERNET") == "1":
    from nas.oneshot import _flow

    _flow.build_supernet = FakeSuperNet


@nas.register_task("fake_oneshot")
class FakeOneShotTask:
    """Fake one-shot: known stand-alone and one-shot scores per architecture (tests)."""

    name = "fake_oneshot"
    in_shape = (1, 40)
    n_out = 10
    objective = ("val_acc", "max")
    metrics = ("val_acc", "params", "test_acc", "latency_ms")

    def evaluate(self, graph, budget=None, seed=0, device="auto", report=None,
                 keep_weights=False):
        _call("evaluate")
        score = standalone(graph.fingerprint())
        return Result({"val_acc": score}, {"params": float(nas.count_params(graph)),
                                           "test_acc": score, "latency_ms": 1.0})

    def train_supernet(self, supernet, budget, sampling="uniform", seed=0, device="auto",
                       progress=None):
        _call("train_supernet")
        for step in range(1, 4):
            if progress is not None:
                progress(step, 3)
        with torch.no_grad():
            supernet.w.fill_(1.0)
        return Result({}, {"steps": 3, "sampling": sampling})

    def score_inherited(self, supernet, graph, seed=0, device="auto", calib_batches=20,
                        finetune_steps=0):
        _call("score_inherited")
        if float(supernet.w.detach()) != 1.0:
            return Result.failure("scored with an untrained supernet")
        score = one_shot(graph.fingerprint())
        return Result({"val_acc": score}, {"params": float(nas.count_params(graph)),
                                           "latency_ms": 1.0})
