"""Sequence primitives on (L, D) inputs, batch-first (B, L, D) in torch.

Recurrent layers, pooling over time, token embeddings and positions, multi-head
attention and transformer blocks. Attention runs through ``scaled_dot_product_attention``
with no data-dependent Python control flow, so the modules trace with ``torch.export``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from nas.ops._basic import _need_rank, define
from nas.ops._registry import REQUIRED, TensorSpec


def _seq(shape, what):
    """(L, D) of a sequence input; D must be known, L may be None (run-time length)."""
    _need_rank(shape, (2,), what)
    _check(shape[1] is not None, f"{what} needs a known feature size D, got {tuple(shape)}")
    return shape


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _check_attention(dim, p) -> None:
    _check(p["heads"] >= 1 and dim % p["heads"] == 0,
           f"model dim D={dim} is not divisible by heads={p['heads']}")
    _check_dropout(p["dropout"])


def _check_dropout(p) -> None:
    _check(0.0 <= p < 1.0, f"dropout must be in [0, 1), got {p}")


def _check_choice(value, allowed, what) -> None:
    _check(value in allowed, f"{what} must be one of {allowed}, got {value!r}")


# --------------------------------------------------------------------- recurrent
_RNNS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_RNN_OUTPUTS = ("sequence", "last", "mean")


class Recurrent(nn.Module):
    """(B, L, D) -> (B, L, H*dirs) for "sequence"; (B, H*dirs) for "last"/"mean".

    "last" is the last layer's final hidden state, forward then backward direction;
    "mean" averages the output sequence over time.
    """

    def __init__(self, kind: str, dim: int, hidden: int, layers: int = 1,
                 bidirectional: bool = False, output: str = "sequence", dropout: float = 0.0):
        super().__init__()
        self.rnn = _RNNS[kind](dim, hidden, num_layers=layers, bidirectional=bidirectional,
                               dropout=dropout if layers > 1 else 0.0, batch_first=True)
        self.output = output
        self.dirs = 2 if bidirectional else 1
        self.is_lstm = kind == "lstm"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq, h = self.rnn(x)  # seq (B, L, H*dirs); h (layers*dirs, B, H)
        if self.output == "sequence":
            return seq
        if self.output == "mean":
            return seq.mean(1)  # (B, H*dirs)
        h = h[0] if self.is_lstm else h  # an LSTM returns (h, c)
        return h[-self.dirs:].transpose(0, 1).flatten(1)  # (B, dirs*H)


def _rnn_shape(p, s):
    length, _ = _seq(s[0], "a recurrent layer")
    _check(p["hidden"] >= 1 and p["layers"] >= 1, "hidden and layers must be >= 1")
    _check_choice(p["output"], _RNN_OUTPUTS, "output")
    _check_dropout(p["dropout"])
    width = p["hidden"] * (2 if p["bidirectional"] else 1)
    return (length, width) if p["output"] == "sequence" else (width,)


_RNN_PARAMS = {"hidden": REQUIRED, "layers": 1, "bidirectional": False, "output": "sequence",
               "dropout": 0.0}
for _kind in _RNNS:
    define(
        _kind,
        params=_RNN_PARAMS,
        shape=_rnn_shape,
        make=lambda p, s, k=_kind: Recurrent(k, s[0][1], p["hidden"], p["layers"],
                                             p["bidirectional"], p["output"], p["dropout"]),
        examples=[({"hidden": 6}, [(5, 4)]),
                  ({"hidden": 3, "layers": 2, "bidirectional": True, "output": "last",
                    "dropout": 0.1}, [(4, 5)]),
                  ({"hidden": 4, "output": "mean"}, [(6, 3)])],
        doc=f"{_kind.upper()} over (L, D) (batch-first): output 'sequence' -> (L, hidden*dirs), "
            "'last' -> (hidden*dirs,) final state of the last layer (both directions), "
            "'mean' -> (hidden*dirs,) mean over time; dropout acts between layers.",
    )

# --------------------------------------------------------------------- pooling over time
_POOL_MODES = ("mean", "max", "first", "last")


class SeqPool(nn.Module):
    """(B, L, D) -> (B, D): mean, max, first or last step over time."""

    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "mean":
            return x.mean(1)
        if self.mode == "max":
            return x.amax(1)
        return x[:, 0] if self.mode == "first" else x[:, -1]


def _pool_shape(p, s):
    _check_choice(p["mode"], _POOL_MODES, "mode")
    return (_seq(s[0], "seq_pool")[1],)


define("seq_pool", params={"mode": "mean"}, shape=_pool_shape,
       make=lambda p, s: SeqPool(p["mode"]),
       examples=[({}, [(5, 4)]), ({"mode": "max"}, [(6, 3)]), ({"mode": "last"}, [(4, 2)])],
       doc="Pool a sequence over time: (L, D) -> (D,) by mean, max, first or last step.")


class AttentionPool(nn.Module):
    """(B, L, D) -> (B, D): sum_t softmax_t(q . x_t / sqrt(D)) x_t with a learned query q.

    q starts at zero, so a fresh layer is mean pooling.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.query = nn.Parameter(torch.zeros(dim))
        self.scale = dim ** -0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.softmax(x @ self.query * self.scale, dim=1)  # (B, L)
        return (w.unsqueeze(1) @ x).squeeze(1)  # (B, D)


