"""GANs: an MLP generator and an MLP discriminator, searched together in one graph.

The graph holds two disjoint subgraphs (the IR has no weight sharing):

- inputs ``z`` (latent,) then ``x`` (the data shape), in that order, so the compiled
  module is called as ``module(z, x) -> (generated, score)``;
- ``generated`` = G(z), of the data shape; every generator node id starts with ``gen_``;
- ``score`` = D(x), shape (1,), a logit; every discriminator node id starts with ``disc_``.

A trainer splits the parameters by the prefix of the submodule names (``gen_*`` for the
generator's optimizer, ``disc_*`` for the discriminator's) and computes D(G(z)) by
calling the module again with ``x = G(z)``: ``_, fake_score = module(z, generated)``.
"""

from __future__ import annotations

import math

from nas import Builder, register_space
from search_spaces._common import shape_of

WIDTHS = [64, 128, 256, 512]
LATENTS = [8, 16, 32, 64]
NORMS = ["none", "batch_norm", "layer_norm"]
MAX_DEPTH = 3


class _Net:
    """Adds ops to the builder under node ids ``{prefix}_{op}_{k}``."""

    def __init__(self, b: Builder, prefix: str):
        self.b, self.prefix = b, prefix
        self.counts: dict[str, int] = {}

    def __call__(self, op: str, *inputs: str, **params) -> str:
        k = self.counts.get(op, 0)
        self.counts[op] = k + 1
        return self.b.op(op, *inputs, name=f"{self.prefix}_{op}_{k}", **params)


def _mlp(b: Builder, net: _Net, x: str, act: str, slope: float | None = None) -> str:
    """``{prefix}_depth`` layers of linear (``{prefix}_width_{i}``), norm, activation."""
    p = net.prefix
    norm = b.choice(f"{p}_norm", NORMS)
    act_params = {"slope": slope} if act == "leaky_relu" and slope else {}
    for i in range(b.int(f"{p}_depth", 1, MAX_DEPTH)):
        x = net("linear", x, features=b.choice(f"{p}_width_{i}", WIDTHS))
        if norm != "none":
            x = net(norm, x)
        x = net(act, x, **act_params)
    return x


def generator(b: Builder, data_shape: tuple) -> str:
    """G: z (latent,) -> (data shape); declares the ``z`` input after the latent size."""
    net = _Net(b, "gen")
    z = b.input((b.choice("latent", LATENTS),), name="z")
    h = _mlp(b, net, z, b.choice("gen_activation", ["relu", "leaky_relu", "gelu", "silu"]))
    h = net("linear", h, features=math.prod(data_shape))  # (prod(data_shape),)
    if b.choice("gen_output", ["tanh", "none"]) == "tanh":
        h = net("tanh", h)
    return h if len(data_shape) == 1 else net("reshape", h, shape=list(data_shape))


def discriminator(b: Builder, in_shape) -> str:
    """D: x (data shape) -> (1,), a real-vs-fake logit."""
    net = _Net(b, "disc")
    x = b.input(in_shape, name="x")
    h = net("flatten", x) if len(b.shape(x)) != 1 else x
    act = b.choice("disc_activation", ["leaky_relu", "relu", "gelu", "silu"])
    h = _mlp(b, net, h, act, slope=0.2)
    return net("linear", h, features=1)  # (1,)


# --------------------------------------------------------------------- the space


@register_space("gan", in_shape=(1, 40), n_out=1)
def gan(b: Builder, in_shape, n_out: int) -> str:
    """GAN: MLP generator and discriminator in one graph, outputs ``generated`` and ``score``.

    Searches the latent size, each network's depth, widths, normalization (none, batch
    norm, layer norm) and activation (leaky ReLU with slope 0.2 in D), and the
    generator's output activation (tanh for data scaled to [-1, 1], or none). Inputs
    ``z`` then ``x``; node ids ``gen_*`` / ``disc_*`` split the parameters (see the module
    docstring). Suits generative modelling of mnist1d signals, digits or small images;
    ``n_out`` is ignored (the score is one logit).
    """
    del n_out
    generated = b.output(generator(b, shape_of(in_shape)), name="generated")  # G(z)
    b.output(discriminator(b, in_shape), name="score")  # D(x), (1,)
    return generated
