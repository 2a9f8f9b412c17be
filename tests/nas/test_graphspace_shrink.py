"""Shrinking edits: ``narrow`` keeps a layer's units of largest weight norm and their
weights (slices of the parent's, picked here by an independent norm ranking), dropping
dead units keeps the function exactly; ``remove_block`` drops a layer and its activation
(a size-1 strided max pool in its place when it strided), checked against a hand-written
forward pass. Parameter counts drop by hand-computed amounts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from model_helpers import paper_cnn_bn

from nas import GraphError, GraphSpace, Traced, compile_graph, count_params, from_module
from nas.graphspace import EDITS, narrow, start_weights
from search_spaces.reference import mnist1d_paper_cnn


def seed_traced() -> Traced:
    """The paper's CNN (5,210 params: conv1 150, conv2 1,900, conv3 1,900, linear 1,260)."""
    graph = mnist1d_paper_cnn()
    torch.manual_seed(3)
    state = {k: v.detach().clone() for k, v in compile_graph(graph).state_dict().items()}
    return Traced(graph, state)


def top_units(w: torch.Tensor, b: torch.Tensor, k: int) -> torch.Tensor:
    """The k units of largest sum of squares of filter and bias, in index order."""
    score = (w ** 2).sum(dim=tuple(range(1, w.dim()))) + b ** 2
    return torch.tensor(sorted(score.argsort(descending=True)[:k].tolist()))


def test_narrow_conv2_drops_the_hand_counted_params_and_keeps_slices():
    t = seed_traced()
    child = narrow(t, "conv2", 12)
    # conv2: 12*25*3 + 12 = 912 (was 1,900); conv3 reads 12 channels: 25*12*3 + 25 = 925
    assert count_params(child.graph) == 5210 - (1900 - 912) - (1900 - 925) == 3247
    keep = top_units(t.state_dict["conv2.weight"], t.state_dict["conv2.bias"], 12)
    s, p = child.state_dict, t.state_dict
    assert torch.equal(s["conv2.weight"], p["conv2.weight"][keep])
    assert torch.equal(s["conv2.bias"], p["conv2.bias"][keep])
    assert torch.equal(s["conv3.weight"], p["conv3.weight"][:, keep])
    for k in ("conv1.weight", "conv3.bias", "linear.weight", "linear.bias"):
        assert torch.equal(s[k], p[k]), k
    module = compile_graph(child.graph)
    module.load_state_dict(child.state_dict)  # the weights fit the child's layers


def test_narrow_before_flatten_keeps_each_channels_block_of_linear_inputs():
    t = seed_traced()
    child = narrow(t, "conv3", 10)
    # conv3: 10*25*3 + 10 = 760 (was 1,900); linear 10*(10*5) + 10 = 510 (was 1,260)
    assert count_params(child.graph) == 5210 - 1140 - 750 == 3320
    keep = top_units(t.state_dict["conv3.weight"], t.state_dict["conv3.bias"], 10)
    per_channel = t.state_dict["linear.weight"].view(10, 25, 5)  # flatten is (C, L)
    assert torch.equal(child.state_dict["linear.weight"],
                       per_channel[:, keep].reshape(10, 50))


def test_dropping_dead_units_keeps_the_function():
    model = paper_cnn_bn().eval()
    conv2 = model[3]
    dead = [1, 4, 9, 17, 24]
    with torch.no_grad():
        conv2.weight[dead] = 0.0
        conv2.bias[dead] = 0.0  # relu(0) = 0: these units add nothing downstream
    x = torch.randn(5, 1, 40)
    t = from_module(model, (x,))
    node = [n.id for n in t.graph.nodes() if n.op == "conv1d"][1]
    child = narrow(t, node, 20)
    module = compile_graph(child.graph).eval()
    module.load_state_dict(child.state_dict)
    with torch.no_grad():
        torch.testing.assert_close(module(x), model(x), rtol=1e-5, atol=1e-6)


def test_narrow_slices_a_batch_norm_between():
    t = from_module(paper_cnn_bn(), (torch.randn(2, 1, 40),))
    conv1, bn = (next(n.id for n in t.graph.nodes() if n.op == op)
                 for op in ("conv1d", "batch_norm"))
    child = narrow(t, conv1, 8)
    p = t.state_dict
    keep = top_units(p[f"{conv1}.weight"], p[f"{conv1}.bias"], 8)
    for name in ("weight", "bias", "running_mean", "running_var"):
        assert torch.equal(child.state_dict[f"{bn}.{name}"], p[f"{bn}.{name}"][keep]), name


def test_narrow_refuses_what_it_cannot_do():
    t = seed_traced()
    with pytest.raises(GraphError, match="width 25 must be in"):
        narrow(t, "conv2", 25)
    with pytest.raises(GraphError, match="can be narrowed"):
        narrow(t, "linear", 5)  # the output layer: its width is the task's


def test_remove_block_of_a_strided_conv_is_a_pool_and_hand_checked():
    t = seed_traced()
    sites, apply = EDITS["remove_block"]
    assert [s.nodes for s in sites(t.graph)] == [("conv2", "relu2"), ("conv3", "relu3")]
    child = apply(t, sites(t.graph)[1], None, 0)
    assert count_params(child.graph) == 5210 - 1900
    assert {n.op for n in child.graph.nodes()} >= {"max_pool"}
    assert "conv3" not in child.graph and "relu3" not in child.graph
    module = compile_graph(child.graph).eval()
    module.load_state_dict(child.state_dict)
    p, x = t.state_dict, torch.randn(4, 1, 40)
    h = F.relu(F.conv1d(x, p["conv1.weight"], p["conv1.bias"], stride=2, padding=1))
    h = F.relu(F.conv1d(h, p["conv2.weight"], p["conv2.bias"], stride=2, padding=1))
    h = h[:, :, ::2].flatten(1)  # (25, 10) -> (25, 5): what the size-1 pool keeps
    with torch.no_grad():
        torch.testing.assert_close(module(x), F.linear(h, p["linear.weight"],
                                                       p["linear.bias"]))


def test_a_graph_space_of_shrinks_finds_models_below_the_seed_with_its_weights():
    t = from_module(paper_cnn_bn(), (torch.randn(2, 1, 40),))
    space = GraphSpace(t, edits=["narrow", "remove_block"], max_edits=2)
    graph, _, error = space.try_resolve({"edit_0": "narrow", "edit_0_site": 0,
                                         "edit_0_arg": 0, "edit_1": "remove_block",
                                         "edit_1_site": 63})
    assert error is None
    assert graph.meta["lineage"]["edits"][0].startswith("narrow ")
    assert graph.meta["lineage"]["edits"][1].startswith("remove_block ")
    assert count_params(graph) < count_params(t.graph)
    assert graph.meta["lineage"]["inherited"] == 1.0  # slices and kept nodes only
    module = compile_graph(graph)
    module.load_state_dict(start_weights(graph))
