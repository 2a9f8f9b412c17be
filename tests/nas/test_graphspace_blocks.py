"""Larger graph edits (``normalize``, ``widen_all``, ``deepen_block``): hand-counted
parameters and node lists, and the function kept where the edit is a morphism (compared
with the parent's outputs, or with a hand-written forward pass of the parent's weights)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nas import Traced, compile_graph, count_params
from nas.graphspace import EDITS
from search_spaces.reference import mnist1d_paper_cnn


def seed_traced() -> Traced:
    """The paper's CNN (5,210 params: conv1 150, conv2 1,900, conv3 1,900, linear 1,260)."""
    graph = mnist1d_paper_cnn()
    torch.manual_seed(3)
    state = {k: v.detach().clone() for k, v in compile_graph(graph).state_dict().items()}
    return Traced(graph, state)


def paper_forward(s: dict, x: torch.Tensor) -> torch.Tensor:
    """The paper's CNN written out by hand on its state dict."""
    for i in (1, 2, 3):
        x = F.relu(F.conv1d(x, s[f"conv{i}.weight"], s[f"conv{i}.bias"], stride=2, padding=1))
    return F.linear(x.flatten(1), s["linear.weight"], s["linear.bias"])


def outputs(t: Traced, x: torch.Tensor) -> torch.Tensor:
    module = compile_graph(t.graph)
    module.load_state_dict(t.state_dict)
    return module.eval()(x)


def edit(t: Traced, kind: str, arg=None, node=None) -> Traced:
    sites_of, apply = EDITS[kind]
    sites = [s for s in sites_of(t.graph) if node is None or s.nodes == (node,)]
    (site,) = sites[:1]
    return apply(t, site, site.args[0] if arg is None else arg, 0)


X = torch.randn(16, 1, 40, generator=torch.Generator().manual_seed(0))


def test_normalize_puts_a_batch_norm_after_every_hidden_layer_and_keeps_eval_outputs():
    t = seed_traced()
    child = edit(t, "normalize")
    ids = [n.id for n in child.graph.nodes()]
    assert ids == ["conv1", "conv1_bn", "relu1", "conv2", "conv2_bn", "relu2", "conv3",
                   "conv3_bn", "relu3", "flat", "linear"]
    assert count_params(child.graph) == 5210 + 3 * 2 * 25  # gamma and beta per channel
    # a fresh norm in eval mode divides by sqrt(1 + eps): the parent's function
    torch.testing.assert_close(outputs(child, X), paper_forward(t.state_dict, X),
                               rtol=1e-4, atol=1e-4)
    assert EDITS["normalize"][0](child.graph) == []  # nothing left to normalize


def test_normalize_after_the_activation_puts_the_norm_behind_each_relu():
    t = seed_traced()
    child = edit(t, "normalize", "activation")
    ids = [n.id for n in child.graph.nodes()]
    assert ids == ["conv1", "relu1", "relu1_bn", "conv2", "relu2", "relu2_bn", "conv3",
                   "relu3", "relu3_bn", "flat", "linear"]
    torch.testing.assert_close(outputs(child, X), paper_forward(t.state_dict, X),
                               rtol=1e-4, atol=1e-4)
    assert EDITS["normalize"][0](child.graph) == []  # a norm after the relu counts


def test_widen_all_doubles_every_conv_and_keeps_the_function():
    t = seed_traced()
    child = edit(t, "widen_all", 2.0)
    assert [child.graph.node(f"conv{i}").params["channels"] for i in (1, 2, 3)] == [50] * 3
    # conv1 5*50+50, conv2 and conv3 50*3*50+50, linear 50*5*10+10
    assert count_params(child.graph) == 300 + 2 * 7550 + 2510 == 17910
    torch.testing.assert_close(outputs(child, X), paper_forward(t.state_dict, X),
                               rtol=1e-4, atol=1e-5)


def test_deepen_block_after_a_relu_without_norm_is_a_morphism():
    t = seed_traced()
    child = edit(t, "deepen_block", False, "relu2")
    ids = [n.id for n in child.graph.nodes()]
    assert ids[ids.index("relu2"):ids.index("conv3")] == ["relu2", "relu2_block",
                                                          "relu2_block_relu"]
    assert count_params(child.graph) == 5210 + 25 * 25 * 3 + 25
    torch.testing.assert_close(outputs(child, X), paper_forward(t.state_dict, X),
                               rtol=1e-5, atol=1e-6)


def test_deepen_block_with_norm_inserts_conv_norm_activation():
    t = seed_traced()
    child = edit(t, "deepen_block", True, "relu1")
    ids = [n.id for n in child.graph.nodes()]
    assert ids[ids.index("relu1"):ids.index("conv2")] == [
        "relu1", "relu1_block", "relu1_block_bn", "relu1_block_relu"]
    assert tuple(child.graph.node("conv2").inputs) == ("relu1_block_relu",)
    assert count_params(child.graph) == 5210 + 25 * 25 * 3 + 25 + 2 * 25
    for k, v in t.state_dict.items():  # every node the parent had keeps its weights
        assert torch.equal(child.state_dict[k], v), k


@pytest.mark.parametrize("kind", ["normalize", "widen_all", "deepen_block"])
def test_block_edits_compile_with_their_weights(kind):
    child = edit(seed_traced(), kind)
    module = compile_graph(child.graph)
    module.load_state_dict(child.state_dict, strict=True)
    assert module(X).shape == (16, 10)
