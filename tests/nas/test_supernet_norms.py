"""SuperNet options: per-width norms (a norm's affine weights keyed by width) and the
bounded node-module cache, against hand-counted store tensors and extracted copies."""

from __future__ import annotations

import pytest
import torch

from nas import ArchGraph, Space, SuperNet


def tiny_bn(b, in_shape, n_out):
    """conv (width 4|8, kernel 3|5), batch norm, relu, pooling, linear."""
    x = b.input(in_shape)
    x = b.op("conv", x, channels=b.choice("width", [4, 8]), kernel=b.choice("kernel", [3, 5]))
    x = b.op("relu", b.op("batch_norm", x))
    return b.output(b.op("linear", b.op("global_avg_pool", x), features=3))


def space() -> Space:
    return Space(tiny_bn, (1, 12), 3)


def build(width=4, kernel=3) -> ArchGraph:
    return space().build({"width": width, "kernel": kernel})


X = torch.randn(6, 1, 12, generator=torch.Generator().manual_seed(2))


def keys(net: SuperNet, node: str) -> set[str]:
    return {k for k in net.store if k.startswith(f"{node}__")}


def store_tensor_of(net: SuperNet, graph: ArchGraph, node: str, path: str) -> torch.Tensor:
    """The store tensor behind ``node.path`` of ``graph``'s candidate."""
    module = net.module_for(graph)
    params = dict(module.named_parameters())
    for view in module._views:  # sliced: the view's store tensor
        owner, leaf, full, *_ = view  # (owner, leaf, store tensor, index, scale)
        if owner is getattr(module.net, node) and leaf == path:
            return full
    return params[f"net.{node}.{path}"]


@pytest.mark.parametrize("rule", ["slice", "identity"])
def test_per_width_norms_keep_one_affine_pair_per_width(rule):
    shared = SuperNet(space(), rule=rule, probe=40)
    own = SuperNet(space(), rule=rule, probe=40, norms="per_width")
    # batch_norm_0 has weight and bias; widths 4 and 8
    assert len(keys(own, "batch_norm_0")) == 4
    assert len(keys(shared, "batch_norm_0")) == (2 if rule == "slice" else 4)
    # the conv is keyed as the rule says, whatever the norms
    assert keys(own, "conv_0") == keys(shared, "conv_0")
    narrow = store_tensor_of(own, build(4), "batch_norm_0", "weight")
    wide = store_tensor_of(own, build(8), "batch_norm_0", "weight")
    assert narrow.shape == (4,) and wide.shape == (8,)
    assert narrow is not wide and narrow.data_ptr() != wide.data_ptr()


def test_a_step_at_one_width_leaves_the_other_widths_norm_alone():
    net = SuperNet(space(), rule="slice", probe=40, norms="per_width")
    wide_before = store_tensor_of(net, build(8), "batch_norm_0", "weight").detach().clone()
    narrow = store_tensor_of(net, build(4), "batch_norm_0", "weight")
    narrow_before = narrow.detach().clone()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    net.module_for(build(4))(X).square().mean().backward()
    opt.step()
    assert not torch.equal(narrow, narrow_before)  # its own affine weights moved
    assert torch.equal(store_tensor_of(net, build(8), "batch_norm_0", "weight"), wide_before)


def test_per_width_norms_extract_the_candidates_own_weights():
    net = SuperNet(space(), rule="slice", probe=40, norms="per_width")
    with torch.no_grad():
        for p in net.store.values():
            p.copy_(torch.randn(p.shape))
    for graph in (build(4, 3), build(8, 5)):
        module = net.module_for(graph).eval()
        assert torch.allclose(module(X), net.extract(graph).eval()(X), atol=1e-6)


def test_unknown_norms_say_what_to_pass():
    with pytest.raises(ValueError, match="norms must be one of shared, per_width"):
        SuperNet(space(), norms="own")


def test_node_cache_keeps_the_most_recently_used_modules_only():
    net = SuperNet(space(), rule="slice", probe=40)
    net.node_cache = 6
    graphs = [build(w, k) for w in (4, 8) for k in (3, 5)]  # 6 nodes, 4 of them new each
    with torch.no_grad():
        for p in net.store.values():
            p.copy_(torch.randn(p.shape))
    for graph in graphs:
        net._cache.clear()  # every candidate built from node modules
        net.module_for(graph)
        assert len(net._nodes) <= 6
    # the last candidate's own nodes are the ones kept; an evicted node is rebuilt
    # and still computes the candidate's weights
    net._cache.clear()
    first = net.module_for(graphs[0]).eval()
    assert torch.allclose(first(X), net.extract(graphs[0]).eval()(X), atol=1e-6)
    assert len(net._nodes) <= 6
