"""FewShot: one supernet per option of a split decision; each sees only candidates of
its own split (probe, training paths), and a candidate is scored on its own part."""

from __future__ import annotations

import pytest

from nas import Space
from nas.supernet import FewShot, PinnedSpace


def tiny(b, in_shape, n_out):
    """conv (width 4|8), an optional batch norm, an activation, pooling, linear."""
    x = b.op("conv", b.input(in_shape), channels=b.choice("width", [4, 8]), kernel=3)
    if b.bool("bn"):
        x = b.op("batch_norm", x)
    x = b.op(b.choice("act", ["relu", "tanh", "gelu"]), x)
    return b.output(b.op("linear", b.op("global_avg_pool", x), features=n_out))


def space() -> Space:
    return Space(tiny, (1, 12), 3)


def test_pinned_space_builds_only_candidates_with_the_pinned_value():
    pinned = PinnedSpace(space(), {"bn": True})
    assert all(pinned.sample(i)["bn"] is True for i in range(30))
    # a decisions dict asking the other value still gets the pinned one
    graph = pinned.build({"width": 4, "bn": False, "act": "relu"})
    assert graph.meta["decisions"]["bn"] is True
    assert any(n.op == "batch_norm" for n in graph.nodes())


@pytest.mark.parametrize("sampling", ["uniform", "fair", "sandwich"])
def test_each_part_sees_only_candidates_of_its_split(sampling):
    few = FewShot(space(), "act", probe=20)
    assert few.values == ["relu", "tanh", "gelu"] and len(few.parts) == 3
    for value, part in zip(few.values, few.parts, strict=True):
        assert {g.meta["decisions"]["act"] for _, g in part.probe_graphs} == {value}
        paths = part.paths(sampling, seed=1)
        trained = [g for _ in range(6) for g in next(paths)]
        assert {g.meta["decisions"]["act"] for g in trained} == {value}


def test_a_candidate_is_scored_on_the_part_of_its_split():
    few = FewShot(space(), "bn", probe=20)
    for bn in (False, True):
        graph = space().build({"width": 8, "bn": bn, "act": "tanh"})
        part = few.supernet_for(graph)
        assert part is few.parts[few.values.index(bn)]
        # only the part with batch norm holds batch-norm weights
        assert any(k.startswith("batch_norm_0__") for k in part.store) == bn
        assert part.coverage(graph) == 1.0


def test_a_split_that_is_not_a_small_decision_says_what_to_pick():
    with pytest.raises(ValueError, match="no decision 'depth'; its decisions: act, bn, width"):
        FewShot(space(), "depth")
    wide = Space(lambda b, s, n: b.output(b.op("linear", b.input(s), features=b.int(
        "units", 1, 64))), (4,), 2)
    with pytest.raises(ValueError, match="must have 2 to 8 options"):
        FewShot(wide, "units")


@pytest.mark.parametrize("rescale", [False, True])
@pytest.mark.parametrize("split", ["act", "width"])
def test_parts_inheriting_a_trained_supernet_start_with_its_candidates_weights(split, rescale):
    import torch

    from nas.supernet import SuperNet

    parent = SuperNet(space(), probe=20, rescale=rescale)
    with torch.no_grad():  # "trained": far from any fresh init
        for tensor in parent.store.values():
            tensor.normal_(0.0, 1.0)
    few = FewShot(space(), split, probe=20, rescale=rescale)
    assert few.inherit(parent) == 1.0
    for width in (4, 8):
        for act in ("relu", "tanh", "gelu"):
            graph = space().build({"width": width, "bn": True, "act": act})
            part = few.supernet_for(graph)
            mine, theirs = part.extract(graph), parent.extract(graph)
            for (name, p), (_, q) in zip(mine.named_parameters(), theirs.named_parameters(),
                                         strict=True):
                torch.testing.assert_close(p, q, msg=lambda m, name=name: f"{name}: {m}")
    if split == "width":  # the 4-wide part's store is a cut of the 8-wide tensors
        assert few.parts[0].store_mb < parent.store_mb


def test_inheriting_from_a_supernet_built_otherwise_is_refused():
    from nas.supernet import SuperNet

    few = FewShot(space(), "act", probe=10)
    with pytest.raises(ValueError, match="parent supernet's rescale is True"):
        few.inherit(SuperNet(space(), probe=10, rescale=True))
