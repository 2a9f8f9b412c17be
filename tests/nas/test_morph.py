"""Function-preserving morphisms: each child computes its parent's outputs before training
(train and eval mode), while being another architecture that trains on from there."""

from __future__ import annotations

import pytest
import torch
from model_helpers import paper_cnn_bn
from torch import nn

from nas import GraphError, add_skip, count_params, deepen, from_module, inherit, widen


def cnn():
    """The MNIST-1D paper's CNN with a batch norm, traced with random (trained-like) weights."""
    model = paper_cnn_bn()
    return from_module(model, torch.randn(4, 1, 40))


def mlp():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 5), nn.ReLU(),
                          nn.Linear(5, 3))
    return from_module(model, torch.randn(4, 6))


def ids(traced, op):
    return [n.id for n in traced.graph.nodes() if n.op == op]


def assert_same_outputs(parent, child, shape):
    x = torch.randn(7, *shape)
    a, b = parent.compile(), child.compile()
    for training in (False, True):
        a.train(training)
        b.train(training)
        torch.testing.assert_close(b(x), a(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_widen_a_conv_keeps_the_function(layer):
    parent = cnn()
    node = ids(parent, "conv1d")[layer]
    child = widen(parent, node, 40, seed=layer)
    assert child.graph.node(node).params["channels"] == 40
    assert count_params(child.graph) > count_params(parent.graph)
    assert child.graph.fingerprint() != parent.graph.fingerprint()
    assert_same_outputs(parent, child, (1, 40))  # through batch_norm, relu, flatten


def test_widen_a_linear_keeps_the_function():
    parent = mlp()
    first, second = ids(parent, "linear")[:2]
    child = widen(parent, first, 13, seed=3, new="copy")
    assert_same_outputs(parent, child, (6,))
    # Net2WiderNet by hand: every new unit is a copy of an old one, and the next layer's
    # columns over a unit and its copies add up to the parent's column
    w1, w1c = parent.state_dict[f"{first}.weight"], child.state_dict[f"{first}.weight"]
    w2, w2c = parent.state_dict[f"{second}.weight"], child.state_dict[f"{second}.weight"]
    assert torch.equal(w1c[:8], w1) and w1c.shape == (13, 6) and w2c.shape == (5, 13)
    copies = [next(c for c in range(8) if torch.equal(w1c[j], w1[c])) for j in range(13)]
    for c in range(8):
        cols = [j for j in range(13) if copies[j] == c]
        torch.testing.assert_close(w2c[:, cols].sum(1), w2[:, c])
        assert all(torch.equal(w2c[:, j], w2c[:, cols[0]]) for j in cols)


def test_widen_fresh_units_are_new_weights_read_as_zero():
    parent = mlp()
    first, second = ids(parent, "linear")[:2]
    child = widen(parent, first, 13, seed=3)  # the default: fresh units
    assert_same_outputs(parent, child, (6,))
    w1, w1c = parent.state_dict[f"{first}.weight"], child.state_dict[f"{first}.weight"]
    w2, w2c = parent.state_dict[f"{second}.weight"], child.state_dict[f"{second}.weight"]
    assert torch.equal(w1c[:8], w1) and torch.equal(w2c[:, :8], w2)  # the old, untouched
    assert torch.equal(w2c[:, 8:], torch.zeros(5, 5))  # the new read as 0
    new = w1c[8:]
    assert new.abs().max() <= 6 ** -0.5 and new.std() > 0.1  # nn.Linear(6, .)'s U(+-1/sqrt 6)
    assert all(not torch.equal(new[j], w1[c]) for j in range(5) for c in range(8))
    assert torch.equal(widen(parent, first, 13, seed=3).state_dict[f"{first}.weight"], w1c)
    with pytest.raises(ValueError, match="new must be one of fresh, copy"):
        widen(parent, first, 13, new="clone")


@pytest.mark.parametrize("new", ["fresh", "copy"])
def test_widened_units_learn_apart_only_when_fresh(new):
    """Net2WiderNet's copies get proportional gradients, so under AdamW they stay equal
    to their originals and the wider layer computes as the narrow one did; fresh units
    (read as 0 at first) learn features of their own."""
    parent = mlp()
    first = ids(parent, "linear")[0]
    child = widen(parent, first, 16, seed=0, new=new)
    net = child.compile()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 6, generator=gen), torch.randint(0, 3, (64,), generator=gen)
    for _ in range(30):
        opt.zero_grad()
        out = net(x)
        out = out if torch.is_tensor(out) else next(iter(out.values()))
        nn.functional.cross_entropy(out, y).backward()
        opt.step()
    w = dict(net.named_parameters())[f"{first}.weight"].detach()
    gap = torch.cdist(w, w) + torch.eye(16) * 1e9  # each unit's distance to the others
    nearest = gap.min(1).values
    if new == "fresh":
        assert nearest.min() > 0.1  # 16 units, 16 features
    else:  # each new unit is still its original, to rounding (Adam's eps)
        assert (nearest[8:] < 1e-3).all() and (w - w[0]).abs().max() > 0.1


def test_widen_refuses_what_it_cannot_pass_through():
    parent = mlp()
    last = ids(parent, "linear")[-1]
    with pytest.raises(GraphError, match="output"):
        widen(parent, last, 6)
    with pytest.raises(GraphError, match="must exceed"):
        widen(parent, ids(parent, "linear")[0], 8)
    torch.manual_seed(0)
    normed = from_module(nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2)),
                         torch.randn(2, 4))
    with pytest.raises(GraphError, match="layer_norm"):  # the norm would see more units
        widen(normed, ids(normed, "linear")[0], 6)


