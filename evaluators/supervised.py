"""SupervisedTask: a dataset split three ways, its loss and metrics, trained by ``TrainLoop``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from evaluators.loop import LoopTask
from evaluators.measure import trained_metrics
from evaluators.recipe import TrainConfig
from evaluators.splits import Splits
from evaluators.trainer import SupervisedHooks
from nas import ArchGraph, Budget

KINDS = ("classification", "regression")
SCORES = {"classification": {"acc": "max", "loss": "min"},
          "regression": {"mse": "min", "loss": "min"}}  # what ``score`` returns, per kind


class SupervisedTask(LoopTask):
    """A supervised task: train / validation / test tensors, classification or regression.

    Classification: ``y`` holds class ids; the loss is cross-entropy (with label
    smoothing while training); objective ``("val_acc", "max")``; metrics ``val_loss``,
    ``test_acc``, ``test_loss``. Regression: ``y`` is ``(N, n_out)`` float; the loss is
    the mean squared error of the (standardized) targets, recorded as ``val_loss``;
    objective ``("val_mse", "min")``, the same error in the targets' own units
    (``y_scale``, a float or one per column, undoes the standardization). Selection
    only ever sees the validation split; test metrics are recorded for the report.
    """

    name: str = "supervised"
    default_budget: Budget = Budget(1000, "steps")

    def __init__(self, splits: Splits, kind: str = "classification", n_out: int | None = None,
                 config: TrainConfig | dict | None = None,
                 y_scale: float | torch.Tensor = 1.0,
                 name: str | None = None):
        if kind not in KINDS:
            raise ValueError(f"task kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if min(splits.sizes[:2]) == 0:
            raise ValueError(f"the train and validation splits need samples, got sizes "
                             f"{splits.sizes} (train, val, test)")
        self.splits = splits
        self.kind = kind
        self.in_shape = tuple(splits.x_train.shape[1:])
        if n_out is None:
            n_out = (int(splits.y_train.max()) + 1 if kind == "classification"
                     else splits.y_train.shape[1])
        self.n_out = n_out
        self.objective = ("val_acc", "max") if kind == "classification" else ("val_mse", "min")
        self.config = config if isinstance(config, TrainConfig) else \
            TrainConfig.from_dict(config or {})
        self.y_scale = torch.as_tensor(y_scale, dtype=torch.float32)
        if name is not None:
            self.name = name
        self._on_device: dict[str, Splits] = {}

    @property
    def metrics(self) -> dict[str, str | None]:
        """What a training run reports, with the better direction of each."""
        return trained_metrics(SCORES[self.kind])

    def splits_on(self, device: torch.device) -> Splits:
        """The splits on ``device`` (moved once, then kept for the next candidates)."""
        key = str(device)
        if key not in self._on_device:
            self._on_device[key] = self.splits.to(device)
        return self._on_device[key]

    def loss(self, out: torch.Tensor, y: torch.Tensor,
             label_smoothing: float = 0.0) -> torch.Tensor:
        """The training loss of a batch (``label_smoothing`` applies to classification)."""
        if self.kind == "classification":
            return F.cross_entropy(out, y, label_smoothing=label_smoothing)
        return F.mse_loss(out, y)

    def score(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Named metrics of one whole split from the model's outputs ``out``."""
        if self.kind == "classification":
            return {"acc": (out.argmax(1) == y).float().mean().item(),
                    "loss": F.cross_entropy(out, y).item()}
        err = (out - y).square()  # (N, n_out), standardized units
        scale = self.y_scale.to(out.device).square()
        return {"mse": (err * scale).mean().item(), "loss": err.mean().item()}

    def hooks(self, model: ArchGraph | nn.Module) -> SupervisedHooks:
        """Supervised training (``evaluate`` runs it on ``TrainLoop``)."""
        return SupervisedHooks(model, self)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, kind={self.kind!r}, "
                f"in_shape={self.in_shape}, n_out={self.n_out}, sizes={self.splits.sizes})")
