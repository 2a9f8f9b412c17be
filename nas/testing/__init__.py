"""Contract test suites for your own spaces, strategies, tasks and ops (pytest).

Subclass a contract in a test module and name what to test; pytest runs the inherited
tests (the same ones every built-in passes)::

    from nas.testing import SpaceContract

    class TestMySpace(SpaceContract):
        space = "my_spaces.py:my_space"

``SpaceContract`` (``space``), ``StrategyContract`` (``strategy``), ``TaskContract``
(``task``) and ``OpContract`` (``op``) take a registered name (plugins are loaded), or
the object itself. To run a contract over many, override its ``*_under_test`` fixture
with ``params``, as the toolkit's own tests do over every registered one. Importing
this module imports pytest; ``import nas`` does not.
"""

import pytest

# the contracts' plain asserts get pytest's detailed messages
pytest.register_assert_rewrite("nas.testing._spaces", "nas.testing._strategies",
                               "nas.testing._tasks", "nas.testing._ops")

from nas.testing._ops import OpContract, op_graph  # noqa: E402
from nas.testing._spaces import SpaceContract, bind_space, forward_backward  # noqa: E402
from nas.testing._strategies import (  # noqa: E402
    StrategyContract,
    conditional_space,
    new_strategy,
    pseudo_score,
    run_strategy,
    strategy_factory,
)
from nas.testing._tasks import TaskContract, make_task, misfit_graph, tiny_graph  # noqa: E402

__all__ = [
    "OpContract",
    "SpaceContract",
    "StrategyContract",
    "TaskContract",
    "bind_space",
    "conditional_space",
    "forward_backward",
    "make_task",
    "misfit_graph",
    "new_strategy",
    "op_graph",
    "pseudo_score",
    "run_strategy",
    "strategy_factory",
    "tiny_graph",
]
