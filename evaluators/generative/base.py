"""What the generative tasks share: a dataset's inputs split three ways, and the recipe."""

from __future__ import annotations

import dataclasses

from torch import nn

from evaluators.loop import LoopTask
from evaluators.recipe import TrainConfig
from evaluators.splits import Splits
from evaluators.supervised import SupervisedTask
from evaluators.trainer import SupervisedHooks
from nas import ArchGraph, Budget, get_task


def input_splits(dataset: str, **data_args) -> Splits:
    """The inputs of a registered supervised task's three splits, with targets = inputs.

    ``dataset`` names a task holding float inputs in ``splits`` (``mnist1d``, ``digits``);
    ``data_args`` go to it (``val_size``, ``split_seed``, ...), so the splits are the
    same, disjoint and seeded, as the classification task's. Labels are dropped.
    """
    source = get_task(dataset, **data_args)
    s = getattr(source, "splits", None)
    if not isinstance(s, Splits) or not s.x_train.is_floating_point():
        raise ValueError(f"generative tasks model the float inputs of a supervised task such "
                         f"as mnist1d or digits; task {dataset!r} has none")
    return Splits(s.x_train, s.x_train, s.x_val, s.x_val, s.x_test, s.x_test)


def recipe(default: TrainConfig, config: TrainConfig | dict | None) -> TrainConfig:
    """``config`` as given (a TrainConfig), or its fields (a dict) over ``default``."""
    if isinstance(config, TrainConfig):
        return config
    given = dataclasses.asdict(TrainConfig.from_dict(config or {}))  # checks the names
    return dataclasses.replace(default, **{k: given[k] for k in config or {}})


class GenerativeTask(LoopTask):
    """Unlabelled samples of ``dataset`` (train / validation / test), trained with a recipe.

    Subclasses set ``name``, ``objective``, ``space`` (the registered space that fits),
    ``n_out`` and ``default_config``, and implement ``loss`` and ``score`` (trained as a
    supervised task whose targets are the inputs) or ``hooks``.
    """

    name = "generative"
    space = ""  # the registered search space whose graphs this task trains
    space_config: dict = {}  # settings that space needs from the task (none)
    default_budget = Budget(1000, "steps")
    default_config = TrainConfig()

    def __init__(self, dataset: str = "mnist1d", config: TrainConfig | dict | None = None,
                 **data_args):
        self.dataset = dataset
        self.splits = input_splits(dataset, **data_args)
        self.in_shape = tuple(self.splits.x_train.shape[1:])
        self.config = recipe(self.default_config, config)
        self.name = f"{type(self).name}:{dataset}"
        self._on_device: dict[str, Splits] = {}

    splits_on = SupervisedTask.splits_on  # the splits on a device, moved once and kept

    def hooks(self, model: ArchGraph | nn.Module) -> SupervisedHooks:
        """Supervised training with the inputs as targets."""
        return SupervisedHooks(model, self)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, in_shape={self.in_shape}, "
                f"sizes={self.splits.sizes})")
