"""Family checks for the transformer, autoencoder, vae, gan and gnn spaces: output shapes
per mode, causality, reconstruction shapes, named outputs and the G/D split."""

from __future__ import annotations

import pytest
import torch

import nas
from nas import SpaceError, TensorSpec, compile_graph, example_inputs

V, L, LT = 20, 10, 7
TOKENS = TensorSpec((L,), kind="tokens", vocab=V)
SEEDS = range(6)


def _model(space, decisions):
    torch.manual_seed(0)
    return compile_graph(space.build(decisions)).eval()


def _tokens(shape, seed=0):
    return torch.randint(0, V, shape, generator=torch.Generator().manual_seed(seed))


def _outputs(out):
    return out if isinstance(out, tuple) else (out,)


# --------------------------------------------------------------------- every config builds

CONFIGS = [
    ("transformer", {}),
    ("transformer", {"in_shape": (3, 16, 16)}),
    ("transformer", {"in_shape": TOKENS, "n_out": 3}),
    ("transformer", {"in_shape": TOKENS, "n_out": V, "mode": "decoder"}),
    ("transformer", {"in_shape": TOKENS, "n_out": V, "mode": "seq2seq", "tgt_len": LT}),
    ("autoencoder", {"in_shape": (1, 8, 8)}),
    ("autoencoder", {"in_shape": (3, 9, 14)}),
    ("autoencoder", {"in_shape": (28,)}),
    ("vae", {"in_shape": (1, 8, 8)}),
    ("gan", {"in_shape": (1, 8, 8)}),
    ("gnn", {"level": "graph"}),
]


@pytest.mark.parametrize(("name", "cfg"), CONFIGS, ids=lambda v: str(v)[:40])
def test_configs_sample_build_train_mutate(name, cfg):
    space = nas.get_space(name, **cfg)
    for seed in SEEDS:
        d = space.sample(seed)
        g = space.build(d)
        model = compile_graph(g)
        total = sum(o.float().square().mean()
                    for o in _outputs(model(*example_inputs(g, batch=3))))
        total.backward()
        assert torch.isfinite(total)
        assert space.build(space.mutate(d, seed)).fingerprint() != g.fingerprint()
        compile_graph(space.build(space.crossover(d, space.sample(seed + 100), seed)))


def test_bad_config_says_what_to_change():
    with pytest.raises(SpaceError, match="mode must be one of"):
        nas.get_space("transformer", mode="gpt").sample(0)
    with pytest.raises(SpaceError, match="kind='tokens'"):
        nas.get_space("transformer", mode="decoder").sample(0)  # (1, 40) is not tokens
    with pytest.raises(SpaceError, match="level must be one of"):
        nas.get_space("gnn", level="edge").sample(0)


# --------------------------------------------------------------------- transformer


@pytest.mark.parametrize("seed", SEEDS)
def test_decoder_is_causal_and_outputs_per_position(seed):
    space = nas.get_space("transformer", in_shape=TOKENS, n_out=V, mode="decoder")
    model = _model(space, space.sample(seed))
    x = _tokens((2, L))
    y = model(x)
    assert y.shape == (2, L, V)
    k = L // 2
    x2 = x.clone()
    x2[:, k:] = (x[:, k:] + 1) % V  # change every token from step k on
    y2 = model(x2)
    torch.testing.assert_close(y2[:, :k], y[:, :k])
    assert not torch.allclose(y2[:, k:], y[:, k:])


@pytest.mark.parametrize("seed", SEEDS)
def test_seq2seq_is_causal_in_target_and_reads_source(seed):
    space = nas.get_space("transformer", in_shape=TOKENS, n_out=V, mode="seq2seq",
                          tgt_len=LT)
    g = space.build(space.sample(seed))
    assert list(g.inputs) == ["src", "tgt"]
    model = _model(space, space.sample(seed))
    src, tgt = _tokens((2, L)), _tokens((2, LT), seed=1)
    y = model(src, tgt)
    assert y.shape == (2, LT, V)
    k = 3
    tgt2 = tgt.clone()
    tgt2[:, k:] = (tgt[:, k:] + 1) % V
    torch.testing.assert_close(model(src, tgt2)[:, :k], y[:, :k])
    assert not torch.allclose(model((src + 1) % V, tgt)[:, :k], y[:, :k])


def test_seq2seq_target_vocab_from_config():
    space = nas.get_space("transformer", in_shape=TOKENS, n_out=5, mode="seq2seq",
                          tgt_len=4, tgt_vocab=5)
    g = space.build(space.sample(0))
    assert g.inputs["tgt"] == TensorSpec((4,), kind="tokens", vocab=5)
    assert compile_graph(g)(*example_inputs(g, batch=2)).shape == (2, 4, 5)


