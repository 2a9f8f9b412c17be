"""SuperNet: the shared store, candidate modules on it, extraction, coverage and the
training-path samplers, against hand-built modules and hand-sliced weights."""

from __future__ import annotations

import collections

import pytest
import torch

from nas import ArchGraph, Space, SuperNet, SupernetTooLarge, compile_graph, count_params
from nas.supernet import slice_index


def tiny(b, in_shape, n_out):
    """conv (width 4|8, kernel 3|5), an optional second conv, global pooling, linear."""
    x = b.input(in_shape)
    x = b.op("conv", x, channels=b.choice("width", [4, 8]), kernel=b.choice("kernel", [3, 5]))
    if b.bool("extra"):
        x = b.op("conv", x, channels=6, kernel=3)  # a conditional block
    return b.output(b.op("linear", b.op("global_avg_pool", x), features=n_out))


def space() -> Space:
    return Space(tiny, (1, 12), 3)


def build(width=4, kernel=3, extra=False) -> ArchGraph:
    return space().build({"width": width, "kernel": kernel, "extra": extra})


X = torch.randn(5, 1, 12, generator=torch.Generator().manual_seed(1))


def stored(net: SuperNet, node: str, name: str) -> list[torch.Tensor]:
    """The store tensors of one node's parameter, found by their readable key prefix."""
    return [p for k, p in net.store.items() if k.startswith(f"{node}__{name}__")]


def hand_loaded(net: SuperNet, graph: ArchGraph) -> torch.nn.Module:
    """compile_graph(graph) with every weight cut out of the slice store by hand:
    leading slices, the kernel's centre crop."""
    module = compile_graph(graph)
    with torch.no_grad():
        for name, p in module.named_parameters():
            node, leaf = name.split(".")
            (full,) = stored(net, node, leaf)
            if p.dim() == 3:  # conv (out, in, k): centre crop of the kernel
                start = (full.shape[2] - p.shape[2]) // 2
                p.copy_(full[:p.shape[0], :p.shape[1], start:start + p.shape[2]])
            elif p.dim() == 2:
                p.copy_(full[:p.shape[0], :p.shape[1]])
            else:
                p.copy_(full[:p.shape[0]])
    return module


def test_slice_store_holds_the_largest_shape_of_each_weight():
    net = SuperNet(space(), rule="slice", probe=40)
    assert stored(net, "conv_0", "weight")[0].shape == (8, 1, 5)
    assert stored(net, "conv_1", "weight")[0].shape == (6, 8, 3)
    assert stored(net, "linear_0", "weight")[0].shape == (3, 8)  # in: width 8 or 6
    assert len(net.store) == 6  # one tensor per node and parameter


@pytest.mark.parametrize("decisions", [dict(width=4, kernel=3, extra=False),
                                       dict(width=8, kernel=3, extra=True),
                                       dict(width=4, kernel=5, extra=True)])
def test_extract_equals_hand_sliced_weights(decisions):
    net = SuperNet(space(), rule="slice", probe=40)
    with torch.no_grad():  # make the store's parts distinguishable
        for p in net.store.values():
            p.copy_(torch.randn(p.shape))
    graph = build(**decisions)
    assert torch.allclose(net.extract(graph)(X), hand_loaded(net, graph)(X), atol=1e-6)
    assert torch.allclose(net.module_for(graph)(X), hand_loaded(net, graph)(X), atol=1e-6)
    assert net.coverage(graph) == 1.0


@pytest.mark.parametrize("rule", ["identity", "slice"])
def test_candidates_reusing_node_modules_still_compute_their_own_weights(rule):
    net = SuperNet(space(), rule=rule, probe=40)
    with torch.no_grad():
        for p in net.store.values():
            p.copy_(torch.randn(p.shape))
    graphs = [build(w, k, e) for w in (4, 8) for k in (3, 5) for e in (False, True)]
    shared = [net.module_for(g) for g in graphs]  # all built before any is run
    # a node with the same op, params and input shapes is one module, built once
    assert shared[0].net.conv_0 is shared[1].net.conv_0  # (4, 3) with and without extra
    assert shared[0].net.conv_0 is not shared[2].net.conv_0  # kernel 5
    assert shared[1].net.conv_1 is shared[3].net.conv_1  # in 4 channels both
    assert shared[1].net.conv_1 is not shared[5].net.conv_1  # in 4 vs 8 channels
    for graph, module in reversed(list(zip(graphs, shared, strict=True))):
        assert torch.allclose(module(X), net.extract(graph)(X), atol=1e-6)
        if rule == "slice":
            assert torch.allclose(module(X), hand_loaded(net, graph)(X), atol=1e-6)
    # gradients of a candidate made of reused modules (all built for graphs[6]) reach
    # exactly the store tensors it reads
    shared[7](X).square().mean().backward()
    reached = {k for k, p in net.store.items() if p.grad is not None and p.grad.abs().sum() > 0}
    ids = net.ids(graphs[7])  # the identities the store keys nodes by
    assert reached == {net.layout.slot(ids[nid], graphs[7].node(nid).op, path, tuple(p.shape),
                                       tuple(tuple(q.shape) for q in
                                             getattr(shared[7].net, nid).parameters())).key
                       for nid, path, p in _named(compile_graph(graphs[7]))}


