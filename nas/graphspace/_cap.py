"""A parameter cap for graph growth: ``GraphSpace(..., max_params=N)``.

Growing edits (``widen_all``, ``deepen_block``, ...) left alone bloat a seed by two
orders of magnitude, and chained growth leaves the small end of a Pareto front behind.
Under a cap, an edit whose child would have more than ``N`` trainable parameters
changes nothing, like an edit with no site (``GraphSpace.grow``): strategies drive the
space unchanged and a chained mutation draws again (``Space.mutate``'s tries), so
sampling never loops forever.

The count is exact (what ``nas.count_params`` gives for the compiled graph) but cheap:
a node's parameters depend only on its op, its params and its input shapes, so each
such triple is built once (under a forked torch RNG, so counting draws nothing from
the search's random state) and remembered.
"""

from __future__ import annotations

import json
from functools import lru_cache

import torch

from nas._domain import SpaceError
from nas.graph import ArchGraph
from nas.ops import get_op


def check_max_params(max_params) -> int | None:
    """``max_params`` checked: None (no cap) or a positive int."""
    if max_params is None:
        return None
    if isinstance(max_params, bool) or not isinstance(max_params, int) or max_params < 1:
        raise SpaceError(f"max_params must be a positive int (a parameter count) or None, "
                         f"not {max_params!r}")
    return max_params


@lru_cache(maxsize=8192)
def _node_params(op: str, params: str, in_shapes: tuple) -> int:
    """Trainable parameters of one node's module (its op, JSON params, input shapes)."""
    with torch.random.fork_rng():
        module = get_op(op).make(json.loads(params), [tuple(s) for s in in_shapes])
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def param_count(graph: ArchGraph) -> int:
    """Trainable parameters of the module ``graph`` compiles to (``nas.count_params``)."""
    shapes = graph.infer_shapes()
    total = 0
    for node in graph.nodes():
        key = json.dumps(node.params, sort_keys=True)
        total += _node_params(node.op, key, tuple(tuple(shapes[i]) for i in node.inputs))
    return total


def check_seed(graph: ArchGraph, max_params: int | None) -> None:
    """A seed above the cap: a ``SpaceError`` naming both numbers and what to change."""
    if max_params is None:
        return
    n = param_count(graph)
    if n > max_params:
        raise SpaceError(f"the seed model has {n:,} parameters, above max_params="
                         f"{max_params:,}: raise max_params (--max-params) to at least "
                         f"{n:,}, or start from a smaller model")
