"""nas.darts: mixed networks, architecture parameters, guards, first-order updates.

Oracles: a one-hot mixing against ``compile_graph`` of the chosen candidate with the
weights copied across; the argmax found by hand; gradients inspected after each of the
two updates; the guards' formulas worked by hand.
"""

from __future__ import annotations

import math

import pytest
import torch
from darts_helpers import copy_chosen

from nas import Builder, Space, compile_graph, get_space
from nas.darts import (
    Architecture,
    MixedNet,
    Recorder,
    UnsupportedSpace,
    arch_step,
    darts_minus_beta,
    dirichlet_concentration,
    mixed_space,
    parameter_free,
)
from nas.darts._steps import mix_for_weights


def one_hot(ds, answers: dict) -> dict[str, torch.Tensor]:
    return {k: torch.nn.functional.one_hot(torch.tensor(ds.choices[k].index(v)),
                                           len(ds.choices[k])).float()
            for k, v in answers.items()}


def test_mlp_activation_is_mixed_and_one_hot_equals_the_candidate():
    space = get_space("mlp", (12,), 3, max_depth=2, widths=(8, 16))
    ds = mixed_space(space, seed=1)
    assert "activation" in ds.choices  # same graph up to the ops of some nodes
    assert "residual" not in ds.choices and "depth" not in ds.choices  # structural
    for option in ds.choices["activation"]:
        answers = {k: (option if k == "activation" else opts[0])
                   for k, opts in ds.choices.items()}
        graph, decisions = ds.resolve(answers)
        assert decisions["activation"] == option
        torch.manual_seed(0)
        ref = compile_graph(graph)
        copy_chosen(ds, answers, ref)
        ds.net.set_mixing(one_hot(ds, answers))
        x = torch.randn(5, 12)
        ds.net.eval(), ref.eval()
        torch.testing.assert_close(ds.net(x), ref(x), rtol=0, atol=0)


def test_a_mixed_step_is_the_weighted_sum_plus_the_auxiliary_skip():
    rec = Recorder()
    x = rec.input((4,))
    a, b = rec.op("relu", x), rec.op("tanh", x)
    out = rec.mix("act", [a, b, None], x, (4,))
    net = MixedNet(rec, out, {"act": ["relu", "tanh", "none"]})
    v = torch.randn(3, 4)
    w = torch.tensor([0.2, 0.5, 0.3])
    net.set_mixing({"act": w}, beta=0.7)
    torch.testing.assert_close(net(v), 0.2 * v.relu() + 0.5 * v.tanh() + 0.7 * v)


def test_discretization_is_the_argmax_per_decision_and_space_resolve():
    space = get_space("mlp", (12,), 3, max_depth=2, widths=(8, 16))
    ds = mixed_space(space, seed=1)
    arch = Architecture(ds.choices, guard="none")
    wanted = {}
    with torch.no_grad():
        for i, (name, opts) in enumerate(ds.choices.items()):
            arch.vector(name).copy_(torch.arange(len(opts)).float() * ((-1) ** i))
            wanted[name] = opts[-1] if i % 2 == 0 else opts[0]  # by hand
    assert arch.answers() == wanted
    graph, decisions = ds.resolve(arch.answers())
    expected, _ = space.resolve({**ds.fixed, **wanted})
    assert graph == expected and graph.fingerprint() == expected.fingerprint()
    graph.validate()
    with pytest.raises(ValueError, match="not mixed decisions"):
        ds.resolve({"depth": 1})


def _tiny():
    rec = Recorder()
    x = rec.input((3,))
    h = rec.op("linear", x, features=3)
    out = rec.mix("act", [rec.op("relu", h), rec.op("tanh", h)], h, (3,))
    net = MixedNet(rec, rec.op("linear", out, features=2), {"act": ["relu", "tanh"]})
    return net, Architecture(net.choices, guard="none", init_scale=0.5)


