"""Registry of strategies: ``register_strategy(name)``, ``get_strategy("name:option")``."""

from __future__ import annotations

import inspect

from nas._registry import Registry
from nas.space import Space
from nas.strategies._base import Objectives, Strategy

_STRATEGIES: Registry[type[Strategy]] = Registry("strategy")
_NOT_OPTIONS = ("self", "space", "seed", "objectives")  # what every constructor takes


def register_strategy(name: str):
    """Class decorator registering a Strategy under ``name`` (also its ``name``);
    duplicates raise."""

    def deco(cls: type[Strategy]) -> type[Strategy]:
        _STRATEGIES.register(name, cls)
        cls.name = name
        return cls

    return deco


def list_strategies() -> list[str]:
    """The registered strategies' names, sorted (plugins loaded)."""
    return _STRATEGIES.names()


def strategy_doc(name: str) -> str:
    """The first line of a registered strategy's docstring."""
    return _STRATEGIES.doc(name)


def get_strategy(name: str, space: Space, seed: int = 0, objectives: Objectives | None = None,
                 **options) -> Strategy:
    """A strategy instance. ``optuna:tpe`` / ``nevergrad:NGOpt`` pass the part after the
    colon to the adapter registered as ``optuna`` / ``nevergrad``."""
    check_options(name, options)
    base, _, arg = name.partition(":")
    cls = _STRATEGIES.get(base, shown=name)
    if arg:
        options = {"method": arg, **options}
    return cls(space, seed=seed, objectives=objectives, **options)


def option_defaults(name: str) -> dict:
    """The options a registered strategy's constructor takes, with their defaults."""
    params = _parameters(name).values()
    return {p.name: p.default for p in params if p.default is not p.empty and
            p.name not in _NOT_OPTIONS}


def check_options(name: str, options: dict) -> None:
    """Raise ``ValueError`` for an unknown strategy, or an option its constructor lacks
    (naming the options it has), before anything is built or stored."""
    params = _parameters(name)
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return  # it checks its own (e.g. an optuna sampler's options)
    known = [k for k in params if k not in _NOT_OPTIONS]
    unknown = [k for k in options if k not in known]
    if unknown:
        raise ValueError(f"strategy '{name.partition(':')[0]}' has no option "
                         f"{', '.join(map(repr, unknown))} (its options: "
                         f"{', '.join(known) or 'none'})")


def _parameters(name: str) -> dict[str, inspect.Parameter]:
    """The constructor parameters of the strategy ``name`` (``base:arg`` looked up as base)."""
    cls = _STRATEGIES.get(name.partition(":")[0], shown=name)
    return dict(inspect.signature(cls.__init__).parameters)
