"""Family checks for the resnet, mobilenet, rnn and sequence spaces: shortcuts and their
projections, strides that stop at size 1, residuals only on matching shapes, recurrent
readout widths, and the multi-family space's prefixed decisions."""

from __future__ import annotations

import math

import pytest
import torch

import nas
from nas import TensorSpec, compile_graph, example_inputs
from search_spaces.mobilenet import BASE, HEAD, divisible

TOKENS = TensorSpec((12,), kind="tokens", vocab=30)
SEEDS = range(30)


def _head(graph):
    """The node feeding the graph's output (the linear head)."""
    return graph.node(graph.outputs["y"])


def _ops(graph, op):
    return [n for n in graph.nodes() if n.op == op]


# --------------------------------------------------------------------- every config builds

CONFIGS = [
    ("resnet", {}),
    ("resnet", {"in_shape": (3, 32, 32)}),
    ("resnet", {"in_shape": (40,), "n_out": 3}),
    ("mobilenet", {}),
    ("mobilenet", {"in_shape": (3, 32, 32)}),
    ("rnn", {}),
    ("rnn", {"in_shape": TOKENS, "n_out": 4}),
    ("rnn", {"in_shape": (1, 8, 8)}),
    ("sequence", {}),
    ("sequence", {"in_shape": TOKENS, "n_out": 4}),
]


@pytest.mark.parametrize(("name", "cfg"), CONFIGS, ids=lambda v: str(v)[:40])
def test_configs_sample_build_train_mutate(name, cfg):
    space = nas.get_space(name, **cfg)
    for seed in SEEDS:
        d = space.sample(seed)
        g = space.build(d)
        model = compile_graph(g)
        y = model(*example_inputs(g, batch=3))
        assert y.shape == (3, space.n_out)
        y.square().mean().backward()
        assert torch.isfinite(y).all()
        assert space.build(space.mutate(d, seed)).fingerprint() != g.fingerprint()
        compile_graph(space.build(space.crossover(d, space.sample(seed + 100), seed)))


@pytest.mark.parametrize("name", ["resnet", "mobilenet", "rnn", "sequence"])
def test_small_enough_for_a_cpu(name):
    space = nas.get_space(name)  # mnist1d's (1, 40)
    params = [nas.count_params(space.build(space.sample(seed))) for seed in SEEDS]
    assert min(params) >= 500 and max(params) <= 600_000


# --------------------------------------------------------------------- resnet


def _resnet(block, widths, strides, depth=1, in_shape=(1, 40), stem_width=16):
    d = {"block": block, "stem_width": stem_width, "stem": "conv3", "stages": len(widths)}
    for i, (w, s) in enumerate(zip(widths, strides)):
        d |= {f"width_{i}": w, f"depth_{i}": depth}
        if s is not None:
            d[f"stride_{i}"] = s
    if min(in_shape[1:] or in_shape) < 16:
        del d["stem"]
    return nas.get_space("resnet", in_shape=in_shape).build(d)


def test_resnet_bottleneck_projects_only_when_the_shape_changes():
    g = _resnet("bottleneck", widths=[64], strides=[2], depth=2)
    state = compile_graph(g).state_dict()
    # block 1: (16, 40) -> (64, 20): a strided 1x1 conv + BN on the shortcut
    assert state["add_0.proj.0.0.weight"].shape == (64, 16, 1)
    assert "add_0.proj.0.1.running_mean" in state
    proj = compile_graph(g).add_0.proj[0][0]
    assert proj.stride == (2,)
    assert not any(k.startswith("add_1.") for k in state)  # block 2: identity shortcut
    # a bottleneck is 1x1 (width / 4), 3x3 strided, 1x1 (width)
    convs = [(n.params["kernel"], n.params["channels"], n.params.get("stride", 1))
             for n in _ops(g, "conv")]
    assert convs[1:4] == [(1, 16, 1), (3, 16, 2), (1, 64, 1)]


def test_resnet_basic_block_identity_shortcut_on_same_shape():
    g = _resnet("basic", widths=[16, 32], strides=[1, 1])
    state = compile_graph(g).state_dict()
    assert not any(k.startswith("add_0.") for k in state)
    assert state["add_1.proj.0.0.weight"].shape == (32, 16, 1)  # channels change, no stride
    assert len(_ops(g, "conv")) == 1 + 2 * 2  # stem + two convs per basic block


def test_resnet_2d_input_gets_2d_projection():
    g = _resnet("basic", widths=[32], strides=[2], in_shape=(3, 8, 8))
    state = compile_graph(g).state_dict()
    assert state["add_0.proj.0.0.weight"].shape == (32, 16, 1, 1)
    assert g.infer_shapes()[g.node("add_0").id] == (32, 4, 4)


