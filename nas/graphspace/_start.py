"""Start weights: what a candidate of a ``GraphSpace`` inherits, held in this process.

A candidate's graph names its start weights in ``graph.meta["start_weights"]`` (a token,
so the graph stays plain JSON); whoever compiles it to train (``evaluators.loop``'s
``build_model``) loads them with ``load_start_weights``. The store keeps the last
``KEEP`` entries: a candidate is trained soon after it is proposed.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from nas.graph import ArchGraph

KEEP = 256
_STORE: OrderedDict[str, dict[str, torch.Tensor]] = OrderedDict()


def keep_start_weights(token: str, state: dict[str, torch.Tensor]) -> str:
    """Hold ``state`` under ``token`` (replacing an older entry); returns the token."""
    _STORE.pop(token, None)
    _STORE[token] = state
    while len(_STORE) > KEEP:
        _STORE.popitem(last=False)
    return token


def start_weights(graph: ArchGraph) -> dict[str, torch.Tensor] | None:
    """The weights ``graph``'s candidate starts from, or None (a fresh initialization)."""
    token = graph.meta.get("start_weights") if isinstance(graph, ArchGraph) else None
    return _STORE.get(token) if token else None


def load_start_weights(module: nn.Module, graph: ArchGraph) -> bool:
    """Load ``graph``'s start weights into its compiled ``module``; False when it has none.

    Strict: the weights were made for exactly this graph, so a mismatch is a bug."""
    state = start_weights(graph)
    if state is None:
        return False
    module.load_state_dict(state, strict=True)
    return True
