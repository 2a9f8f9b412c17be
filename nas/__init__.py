"""nas-toolkit: neural architecture search for PyTorch.

The core package: the architecture graph IR, the primitive library, compile to
``nn.Module``, and profiling. Spaces, strategies and the runner build on these;
``search`` runs a search into a ``Study`` (``open_storage`` + ``Study.load`` reopen one);
``search(data=...)`` and ``NASClassifier`` / ``NASRegressor`` search on your own data.
"""

from nas._domain import Domain, SpaceError
from nas._errors import GraphError, ShapeError, UnknownOpError
from nas._version import __version__
from nas.artifacts import ArtifactError
from nas.budget import Budget
from nas.compile import GraphModule, compile_graph
from nas.config import SearchConfig
from nas.darts import DartsError, Differentiable
from nas.export import export, load, to_source
from nas.graph import ArchGraph, Node
from nas.graphspace import GraphSpace
from nas.metrics import metric_direction, resolve_objectives, task_metrics
from nas.morph import add_skip, deepen, inherit, widen
from nas.objective import Objective
from nas.oneshot import OneShot, OneShotError
from nas.ops import OpSpec, TensorSpec, get_op, list_ops, register_op
from nas.processes import WorkerCrashed
from nas.profile import count_flops, count_params, example_inputs
from nas.progress import TrialProgress
from nas.registry import (
    get_space,
    get_task,
    list_spaces,
    list_tasks,
    register_space,
    register_task,
    space_doc,
    task_doc,
    task_options,
)
from nas.result import Result
from nas.runner import search
from nas.space import Builder, DictProposal, Proposal, RandomProposal, Space
from nas.storage import StorageError, open_storage
from nas.strategies import (
    Strategy,
    get_strategy,
    list_strategies,
    register_strategy,
    strategy_doc,
)
from nas.study import Study
from nas.supernet import SAMPLINGS, SHARING_RULES, SuperNet, SupernetTooLarge
from nas.task import Report, Task
from nas.trace import Traced, TraceError, from_module
from nas.trial import TrialRecord
from nas.weights import trial_weights, weights_path
from nas.workers import WorkerInfo, study_workers

_LAZY = {"NASClassifier": "nas.estimator", "NASRegressor": "nas.estimator"}


def __getattr__(name: str):
    """The estimators, imported on first use (they import scikit-learn when it is there,
    which ``import nas`` alone should not pay for)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nas' has no attribute {name!r}")


__all__ = [
    "ArchGraph",
    "ArtifactError",
    "NASClassifier",
    "NASRegressor",
    "Budget",
    "Builder",
    "Result",
    "DictProposal",
    "Domain",
    "Proposal",
    "RandomProposal",
    "SearchConfig",
    "Space",
    "SpaceError",
    "Report",
    "Study",
    "SAMPLINGS",
    "SHARING_RULES",
    "SuperNet",
    "SupernetTooLarge",
    "StorageError",
    "TrialRecord",
    "TrialProgress",
    "TraceError",
    "Traced",
    "from_module",
    "add_skip",
    "deepen",
    "inherit",
    "widen",
    "GraphSpace",
    "WorkerCrashed",
    "WorkerInfo",
    "study_workers",
    "open_storage",
    "search",
    "trial_weights",
    "weights_path",
    "Task",
    "get_space",
    "get_task",
    "list_tasks",
    "register_task",
    "task_doc",
    "task_options",
    "list_spaces",
    "register_space",
    "space_doc",
    "Strategy",
    "get_strategy",
    "list_strategies",
    "register_strategy",
    "strategy_doc",
    "GraphError",
    "GraphModule",
    "Node",
    "Objective",
    "DartsError",
    "Differentiable",
    "OneShot",
    "OneShotError",
    "OpSpec",
    "ShapeError",
    "TensorSpec",
    "UnknownOpError",
    "__version__",
    "compile_graph",
    "count_flops",
    "count_params",
    "example_inputs",
    "export",
    "get_op",
    "list_ops",
    "load",
    "metric_direction",
    "register_op",
    "resolve_objectives",
    "task_metrics",
    "to_source",
]