def test_resnet_stops_striding_at_size_one():
    # (1, 5) -> 3 -> 2 -> 1: the 4th stage is at size 1 and asks no stride
    g = _resnet("basic", widths=[16] * 4, strides=[2, 2, 2, None], in_shape=(1, 5))
    assert "stride_3" not in g.meta["decisions"]
    assert min(g.infer_shapes()["add_3"][1:]) == 1
    space = nas.get_space("resnet", in_shape=(1, 1))
    assert not any(k.startswith("stride_") or k == "stem" for k in space.sample(0))


def test_resnet_big_inputs_get_a_strided_stem():
    space = nas.get_space("resnet", in_shape=(3, 32, 32))
    d = space.sample(0) | {"stem": "conv7_s2"}
    g = space.build(d)
    assert g.node("conv_0").params["kernel"] == 7
    assert g.infer_shapes()["conv_0"][1:] == (16, 16)


# --------------------------------------------------------------------- mobilenet


@pytest.mark.parametrize("in_shape", [(1, 40), (3, 32, 32), (2, 3)])
def test_mobilenet_residual_only_when_shapes_match(in_shape):
    space = nas.get_space("mobilenet", in_shape=in_shape)
    for seed in range(10):
        g = space.build(space.sample(seed))
        shapes = g.infer_shapes()
        adds = _ops(g, "add")
        for n in adds:
            assert shapes[n.inputs[0]] == shapes[n.inputs[1]]
        assert not any(".proj." in k for k in compile_graph(g).state_dict())
        # every block keeping its shape has its residual: blocks - adds = shape changes
        blocks = _ops(g, "conv")
        depthwise = [n for n in blocks if n.params.get("groups", 1) > 1]
        changes = sum(shapes[_block_in(g, n)] != shapes[_block_out(g, n)] for n in depthwise)
        assert len(depthwise) - len(adds) == changes


def _block_in(g, depthwise):
    """The input node of the MBConv block holding ``depthwise`` (before its expand conv)."""
    src = g.node(depthwise.inputs[0])
    if src.op in ("relu", "silu"):  # the stem's activation or the expand conv's
        conv = g.node(g.node(src.inputs[0]).inputs[0])
        if conv.params["kernel"] == 1:
            return conv.inputs[0]
    return src.id


def _block_out(g, depthwise):
    """The output node of the MBConv block holding ``depthwise``: its project conv's BN."""
    after = g.topological_order()
    i = after.index(depthwise.id)
    project = next(n for n in after[i + 1:] if g.node(n).op == "conv")
    return next(n for n in after[after.index(project):] if g.node(n).op == "batch_norm")


def test_mobilenet_multipliers_scale_the_base():
    space = nas.get_space("mobilenet")
    for seed in SEEDS:
        d = space.sample(seed)
        g = space.build(d)
        depthwise = [n for n in _ops(g, "conv") if n.params.get("groups", 1) > 1]
        blocks = sum(max(1, math.ceil(n * d["depth_mult"])) for _, n, _ in BASE)
        assert len(depthwise) == blocks
        assert len(_ops(g, "squeeze_excite")) == sum(
            max(1, math.ceil(n * d["depth_mult"])) for i, (_, n, _) in enumerate(BASE)
            if d[f"se_{i}"])
        assert g.infer_shapes()[_head(g).inputs[0]] == (divisible(HEAD * d["width_mult"]),)
        kernels = {n.params["kernel"] for n in depthwise}
        assert kernels == {d[f"kernel_{i}"] for i in range(len(BASE))}


def test_mobilenet_expansion_one_skips_the_expand_conv():
    space = nas.get_space("mobilenet")
    d = space.sample(0) | {f"expand_{i}": 1 for i in range(len(BASE))}
    g = space.build(d)
    convs = _ops(g, "conv")
    depthwise = [n for n in convs if n.params.get("groups", 1) > 1]
    assert len(convs) == 1 + 2 * len(depthwise) + 1  # stem, (dw, project) per block, head
    d6 = d | {f"expand_{i}": 6 for i in range(len(BASE))}
    g6 = space.build(d6)
    dw = next(n for n in _ops(g6, "conv") if n.params.get("groups", 1) > 1)
    stem = g6.infer_shapes()["conv_0"][0]
    assert dw.params["channels"] == dw.params["groups"] == 6 * stem  # expanded, depthwise
    expand = g6.node("conv_1").params
    assert (expand["kernel"], expand["channels"], expand["groups"]) == (1, 6 * stem, 1)


# --------------------------------------------------------------------- rnn


