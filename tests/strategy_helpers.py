"""A toy space for strategy tests: six activations in a row, four choices each."""

from __future__ import annotations


def toy_space(b, in_shape, n_out):
    x = b.input(in_shape)
    for i in range(6):
        x = b.op(b.choice(f"op{i}", ["relu", "tanh", "sigmoid", "gelu"]), x)
    return b.output(x)
