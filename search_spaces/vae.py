"""Variational autoencoders: the autoencoder space with a Gaussian latent (mu, logvar)."""

from __future__ import annotations

from nas import Builder, register_space
from search_spaces.autoencoder import LATENTS, decode, encode


@register_space("vae", in_shape=(1, 40), n_out=10)
def vae(b: Builder, in_shape, n_out: int) -> str:
    """VAE: MLP or strided-conv encoder to (mu, logvar), reparameterized latent, decoder.

    Searches what the ``autoencoder`` space searches (kind, depths, widths, latent size,
    activation, batch norm, kernel, upsampling). Three outputs, in this order:
    ``reconstruction`` (exactly the input's shape; ``n_out`` is ignored), ``mu`` and
    ``logvar`` (latent,), for the ELBO loss: reconstruction + KL(N(mu, exp(logvar)) || N(0, I)).
    The latent is sampled only in training mode; in eval mode z = mu, so evaluation is
    deterministic. Suits generative modelling and representation learning on mnist1d,
    digits or small images.
    """
    del n_out  # the output is a reconstruction of the input
    h, plan = encode(b, b.input(in_shape))  # (F,)
    latent = b.choice("latent", LATENTS)
    mu = b.op("linear", h, features=latent, name="mu")  # (latent,)
    logvar = b.op("linear", h, features=latent, name="logvar")  # (latent,)
    z = b.op("reparameterize", mu, logvar, name="z")  # (latent,)
    recon = b.output(decode(b, z, plan), name="reconstruction")  # the input's shape
    b.output(mu, name="mu")
    b.output(logvar, name="logvar")
    return recon
