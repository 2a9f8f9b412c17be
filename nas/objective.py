"""An objective: a metric's name and which way is better, and the one place that turns
"max" / "min" into a sign.

``Objective("val_acc", "max")`` is a named tuple, so it unpacks (``name, direction =
obj``), compares equal to ``("val_acc", "max")`` and is stored in JSON as
``["val_acc", "max"]``. Every ranking in the toolkit (the study's best and Pareto
front, the strategies' fitness, kept weights, the CLI's progress line) goes through
``sign`` / ``signed`` here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

DIRECTIONS = ("max", "min")


class _Pair(NamedTuple):
    name: str
    direction: str


class Objective(_Pair):
    """What a search optimizes: ``name`` (a metric) and ``direction`` ("max" or "min")."""

    __slots__ = ()

    def __new__(cls, name: str, direction: str) -> Objective:
        name, direction = str(name).strip(), str(direction).strip().lower()
        if not name:
            raise ValueError("an objective needs a name, e.g. val_acc:max")
        if direction not in DIRECTIONS:
            raise ValueError(f"objective '{name}': the direction must be max or min, got "
                             f"{direction!r}")
        return super().__new__(cls, name, direction)

    @classmethod
    def of(cls, item: Objective | tuple | list | str) -> Objective:
        """An Objective from a pair ``(name, direction)`` or the text ``"name:direction"``."""
        if isinstance(item, Objective):
            return item
        if isinstance(item, str):
            name, _, direction = item.partition(":")
            return cls(name, direction)
        name, direction = item
        return cls(name, direction)

    @property
    def sign(self) -> int:
        """+1 for "max", -1 for "min": ``sign * value`` is higher when better."""
        return 1 if self.direction == "max" else -1

    @property
    def optuna_direction(self) -> str:
        """"maximize" or "minimize" (optuna's names)."""
        return "maximize" if self.direction == "max" else "minimize"

    def signed(self, value: float | None) -> float:
        """``value`` oriented so that higher is better; -inf for a missing or non-finite
        one (a failed trial ranks last)."""
        if value is None or not math.isfinite(value):
            return -math.inf
        return self.sign * value

    def unsigned(self, value: float) -> float:
        """The inverse of ``signed`` for a finite value."""
        return self.sign * value

    def better(self, a: float, b: float | None) -> bool:
        """Whether ``a`` is strictly better than ``b`` (anything beats None)."""
        return b is None or self.signed(a) > self.signed(b)

    @property
    def label(self) -> str:
        """``"val_acc (higher is better)"``: an axis or column title."""
        return f"{self.name} ({'higher' if self.sign > 0 else 'lower'} is better)"

    def __str__(self) -> str:
        return f"{self.name}:{self.direction}"


def objectives_of(items: Iterable) -> list[Objective]:
    """Each item as an Objective (pairs, "name:dir" texts, or Objectives)."""
    return [Objective.of(o) for o in items]


def objectives_text(objectives: Iterable) -> str:
    """``"val_acc:max,params:min"``."""
    return ",".join(str(Objective.of(o)) for o in objectives)


def signed(values: Iterable[float | None], objectives: Iterable) -> list[float]:
    """Each value oriented by its objective (higher is better; -inf where missing)."""
    return [Objective.of(o).signed(v) for v, o in zip(values, objectives)]


__all__ = ["DIRECTIONS", "Objective", "objectives_of", "objectives_text", "signed"]
