"""Training budgets: a number of steps, epochs or seconds ("300steps", "2epochs", "30s")."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"step": "steps", "steps": "steps", "epoch": "epochs", "epochs": "epochs",
          "s": "seconds", "sec": "seconds", "secs": "seconds", "second": "seconds",
          "seconds": "seconds", "m": "minutes", "min": "minutes", "minutes": "minutes"}


@dataclass(frozen=True)
class Budget:
    """How long to train one candidate: ``amount`` of ``unit`` (steps, epochs, seconds)."""

    amount: float
    unit: str = "steps"

    def __post_init__(self):
        if self.unit not in ("steps", "epochs", "seconds"):
            raise ValueError(f"budget unit must be steps, epochs or seconds, got {self.unit!r}")
        if not self.amount > 0:
            raise ValueError(f"a budget must be positive, got {self.amount}")

    @classmethod
    def parse(cls, text: str | int | Budget) -> Budget:
        """``"300steps"``, ``"300"`` (steps), ``"2epochs"``, ``"30s"``, ``"1.5m"``."""
        if isinstance(text, Budget):
            return text
        if isinstance(text, int | float):
            return cls(float(text), "steps")
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
        if not m or (m.group(2) and m.group(2).lower() not in _UNITS):
            raise ValueError(f"cannot read budget {text!r}: write e.g. 300steps, 2epochs, "
                             "30s or 1.5m")
        amount = float(m.group(1))
        unit = _UNITS.get(m.group(2).lower(), "steps")
        if unit == "minutes":
            amount, unit = amount * 60, "seconds"
        return cls(amount, unit)

    def __str__(self) -> str:
        n = int(self.amount) if float(self.amount).is_integer() else self.amount
        return f"{n}{'s' if self.unit == 'seconds' else self.unit}"
