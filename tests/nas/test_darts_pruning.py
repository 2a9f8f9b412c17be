"""Progressive op pruning (``Architecture.prune_weakest``): hand-set alphas, oracles
computed by hand (the lowest-probability option per decision, the renormalized rest)."""

from __future__ import annotations

import math

import pytest
import torch

from nas.darts import Architecture

CHOICES = {"a": ["x", "y", "z", "w"], "b": ["p", "q", "r", "s"]}


def _arch(guard: str) -> Architecture:
    arch = Architecture(CHOICES, guard=guard)
    with torch.no_grad():
        arch.vector("a").copy_(torch.tensor([0.5, -1.0, 2.0, 0.0]))  # weakest: y
        arch.vector("b").copy_(torch.tensor([0.3, 0.2, -0.4, 1.0]))  # weakest: r
    return arch


@pytest.mark.parametrize("guard", ["none", "darts-", "drnas"])
def test_each_prune_drops_exactly_the_lowest_probability_option(guard):
    arch = _arch(guard)
    assert arch.prune_weakest() == {"a": "y", "b": "r"}
    assert arch.prune_weakest() == {"a": "w", "b": "q"}  # then the next weakest
    assert arch.answers() == {"a": "z", "b": "s"}  # the argmax never moves
    p = arch.probabilities()
    assert p["a"][1] == 0 and p["a"][3] == 0 and p["b"][1] == 0 and p["b"][2] == 0


def test_softmax_renormalizes_over_the_options_left():
    arch = _arch("none")
    arch.prune_weakest()
    e = [math.exp(v) for v in (0.5, 2.0, 0.0)]  # x, z, w left
    want = [e[0] / sum(e), 0.0, e[1] / sum(e), e[2] / sum(e)]
    assert arch.probabilities()["a"].tolist() == pytest.approx(want, abs=1e-6)


def test_drnas_mean_and_draws_cover_only_the_options_left():
    arch = _arch("drnas")
    arch.prune_weakest()
    conc = [1.5, 3.0, 1.0]  # elu(v) + 1 of x, z, w (all >= 0, so v + 1)
    want = [conc[0] / 5.5, 0.0, conc[1] / 5.5, conc[2] / 5.5]
    assert arch.probabilities()["a"].tolist() == pytest.approx(want, abs=1e-6)
    torch.manual_seed(0)
    draws = torch.stack([arch.weights(sample=True)["a"] for _ in range(4000)])
    assert (draws[:, 1] == 0).all() and (draws.sum(1) - 1).abs().max() < 1e-5
    assert draws.mean(0).tolist() == pytest.approx(want, abs=0.02)
    draws[:, 2].sum().backward()  # the draw stays reparameterized
    g = arch.vector("a").grad
    assert g[1] == 0 and g[0] != 0 and g[2] != 0


def test_pruning_stops_at_one_option_left_and_keeps_it():
    arch = Architecture({"a": ["x", "y", "z"]}, guard="none")
    with torch.no_grad():
        arch.vector("a").copy_(torch.tensor([1.0, 3.0, 2.0]))
    assert [arch.prune_weakest() for _ in range(3)] == [{"a": "x"}, {"a": "z"}, {}]
    assert arch.probabilities()["a"].tolist() == [0.0, 1.0, 0.0]
    assert arch.answers() == {"a": "y"}


def test_without_pruning_the_weights_are_what_they_were():
    """No prune: the same numbers as softmax / the Dirichlet mean by hand."""
    arch = _arch("none")
    assert torch.equal(arch.probabilities()["a"],
                       torch.softmax(torch.tensor([0.5, -1.0, 2.0, 0.0]), 0))
    arch = _arch("drnas")
    torch.manual_seed(3)
    got = arch.weights(sample=True)["a"]
    torch.manual_seed(3)
    want = torch.distributions.Dirichlet(
        torch.nn.functional.elu(arch.vector("a")) + 1).rsample()
    assert torch.equal(got, want)
