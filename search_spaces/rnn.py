"""Recurrent networks (RNN, LSTM, GRU) over sequences and signals."""

from __future__ import annotations

from nas import Builder, TensorSpec, register_space

CELLS = ["rnn", "lstm", "gru"]
HIDDEN = (16, 32, 64, 128)
READOUTS = ["last", "mean", "attention"]


def is_tokens(in_shape) -> bool:
    return isinstance(in_shape, TensorSpec) and in_shape.kind == "tokens"


def as_sequence(b: Builder, x: str) -> str:
    """A float input as a sequence (L, D) of steps.

    (L,) -> (L, 1); channels-first (C, L) -> (L, C); an image (C, H, W) -> (H, C*W),
    one row per step (as in sequential MNIST).
    """
    shape = b.shape(x)
    if len(shape) == 1:
        return b.op("reshape", x, shape=[shape[0], 1])  # (L, 1)
    if len(shape) == 3:
        c, h, w = shape
        x = b.op("transpose", x)  # (C, W, H)
        x = b.op("reshape", x, shape=[c * w, h])  # (C*W, H)
    return b.op("transpose", x)  # (L, D)


def embed(b: Builder, in_shape, x: str, name: str, dims=(16, 32, 64)) -> str:
    """Token ids (L,) -> (L, D) through an ``embedding`` of a searched dimension ``name``."""
    vocab = in_shape.vocab
    if vocab is None:
        raise ValueError("a token input needs its vocabulary size (TensorSpec vocab=...)")
    return b.op("embedding", x, vocab=vocab, dim=b.choice(name, list(dims)))


def rnn_body(b: Builder, in_shape, x: str, n_out: int, prefix: str = "", max_layers: int = 2,
             hidden=HIDDEN) -> str:
    """The recurrent network on the graph input ``x``, up to the ``n_out`` logits.

    Decision names get ``prefix`` (so a multi-family space can hold several bodies).
    """
    p = prefix
    if is_tokens(in_shape):
        x = embed(b, in_shape, x, f"{p}embed_dim")  # (L, E)
    else:
        x = as_sequence(b, x)  # (L, C)
        if b.bool(f"{p}input_proj"):
            x = b.op("linear", x, features=b.choice(f"{p}proj_dim", [16, 32, 64]))  # (L, P)
    cell = b.choice(f"{p}cell", CELLS)
    layers = b.int(f"{p}layers", 1, max_layers)
    dropout = b.choice(f"{p}dropout", [0.0, 0.1, 0.25]) if layers > 1 else 0.0
    readout = b.choice(f"{p}readout", READOUTS)
    rnn = {"hidden": b.choice(f"{p}hidden", list(hidden)), "layers": layers,
           "bidirectional": b.bool(f"{p}bidirectional"), "dropout": dropout}
    if readout == "last":
        x = b.op(cell, x, output="last", **rnn)  # (H*dirs,)
    else:
        x = b.op(cell, x, output="sequence", **rnn)  # (L, H*dirs)
        x = b.op("seq_pool" if readout == "mean" else "attention_pool", x)  # (H*dirs,)
    return b.op("linear", x, features=n_out)


@register_space("rnn")
def rnn(b: Builder, in_shape, n_out: int, max_layers: int = 2, hidden=HIDDEN) -> str:
    """RNN: the cell (rnn, lstm, gru), layers, hidden size, direction and the readout.

    Searches an optional linear input projection, the cell, 1 to ``max_layers`` layers
    (with dropout between them), the hidden size, bidirectional or not, and the readout:
    the last hidden state, the mean over time (``seq_pool``) or attention pooling. A
    (C, L) signal runs over its L steps of C features, an image (C, H, W) row by row,
    and token ids (TensorSpec kind "tokens") through a searched embedding first. Suits
    sequence classification: mnist1d, time series, short texts.
    """
    x = b.input(in_shape)
    return b.output(rnn_body(b, in_shape, x, n_out, "", max_layers, hidden))
