"""Codegen rules for recurrent, attention and transformer primitives (nas/ops/_sequence.py)."""

from __future__ import annotations

from nas.export._codegen import construct, layer, register_codegen
from nas.ops import _sequence as ops


def _recurrent(kind: str):
    def rule(p, s):
        return construct(ops.Recurrent, kind, s[0][1], p["hidden"], layers=p["layers"],
                         bidirectional=p["bidirectional"], output=p["output"],
                         dropout=p["dropout"])
    return rule


for _kind in ops._RNNS:
    register_codegen(_kind)(_recurrent(_kind))


@register_codegen("seq_pool")
def _seq_pool(p, s):
    return construct(ops.SeqPool, p["mode"])


@register_codegen("attention_pool")
def _attention_pool(p, s):
    return construct(ops.AttentionPool, s[0][1])


@register_codegen("embedding")
def _embedding(p, s):
    return layer("Embedding", p["vocab"], p["dim"])


@register_codegen("pos_encoding")
def _pos_encoding(p, s):
    return construct(ops.PositionalEncoding, s[0][1], max_len=p["max_len"], kind=p["kind"])


@register_codegen("self_attention")
def _self_attention(p, s):
    return construct(ops.MultiHeadAttention, s[0][1], heads=p["heads"], dropout=p["dropout"],
                     bias=p["bias"], causal=p["causal"])


@register_codegen("cross_attention")
def _cross_attention(p, s):
    return construct(ops.CrossAttention, s[0][1], s[1][1], heads=p["heads"],
                     dropout=p["dropout"])


def _block(p) -> dict:
    return {"heads": p["heads"], "ff_ratio": p["ff_ratio"], "dropout": p["dropout"],
            "norm_first": p["norm_first"]}


@register_codegen("transformer_encoder")
def _transformer_encoder(p, s):
    return construct(ops.TransformerEncoderBlock, s[0][1], **_block(p), causal=p["causal"],
                     activation=p["activation"])


@register_codegen("transformer_decoder")
def _transformer_decoder(p, s):
    return construct(ops.TransformerDecoderBlock, s[0][1], s[1][1], **_block(p),
                     activation=p["activation"])
