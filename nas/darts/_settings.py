"""Differentiable: the settings of a differentiable (DARTS) search, typed and checked once.

A differentiable search trains one mixed network whose op choices are weighted by
architecture parameters (phase 1), discretizes them (argmax per decision) into one
candidate, and trains it stand-alone as an ordinary trial (phase 3 of the one-shot
flow, through the Worker). The settings travel inside ``SearchConfig.differentiable``
and are stored with the study, so ``nas resume`` and ``nas status`` know them.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

from nas.budget import Budget
from nas.darts._arch import DEFAULT_GUARD, GUARDS
from nas.darts._select import DEFAULT_SELECT, SELECTS
from nas.settings import ConfigError, mode_of

WARMUP = 0.3  # measured on digits (bench/results/darts.md): alpha starting at once trailed
PATIENCE = 10  # the argmax unchanged for 10 steps: the search stops (its cost <= 3 trainings)
ARCH_DATA = ("val", "half", "train")  # what alpha's steps see (evaluators.darts_data)
ARCH_DATA_DEFAULT = "val"
PRUNE_AT = (0.5, 0.75)  # drop each decision's weakest option after half and 3/4 of the
# steps: measured best of 6 variants (bench/results/darts_variants.md; mnist1d 3/3 seeds
# at or above the random p90)


@dataclass(frozen=True)
class Differentiable:
    """How the mixed network is searched. Constructing one checks every value
    (``ConfigError`` naming ``differentiable.<field>``)."""

    budget: str = "500steps"  # search steps (each one alpha and one weight update)
    guard: str = DEFAULT_GUARD  # against collapse: drnas (default), darts-, none
    arch_lr: float = 3e-3  # Adam's learning rate on alpha
    beta0: float = 1.0  # DARTS-'s auxiliary skip weight at the start (decays to 0)
    record_every: int = 1  # steps between two points of the alpha trajectory (1: every step)
    warmup: float = WARMUP  # share of the budget's steps training the weights alone first
    patience: int = PATIENCE  # stop once the argmax is unchanged this many steps (0: never)
    arch_data: str = ARCH_DATA_DEFAULT  # alpha's data: val, half (of train, DARTS'), train
    prune_at: tuple[float, ...] = PRUNE_AT  # progressive pruning: shares of the steps
    select: str = DEFAULT_SELECT  # discretization: alpha (argmax) or perturb (DARTS-PT)

    def __post_init__(self) -> None:
        if isinstance(self.budget, bool) or not isinstance(self.budget, str):
            raise _error("budget", f"must be a budget such as 500steps, got {self.budget!r}")
        try:
            Budget.parse(self.budget)
        except ValueError as exc:
            raise _error("budget", str(exc)) from None
        if self.guard not in GUARDS:
            raise _error("guard", f"must be one of {', '.join(GUARDS)}, got {self.guard!r}")
        for name in ("arch_lr", "beta0"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0 \
                    or (name == "arch_lr" and value == 0):
                raise _error(name, f"must be a positive number, got {value!r}")
            object.__setattr__(self, name, float(value))
        for name, low in (("record_every", 1), ("patience", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
                raise _error(name, f"must be a whole number >= {low}, got {v!r}")
        w = self.warmup
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not 0 <= w < 1:
            raise _error("warmup", f"must be a share of the steps in [0, 1), got {w!r}")
        object.__setattr__(self, "warmup", float(w))
        if self.arch_data not in ARCH_DATA:
            raise _error("arch_data", f"must be one of {', '.join(ARCH_DATA)}, "
                         f"got {self.arch_data!r}")
        object.__setattr__(self, "prune_at", _shares(self.prune_at))
        if self.select not in SELECTS:
            raise _error("select", f"must be one of {', '.join(SELECTS)}, got {self.select!r}")

    def __str__(self) -> str:
        return f"differentiable search {self.budget} (guard {self.guard})"

    @classmethod
    def from_dict(cls, d: Mapping) -> Differentiable:
        """Settings from their stored form; an unknown key is a ConfigError naming it."""
        return mode_of(cls, "differentiable", dict(d), "budget, guard")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _shares(value) -> tuple[float, ...]:
    """``prune_at`` as a sorted tuple of shares in (0, 1); ConfigError otherwise."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise _error("prune_at", f"must be a list of shares of the steps such as "
                     f"[0.5, 0.75], got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 < v < 1:
            raise _error("prune_at", f"must hold shares of the steps in (0, 1), got {v!r}")
        out.append(float(v))
    return tuple(sorted(out))


def _error(name: str, text: str) -> ConfigError:
    return ConfigError("differentiable", f"differentiable.{name} {text}")


def differentiable_of(value) -> Differentiable | None:
    """``None``/``False`` (off), ``True`` (the defaults), a mapping or a
    ``Differentiable``, as a checked ``Differentiable`` or None."""
    return mode_of(Differentiable, "differentiable", value, "budget, guard")


__all__ = ["Differentiable", "differentiable_of"]