@pytest.mark.parametrize("readout", ["last", "mean", "attention"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_rnn_bidirectional_doubles_the_readout(cell, readout):
    space = nas.get_space("rnn")
    d = {"input_proj": False, "cell": cell, "layers": 2, "dropout": 0.1, "readout": readout,
         "hidden": 32}
    widths = []
    for bidirectional in (False, True):
        g = space.build(d | {"bidirectional": bidirectional})
        head = compile_graph(g).get_submodule(_head(g).id)
        widths.append(head.in_features)
        pooled = g.node(_head(g).inputs[0])
        expected = {"last": cell, "mean": "seq_pool", "attention": "attention_pool"}[readout]
        assert pooled.op == expected
        if readout == "last":
            assert pooled.params["output"] == "last"
    assert widths == [32, 64]


def test_rnn_turns_signals_and_tokens_into_sequences():
    g = nas.get_space("rnn").build({"input_proj": True, "proj_dim": 16, "cell": "gru",
                                    "layers": 1, "readout": "mean", "hidden": 16,
                                    "bidirectional": False})
    shapes = g.infer_shapes()
    order = [g.node(n) for n in g.topological_order() if n in shapes and n != "x"]
    assert [n.op for n in order[:3]] == ["transpose", "linear", "gru"]
    assert shapes[order[0].id] == (40, 1) and shapes[order[1].id] == (40, 16)

    space = nas.get_space("rnn", in_shape=TOKENS)
    d = space.sample(0)
    assert "embed_dim" in d and "input_proj" not in d
    g = space.build(d)
    emb = _ops(g, "embedding")[0]
    assert emb.params == {"vocab": 30, "dim": d["embed_dim"]}

    g = nas.get_space("rnn", in_shape=(3, 8, 6)).build(d | {"input_proj": False})
    seq = next(n for n in g.nodes() if n.op == d["cell"])
    assert g.infer_shapes()[seq.inputs[0]] == (8, 18)  # one row of 3 x 6 per step


def test_rnn_dropout_only_between_layers():
    space = nas.get_space("rnn")
    for seed in SEEDS:
        d = space.sample(seed)
        assert ("dropout" in d) == (d["layers"] > 1)


# --------------------------------------------------------------------- sequence

PREFIXES = ("mlp.", "cnn.", "rnn.", "transformer.")


@pytest.mark.parametrize("in_shape", [(1, 40), TOKENS])
def test_sequence_reaches_every_family_with_prefixed_decisions(in_shape):
    space = nas.get_space("sequence", in_shape=in_shape)
    seen = set()
    for seed in range(40):
        d = space.sample(seed)
        family = d["family"]
        seen.add(family)
        assert next(iter(d)) == "family"
        assert all(k.startswith(f"{family}.") for k in d if k != "family")
    assert seen == {"mlp", "cnn", "rnn", "transformer"}
    # one name, one domain: no name is shared between families
    names = [k for k in space.domains if k != "family"]
    assert all(k.startswith(PREFIXES) for k in names)


def _strip(d, family):
    return {k.removeprefix(f"{family}."): v for k, v in d.items() if k != "family"}


@pytest.mark.parametrize("family", ["mlp", "cnn", "rnn"])
def test_sequence_families_are_the_registered_spaces(family):
    """With decisions both spaces allow, the family branch builds the family's own space."""
    seq, own = nas.get_space("sequence"), nas.get_space(family)
    checked = 0
    for seed in range(60):
        d = seq.sample(seed)
        if d["family"] != family:
            continue
        g = own.build(_strip(d, family))
        assert g.fingerprint() == seq.build(d).fingerprint()
        checked += 1
    assert checked >= 3


def test_sequence_transformer_branch():
    space = nas.get_space("sequence")
    d = {"family": "transformer", "transformer.d_model": 32, "transformer.positions": "learned",
         "transformer.heads": 4, "transformer.ff_ratio": 2, "transformer.dropout": 0.0,
         "transformer.activation": "gelu", "transformer.layers": 3,
         "transformer.pool": "attention"}
    g = space.build(d)
    assert len(_ops(g, "transformer_encoder")) == 3
    pos = _ops(g, "pos_encoding")[0]
    assert pos.params["max_len"] == 40  # the learned table fits the sequence
    assert g.node(_head(g).inputs[0]).op == "attention_pool"
    assert nas.count_params(g) < 100_000


def test_registered_spaces_keep_unprefixed_names():
    assert "depth" in nas.get_space("mlp").sample(0)
    assert "blocks" in nas.get_space("cnn").sample(0)
    assert "cell" in nas.get_space("rnn").sample(0)