def _named(module: torch.nn.Module) -> list[tuple[str, str, torch.Tensor]]:
    return [(*name.split(".", 1), p) for name, p in module.named_parameters()]


def test_identity_keeps_one_tensor_set_per_node_signature():
    net = SuperNet(space(), rule="identity", probe=40)
    graph = build(width=4, kernel=5, extra=True)
    # conv_0: (4|8) x (3|5); linear_0: in 4, 8 or 6, so 3 weights and 3 biases
    assert len(stored(net, "conv_0", "weight")) == 4
    assert len(stored(net, "linear_0", "weight")) == 3
    assert len(stored(net, "linear_0", "bias")) == 3
    # the candidate's parameters ARE store tensors, of its own shapes
    store = {id(p) for p in net.store.values()}
    shared = net.module_for(graph)
    assert all(id(p) in store for p in shared.parameters())
    module = compile_graph(graph)
    with torch.no_grad():
        for (_, p), (_, q) in zip(module.named_parameters(),
                                     shared.net.named_parameters(), strict=True):
            p.copy_(q)  # the candidate's weights, by hand
    assert torch.allclose(net.extract(graph)(X), module(X), atol=1e-6)


def sgd_step(net: SuperNet, graph: ArchGraph) -> None:
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    opt.zero_grad(set_to_none=True)
    net.module_for(graph)(X).square().mean().backward()
    opt.step()


@pytest.mark.parametrize("rule", ["identity", "slice"])
def test_a_step_on_one_candidate_moves_those_sharing_its_weights_only(rule):
    net = SuperNet(space(), rule=rule, probe=40)
    trained, sharer = build(4, 3, False), build(4, 3, True)
    before = net.module_for(sharer)(X).detach().clone()
    extra_before = [p.detach().clone() for p in stored(net, "conv_1", "weight")]
    sgd_step(net, trained)
    assert not torch.allclose(net.module_for(sharer)(X), before)  # conv_0 is shared
    for p, old in zip(stored(net, "conv_1", "weight"), extra_before, strict=True):
        assert torch.equal(p, old)  # the conditional block was skipped: untouched


def test_slice_step_on_a_narrow_candidate_changes_only_its_corner():
    net = SuperNet(space(), rule="slice", probe=40)
    (full,) = stored(net, "conv_0", "weight")
    old = full.detach().clone()
    sgd_step(net, build(width=4, kernel=3, extra=False))
    changed = (full.detach() != old)
    assert changed[:4, :, 1:4].any()
    assert not changed[4:].any() and not changed[:, :, 0].any() and not changed[:, :, 4].any()


def test_identity_steps_leave_other_shapes_alone():
    net = SuperNet(space(), rule="identity", probe=40)
    before = net.module_for(build(8, 3)).forward(X).detach().clone()
    sgd_step(net, build(4, 3))
    # conv_0 and linear_0 differ in shape between width 4 and 8: nothing shared
    assert torch.equal(net.module_for(build(8, 3))(X), before)


def test_too_large_names_the_megabytes_it_needed():
    # slice store: conv_0 8x1x5 + 8, conv_1 6x8x3 + 6, linear 3x8 + 3 = 225 floats
    need = 225 * 4 / 2**20
    with pytest.raises(SupernetTooLarge, match=f"needs {need:.3g} MB") as info:
        SuperNet(space(), rule="slice", probe=40, max_mb=need / 2)
    assert isinstance(info.value, ValueError) and "max_mb" in str(info.value)
    assert SuperNet(space(), rule="slice", probe=40, max_mb=need * 1.01).store_mb == \
        pytest.approx(need)


def test_state_dict_round_trips_for_the_same_space_rule_probe_seed():
    a = SuperNet(space(), rule="slice", probe=40, seed=3)
    sgd_step(a, build(8, 5, True))
    b = SuperNet(space(), rule="slice", probe=40, seed=3)
    graph = build(8, 5, True)
    assert not torch.allclose(a.extract(graph)(X), b.extract(graph)(X))
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.extract(graph)(X), b.extract(graph)(X))


