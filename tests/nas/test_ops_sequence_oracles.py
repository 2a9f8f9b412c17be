"""Oracles for the sequence primitives: compiled graphs against torch's own layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nas import ArchGraph, ShapeError, compile_graph

L, D, HEADS = 7, 16, 4


def _one_op_graph(op: str, params: dict, shapes) -> nn.Module:
    """Compile a graph applying ``op`` to inputs of ``shapes``; node id "node"."""
    g = ArchGraph()
    ins = [g.add_input(f"x{i}", s) for i, s in enumerate(shapes)]
    g.set_output("y", g.add_node("node", op, params, ins))
    return compile_graph(g).eval()


def _causal_mask(n: int) -> torch.Tensor:
    return nn.Transformer.generate_square_subsequent_mask(n)


def _mha_to_self(prefix: str, src: str, ref: dict) -> dict:
    """nn.MultiheadAttention weights -> our MultiHeadAttention (in_proj, out_proj)."""
    return {f"{prefix}.in_proj.weight": ref[f"{src}.in_proj_weight"],
            f"{prefix}.in_proj.bias": ref[f"{src}.in_proj_bias"],
            f"{prefix}.out_proj.weight": ref[f"{src}.out_proj.weight"],
            f"{prefix}.out_proj.bias": ref[f"{src}.out_proj.bias"]}


def _mha_to_cross(prefix: str, src: str, ref: dict) -> dict:
    """nn.MultiheadAttention weights -> our CrossAttention (q_proj, k_proj, v_proj, out_proj)."""
    ws = ref[f"{src}.in_proj_weight"].chunk(3)
    bs = ref[f"{src}.in_proj_bias"].chunk(3)
    out = {f"{prefix}.out_proj.weight": ref[f"{src}.out_proj.weight"],
           f"{prefix}.out_proj.bias": ref[f"{src}.out_proj.bias"]}
    for name, w, b in zip("qkv", ws, bs):
        out[f"{prefix}.{name}_proj.weight"] = w
        out[f"{prefix}.{name}_proj.bias"] = b
    return out


def _shared(ref: dict, names) -> dict:
    return {k: v for k, v in ref.items() if k.split(".")[0] in names}


BLOCK_CASES = [(True, False, "gelu"), (False, False, "relu"), (True, True, "relu"),
               (False, True, "gelu")]


@pytest.mark.parametrize("norm_first,causal,activation", BLOCK_CASES)
def test_transformer_encoder_matches_torch(norm_first, causal, activation):
    torch.manual_seed(0)
    ref = nn.TransformerEncoderLayer(D, HEADS, dim_feedforward=2 * D, dropout=0.0,
                                     activation=activation, batch_first=True,
                                     norm_first=norm_first).eval()
    model = _one_op_graph("transformer_encoder",
                          {"heads": HEADS, "ff_ratio": 2, "norm_first": norm_first,
                           "causal": causal, "activation": activation}, [(L, D)])
    sd = ref.state_dict()
    model.node.load_state_dict({**_mha_to_self("attn", "self_attn", sd),
                                **_shared(sd, {"linear1", "linear2", "norm1", "norm2"})})
    x = torch.randn(3, L, D)
    mask = _causal_mask(L) if causal else None
    with torch.no_grad():
        expected = ref(x, src_mask=mask, is_causal=causal)
        torch.testing.assert_close(model(x), expected)
    torch.testing.assert_close(model(x), ref(x, src_mask=mask, is_causal=causal))  # no fast path


@pytest.mark.parametrize("norm_first,activation", [(True, "gelu"), (False, "relu")])
def test_transformer_decoder_matches_torch(norm_first, activation):
    torch.manual_seed(1)
    lm = 5
    ref = nn.TransformerDecoderLayer(D, HEADS, dim_feedforward=4 * D, dropout=0.0,
                                     activation=activation, batch_first=True,
                                     norm_first=norm_first).eval()
    model = _one_op_graph("transformer_decoder",
                          {"heads": HEADS, "norm_first": norm_first, "activation": activation},
                          [(L, D), (lm, D)])
    sd = ref.state_dict()
    model.node.load_state_dict({
        **_mha_to_self("self_attn", "self_attn", sd),
        **_mha_to_cross("cross_attn", "multihead_attn", sd),
        **_shared(sd, {"linear1", "linear2", "norm1", "norm2", "norm3"})})
    tgt, mem = torch.randn(3, L, D), torch.randn(3, lm, D)
    expected = ref(tgt, mem, tgt_mask=_causal_mask(L), tgt_is_causal=True)
    torch.testing.assert_close(model(tgt, mem), expected)


def test_cross_attention_matches_torch_with_another_memory_width():
    torch.manual_seed(2)
    dk = 6
    ref = nn.MultiheadAttention(D, HEADS, kdim=dk, vdim=dk, batch_first=True).eval()
    model = _one_op_graph("cross_attention", {"heads": HEADS}, [(L, D), (5, dk)])
    q_bias, k_bias, v_bias = ref.in_proj_bias.chunk(3)
    model.node.load_state_dict({
        "q_proj.weight": ref.q_proj_weight, "q_proj.bias": q_bias,
        "k_proj.weight": ref.k_proj_weight, "k_proj.bias": k_bias,
        "v_proj.weight": ref.v_proj_weight, "v_proj.bias": v_bias,
        "out_proj.weight": ref.out_proj.weight, "out_proj.bias": ref.out_proj.bias})
    x, mem = torch.randn(2, L, D), torch.randn(2, 5, dk)
    torch.testing.assert_close(model(x, mem), ref(x, mem, mem, need_weights=False)[0])


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_matches_torch(causal):
    torch.manual_seed(3)
    ref = nn.MultiheadAttention(D, HEADS, batch_first=True).eval()
    model = _one_op_graph("self_attention", {"heads": HEADS, "causal": causal}, [(L, D)])
    sd = {f"attn.{k}": v for k, v in ref.state_dict().items()}
    model.node.load_state_dict({k[len("attn."):]: v for k, v in
                                _mha_to_self("attn", "attn", sd).items()})
    x = torch.randn(2, L, D)
    mask = _causal_mask(L) if causal else None
    expected = ref(x, x, x, attn_mask=mask, is_causal=causal, need_weights=False)[0]
    torch.testing.assert_close(model(x), expected)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_recurrent_last_matches_hand_written(kind, bidirectional):
    torch.manual_seed(4)
    hidden, layers, d_in = 5, 2, 3
    ref = (nn.GRU if kind == "gru" else nn.LSTM)(d_in, hidden, num_layers=layers,
                                                  bidirectional=bidirectional, batch_first=True)
    model = _one_op_graph(kind, {"hidden": hidden, "layers": layers,
                                 "bidirectional": bidirectional, "output": "last"}, [(L, d_in)])
    model.node.rnn.load_state_dict(ref.state_dict())
    x = torch.randn(4, L, d_in)
    seq, h = ref(x)  # seq (B, L, dirs*H); h (layers*dirs, B, H)
    h = h[0] if kind == "lstm" else h
    if bidirectional:  # last layer: forward ends at step L-1, backward at step 0
        expected = torch.cat([h[-2], h[-1]], dim=-1)
        torch.testing.assert_close(expected, torch.cat([seq[:, -1, :hidden],
                                                        seq[:, 0, hidden:]], dim=-1))
    else:
        expected = h[-1]
        torch.testing.assert_close(expected, seq[:, -1])
    out = model(x)
    assert out.shape == (4, hidden * (2 if bidirectional else 1))
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("op", ["self_attention", "transformer_encoder"])
def test_causal_output_ignores_the_future(op):
    torch.manual_seed(5)
    model = _one_op_graph(op, {"heads": HEADS, "causal": True}, [(L, D)])
    x = torch.randn(2, L, D)
    for t in range(L - 1):
        changed = x.clone()
        changed[:, t + 1:] = torch.randn(2, L - t - 1, D)
        a, b = model(x), model(changed)
        torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1])
        assert not torch.allclose(a[:, t + 1:], b[:, t + 1:])


def test_non_causal_output_sees_the_future():
    torch.manual_seed(6)
    model = _one_op_graph("self_attention", {"heads": HEADS}, [(L, D)])
    x = torch.randn(2, L, D)
    changed = x.clone()
    changed[:, -1] += 1.0
    assert not torch.allclose(model(x)[:, 0], model(changed)[:, 0])


def test_attention_blocks_export():
    model = _one_op_graph("transformer_encoder", {"heads": HEADS, "causal": True}, [(L, D)])
    x = torch.randn(2, L, D)
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(model, (x,), dynamic_shapes=(({0: batch},),))  # *inputs
    y = torch.randn(5, L, D)
    torch.testing.assert_close(program.module()(y), model(y))


def test_shape_errors_name_the_misfit():
    g = ArchGraph()
    x = g.add_input("x", (L, 10))
    g.set_output("y", g.add_node("att", "self_attention", {"heads": 4}, [x]))
    with pytest.raises(ShapeError, match="D=10.*heads=4"):
        g.infer_shapes()
    g = ArchGraph()
    x = g.add_input("x", (20, 4))
    g.set_output("y", g.add_node("pos", "pos_encoding", {"max_len": 16}, [x]))
    with pytest.raises(ShapeError, match="max_len=16"):
        g.infer_shapes()


def test_embedding_then_sinusoids():
    g = ArchGraph()
    tok = g.add_input("tok", (6,), kind="tokens", vocab=10)
    h = g.add_node("emb", "embedding", {"vocab": 10, "dim": 8}, [tok])
    h = g.add_node("pos", "pos_encoding", {"kind": "sinusoidal", "max_len": 6}, [h])
    g.set_output("y", g.add_node("pool", "seq_pool", {"mode": "first"}, [h]))
    model = compile_graph(g)
    ids = torch.randint(0, 10, (2, 6))
    expected = model.emb.weight[ids[:, 0]] + torch.tensor([0.0, 1.0] * 4)  # sin 0, cos 0
    torch.testing.assert_close(model(ids), expected)
