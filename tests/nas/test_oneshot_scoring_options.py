"""One-shot settings for fine-tuning and per-width norms: checked once, and handed to
the task's ``score_inherited`` and the ``SuperNet`` the search builds."""

from __future__ import annotations

import pytest

import nas
from nas import Objective, Result, Space
from nas.oneshot import OneShot
from nas.oneshot._flow import _score
from nas.settings import ConfigError


class Recorder:
    """A task whose ``score_inherited`` records its keyword arguments (an old task's
    signature: no ``finetune_steps`` unless given)."""

    def __init__(self):
        self.calls = []

    def score_inherited(self, supernet, graph, seed=0, device="auto", calib_batches=20,
                        **extra):
        self.calls.append({"calib_batches": calib_batches, **extra})
        return Result({"val_acc": 0.5}, {})


def test_finetune_steps_reach_the_task_only_when_set():
    task, objectives = Recorder(), [Objective("val_acc", "max")]
    assert _score(task, None, None, 0, "cpu", OneShot(calib_batches=3, finetune=0),
                  objectives).ok
    assert _score(task, None, None, 0, "cpu", OneShot(finetune=40), objectives).ok
    assert task.calls == [{"calib_batches": 3}, {"calib_batches": 20, "finetune_steps": 40}]


class OldTask:
    """A task from before fine-tuning: its score_inherited takes no finetune_steps."""

    def train_supernet(self, supernet, budget, sampling="uniform", seed=0, device="auto",
                       progress=None):
        return Result({}, {})

    def score_inherited(self, supernet, graph, seed=0, device="auto", calib_batches=20):
        return Result({"val_acc": 0.5}, {})


def test_a_task_that_cannot_fine_tune_is_refused_when_the_settings_fine_tune():
    from nas.oneshot import check_task

    with pytest.raises(ValueError, match=r"task 'old' cannot fine-tune .* set one_shot\.finetune "
                                         r"to 0 \(--one-shot-finetune 0\)"):
        check_task(OldTask(), "old", OneShot(finetune=50))
    check_task(OldTask(), "old", OneShot(finetune=0))
    recorder = Recorder()
    recorder.train_supernet = OldTask().train_supernet
    check_task(recorder, "recorder", OneShot(finetune=50))  # its **extra takes it
    check_task(OldTask(), "old")  # no settings: only the methods are checked


def test_new_settings_round_trip_and_bad_values_name_the_field():
    s = OneShot(finetune=25, norms="per_width")
    assert OneShot.from_dict(s.to_dict()) == s
    for bad, word in (({"finetune": -1}, "one_shot.finetune"),
                      ({"finetune": 2.5}, "one_shot.finetune"),
                      ({"norms": "own"}, "one_shot.norms")):
        with pytest.raises(ConfigError, match=word):
            nas.oneshot.one_shot_of(bad)


def test_the_search_builds_its_supernet_with_the_norms_asked_for():
    from nas.oneshot._flow import build_supernet

    def tiny(b, in_shape, n_out):
        x = b.op("conv", b.input(in_shape), channels=b.choice("w", [2, 4]), kernel=3)
        x = b.op("batch_norm", x)
        return b.output(b.op("linear", b.op("global_avg_pool", x), features=n_out))

    config = nas.SearchConfig(space="mlp", one_shot={"norms": "per_width", "probe": 20})
    net = build_supernet(Space(tiny, (1, 8), 2), config)
    assert net.norms == "per_width"
    assert len([k for k in net.store if k.startswith("batch_norm_0__")]) == 4
