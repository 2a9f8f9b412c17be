"""Tasks (data, loss, metrics), the trainer and cheap scorers.

Importing this package registers the built-in tasks (``mnist1d``, ``digits``, ``csv``)
with ``nas.register_task``; ``nas`` finds it through the ``nas_toolkit.plugins`` entry
point and never imports it by name.
"""

from evaluators.arrays import ArrayTask
from evaluators.device import resolve_device
from evaluators.digits import Digits
from evaluators.failures import REASONS, describe_failure
from evaluators.measure import PeakMemory, latency_ms
from evaluators.mnist1d import MNIST1D, mnist1d_arrays
from evaluators.splits import Splits, split_indices
from evaluators.supervised import SupervisedTask
from evaluators.tabular import CSVTask
from evaluators.trainer import TrainConfig, train

__all__ = [
    "REASONS",
    "ArrayTask",
    "CSVTask",
    "Digits",
    "MNIST1D",
    "PeakMemory",
    "Splits",
    "SupervisedTask",
    "TrainConfig",
    "describe_failure",
    "latency_ms",
    "mnist1d_arrays",
    "resolve_device",
    "split_indices",
    "train",
]
