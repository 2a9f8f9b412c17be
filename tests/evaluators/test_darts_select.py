"""Perturbation-based selection (``select="perturb"``, DARTS-PT without fine-tuning):
hand-made losses whose answer differs from the largest alpha's, and the search with it."""

from __future__ import annotations

import json
import math

import pytest
import torch

import nas
from evaluators.darts import search_darts
from nas import get_space, get_task
from nas.darts import TRAJECTORY_FILE, Architecture, Differentiable
from nas.darts._select import perturbation_answers
from nas.settings import ConfigError

CHOICES = {"a": ["conv", "skip", "pool"], "b": ["p", "q", "r"]}


class FakeNet:
    """Records every mixing it is given; the loss reads the last one."""

    def __init__(self):
        self.seen: list[dict] = []

    def set_mixing(self, weights, beta=0.0, skip=frozenset()):
        self.seen.append({k: v.clone() for k, v in weights.items()})

    @property
    def w(self) -> dict:
        return self.seen[-1]


def _arch(guard: str = "none") -> Architecture:
    arch = Architecture(CHOICES, guard=guard)
    with torch.no_grad():
        arch.vector("a").copy_(torch.tensor([0.0, 2.0, 0.5]))  # alpha's answer: skip
        arch.vector("b").copy_(torch.tensor([1.0, 0.0, 0.0]))  # alpha's answer: p
    return arch


def test_the_option_whose_removal_hurts_most_is_kept_not_the_largest_alpha():
    arch, net = _arch(), FakeNet()
    # the supernet relies on a's conv (loss 1 - its weight), and on b's q only once
    # a is fixed to conv: removing q then costs the most
    def loss():
        w = net.w
        return float(1 - w["a"][0] + (w["a"][0] == 1.0) * (1 - w["b"][1]))

    answers, losses = perturbation_answers(arch, net, loss)
    assert arch.answers() == {"a": "skip", "b": "p"}
    assert answers == {"a": "conv", "b": "q"}
    p = arch.probabilities()["a"].detach()
    want_a = [1.0, 1 - p[0] / (1 - p[1]), 1 - p[0] / (1 - p[2])]  # removal renormalizes
    assert losses["a"] == pytest.approx([float(v) for v in want_a], abs=1e-6)
    # while b was measured, a was fixed one-hot at its answer
    assert all(s["a"].tolist() == [1.0, 0.0, 0.0] for s in net.seen[3:])
    assert len(net.seen) == 6  # 2 decisions x 3 options, one pass each


def test_pruned_options_are_neither_measured_nor_chosen():
    arch, net = _arch("drnas"), FakeNet()
    arch.prune_weakest()  # a drops conv, b drops q (their smallest probabilities)
    answers, losses = perturbation_answers(arch, net, lambda: float(1 - net.w["a"][0]
                                                                     - net.w["b"][1]))
    assert math.isnan(losses["a"][0]) and math.isnan(losses["b"][1])
    assert answers["a"] != "conv" and answers["b"] != "q"
    assert len(net.seen) == 4


def test_a_single_option_left_is_the_answer_without_a_pass():
    arch, net = Architecture({"a": ["x", "y"]}, guard="none"), FakeNet()
    arch.prune_weakest()
    answers, _ = perturbation_answers(arch, net, lambda: 0.0)
    assert answers == arch.answers() and net.seen == []


def test_a_search_selecting_by_perturbation_resolves_its_answers():
    task = get_task("mnist1d")
    space = get_space("nb201", task.in_shape, task.n_out, channels=4, cells=1)
    kw = dict(device="cpu", guard="none", warmup=0.0, arch_lr=0.05, patience=0)
    plain = search_darts(task, space, "4steps", **kw)
    out = search_darts(task, space, "4steps", select="perturb", **kw)
    assert out.result.ok, out.result.error
    assert out.trajectory == plain.trajectory  # the same search; only the reading differs
    assert out.select == "perturb" and set(out.perturbation) == set(out.options)
    assert out.pruned  # the default progressive pruning ran: those options unmeasured
    for name, row in out.perturbation.items():  # the kept option: the costliest removal
        measured = [i for i, v in enumerate(row) if not math.isnan(v)]
        assert len(measured) == len(row) - len(out.pruned)
        assert out.answers[name] == out.options[name][max(measured, key=row.__getitem__)]
    saved = out.to_dict()["perturbation"]  # JSON: None for an option not measured
    assert out.graph is not None and saved == {
        k: [None if math.isnan(v) else v for v in row] for k, row in out.perturbation.items()}
    with pytest.raises(ValueError, match="select must be one of alpha, perturb"):
        search_darts(task, space, "1steps", select="best", device="cpu")


def test_the_setting_round_trips_and_a_wrong_value_names_the_field():
    s = Differentiable(select="perturb")
    assert Differentiable.from_dict(s.to_dict()) == s and Differentiable().select == "alpha"
    with pytest.raises(ConfigError, match="differentiable.select"):
        Differentiable(select="best")


def test_nas_search_reads_the_cell_off_by_perturbation_when_told(tmp_path):
    run = tmp_path / "run"
    st = nas.search("nb201", task="mnist1d", budget="2steps", run_dir=run, progress=False,
                    space_config={"channels": 4, "cells": 1}, device="cpu",
                    differentiable={"budget": "4steps", "select": "perturb"})
    saved = json.loads((run / TRAJECTORY_FILE).read_text())
    assert saved["select"] == "perturb" and set(saved["perturbation"]) == set(saved["answers"])
    for name, row in saved["perturbation"].items():
        measured = [i for i, v in enumerate(row) if v is not None and not math.isnan(v)]
        assert saved["answers"][name] == saved["options"][name][max(measured,
                                                                     key=row.__getitem__)]
    (trial,) = st.trials()
    assert trial.decisions == saved["answers"]
