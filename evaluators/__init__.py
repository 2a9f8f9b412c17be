"""Tasks (data, loss, metrics), the trainer and cheap scorers.

Importing this package registers the built-in tasks (``mnist1d``, ``digits``, ``csv``,
the graph tasks ``karate``, ``sbm``, ``graph_classes`` and the sequence tasks
``seq2seq``, ``charlm``, and the image tasks ``cifar10``, ``mnist``, ``fashion_mnist``,
read from files on disk, the generative tasks ``ae``, ``vae``, ``gan`` on
MNIST-1D, and the self-supervised ``simclr:<dataset>``, ``byol:<dataset>``)
with ``nas.register_task``; ``nas`` finds it through the ``nas_toolkit.plugins`` entry
point and never imports it by name.
"""

from evaluators.arrays import ArrayTask
from evaluators.device import resolve_device
from evaluators.digits import Digits
from evaluators.failures import REASONS, describe_failure
from evaluators.generative import GAN, VAE, Autoencoder, GanPair, train_gan
from evaluators.graphs import SBM, GraphClasses, Karate, NodeClassification
from evaluators.image_files import DatasetNotFound
from evaluators.measure import PeakMemory, latency_ms
from evaluators.mnist1d import MNIST1D, mnist1d_arrays
from evaluators.multi_input import train_multi
from evaluators.proxies import PROXIES, ProxyEvaluator, score
from evaluators.schedule import StepPlan
from evaluators.sequences import CharLM, Seq2Seq, default_corpus
from evaluators.splits import Splits, split_indices
from evaluators.ssl import BYOLTask, SimCLRTask, SSLTask
from evaluators.supervised import SupervisedTask
from evaluators.tabular import CSVTask
from evaluators.trainer import TrainConfig, train
from evaluators.vision import CIFAR10, MNIST, FashionMNIST, ImageTask

__all__ = [
    "REASONS",
    "SBM",
    "ArrayTask",
    "Autoencoder",
    "BYOLTask",
    "CIFAR10",
    "CSVTask",
    "CharLM",
    "DatasetNotFound",
    "Digits",
    "FashionMNIST",
    "GAN",
    "GanPair",
    "GraphClasses",
    "ImageTask",
    "Karate",
    "MNIST",
    "MNIST1D",
    "NodeClassification",
    "PROXIES",
    "PeakMemory",
    "ProxyEvaluator",
    "Splits",
    "Seq2Seq",
    "StepPlan",
    "SimCLRTask",
    "SSLTask",
    "SupervisedTask",
    "TrainConfig",
    "VAE",
    "default_corpus",
    "describe_failure",
    "latency_ms",
    "mnist1d_arrays",
    "resolve_device",
    "score",
    "split_indices",
    "train",
    "train_gan",
    "train_multi",
]
