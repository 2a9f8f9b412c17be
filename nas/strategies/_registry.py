"""Registry of strategies: ``register_strategy(name)``, ``get_strategy("name:option")``."""

from __future__ import annotations

import difflib

from nas.space import Space
from nas.strategies._base import Objectives, Strategy

_STRATEGIES: dict[str, type] = {}


def register_strategy(name: str):
    """Class decorator registering a Strategy under ``name``; duplicates raise."""

    def deco(cls):
        if name in _STRATEGIES:
            raise ValueError(f"a strategy named '{name}' is already registered")
        cls.name = name
        _STRATEGIES[name] = cls
        return cls

    return deco


def list_strategies() -> list[str]:
    return sorted(_STRATEGIES)


def strategy_doc(name: str) -> str:
    doc = (_STRATEGIES[name].__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def get_strategy(name: str, space: Space, seed: int = 0, objectives: Objectives | None = None,
                 **options) -> Strategy:
    """A strategy instance. ``optuna:tpe`` / ``nevergrad:NGOpt`` pass the part after the
    colon to the adapter registered as ``optuna`` / ``nevergrad``."""
    check_options(name, options)
    base, _, arg = name.partition(":")
    cls = _STRATEGIES[base]
    if arg:
        options = {"method": arg, **options}
    return cls(space, seed=seed, objectives=objectives, **options)


def option_defaults(name: str) -> dict:
    """The options a registered strategy's constructor takes, with their defaults."""
    import inspect

    cls = _STRATEGIES[name.partition(":")[0]]
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.default is not p.empty and
            p.name not in ("seed", "objectives")}


def check_options(name: str, options: dict) -> None:
    """Raise ``ValueError`` for an unknown strategy, or an option its constructor lacks
    (naming the options it has), before anything is built or stored."""
    import inspect

    base, _, _ = name.partition(":")
    if base not in _STRATEGIES:
        close = difflib.get_close_matches(base, list(_STRATEGIES), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown strategy '{name}'{hint} "
                         f"(registered: {', '.join(list_strategies())})")
    params = inspect.signature(_STRATEGIES[base].__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return  # it checks its own (e.g. an optuna sampler's options)
    known = [k for k in params if k not in ("self", "space", "seed", "objectives")]
    unknown = [k for k in options if k not in known]
    if unknown:
        raise ValueError(f"strategy '{base}' has no option {', '.join(map(repr, unknown))} "
                         f"(its options: {', '.join(known) or 'none'})")
