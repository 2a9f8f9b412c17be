"""The pruners a search can use, by name: the one list that both checks a setting and
builds the optuna pruner (multi-fidelity early stopping of poor candidates)."""

from __future__ import annotations

from collections.abc import Callable


def _none():
    import optuna

    return optuna.pruners.NopPruner()


def _median():
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)


def _hyperband():
    import optuna

    return optuna.pruners.HyperbandPruner()


def _halving():
    import optuna

    return optuna.pruners.SuccessiveHalvingPruner()


PRUNERS: dict[str, Callable] = {"none": _none, "median": _median, "hyperband": _hyperband,
                                "sha": _halving, "successive_halving": _halving}


def make_pruner(name: str | None):
    """The optuna pruner named ``name`` (None: none); ``ValueError`` for an unknown one."""
    key = (name or "none").lower()
    if key not in PRUNERS:
        raise ValueError(f"unknown pruner '{name}'; use {', '.join(PRUNERS)}")
    return PRUNERS[key]()


__all__ = ["PRUNERS", "make_pruner"]
