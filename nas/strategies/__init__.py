"""Strategies (controllers) that propose architectures: ask/tell, each registered by name."""

from nas.strategies import _evolution, _hillclimb, _nevergrad, _optuna, _random, _rl  # noqa: F401
from nas.strategies._base import Objectives, Strategy, pruned_values, signed_values
from nas.strategies._registry import (
    check_options,
    get_strategy,
    list_strategies,
    option_defaults,
    register_strategy,
    strategy_doc,
)

__all__ = ["Objectives", "Strategy", "check_options", "get_strategy", "list_strategies",
           "option_defaults", "pruned_values", "register_strategy", "signed_values", "strategy_doc"]
