"""Hand-written models the morphism and graph-edit tests start from."""

from __future__ import annotations

import torch
from torch import nn


def paper_cnn_bn() -> nn.Module:
    """The MNIST-1D paper's CNN with a batch norm after its first conv, whose running
    statistics are moved off their initial values (so that a morphism that forgot them
    would show), seeded."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv1d(1, 25, 5, stride=2, padding=1), nn.BatchNorm1d(25), nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(125, 10))
    model[1].running_mean.uniform_(-0.3, 0.3)
    model[1].running_var.uniform_(0.5, 2.0)
    return model
