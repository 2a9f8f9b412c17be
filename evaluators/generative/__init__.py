"""Generative tasks on MNIST-1D (or another dataset's inputs): ``ae``, ``vae`` and ``gan``.

Each is registered as ``NAME`` with the dataset after a colon (``ae:mnist1d``,
``vae:mnist1d``, ``gan:mnist1d``; the dataset defaults to ``mnist1d``) and pairs with
the search space of the same kind (``autoencoder``, ``vae``, ``gan``; ``task.space``).
"""

from evaluators.generative.autoencoders import VAE, Autoencoder, PackedVAE
from evaluators.generative.base import GenerativeTask, input_splits
from evaluators.generative.gan import GAN, GanHooks, GanPair, train_gan
from evaluators.generative.measures import (
    KERNEL_SCALES,
    gaussian_kernel,
    median_distance,
    mmd2_unbiased,
    negative_elbo,
)

__all__ = [
    "GAN",
    "KERNEL_SCALES",
    "VAE",
    "Autoencoder",
    "GanHooks",
    "GanPair",
    "GenerativeTask",
    "PackedVAE",
    "gaussian_kernel",
    "input_splits",
    "median_distance",
    "mmd2_unbiased",
    "negative_elbo",
    "train_gan",
]