def test_alpha_gets_gradients_only_from_the_validation_step():
    torch.manual_seed(0)
    net, arch = _tiny()
    x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
    loss_fn = torch.nn.functional.cross_entropy
    opt = torch.optim.SGD(arch.parameters(), lr=0.1)
    before = arch.vector("act").detach().clone()
    arch_step(net, arch, opt, lambda: loss_fn(net(x), y))
    assert all(p.grad is None for p in net.parameters())  # no weight gradient
    assert arch.vector("act").grad.abs().sum() > 0
    assert not torch.equal(arch.vector("act").detach(), before)
    arch.zero_grad(set_to_none=True)
    mix_for_weights(net, arch)  # the weight step
    loss_fn(net(x), y).backward()
    assert arch.vector("act").grad is None  # no alpha gradient from the training loss
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_darts_minus_beta_decays_linearly_to_zero():
    assert darts_minus_beta(0, 10) == 1.0
    assert darts_minus_beta(5, 10, beta0=2.0) == 1.0
    assert darts_minus_beta(10, 10) == 0.0 and darts_minus_beta(12, 10) == 0.0
    assert darts_minus_beta(3, 0) == 0.0


def test_drnas_draws_dirichlet_weights_with_gradients_and_the_right_mean():
    torch.manual_seed(0)
    arch = Architecture({"e": ["a", "b", "c"]}, guard="drnas")
    with torch.no_grad():
        arch.vector("e").copy_(torch.tensor([-0.5, 0.0, 2.0]))
    conc = torch.tensor([math.exp(-0.5), 1.0, 3.0])  # elu(a) + 1 by hand
    torch.testing.assert_close(dirichlet_concentration(arch.vector("e")), conc)
    torch.testing.assert_close(arch.probabilities()["e"], conc / conc.sum())
    draws = torch.stack([arch.weights()["e"] for _ in range(4000)])
    torch.testing.assert_close(draws.sum(1), torch.ones(4000))
    assert (draws.mean(0) - conc / conc.sum()).abs().max() < 0.02  # 4000 draws
    assert len({tuple(d.tolist()) for d in draws[:10]}) == 10  # random, not the mean
    arch.weights()["e"][2].backward()
    assert arch.vector("e").grad.abs().sum() > 0  # rsample: gradients reach alpha
    assert arch.answers() == {"e": "c"}


def test_unknown_guard_is_an_error_naming_the_choices():
    with pytest.raises(ValueError, match="darts-, drnas, gdas, none"):
        Architecture({"e": [1, 2]}, guard="sdarts")


def test_parameter_free_ops_are_counted():
    assert parameter_free({"a": "none", "b": "skip_connect", "c": "avg_pool_3x3",
                           "d": "nor_conv_3x3", "e": 3}) == 3


def _structural(b: Builder, in_shape, n_out: int) -> str:
    x = b.input(in_shape)
    for _ in range(b.int("depth", 1, 3)):
        x = b.op("linear", x, features=8)
    if b.choice("head", ["one", "two"]) == "two":
        x = b.op("linear", x, features=8)
    return b.output(b.op("linear", x, features=n_out))


def test_a_space_without_op_choices_is_a_clear_error():
    space = Space(_structural, (4,), 2, name="deep_only")
    with pytest.raises(UnsupportedSpace, match="space 'deep_only'.*head.*op choice"):
        mixed_space(space)


@pytest.mark.parametrize("name,io", [("cnn", ((1, 24), 4)), ("rnn", None)])
def test_op_like_choices_of_other_spaces_one_hot_equal_the_candidate(name, io):
    """cnn: activation and kernel sizes mixed (its stem choice, which reaches new
    decisions, stays fixed); rnn: the cell type. Each option's candidate, weights copied."""
    space = get_space(name, *io) if io else get_space(name)
    ds = mixed_space(space, seed=0)
    assert ds.choices and not set(ds.choices) & set(ds.fixed)
    for pick in (0, -1):
        answers = {k: opts[pick] for k, opts in ds.choices.items()}
        graph, decisions = ds.resolve(answers)
        assert {k: decisions[k] for k in answers} == answers
        torch.manual_seed(0)
        ref = compile_graph(graph)
        copy_chosen(ds, answers, ref)
        ds.net.set_mixing(one_hot(ds, answers))
        ds.net.eval(), ref.eval()
        x = torch.randn(3, *graph.inputs["x"].shape)
        torch.testing.assert_close(ds.net(x), ref(x), rtol=1e-6, atol=1e-6)