def node_shapes(graph: ArchGraph) -> dict[str, tuple]:
    return {nid: tuple(p.shape for p in m.parameters())
            for nid, m in compile_graph(graph).named_children()}


def test_coverage_counts_the_parameters_the_probe_never_met():
    net = SuperNet(space(), rule="identity", probe=1, seed=0)
    (_, seen), = net.probe_graphs
    assert net.coverage(seen) == 1.0
    other = build(4 if seen.meta["decisions"]["width"] == 8 else 8, 3, True)
    seen_nodes, module = node_shapes(seen), compile_graph(other)
    own = sum(p.numel() for nid, m in module.named_children() for p in m.parameters()
              if seen_nodes.get(nid) != tuple(q.shape for q in m.parameters()))
    assert own > 0
    assert net.coverage(other) == pytest.approx(1 - own / count_params(module))


def test_slice_index_leads_and_centre_crops_kernels():
    assert slice_index((2, 3), (4, 3)) == (slice(0, 2), slice(0, 3))
    assert slice_index((2, 1, 3), (4, 1, 7)) == (slice(0, 2), slice(0, 1), slice(2, 5))
    assert slice_index((4, 3), (4, 3)) is None
    with pytest.raises(ValueError, match="does not fit"):
        slice_index((5,), (4,))


def three_way(b, in_shape, n_out):
    x = b.input(in_shape)
    x = b.op("linear", x, features=b.choice("width", [4, 6, 8]))
    x = b.op(b.choice("act", ["relu", "tanh", "gelu"]), x)
    x = b.op("dropout", x, p=b.choice("p", [0.0, 0.1, 0.2]))
    return b.output(b.op("linear", x, features=n_out))


def test_fair_sampling_trains_every_option_exactly_once_a_step():
    sp = Space(three_way, (5,), 2)
    net = SuperNet(sp, rule="slice", probe=20)
    steps = net.paths("fair", seed=1)
    for _ in range(4):
        graphs = next(steps)
        assert len(graphs) == 3
        for name, options in {"width": [4, 6, 8], "act": ["relu", "tanh", "gelu"],
                              "p": [0.0, 0.1, 0.2]}.items():
            counts = collections.Counter(g.meta["decisions"][name] for g in graphs)
            assert counts == dict.fromkeys(options, 1)


def test_fair_sampling_covers_smaller_domains_at_least_once():
    net = SuperNet(space(), rule="slice", probe=20)
    net.space.build({"width": 4, "kernel": 3, "extra": True})  # every decision is known
    for graphs in [next(net.paths("fair", seed=s)) for s in range(3)]:
        assert len(graphs) == 2  # every domain has 2 options
        for name in ("width", "kernel", "extra"):
            assert len({g.meta["decisions"][name] for g in graphs}) == 2


def test_sandwich_trains_largest_smallest_then_random():
    net = SuperNet(space(), rule="slice", probe=40)
    first = next(net.paths("sandwich", seed=0, n_random=3))
    sizes = [count_params(compile_graph(g)) for _, g in net.probe_graphs]
    assert len(first) == 5
    assert count_params(compile_graph(first[0])) == max(sizes)
    assert count_params(compile_graph(first[1])) == min(sizes)
    assert first[0].meta["decisions"] == {"width": 8, "kernel": 5, "extra": True}


def test_uniform_sampling_is_one_seeded_path_a_step():
    net = SuperNet(space(), rule="slice", probe=10)
    a = [g[0].meta["decisions"] for g, _ in zip(net.paths("uniform", 4), range(6))]
    b = [g[0].meta["decisions"] for g, _ in zip(net.paths("uniform", 4), range(6))]
    assert a == b and len({str(d) for d in a}) > 1


def test_bad_arguments_say_what_to_change():
    with pytest.raises(ValueError, match="sharing rule must be one of identity, slice"):
        SuperNet(space(), rule="nope")
    with pytest.raises(ValueError, match="sampling must be one of uniform, fair, sandwich"):
        SuperNet(space(), probe=2).paths("nope")
    with pytest.raises(RuntimeError, match="activate"):
        SuperNet(space(), probe=2)(X)


def test_the_default_limit_is_an_eighth_of_the_free_memory(monkeypatch):
    from nas.supernet import _supernet

    need = 225 * 4 / 2**20  # the slice store of the tiny space (see above)
    monkeypatch.setattr(_supernet, "free_memory_mb", lambda: need * 8 * 0.99)
    with pytest.raises(SupernetTooLarge, match=f"over the {need * 0.99:.3g} MB allowed"):
        SuperNet(space(), rule="slice", probe=40)
    monkeypatch.setattr(_supernet, "free_memory_mb", lambda: need * 8 * 1.01)
    SuperNet(space(), rule="slice", probe=40)