@pytest.mark.parametrize("op", ["relu", "conv1d", "linear"])
def test_deepen_keeps_the_function(op):
    parent = cnn()
    node = ids(parent, op)[0]
    child = deepen(parent, node)
    assert len(child.graph) == len(parent.graph) + (2 if op == "relu" else 1)
    assert count_params(child.graph) > count_params(parent.graph)
    assert_same_outputs(parent, child, (1, 40))


def test_deepen_an_mlp_after_tanh_adds_no_relu():
    parent = mlp()
    tanh = ids(parent, "tanh")[0]
    child = deepen(parent, tanh)
    assert [n.op for n in child.graph.nodes()].count("relu") == 1
    assert_same_outputs(parent, child, (6,))


@pytest.mark.parametrize("src,dst,shape_change", [(0, 2, True), (1, 2, False)])
def test_add_skip_keeps_the_function_and_trains(src, dst, shape_change):
    parent = cnn()
    relus = ids(parent, "relu")
    child = add_skip(parent, relus[src], relus[dst])  # (25, 19) or (25, 10) onto (25, 5)
    assert_same_outputs(parent, child, (1, 40))
    branch = next(n for n in child.graph.nodes() if n.id not in parent.graph)
    assert branch.params["stride"] == (4 if shape_change else 2)
    module = child.compile()
    module(torch.randn(5, 1, 40)).square().sum().backward()
    grad = module.get_submodule(branch.id).weight.grad
    assert grad.abs().sum() > 0  # the zero branch is live: training moves it


def test_add_skip_refuses_a_cycle_and_a_misfit():
    parent = cnn()
    relus = ids(parent, "relu")
    with pytest.raises(GraphError, match="cycle"):
        add_skip(parent, relus[2], relus[0])
    with pytest.raises(GraphError, match="project"):
        add_skip(parent, relus[0], ids(parent, "linear")[0])


def test_inherit_copies_the_kept_nodes_and_counts_the_share():
    """conv2's kernel 3 -> 5 (padding 2 keeps its length) and a relu -> gelu: every other
    layer keeps its weights; conv2 starts afresh, bias included. Parameters by hand:
    conv1 25*5+25 = 150, batch norm 50, conv2 25*25*5+25 = 3,150 (new),
    conv3 25*25*3+25 = 1,900, linear 125*10+10 = 1,260."""
    parent = cnn()
    conv1, conv2, conv3 = ids(parent, "conv1d")
    data = parent.graph.to_dict()
    for row in data["nodes"]:
        if row["id"] == conv2:
            row["params"].update(kernel=5, padding=2)
        if row["id"] == ids(parent, "relu")[1]:
            row["op"] = "gelu"
    child, share = inherit(parent, parent.graph.from_dict(data), seed=0)
    assert share == (150 + 50 + 1900 + 1260) / (150 + 50 + 3150 + 1900 + 1260)
    for key, value in child.state_dict.items():
        kept = not key.startswith(f"{conv2}.")
        assert torch.equal(value, parent.state_dict[key]) == kept, key
    assert child.state_dict[f"{conv2}.weight"].shape == (25, 25, 5)
    again, _ = inherit(parent, parent.graph.from_dict(data), seed=0)
    assert torch.equal(again.state_dict[f"{conv2}.weight"], child.state_dict[f"{conv2}.weight"])
    assert inherit(parent, parent.graph)[1] == 1.0
