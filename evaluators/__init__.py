"""Tasks (data, loss, metrics), the trainer and cheap scorers.

Importing this package registers the built-in tasks (``mnist1d``, ``digits``, ``csv``,
the graph tasks ``karate``, ``sbm``, ``graph_classes`` and the sequence tasks
``seq2seq``, ``charlm``, your own data ``arrays``, and the image tasks ``cifar10``,
``mnist``, ``fashion_mnist``, read from files on disk, the generative tasks ``ae``,
``vae``, ``gan`` on MNIST-1D, and the self-supervised ``simclr:<dataset>``, ``byol:<dataset>``)
with ``nas.register_task``; ``nas`` finds it through the ``nas_toolkit.plugins`` entry
point and never imports it by name.

Every task that trains runs the one loop, ``TrainLoop``, with hooks of its own
(``LoopHooks``; ``LoopTask`` makes ``evaluate`` one run of it).
"""

from evaluators.arrays import ArrayTask
from evaluators.choose_space import choose_space
from evaluators.device import resolve_device
from evaluators.digits import Digits
from evaluators.failures import REASONS, describe_failure
from evaluators.generative import GAN, VAE, Autoencoder, GanHooks, GanPair, train_gan
from evaluators.graphs import SBM, GraphClasses, Karate, NodeClassification
from evaluators.image_files import DatasetNotFound
from evaluators.loop import LoopHooks, LoopTask, TrainLoop, build_model, measure_or_nan
from evaluators.measure import PeakMemory, latency_ms
from evaluators.mnist1d import MNIST1D, mnist1d_arrays
from evaluators.multi_input import MultiInputHooks, train_multi
from evaluators.oneshot import (
    SUPERNET_LR_SCALE,
    CalibrateHooks,
    SupernetHooks,
    score_inherited,
    train_supernet,
)
from evaluators.own_data import DataTask, load_data
from evaluators.own_graphs import GraphSetData, NodeData
from evaluators.proxies import PROXIES, ProxyEvaluator, score
from evaluators.recipe import TrainConfig, adamw, epoch_batches, optimizer_step
from evaluators.schedule import StepPlan
from evaluators.sequences import CharLM, Seq2Seq, default_corpus
from evaluators.splits import Splits, split_indices
from evaluators.ssl import BYOLTask, PretrainHooks, SimCLRTask, SSLTask, pretrain
from evaluators.supervised import SupervisedTask
from evaluators.tabular import CSVTask
from evaluators.trainer import SupervisedHooks, train
from evaluators.vision import CIFAR10, MNIST, FashionMNIST, ImageTask

__all__ = [
    "CIFAR10",
    "GAN",
    "MNIST",
    "MNIST1D",
    "PROXIES",
    "REASONS",
    "SBM",
    "VAE",
    "ArrayTask",
    "Autoencoder",
    "BYOLTask",
    "CalibrateHooks",
    "CSVTask",
    "DataTask",
    "CharLM",
    "DatasetNotFound",
    "Digits",
    "FashionMNIST",
    "GanHooks",
    "GanPair",
    "GraphClasses",
    "GraphSetData",
    "ImageTask",
    "Karate",
    "LoopHooks",
    "LoopTask",
    "MultiInputHooks",
    "NodeClassification",
    "NodeData",
    "PeakMemory",
    "PretrainHooks",
    "ProxyEvaluator",
    "SSLTask",
    "Seq2Seq",
    "SimCLRTask",
    "Splits",
    "StepPlan",
    "SupervisedHooks",
    "SUPERNET_LR_SCALE",
    "SupernetHooks",
    "SupervisedTask",
    "TrainConfig",
    "TrainLoop",
    "adamw",
    "build_model",
    "choose_space",
    "default_corpus",
    "describe_failure",
    "epoch_batches",
    "latency_ms",
    "load_data",
    "measure_or_nan",
    "mnist1d_arrays",
    "optimizer_step",
    "pretrain",
    "resolve_device",
    "score",
    "score_inherited",
    "split_indices",
    "train",
    "train_gan",
    "train_supernet",
    "train_multi",
]
