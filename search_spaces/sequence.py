"""One space over four families for sequences and signals: MLP, CNN, RNN, transformer."""

from __future__ import annotations

from nas import Builder, register_space
from search_spaces._common import as_channels_first, as_vector
from search_spaces.cnn import cnn_body
from search_spaces.mlp import mlp_body
from search_spaces.rnn import as_sequence, embed, is_tokens, rnn_body

FAMILIES = ["mlp", "cnn", "rnn", "transformer"]


def transformer_body(b: Builder, in_shape, x: str, n_out: int, prefix: str = "",
                     max_layers: int = 4, dims=(32, 64, 96)) -> str:
    """A small pre-norm transformer encoder classifier on the graph input ``x``.

    Input projection (``linear``, or an ``embedding`` for tokens) to d_model, positions,
    ``layers`` encoder blocks, a final LayerNorm, mean or attention pooling, linear head.
    """
    p = prefix
    d_model = b.choice(f"{p}d_model", list(dims))
    if is_tokens(in_shape):
        x = b.op("embedding", x, vocab=in_shape.vocab, dim=d_model)  # (L, D)
    else:
        x = b.op("linear", as_sequence(b, x), features=d_model)  # (L, D)
    length = b.shape(x)[0]
    x = b.op("pos_encoding", x, kind=b.choice(f"{p}positions", ["learned", "sinusoidal"]),
             max_len=length or 512)
    block = {"heads": b.choice(f"{p}heads", [1, 2, 4]),
             "ff_ratio": b.choice(f"{p}ff_ratio", [2, 4]),
             "dropout": b.choice(f"{p}dropout", [0.0, 0.1]),
             "activation": b.choice(f"{p}activation", ["gelu", "relu"])}
    for _ in range(b.int(f"{p}layers", 1, max_layers)):
        x = b.op("transformer_encoder", x, **block)  # (L, D)
    x = b.op("layer_norm", x)
    pool = b.choice(f"{p}pool", ["mean", "attention"])
    x = b.op("seq_pool" if pool == "mean" else "attention_pool", x)  # (D,)
    return b.op("linear", x, features=n_out)


@register_space("sequence")
def sequence(b: Builder, in_shape, n_out: int) -> str:
    """Sequence: first the family (mlp, cnn, rnn, transformer), then that family's space.

    Each family's decisions are prefixed with its name (``mlp.depth``, ``cnn.width_0``,
    ``rnn.cell``, ``transformer.d_model``...), so no decision name changes its domain. The
    MLP and CNN are the ``mlp`` and ``cnn`` spaces with smaller widths, the RNN is the
    ``rnn`` space, and the transformer is a small encoder classifier (input projection,
    positions, 1-4 blocks, pooling). Suits sequence and signal classification where the
    best family is not known: mnist1d, time series, token ids (TensorSpec kind "tokens",
    embedded first); images work too (rows as steps for the RNN and transformer).
    """
    x = b.input(in_shape)
    family = b.choice("family", FAMILIES)
    p = f"{family}."
    if family == "rnn":
        return b.output(rnn_body(b, in_shape, x, n_out, p))
    if family == "transformer":
        return b.output(transformer_body(b, in_shape, x, n_out, p))
    if is_tokens(in_shape):
        x = b.op("transpose", embed(b, in_shape, x, f"{p}embed_dim"))  # (E, L)
    if family == "mlp":
        return b.output(mlp_body(b, as_vector(b, x), n_out, p, widths=(32, 64, 128, 256)))
    x = as_channels_first(b, x)
    return b.output(cnn_body(b, x, n_out, p, widths=(16, 24, 32, 48, 64)))
