"""Decision domains: what values one named decision of a search space may take."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from typing import Any

_SCALARS = (type(None), bool, int, float, str)


class SpaceError(ValueError):
    """A search space or a decision that is used wrongly; the message says what to change."""


@dataclass(frozen=True)
class Domain:
    """One decision's domain.

    kind: "choice" (``options``), "bool", "int" (``low``..``high`` inclusive, ``step``,
    optionally ``log``) or "float" (``low``..``high``, optionally ``log``).
    """

    kind: str
    options: tuple = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False

    # ------------------------------------------------------------ constructors
    @staticmethod
    def choice(name: str, options) -> Domain:
        opts = tuple(options)
        if not opts:
            raise SpaceError(f"decision '{name}': choice() needs at least one option")
        for o in opts:
            if not isinstance(o, _SCALARS):
                raise SpaceError(f"decision '{name}': options must be None, bool, int, float "
                                 f"or str (storable in optuna), got {type(o).__name__} {o!r}")
        if len(set(map(repr, opts))) != len(opts):
            raise SpaceError(f"decision '{name}': options {list(opts)} contain duplicates")
        return Domain("choice", options=opts)

    @staticmethod
    def boolean() -> Domain:
        return Domain("bool", options=(False, True))

    @staticmethod
    def integer(name: str, low: int, high: int, step: int = 1, log: bool = False) -> Domain:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high, step)):
            raise SpaceError(f"decision '{name}': int() needs int low, high and step")
        if low > high:
            raise SpaceError(f"decision '{name}': int() low={low} is above high={high}")
        if step < 1:
            raise SpaceError(f"decision '{name}': int() step must be >= 1, got {step}")
        if log and (low < 1 or step != 1):
            raise SpaceError(f"decision '{name}': log ints need low >= 1 and step 1")
        if (high - low) % step:
            high = low + (high - low) // step * step
        return Domain("int", low=low, high=high, step=step, log=log)

    @staticmethod
    def real(name: str, low: float, high: float, log: bool = False) -> Domain:
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise SpaceError(f"decision '{name}': float() needs finite low <= high, "
                             f"got {low}, {high}")
        if log and low <= 0:
            raise SpaceError(f"decision '{name}': a log float needs low > 0, got {low}")
        return Domain("float", low=low, high=high, log=log)

    # ------------------------------------------------------------ queries
    def size(self) -> int | None:
        """Number of values, or None for a continuous domain."""
        if self.kind in ("choice", "bool"):
            return len(self.options)
        if self.kind == "int":
            return int((self.high - self.low) // self.step) + 1
        return None if self.high > self.low else 1

    def values(self) -> list:
        """Every value of a finite domain, in order."""
        n = self.size()
        if n is None:
            raise SpaceError("a continuous float domain has no finite list of values")
        return [self.value_at(i) for i in range(n)]

    def value_at(self, i: int) -> Any:
        """The ``i``-th value of a finite domain (``values()[i]`` without the list)."""
        if self.kind in ("choice", "bool"):
            return self.options[i]
        if self.kind == "int":
            return int(self.low) + i * int(self.step)
        return self.low

    def contains(self, value: Any) -> bool:
        if self.kind in ("choice", "bool"):
            return any(value == o and type(value) is type(o) for o in self.options) or (
                self.kind == "choice" and any(_num_eq(value, o) for o in self.options))
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.kind == "int":
            return (float(value).is_integer() and self.low <= value <= self.high
                    and (int(value) - self.low) % self.step == 0)
        return self.low <= value <= self.high

    def canonical(self, value: Any) -> Any:
        """The domain's own spelling of ``value`` (e.g. 3.0 -> 3 for an int domain)."""
        if self.kind == "int":
            return int(value)
        if self.kind == "float":
            return float(value)
        for o in self.options:
            if value == o and type(value) is type(o):
                return o
        for o in self.options:
            if _num_eq(value, o):
                return o
        return value

    def sample(self, rng: random.Random) -> Any:
        if self.kind in ("choice", "bool"):
            return self.options[rng.randrange(len(self.options))]
        if self.kind == "int":
            if self.log:
                v = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
                return min(int(v), int(self.high))
            return int(self.low) + int(self.step) * rng.randrange(self.size())
        if self.log:
            return math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return rng.uniform(self.low, self.high)

    def neighbour(self, value: Any, rng: random.Random) -> Any:
        """A different value: any other option for choices, a nearby one for numbers."""
        if (self.size() or 2) < 2:
            return value
        if self.kind in ("choice", "bool"):
            others = [o for o in self.options if not (o == value and type(o) is type(value))]
            return others[rng.randrange(len(others))]
        if self.kind == "int":
            values = self.values()
            i = values.index(int(value)) if int(value) in values else rng.randrange(len(values))
            if rng.random() < 0.5:  # a small step...
                j = i + rng.choice([-1, 1])
                j = j if 0 <= j < len(values) else i - (j - i)
            else:  # ...or a jump anywhere else
                j = rng.choice([k for k in range(len(values)) if k != i])
            return values[j]
        for _ in range(8):
            if self.log:
                v = math.exp(math.log(value) + rng.gauss(0, 0.25 * math.log(self.high / self.low)))
            else:
                v = value + rng.gauss(0, 0.25 * (self.high - self.low))
            v = min(max(v, self.low), self.high)
            if v != value:
                return v
        return self.sample(rng)

    def to_dict(self) -> dict:
        if self.kind in ("choice", "bool"):
            return {"kind": self.kind, "options": list(self.options)}
        d = {"kind": self.kind, "low": self.low, "high": self.high, "log": self.log}
        if self.kind == "int":
            d["step"] = self.step
        return d

    def __str__(self) -> str:
        if self.kind in ("choice", "bool"):
            return "{" + ", ".join(map(repr, self.options)) + "}"
        step = f" step {self.step}" if self.kind == "int" and self.step != 1 else ""
        log = " log" if self.log else ""
        return f"{self.kind} [{self.low}, {self.high}]{step}{log}"


def _num_eq(a: Any, b: Any) -> bool:
    numeric = (int, float)
    return (isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool)
            and not isinstance(b, bool) and a == b)


def decisions_key(decisions: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """A decisions dict as a stable, hashable key, the same whatever the dict's order and
    in every process: sorted ``(name, type, repr(value))`` triples (the type keeps ``1``,
    ``1.0`` and ``True`` apart). Caches and pending-trial maps key on it (a tuple: the
    space's identity cache looks it up per mutant, so it must be cheap);
    ``decisions_text`` is its JSON form, which ``invalid_fingerprint`` digests."""
    return tuple(sorted((k, type(v).__name__, repr(v)) for k, v in decisions.items()))


def decisions_text(decisions: dict[str, Any]) -> str:
    """``decisions_key`` as compact JSON text (for digests and saved states)."""
    return json.dumps([list(t) for t in decisions_key(decisions)], separators=(",", ":"))
