"""GDAS (``guard="gdas"``): one option drawn per decision by hard Gumbel-softmax, only
its modules run, straight-through gradients to alpha. Oracles: the Gumbel-max law
(draws follow softmax(alpha), whatever the temperature) worked by hand, a hand-written
mixed step, counts of the modules that ran, the temperature's line by hand."""

from __future__ import annotations

import math

import pytest
import torch

from nas.darts import Architecture, MixedNet, Recorder, arch_step, gdas_tau


def _net():
    rec = Recorder()
    x = rec.input((4,))
    rec.tag = ("act", "relu")  # as the mixers tag each option's modules
    a = rec.op("relu", x)
    rec.tag = ("act", "tanh")
    b = rec.op("tanh", x)
    rec.tag = None
    out = rec.mix("act", [a, b, None], x, (4,))
    return MixedNet(rec, out, {"act": ["relu", "tanh", "none"]})


def _arch(values=(1.0, 0.0, -1.0)) -> Architecture:
    arch = Architecture({"act": ["relu", "tanh", "none"]}, guard="gdas")
    with torch.no_grad():
        arch.vector("act").copy_(torch.tensor(values))
    return arch


def test_draws_are_one_hot_and_follow_softmax_of_alpha_at_any_temperature():
    arch = _arch()
    e = [math.exp(v) for v in (1.0, 0.0, -1.0)]
    want = [v / sum(e) for v in e]  # 0.665, 0.245, 0.090
    torch.manual_seed(0)
    for tau in (10.0, 0.1):
        arch.tau = tau
        draws = torch.stack([arch.weights(sample=True)["act"].detach() for _ in range(4000)])
        assert ((draws == 0) | ((draws - 1).abs() < 1e-6)).all()  # one-hot
        assert ((draws != 0).sum(1) == 1).all()
        assert draws.mean(0).tolist() == pytest.approx(want, abs=0.03)
    assert arch.probabilities()["act"].tolist() == pytest.approx(want, abs=1e-6)


def test_only_the_drawn_options_modules_run_and_the_output_is_that_option():
    net, arch = _net(), _arch()
    ran = []
    for i, m in enumerate(net.ops):
        m.register_forward_hook(lambda mod, inp, out, i=i: ran.append(i))
    v = torch.randn(3, 4)
    torch.manual_seed(1)
    seen = set()
    for _ in range(40):
        w = arch.weights(sample=True)
        skip = arch.skipped(w)
        drawn = ["relu", "tanh", "none"][int(w["act"].argmax())]
        seen.add(drawn)
        assert skip == {("act", o) for o in ("relu", "tanh", "none") if o != drawn}
        net.set_mixing(w, skip=skip)
        ran.clear()
        out = net(v)
        by_hand = {"relu": v.relu(), "tanh": v.tanh(), "none": torch.zeros_like(v)}[drawn]
        torch.testing.assert_close(out, by_hand)
        assert ran == {"relu": [0], "tanh": [1], "none": []}[drawn]
    assert seen == {"relu", "tanh", "none"}


def test_the_alpha_step_reaches_every_alpha_through_the_drawn_option():
    net, arch = _net(), _arch()
    opt = torch.optim.SGD(arch.parameters(), lr=1.0)
    v = torch.randn(8, 4)
    before = arch.vector("act").detach().clone()
    seed = 0
    while True:  # a seed whose first draw is relu: the loss depends on its weight only
        torch.manual_seed(seed)
        if int(arch.weights(sample=True)["act"].argmax()) == 0:
            break
        seed += 1
    torch.manual_seed(seed)
    arch_step(net, arch, opt, lambda: net(v).sum())
    g = before - arch.vector("act").detach()
    # straight-through: d loss / d w_relu = sum(relu(v)) > 0, spread by the softmax
    # Jacobian at temperature tau over every alpha, the not-drawn ones included
    assert (g != 0).all()
    assert g[0] > 0 > g[1] and g[2] < 0


def test_temperature_anneals_linearly_from_ten_to_a_tenth():
    assert gdas_tau(0, 100) == 10.0
    assert gdas_tau(50, 100) == pytest.approx(5.05)
    assert gdas_tau(100, 100) == pytest.approx(0.1)
    assert gdas_tau(150, 100) == pytest.approx(0.1) and gdas_tau(3, 0) == 0.1


def test_pruned_options_are_never_drawn():
    arch = _arch((5.0, 0.0, -1.0))
    arch.prune_weakest()
    arch.prune_weakest()  # none, then tanh: relu left
    torch.manual_seed(0)
    assert all(arch.weights(sample=True)["act"].argmax() == 0 for _ in range(200))
    arch = _arch((0.0, 0.0, 5.0))
    arch.prune_weakest()  # relu (first on the tie with tanh)
    draws = {int(arch.weights(sample=True)["act"].argmax()) for _ in range(300)}
    assert draws == {1, 2}
