"""The tasks ``simclr:<dataset>`` and ``byol:<dataset>``: search encoders without labels.

``<dataset>`` is any registered classification task holding its data as ``Splits``
(``mnist1d``, the default, or ``digits``); its labels feed only the linear probe.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from evaluators.augment import augmenter_for
from evaluators.loop import LoopTask
from evaluators.recipe import TrainConfig
from evaluators.splits import Splits
from evaluators.ssl.methods import BYOL, SimCLR
from evaluators.ssl.pretrain import PretrainHooks
from nas import ArchGraph, Budget, get_task, register_task

SSL_CONFIG = TrainConfig(lr=1e-2, weight_decay=1e-4, batch_size=128, report_every=100)
"""The pre-training recipe (fields a ``config`` dict names replace these)."""


class SSLTask(LoopTask):
    """Self-supervised pre-training of an encoder, scored by a linear probe.

    The space is bound with ``n_out = features``: the encoder's output is the feature
    vector. Pre-training sees the dataset's training inputs only, two augmented views
    at a time (``augment`` overrides fields of ``SignalAugment`` / ``ImageAugment``).
    The probe, a ridge classifier on the frozen features, is fit on ``probe_labels``
    labeled training samples (drawn with ``probe_seed``); objective
    ``("val_acc", "max")`` is its validation accuracy, ``test_acc`` its test accuracy.
    ``report(step, val_acc)`` runs the same probe every ``config.report_every`` steps.
    ``dataset_options`` go to the dataset's task (e.g. ``{"split_seed": 1}``),
    ``method_options`` to the method (``method_class``: SimCLR's ``temperature``...).
    """

    method_name = "ssl"
    method_class: type[nn.Module]  # set by each method's task: SimCLR, BYOL
    objective = ("val_acc", "max")
    metrics = {"val_acc": "max", "test_acc": "max", "val_loss": "min", "params": "min",
               "flops": "min", "train_loss": "min", "peak_mem_mb": "min",
               "train_time_s": "min", "steps": None, "planned_steps": None, "capped": None,
               "probe_labels": None,
               "probe_loo_acc": "max", "latency_ms": "min"}
    default_budget = Budget(500, "steps", max_seconds=60.0)  # a step is two views' worth

    def __init__(self, dataset: str = "mnist1d", features: int = 64, hidden: int = 256,
                 proj_dim: int = 64, probe_labels: int = 500, probe_seed: int = 0,
                 augment: dict | None = None, dataset_options: dict | None = None,
                 config: TrainConfig | dict | None = None, method_options: dict | None = None):
        base = get_task(dataset, **(dataset_options or {}))
        if not isinstance(getattr(base, "splits", None), Splits) or \
                getattr(base, "kind", None) != "classification":
            raise ValueError(f"task '{dataset}' cannot be pre-trained on: {self.method_name} "
                             "needs a classification dataset held as Splits (mnist1d, digits)")
        self.name = f"{self.method_name}:{dataset}"
        self.dataset = base
        self.in_shape = base.in_shape
        self.n_out = features
        self.n_classes = base.n_out
        self.hidden, self.proj_dim = hidden, proj_dim
        self.augment = augmenter_for(self.in_shape, augment)
        n_train = len(base.splits.x_train)
        if not self.n_classes <= probe_labels <= n_train:
            raise ValueError(f"probe_labels must be between {self.n_classes} (the classes) and "
                             f"{n_train} (the training samples), got {probe_labels}")
        gen = torch.Generator().manual_seed(probe_seed)
        self.probe_index = torch.randperm(n_train, generator=gen)[:probe_labels].sort().values
        self.config = _config(config)
        self.method_options = method_options or {}

    def splits_on(self, device: torch.device) -> Splits:
        """The dataset's splits on ``device`` (moved once)."""
        return self.dataset.splits_on(device)

    def method(self, encoder: nn.Module) -> nn.Module:
        """The self-supervised method wrapped around ``encoder``, heads included:
        ``method_class(encoder, features, hidden, proj_dim, **method_options)``."""
        return self.method_class(encoder, self.n_out, self.hidden, self.proj_dim,
                                 **self.method_options)

    def hooks(self, model: ArchGraph | nn.Module) -> PretrainHooks:
        """Pre-train ``model`` (``evaluate``: the encoder's weights are the ones kept)."""
        return PretrainHooks(model, self)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, in_shape={self.in_shape}, "
                f"features={self.n_out}, probe_labels={len(self.probe_index)})")


@register_task("simclr")
class SimCLRTask(SSLTask):
    """SimCLR pre-training (NT-Xent over two augmented views), scored by a linear probe.

    ``simclr:<dataset>`` (mnist1d by default, digits); ``temperature`` (default 0.2)
    divides the cosine similarities in NT-Xent. See ``SSLTask`` for the other options.
    """

    method_name = "simclr"
    method_class = SimCLR

    def __init__(self, dataset: str = "mnist1d", temperature: float = 0.2, **options):
        super().__init__(dataset, method_options={"temperature": temperature}, **options)


@register_task("byol")
class BYOLTask(SSLTask):
    """BYOL pre-training (online predictor, EMA target, no negatives), scored by a probe.

    ``byol:<dataset>`` (mnist1d by default, digits); ``tau`` (default 0.99) is the
    target's starting EMA decay, raised to 1 along a cosine. See ``SSLTask``.
    """

    method_name = "byol"
    method_class = BYOL

    def __init__(self, dataset: str = "mnist1d", tau: float = 0.99, **options):
        super().__init__(dataset, method_options={"tau_base": tau}, **options)


def _config(config: TrainConfig | dict | None) -> TrainConfig:
    """A TrainConfig as is; a dict's fields on top of ``SSL_CONFIG``."""
    if isinstance(config, TrainConfig):
        return config
    parsed = TrainConfig.from_dict(config or {})
    return dataclasses.replace(SSL_CONFIG, **{k: getattr(parsed, k) for k in config or {}})
