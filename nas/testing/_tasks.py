"""The contract every task keeps, as a class of pytest tests to subclass."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from nas.budget import Budget
from nas.graph import ArchGraph
from nas.metrics import task_metrics
from nas.ops import TensorSpec
from nas.registry import get_space, get_task
from nas.result import Result
from nas.task import Task
from nas.testing._common import required


def tiny_graph(in_shape, n_out: int) -> ArchGraph:
    """flatten -> linear 16 -> relu -> linear ``n_out``: trains in milliseconds on any
    tensor input."""
    shape = in_shape.shape if isinstance(in_shape, TensorSpec) else tuple(in_shape)
    g = ArchGraph()
    h = g.add_input("x", shape)
    if len(shape) > 1:
        h = g.add_node("flat", "flatten", {}, [h])
    h = g.add_node("hidden", "linear", {"features": 16}, [h])
    h = g.add_node("act", "relu", {}, [h])
    g.set_output("y", g.add_node("head", "linear", {"features": n_out}, [h]))
    return g


def misfit_graph() -> ArchGraph:
    """A graph whose input, (3, 7, 5) floats, fits no task's data: it must fail cleanly."""
    g = ArchGraph()
    h = g.add_node("flat", "flatten", {}, [g.add_input("x", (3, 7, 5))])
    g.set_output("y", g.add_node("head", "linear", {"features": 2}, [h]))
    return g


def make_task(spec: Any, config: dict | None = None) -> Task:
    """The task ``spec`` names: a registered name (``"mnist1d"``, ``"csv:data.csv"``) or a
    factory (a Task class) built with ``config``, or a task instance (returned as it is)."""
    if isinstance(spec, str):
        return get_task(spec, **(config or {}))
    if isinstance(spec, type) or (callable(spec) and not isinstance(spec, Task)):
        return spec(**(config or {}))
    return spec


class TaskContract:
    """The tests every task passes; subclass it in a test module and set ``task``:

    >>> class TestMyTask(TaskContract):             # doctest: +SKIP
    ...     task = "my_task"

    ``task``: a registered name, a factory (a Task class) called with ``task_config``,
    or a task instance. ``budget``: what the training test trains (keep it tiny).
    ``required_metrics``: names a result must carry besides the declared ones
    (``nas.task_metrics``). Override ``make_graph`` for a task a small MLP or its
    ``space``'s sample cannot train, and ``failing_candidates`` to add your own. To test
    many tasks, override the ``task_under_test`` fixture with ``params``.
    """

    task: Any = None
    task_config: dict = {}
    budget: str = "20steps"
    required_metrics: tuple[str, ...] = ()

    @pytest.fixture
    def task_under_test(self) -> Any:
        """What to test (``task`` by default)."""
        return required(self, "task")

    @pytest.fixture
    def built_task(self, task_under_test) -> Task:
        return make_task(task_under_test, self.task_config)

    def make_graph(self, task: Task) -> ArchGraph:
        """A small architecture for ``task``: a sample of the space it names
        (``task.space``), else ``tiny_graph``."""
        space = getattr(task, "space", None)
        if isinstance(space, str) and space:
            bound = get_space(space, in_shape=task.in_shape, n_out=task.n_out,
                              **(getattr(task, "space_config", None) or {}))
            return bound.build(bound.sample_valid(0))
        return tiny_graph(task.in_shape, task.n_out)

    def failing_candidates(self, task: Task) -> list[tuple[Any, str]]:
        """Candidates that cannot train on ``task``, each with how its reason starts."""
        return [(misfit_graph(), "")]

    # ------------------------------------------------------------ the contract
    def test_is_a_task_with_a_docstring(self, built_task):
        task = built_task
        assert isinstance(task, Task), "a task has name, in_shape, n_out, objective, evaluate"
        assert (type(task).__doc__ or "").strip(), \
            f"{type(task).__name__} needs a docstring (`nas tasks` shows its first line)"
        name, direction = task.objective
        assert isinstance(name, str) and direction in ("max", "min"), task.objective

    def test_evaluate_reports_the_objective_and_metrics(self, built_task):
        task = built_task
        result = task.evaluate(self.make_graph(task), budget=self.budget, keep_weights=True)
        assert result.ok, result.error
        assert task.objective[0] in result.objectives, "the result lacks the objective"
        values = {**result.objectives, **result.metrics}
        for key, value in values.items():
            if isinstance(value, int | float):
                assert math.isfinite(value), (key, value)
        expected = set(task_metrics(task) or ()) | set(self.required_metrics)
        missing = sorted(expected - set(values))
        assert not missing, f"the result lacks the metrics {missing}"
        budget = Budget.parse(self.budget)
        if budget.unit == "steps" and "steps" in result.metrics:
            assert result.metrics["steps"] == budget.amount
        if "device" in result.metrics:
            assert result.metrics["device"] == "cpu" or torch.cuda.is_available()
        assert result.state_dict, "keep_weights=True must return the trained weights"

    def test_a_failing_candidate_gives_a_failed_result(self, built_task):
        for candidate, reason in self.failing_candidates(built_task):
            result = built_task.evaluate(candidate, budget="5steps")
            assert not result.ok and isinstance(result.error, str) and result.error, \
                f"{type(candidate).__name__} should have failed"
            assert result.error.startswith(reason), result.error
            assert Result.from_dict(result.to_dict()) == result  # a plain record too