define("attention_pool", shape=lambda p, s: (_seq(s[0], "attention_pool")[1],),
       make=lambda p, s: AttentionPool(s[0][1]), examples=[({}, [(5, 4)])],
       doc="Attention pooling with one learned query: (L, D) -> (D,), softmax weights over L.")

# --------------------------------------------------------------------- tokens and positions


def _embedding_shape(p, s):
    _need_rank(s[0], (1,), "embedding (token ids (L,))")
    _check(p["vocab"] >= 1 and p["dim"] >= 1, "vocab and dim must be >= 1")
    return (s[0][0], p["dim"])


define("embedding", params={"vocab": REQUIRED, "dim": REQUIRED}, shape=_embedding_shape,
       make=lambda p, s: nn.Embedding(p["vocab"], p["dim"]),
       examples=[({"vocab": 11, "dim": 6}, [TensorSpec((7,), "tokens", vocab=11)])],
       doc="Token lookup table: int64 ids (L,) below vocab -> (L, dim).")


def sinusoids(length: int, dim: int) -> torch.Tensor:
    """The (length, dim) table of Vaswani et al. (2017): sin on even, cos on odd features."""
    pos = torch.arange(length, dtype=torch.float32).unsqueeze(1)  # (L, 1)
    freq = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))  # (ceil(D/2),)
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return table


