"""Which nodes share weights: a flatten's reader only with the same flattened shape, a
biased conv never with an unbiased one, and scoped ids that follow the space's parts
(hand-written expectations for a small space with an optional block)."""

from __future__ import annotations

import pytest
import torch

from nas import Space, SuperNet, compile_graph
from nas.supernet import node_ids


def flat(b, in_shape, n_out):
    """An optional biased stem conv, a conv (width 4|8, bias or not), an optional pool,
    then a flatten or global-average head."""
    x = b.input(in_shape)
    if b.bool("stem"):
        x = b.op("conv", x, channels=3, kernel=3)
    x = b.op("conv", x, channels=b.choice("width", [4, 8]), kernel=3,
             bias=b.bool("bias"))
    if b.bool("pool"):
        x = b.op("max_pool", x, size=2)
    x = b.op("flatten" if b.choice("head", ["flatten", "avg"]) == "flatten"
             else "global_avg_pool", x)
    return b.output(b.op("linear", x, features=2))


SPACE = Space(flat, (1, 12), 2)


def build(stem=False, width=4, bias=True, pool=False, head="flatten"):
    return SPACE.build({"stem": stem, "width": width, "bias": bias, "pool": pool, "head": head})


def keys(net: SuperNet, graph, node: str) -> set[str]:
    """The store keys of one node's parameters in ``graph``."""
    ids = net.ids(graph)
    module = compile_graph(graph).get_submodule(node)
    shapes = tuple(tuple(p.shape) for p in module.parameters())
    return {net.layout.slot(ids[node], graph.node(node).op, path, tuple(p.shape), shapes).key
            for path, p in module.named_parameters()}


def test_a_flatten_reader_shares_only_with_the_same_flattened_shape():
    net = SuperNet(SPACE, probe=80)
    linear = {(w, pool): keys(net, build(width=w, pool=pool), "linear_0")
              for w in (4, 8) for pool in (False, True)}
    # four flattened shapes (4|8 channels x 12|6 positions): four weight sets
    assert len(set().union(*linear.values())) == 8  # weight and bias each
    # a global-average head reads channels: widths 4 and 8 share (slice)
    assert keys(net, build(width=4, head="avg"), "linear_0") == \
        keys(net, build(width=8, pool=True, head="avg"), "linear_0")
    assert not keys(net, build(width=8, head="avg"), "linear_0") & linear[(8, False)]
    # the same flattened shape, reached by another candidate, is the same weights
    assert keys(net, build(width=8, bias=False), "linear_0") == linear[(8, False)]


def test_the_flatten_mark_names_the_flattened_shape():
    ids = node_ids(SPACE, build(width=8, pool=True))
    assert ids["linear_0"] == "linear_0[bias=True]<(8, 6)"  # kinds, then the shape
    assert ids["max_pool_0"] == "max_pool_0"  # a pool lowers no rank: no mark
    assert "<" not in node_ids(SPACE, build(head="avg"))["linear_0"]  # pooling, not flattening


def test_a_conv_with_a_bias_never_shares_with_one_without():
    net = SuperNet(SPACE, probe=80)
    with_bias, without = build(bias=True), build(bias=False)
    assert not keys(net, with_bias, "conv_0") & keys(net, without, "conv_0")
    assert keys(net, with_bias, "conv_0") == keys(net, build(bias=True, width=8), "conv_0")
    assert keys(net, without, "conv_0") == keys(net, build(bias=False, width=8), "conv_0")


def test_scoped_ids_follow_the_part_of_the_space_not_the_counter():
    with_stem, bare = build(stem=True, pool=True), build(stem=False, pool=True)
    # the counter names the width conv conv_1 after a stem and conv_0 without one
    assert with_stem.node("conv_1").params["channels"] == 4
    assert bare.node("conv_0").params["channels"] == 4
    scoped_stem, scoped_bare = node_ids(SPACE, with_stem, "scoped"), \
        node_ids(SPACE, bare, "scoped")
    assert scoped_stem["conv_0"] == "stem=True/conv#0[bias=True,padding=same]"
    assert scoped_stem["conv_1"] == scoped_bare["conv_0"] == \
        "bias=True/conv#0[bias=True,padding=same]"
    assert scoped_stem["max_pool_0"] == scoped_bare["max_pool_0"] == "pool=True/max_pool#0"
    # and a candidate's width conv reads the same store tensor with or without a stem
    net = SuperNet(SPACE, probe=80, node_ids="scoped")
    assert keys(net, with_stem, "conv_1") == keys(net, bare, "conv_0")
    plain = SuperNet(SPACE, probe=80)  # by node id, the stem conv and it share
    assert keys(plain, with_stem, "conv_0") & keys(plain, bare, "conv_0")


def test_a_graph_its_space_does_not_rebuild_keeps_its_node_ids():
    graph = build(stem=True)
    graph.meta = {}  # no decisions
    assert node_ids(SPACE, graph, "scoped")["conv_1"] == "conv_1[bias=True,padding=same]"


def test_extract_and_module_for_agree_under_every_identity():
    for mode in ("node", "scoped"):
        net = SuperNet(SPACE, probe=80, node_ids=mode)
        with torch.no_grad():
            for p in net.store.values():
                p.copy_(torch.randn(p.shape))
        x = torch.randn(3, 1, 12)
        for graph in (build(stem=True, width=8, pool=True), build(bias=False, head="avg")):
            assert torch.allclose(net.module_for(graph)(x), net.extract(graph)(x), atol=1e-6)
            assert net.coverage(graph) == 1.0


def test_unknown_node_ids_say_what_to_pass():
    with pytest.raises(ValueError, match="node_ids must be one of scoped, node"):
        SuperNet(SPACE, probe=4, node_ids="names")


def test_rescale_starts_every_slice_at_its_own_init_scale():
    net = SuperNet(SPACE, probe=80, rescale=True)
    narrow = build(stem=False, width=4, bias=True, pool=True, head="avg")
    (key,) = {k for k in keys(net, narrow, "linear_0") if "weight" in k}
    full = net.store[key]  # linear (2, 8): the narrow head reads (2, 4), x sqrt(8 / 4)
    assert tuple(full.shape) == (2, 8)
    extracted = net.extract(narrow).get_submodule("linear_0").weight
    assert torch.allclose(extracted, full[:, :4] * 2 ** 0.5)
    x = torch.randn(3, 1, 12)
    assert torch.allclose(net.module_for(narrow)(x), net.extract(narrow)(x), atol=1e-6)
    # the widest candidate reads the whole tensor, unscaled; a bias is never scaled
    wide = build(width=8, bias=True, head="avg")
    assert torch.equal(net.extract(wide).get_submodule("linear_0").weight, full)
    assert torch.equal(net.extract(narrow).get_submodule("linear_0").bias,
                       net.extract(wide).get_submodule("linear_0").bias)
    plain = SuperNet(SPACE, probe=80)  # off by default: the slice as it is
    assert torch.equal(plain.extract(narrow).get_submodule("linear_0").weight,
                       plain.store[key][:, :4])
