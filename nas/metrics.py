"""Metric names, their better directions, and a search's objectives checked against a task.

An objective given without a direction (``--objectives val_loss``) takes the direction
its task declares for that metric, else the one its name implies (losses, errors,
sizes, times: min; accuracies and other scores: max), else it is an error: maximizing
a loss by default would waste a whole search. A task that lists what it measures
(its ``metrics``) lets a search refuse, before any training, an objective it never
reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from nas.objective import DIRECTIONS, Objective, objectives_text

# words in a metric's name (split at "_") that say which way is better
_MIN = frozenset({"loss", "error", "err", "mse", "mae", "rmse", "nll", "nelbo", "ppl",
                  "perplexity", "bpc", "bpd", "mmd", "fid", "params", "flops", "macs",
                  "latency", "time", "mem", "memory", "size", "energy", "cost"})
_MAX = frozenset({"acc", "accuracy", "f1", "auc", "auroc", "r2", "precision", "recall",
                  "iou", "miou", "map", "bleu", "rouge", "exact", "top1", "top5", "reward",
                  "return", "kendall", "spearman"})


def metric_direction(name: str) -> str | None:
    """"max" or "min" when the metric's name says which is better, else None.

    ``val_acc`` -> max, ``test_loss`` -> min, ``latency_ms`` -> min, ``train_time_s``
    -> min, ``peak_mem_mb`` -> min, ``steps`` -> None (no better way).
    """
    words = set(str(name).lower().replace("-", "_").split("_"))
    is_min, is_max = bool(words & _MIN), bool(words & _MAX)
    if is_min == is_max:  # neither, or both ("acc_loss"): the name does not say
        return None
    return "min" if is_min else "max"


def task_metrics(task) -> dict[str, str | None] | None:
    """What ``task`` declares it measures, each with its better direction (None: none),
    its objective included; None when the task does not say (then any name is allowed
    and a missing one fails its trials).

    A task declares ``metrics``: a mapping name -> "max" | "min" | None, or a list of
    names whose directions follow from the names (``metric_direction``).
    """
    declared = getattr(task, "metrics", None)
    if declared is None:
        return None
    if isinstance(declared, Mapping):
        out = {str(k): v for k, v in declared.items()}
    else:
        out = {str(k): metric_direction(k) for k in declared}
    objective = getattr(task, "objective", None)
    if objective:
        out[objective[0]] = objective[1]
    return out


def resolve_objectives(objectives: Iterable | None, task) -> list[Objective]:
    """``objectives`` as ``[Objective(name, "max"|"min")]``, checked against what ``task`` measures.

    Each item is ``"name"``, ``"name:max"``, or a ``(name, direction)`` pair whose
    direction may be None; None or empty gives the task's own objective. Raises
    ``ValueError`` naming the objective when the task never measures it, or when its
    direction is neither given, declared by the task, nor implied by its name.
    """
    if not objectives:
        return [Objective.of(task.objective)]
    measured = task_metrics(task)
    out: list[tuple[str, str]] = []
    for item in objectives:
        if isinstance(item, str):
            name, _, direction = item.partition(":")
        else:
            name, direction = (list(item) + [None])[:2]
        name, direction = str(name).strip(), (str(direction or "").strip().lower() or None)
        if not name:
            raise ValueError(f"objective {item!r} has no name: write e.g. val_acc:max")
        if direction is not None and direction not in DIRECTIONS:
            raise ValueError(f"objective {item!r}: the direction must be max or min, got "
                             f"{direction!r}")
        if measured is not None and name not in measured:
            known = ", ".join(k for k in measured) or "nothing"
            raise ValueError(f"objective '{name}' is not measured by task "
                             f"'{getattr(task, 'name', task)}' (it reports: {known})")
        if direction is None:
            declared = measured if measured is not None else dict([tuple(task.objective)])
            direction = declared.get(name) or metric_direction(name)
        if direction is None:
            raise ValueError(f"objective '{name}' has no known direction: write "
                             f"{name}:max or {name}:min")
        out.append(Objective(name, direction))
    if len({o.name for o in out}) != len(out):
        raise ValueError(f"objectives {objectives_text(out)} name one objective twice")
    return out


__all__ = ["DIRECTIONS", "metric_direction", "resolve_objectives", "task_metrics"]