class PositionalEncoding(nn.Module):
    """(B, L, D) -> (B, L, D): x + P[:L], with P (max_len, D) learned or sinusoidal."""

    def __init__(self, dim: int, max_len: int = 512, kind: str = "learned"):
        super().__init__()
        if kind == "learned":
            self.pos = nn.Parameter(torch.randn(max_len, dim) * 0.02)
        else:
            self.register_buffer("pos", sinusoids(max_len, dim), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pos[: x.shape[1]]


def _pos_shape(p, s):
    length, _ = _seq(s[0], "pos_encoding")
    _check_choice(p["kind"], ("learned", "sinusoidal"), "kind")
    _check(length is None or length <= p["max_len"],
           f"sequence length {length} exceeds max_len={p['max_len']}")
    return s[0]


define("pos_encoding", params={"kind": "learned", "max_len": 512}, shape=_pos_shape,
       make=lambda p, s: PositionalEncoding(s[0][1], p["max_len"], p["kind"]),
       examples=[({}, [(6, 4)]), ({"kind": "sinusoidal", "max_len": 16}, [(9, 5)])],
       doc="Add positions to (L, D): a learned table or fixed sinusoids; L <= max_len.")

# --------------------------------------------------------------------- attention


def _split(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, L, heads*Dh) -> (B, heads, L, Dh)."""
    return x.unflatten(-1, (heads, -1)).transpose(1, 2)


def _merge(x: torch.Tensor) -> torch.Tensor:
    """(B, heads, L, Dh) -> (B, L, heads*Dh)."""
    return x.transpose(1, 2).flatten(2)


class MultiHeadAttention(nn.Module):
    """Multi-head self-attention (B, L, D) -> (B, L, D).

    ``in_proj`` stacks the q, k, v projections in the layout of
    ``nn.MultiheadAttention.in_proj_weight``; ``causal`` lets step t see steps <= t only.
    """

    def __init__(self, dim: int, heads: int = 4, dropout: float = 0.0, bias: bool = True,
                 causal: bool = False):
        super().__init__()
        self.in_proj = nn.Linear(dim, 3 * dim, bias=bias)
        self.out_proj = nn.Linear(dim, dim, bias=bias)
        self.heads, self.dropout, self.causal = heads, dropout, causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = _split(self.in_proj(x), 3 * self.heads).chunk(3, dim=1)  # (B, H, L, Dh)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=self.causal)
        return self.out_proj(_merge(y))  # (B, L, D)


class CrossAttention(nn.Module):
    """Multi-head attention of a query (B, Lq, D) over a memory (B, Lk, Dk) -> (B, Lq, D)."""

    def __init__(self, dim: int, mem_dim: int, heads: int = 4, dropout: float = 0.0):
        super().__init__()
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(mem_dim, dim)
        self.v_proj = nn.Linear(mem_dim, dim)
        self.out_proj = nn.Linear(dim, dim)
        self.heads, self.dropout = heads, dropout

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        q = _split(self.q_proj(x), self.heads)  # (B, H, Lq, Dh)
        k = _split(self.k_proj(memory), self.heads)  # (B, H, Lk, Dh)
        v = _split(self.v_proj(memory), self.heads)  # (B, H, Lk, Dh)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)  # (B, H, Lq, Dh)
        return self.out_proj(_merge(y))  # (B, Lq, D)


def _self_attention_shape(p, s):
    _check_attention(_seq(s[0], "self_attention")[1], p)
    return s[0]


define(
    "self_attention",
    params={"heads": 4, "causal": False, "dropout": 0.0, "bias": True},
    shape=_self_attention_shape,
    make=lambda p, s: MultiHeadAttention(s[0][1], p["heads"], p["dropout"], p["bias"],
                                         p["causal"]),
    examples=[({}, [(5, 8)]), ({"heads": 2, "causal": True, "bias": False}, [(6, 4)])],
    doc="Multi-head scaled dot-product self-attention (L, D) -> (L, D); D % heads == 0; "
        "causal masks future steps.",
)


def _cross_attention_shape(p, s):
    _seq(s[1], "cross_attention (memory)")
    _check_attention(_seq(s[0], "cross_attention (query)")[1], p)
    return s[0]


define(
    "cross_attention",
    arity=2,
    params={"heads": 4, "dropout": 0.0},
    shape=_cross_attention_shape,
    make=lambda p, s: CrossAttention(s[0][1], s[1][1], p["heads"], p["dropout"]),
    examples=[({}, [(5, 8), (7, 8)]), ({"heads": 2}, [(3, 4), (6, 10)])],
    doc="Multi-head attention of a query (Lq, D) over a memory (Lk, Dk) -> (Lq, D).",
)

# --------------------------------------------------------------------- transformer blocks
_ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


class _Block(nn.Module):
    """The feed-forward half shared by the transformer blocks: linear2(act(linear1 x))."""

    def __init__(self, dim: int, ff_ratio: float, dropout: float, activation: str,
                 norm_first: bool):
        super().__init__()
        hidden = int(ff_ratio * dim)
        self.linear1 = nn.Linear(dim, hidden)
        self.linear2 = nn.Linear(hidden, dim)
        self.act = _ACTIVATIONS[activation]()
        self.drop = nn.Dropout(dropout)
        self.norm_first = norm_first

    def _ff(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.linear2(self.drop(self.act(self.linear1(x)))))


class TransformerEncoderBlock(_Block):
    """(B, L, D) -> (B, L, D): self-attention then feed-forward, each with a residual.

    Pre-norm: x += SA(LN1 x); x += FF(LN2 x). Post-norm: x = LN1(x + SA x); x = LN2(x + FF x).
    The math of ``nn.TransformerEncoderLayer``; ``causal`` makes it a decoder-only block.
    """

    def __init__(self, dim: int, heads: int = 4, ff_ratio: float = 4, dropout: float = 0.0,
                 norm_first: bool = True, causal: bool = False, activation: str = "gelu"):
        super().__init__(dim, ff_ratio, dropout, activation, norm_first)
        self.attn = MultiHeadAttention(dim, heads, dropout, causal=causal)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm_first:
            x = x + self.drop(self.attn(self.norm1(x)))
            return x + self._ff(self.norm2(x))
        x = self.norm1(x + self.drop(self.attn(x)))
        return self.norm2(x + self._ff(x))


class TransformerDecoderBlock(_Block):
    """(B, L, D), memory (B, Lm, Dm) -> (B, L, D): causal self-attn, cross-attn, feed-forward.

    Each sublayer has a residual and a LayerNorm (pre or post), the math of
    ``nn.TransformerDecoderLayer`` with a causal target mask (when Dm == D).
    """

    def __init__(self, dim: int, mem_dim: int, heads: int = 4, ff_ratio: float = 4,
                 dropout: float = 0.0, norm_first: bool = True, activation: str = "gelu"):
        super().__init__(dim, ff_ratio, dropout, activation, norm_first)
        self.self_attn = MultiHeadAttention(dim, heads, dropout, causal=True)
        self.cross_attn = CrossAttention(dim, mem_dim, heads, dropout)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.norm3 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        if self.norm_first:
            x = x + self.drop(self.self_attn(self.norm1(x)))
            x = x + self.drop(self.cross_attn(self.norm2(x), memory))
            return x + self._ff(self.norm3(x))
        x = self.norm1(x + self.drop(self.self_attn(x)))
        x = self.norm2(x + self.drop(self.cross_attn(x, memory)))
        return self.norm3(x + self._ff(x))


def _block_shape(p, s, what):
    _, dim = _seq(s[0], what)
    _check_attention(dim, p)
    _check_choice(p["activation"], tuple(_ACTIVATIONS), "activation")
    _check(int(p["ff_ratio"] * dim) >= 1, f"ff_ratio={p['ff_ratio']} leaves no hidden units")
    return s[0]


def _decoder_shape(p, s):
    _seq(s[1], "transformer_decoder (memory)")
    return _block_shape(p, s, "transformer_decoder (target)")


_BLOCK_PARAMS = {"heads": 4, "ff_ratio": 4, "dropout": 0.0, "norm_first": True,
                 "activation": "gelu"}
define(
    "transformer_encoder",
    params={**_BLOCK_PARAMS, "causal": False},
    shape=lambda p, s: _block_shape(p, s, "transformer_encoder"),
    make=lambda p, s: TransformerEncoderBlock(s[0][1], p["heads"], p["ff_ratio"], p["dropout"],
                                              p["norm_first"], p["causal"], p["activation"]),
    examples=[({}, [(5, 8)]),
              ({"heads": 2, "ff_ratio": 2, "norm_first": False, "activation": "relu",
                "dropout": 0.1}, [(6, 4)]),
              ({"causal": True}, [(7, 8)])],
    doc="Transformer encoder block (L, D) -> (L, D): self-attention + feed-forward "
        "(ff_ratio * D hidden), residuals, pre- or post-LayerNorm; causal: GPT-style block.",
)
define(
    "transformer_decoder",
    arity=2,
    params=_BLOCK_PARAMS,
    shape=_decoder_shape,
    make=lambda p, s: TransformerDecoderBlock(s[0][1], s[1][1], p["heads"], p["ff_ratio"],
                                              p["dropout"], p["norm_first"], p["activation"]),
    examples=[({}, [(5, 8), (7, 8)]),
              ({"heads": 2, "norm_first": False, "activation": "relu"}, [(4, 6), (3, 10)])],
    doc="Transformer decoder block: target (L, D), memory (Lm, Dm) -> (L, D); causal "
        "self-attention, cross-attention to the memory, feed-forward, residuals and norms.",
)
