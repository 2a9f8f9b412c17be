"""The pruners a search can use, by name: the one list that both checks a setting and
builds the optuna pruner (multi-fidelity early stopping of poor candidates).

Successive halving (ASHA) and Hyperband get their rungs from the training budget when
it is a number of steps ``R`` (``max_steps``): reduction factor 3 and a first rung at
``R // 27`` steps, so the rungs sit at 1/27, 1/9 and 1/3 of the budget, and Hyperband's
brackets (4 of them, the last one never pruning) are fixed before the first trial ends.
Every worker of a search then builds the same brackets and rungs; the rungs' values are
kept in the shared study (optuna's ``completed_rung_K`` trial attributes), so a rung
compares the trials of all workers. Without a steps budget (epochs, seconds) optuna
estimates them from the first finished trial ("auto").
"""

from __future__ import annotations

from collections.abc import Callable

REDUCTION = 3  # successive halving keeps the best third at each rung
RUNGS = 3  # rungs below the full budget: at R/27, R/9 and R/3


def _none(max_steps: int | None = None):
    import optuna

    return optuna.pruners.NopPruner()


def _median(max_steps: int | None = None):
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)


def min_steps(max_steps: int | None) -> int | str:
    """The first rung of a budget of ``max_steps`` steps ("auto" when unknown)."""
    return max(1, max_steps // REDUCTION ** RUNGS) if max_steps else "auto"


def _hyperband(max_steps: int | None = None):
    import optuna

    return optuna.pruners.HyperbandPruner(min_resource=min_steps(max_steps) if max_steps
                                          else 1, max_resource=max_steps or "auto",
                                          reduction_factor=REDUCTION)


def _halving(max_steps: int | None = None):
    import optuna

    return optuna.pruners.SuccessiveHalvingPruner(min_resource=min_steps(max_steps),
                                                  reduction_factor=REDUCTION)


PRUNERS: dict[str, Callable] = {"none": _none, "median": _median, "hyperband": _hyperband,
                                "sha": _halving, "successive_halving": _halving}


def make_pruner(name: str | None, max_steps: int | None = None):
    """The optuna pruner named ``name`` (None: none) for a training budget of
    ``max_steps`` steps (None: not a steps budget); ``ValueError`` for an unknown one."""
    key = (name or "none").lower()
    if key not in PRUNERS:
        raise ValueError(f"unknown pruner '{name}'; use {', '.join(PRUNERS)}")
    return PRUNERS[key](max_steps)


__all__ = ["PRUNERS", "REDUCTION", "make_pruner", "min_steps"]
