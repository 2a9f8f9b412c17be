"""The task protocol: what the runner needs from a task (implemented in ``evaluators``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from nas.budget import Budget
from nas.graph import ArchGraph
from nas.ops import Shape, TensorSpec
from nas.result import Result

Report = Callable[[int, float], bool]
"""``report(step, value) -> should_stop``: intermediate objective values for pruners."""


@runtime_checkable
class Task(Protocol):
    """A dataset with its loss and metrics, able to train and score an architecture.

    name: the registered name. in_shape / n_out: what spaces are bound to.
    objective: the primary objective's name and direction, e.g. ("val_acc", "max").
    evaluate: train ``graph`` within ``budget`` and score it; never raises for a bad
    candidate (a failed Result carries the reason). With ``keep_weights`` the trained
    weights come back in ``result.state_dict`` (the runner saves the best trials' for
    ``--keep-weights``); a task that trains nothing (a proxy) accepts it and returns
    none.

    Optional ``metrics``: what ``evaluate`` reports, a mapping name -> "max" | "min" |
    None (no better way), or a list of names (``nas.metric_direction`` gives their
    directions). With it a search refuses, before training, an objective the task never
    measures, and an objective named without a direction takes the declared one.
    """

    name: str
    in_shape: Shape | TensorSpec
    n_out: int
    objective: tuple[str, str]

    def evaluate(self, graph: ArchGraph, budget: Budget | str | None = None, seed: int = 0,
                 device: str = "auto", report: Report | None = None,
                 keep_weights: bool = False) -> Result: ...