def test_encoder_reads_signals_images_and_tokens():
    for in_shape in [(1, 40), (3, 16, 16), TOKENS]:
        space = nas.get_space("transformer", in_shape=in_shape, n_out=4)
        g = space.build(space.sample(0))
        assert compile_graph(g)(*example_inputs(g, batch=2)).shape == (2, 4)


# --------------------------------------------------------------------- autoencoder / vae

SHAPES = [(1, 40), (1, 8, 8), (3, 9, 14), (28,)]


@pytest.mark.parametrize("name", ["autoencoder", "vae"])
@pytest.mark.parametrize("in_shape", SHAPES, ids=str)
@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_reconstruction_has_the_input_shape(name, in_shape, kind):
    space = nas.get_space(name, in_shape=in_shape)
    for seed in SEEDS:
        d = space.complete({"kind": kind, "upsampling": ["conv_transpose", "upsample"][seed % 2]},
                           seed)
        g = space.build(d)
        assert g.output_shapes()[list(g.outputs)[0]] == in_shape
        x = torch.randn(2, *in_shape)
        assert _outputs(_model(space, d)(x))[0].shape == x.shape


@pytest.mark.parametrize("seed", SEEDS)
def test_vae_outputs_and_eval_determinism(seed):
    space = nas.get_space("vae", in_shape=(1, 8, 8))
    d = space.sample(seed)
    model = _model(space, d)
    assert model.output_names == ("reconstruction", "mu", "logvar")
    x = torch.randn(3, 1, 8, 8)
    recon, mu, logvar = model(x)
    assert mu.shape == logvar.shape == (3, d["latent"])
    for a, b in zip((recon, mu, logvar), model(x)):
        torch.testing.assert_close(a, b)
    model.train()
    assert not torch.allclose(model(x)[0], model(x)[0])  # z is sampled while training
    plain = _model(space, space.resolve({**d, "batch_norm": False})[1])  # no batch stats
    assert not any(isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d)
                   for m in plain.modules())
    plain.train()
    torch.testing.assert_close(plain(x)[1], plain(x)[1])  # mu does not sample


# --------------------------------------------------------------------- gan


@pytest.mark.parametrize("in_shape", [(1, 40), (1, 8, 8)], ids=str)
@pytest.mark.parametrize("seed", SEEDS)
def test_gan_splits_generator_and_discriminator(in_shape, seed):
    space = nas.get_space("gan", in_shape=in_shape)
    d = space.sample(seed)
    g = space.build(d)
    assert list(g.inputs) == ["z", "x"] and list(g.outputs) == ["generated", "score"]
    assert all(n.id.startswith(("gen_", "disc_")) for n in g.nodes())
    model = _model(space, d)
    gen = {n for n, _ in model.named_parameters() if n.startswith("gen_")}
    disc = {n for n, _ in model.named_parameters() if n.startswith("disc_")}
    assert gen and disc and not gen & disc
    assert gen | disc == {n for n, _ in model.named_parameters()}

    z1, z2 = torch.randn(3, d["latent"]), torch.randn(3, d["latent"])
    x = torch.randn(3, *in_shape)
    generated, score = model(z1, x)
    assert generated.shape == x.shape and score.shape == (3, 1)
    torch.testing.assert_close(model(z2, x)[1], score)  # D(x) ignores z
    _, fake_score = model(z1, generated)  # D(G(z)) by a second call
    assert fake_score.shape == (3, 1)

    model.train()
    generated, _ = model(z1, x)
    _, fake_score = model(z1, generated)
    fake_score.sum().backward()  # the generator's loss reaches only through x = G(z)
    assert all(p.grad is not None for n, p in model.named_parameters() if n in gen)


# --------------------------------------------------------------------- gnn


def _graph_inputs(n=7, graphs=3, features=16):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, features, generator=gen)
    edges = torch.randint(0, n, (2, 3 * n), generator=gen)
    graph_index = torch.arange(n) * graphs // n  # sorted ids 0..graphs-1
    return x, edges, graph_index


@pytest.mark.parametrize("layer", ["gcn", "gin", "gat", "message_passing"])
@pytest.mark.parametrize("level", ["node", "graph"])
def test_gnn_levels(layer, level):
    space = nas.get_space("gnn", level=level)
    x, edges, graph_index = _graph_inputs()
    for seed in SEEDS:
        d = space.complete({"layer": layer}, seed)
        model = _model(space, d)
        if level == "node":
            assert model(x, edges).shape == (7, 4)
        else:
            assert model(x, edges, graph_index).shape == (3, 4)
