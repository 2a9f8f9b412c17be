"""Transformers: BERT-like encoders, GPT-like causal decoders and encoder-decoders."""

from __future__ import annotations

import math

from nas import Builder, TensorSpec, register_space
from search_spaces._common import as_channels_first

MODES = ("encoder", "decoder", "seq2seq")
D_MODELS = [32, 64, 96, 128]  # every entry is divisible by every entry of HEADS
HEADS = [1, 2, 4, 8]
MAX_LEN = 512  # positional table size when the sequence length is known only at run time


# --------------------------------------------------------------------- blocks


def _block_params(b: Builder) -> dict:
    """The decisions shared by every transformer block of one architecture."""
    return {
        "heads": b.choice("heads", HEADS),
        "ff_ratio": b.choice("ff_ratio", [1, 2, 4]),
        "norm_first": b.bool("norm_first"),
        "activation": b.choice("activation", ["gelu", "relu"]),
        "dropout": b.choice("dropout", [0.0, 0.1]),
    }


def _positions(b: Builder, x: str, kind: str) -> str:
    """Add positions to a (L, D) node; the table is exactly as long as L when L is known."""
    length = b.shape(x)[0]
    return b.op("pos_encoding", x, kind=kind, max_len=length or MAX_LEN)


def _embed_tokens(b: Builder, spec: TensorSpec, name: str, d_model: int) -> str:
    """A (L,) token input -> (L, d_model)."""
    tokens = b.input(spec, name=name)
    return b.op("embedding", tokens, vocab=spec.vocab, dim=d_model)  # (L, D)


def _embed_tensor(b: Builder, in_shape, d_model: int) -> str:
    """A float input -> (L, d_model): signals (C, L) per step, images (C, H, W) by patches."""
    x = as_channels_first(b, b.input(in_shape))  # (C, L) or (C, H, W)
    if len(b.shape(x)) == 3:
        side = min(b.shape(x)[1:])
        patch = b.choice("patch", [2, 4]) if side >= 8 else 1
        x = b.op("conv", x, channels=d_model, kernel=patch, stride=patch, padding=0)
        x = b.op("reshape", x, shape=[d_model, math.prod(b.shape(x)[1:])])  # (D, h*w)
        return b.op("transpose", x)  # (h*w, D)
    x = b.op("transpose", x)  # (L, C)
    return b.op("linear", x, features=d_model)  # (L, D)


def _stack(b: Builder, x: str, layers: int, block: dict, causal: bool = False,
           final_norm: bool = False) -> str:
    """``layers`` encoder blocks; a final layer norm when asked or when pre-norm needs it."""
    for _ in range(layers):
        x = b.op("transformer_encoder", x, causal=causal, **block)
    return b.op("layer_norm", x) if final_norm or block["norm_first"] else x


def _is_tokens(spec) -> bool:
    return isinstance(spec, TensorSpec) and spec.kind == "tokens"


def _need_tokens(spec, mode: str) -> TensorSpec:
    if not _is_tokens(spec) or len(spec.shape) != 1 or not spec.vocab:
        raise ValueError(f"mode='{mode}' needs token input: pass in_shape=TensorSpec((L,), "
                         f"kind='tokens', vocab=V), got {spec!r}")
    return spec


# --------------------------------------------------------------------- the space


@register_space("transformer", in_shape=(1, 40), n_out=10)
def transformer(b: Builder, in_shape, n_out: int, mode: str = "encoder", max_layers: int = 4,
                tgt_len: int | None = None, tgt_vocab: int | None = None) -> str:
    """Transformer: BERT-like classifier, GPT-like causal LM or encoder-decoder (``mode``).

    Searches the number of layers, d_model, heads, feed-forward ratio, pre- or post-norm,
    activation, dropout and the positional encoding (learned or sinusoidal).

    - ``mode="encoder"`` (default): a (C, L) signal is read per step (transpose, linear to
      d_model), a (C, H, W) image by patches, a token input (TensorSpec kind "tokens")
      through an embedding; then encoder blocks and a readout (mean, max, first step or
      attention pooling) and a linear head: output (n_out,). Suits sequence
      classification (mnist1d, text classification).
    - ``mode="decoder"``: token input (L,) with vocab V, causal blocks, a final layer norm
      and a linear head per position: output (L, n_out), n_out = V for language
      modelling. Step t never sees steps after t.
    - ``mode="seq2seq"``: token inputs ``src`` (Ls,) (the in_shape) and ``tgt`` (Lt,)
      (length ``tgt_len``, vocab ``tgt_vocab``; both default to the source's); an encoder
      stack over src and decoder blocks (causal self-attention, cross-attention to the
      encoder output) over tgt: output (Lt, n_out). Suits translation-like toy tasks.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    d_model = b.choice("d_model", D_MODELS)
    pos = b.choice("pos_encoding", ["learned", "sinusoidal"])

    if mode == "encoder":
        if _is_tokens(in_shape):
            x = _embed_tokens(b, in_shape, "x", d_model)
        else:
            x = _embed_tensor(b, in_shape, d_model)
        block = _block_params(b)
        x = _stack(b, _positions(b, x, pos), b.int("layers", 1, max_layers), block)
        readout = b.choice("readout", ["mean", "max", "first", "attention"])
        if readout == "attention":
            x = b.op("attention_pool", x)  # (D,)
        else:
            x = b.op("seq_pool", x, mode=readout)  # (D,)
        return b.output(b.op("linear", x, features=n_out))

    src = _need_tokens(in_shape, mode)
    if mode == "decoder":
        x = _positions(b, _embed_tokens(b, src, "x", d_model), pos)  # (L, D)
        block = _block_params(b)
        x = _stack(b, x, b.int("layers", 1, max_layers), block, causal=True, final_norm=True)
        return b.output(b.op("linear", x, features=n_out))  # (L, n_out)

    tgt = TensorSpec((tgt_len or src.shape[0],), "tokens", vocab=tgt_vocab or src.vocab)
    memory = _positions(b, _embed_tokens(b, src, "src", d_model), pos)  # (Ls, D)
    y = _positions(b, _embed_tokens(b, tgt, "tgt", d_model), pos)  # (Lt, D)
    block = _block_params(b)
    memory = _stack(b, memory, b.int("layers", 1, max_layers), block)
    for _ in range(b.int("dec_layers", 1, max_layers)):
        y = b.op("transformer_decoder", y, memory, **block)
    y = b.op("layer_norm", y)
    return b.output(b.op("linear", y, features=n_out))  # (Lt, n_out)
