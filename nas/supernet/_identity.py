"""Which nodes of two candidates are "the same node" and share weights in a supernet.

A builder names nodes by a counter per op (``conv_0``, ``conv_1``, ...), so in a space
with optional parts the names drift: one candidate's ``conv_3`` is the first conv of
its third block, another's the strided pooling conv of its second block, a third's
the second conv of its first. Sharing weights by that name makes unrelated layers
fight over one tensor, and the supernet hardly learns (cnn on mnist1d: mean
inherited accuracy 0.29 after 600 candidate passes, its training loss stuck near 2).

``NODE_IDS`` are the ways to name a node for sharing:

- ``"node"``: the node id as built (the old behaviour);
- ``"scoped"``: the decision asked last before the node was added (its *scope*: the
  part of the space the node belongs to), that decision's value when it is a name
  (a str or bool option: an alternative with a meaning of its own, as a ``flatten``
  head against a ``global_avg`` one) rather than a size, then the op and its ordinal
  among the ops of that kind in the scope: ``convs_2/conv#1`` is the second conv of
  block 2 in every candidate that has one, whatever came before. Found by building
  the candidate again from its decisions (``Builder.scopes``); a graph without
  decisions, or one its space does not build again, keeps its node ids.
"""

from __future__ import annotations

import math

from nas.graph import ArchGraph
from nas.space import Space

NODE_IDS = ("scoped", "node")


def node_ids(space: Space, graph: ArchGraph, mode: str = "node") -> dict[str, str]:
    """Node id -> the identity ``graph``'s nodes share weights by, under ``mode``
    (``NODE_IDS``), each with its ``flattened_from`` mark."""
    ids = scoped_ids(space, graph) if mode == "scoped" else {n.id: n.id for n in graph.nodes()}
    shapes = _shapes(graph)
    return {nid: ident + kinds(graph.node(nid).params) + flattened_from(graph, nid, shapes)
            for nid, ident in ids.items()}


def kinds(params: dict) -> str:
    """``"[bias=False,padding=same]"``: a node's str and bool params (what kind of
    layer it is, not its size), so a conv with a bias (a candidate without batch norm,
    whose outputs keep the weights' scale) never shares weights with one without
    (followed by batch norm, which lets its weights grow: shared, they blew the
    other's outputs up)."""
    text = ",".join(f"{k}={v}" for k, v in sorted(params.items()) if isinstance(v, str | bool))
    return f"[{text}]" if text else ""


def flattened_from(graph: ArchGraph, nid: str, shapes: dict) -> str:
    """``"<(C, L)"`` when node ``nid`` reads a flattened tensor (an input node that keeps
    the values but lowers the rank, as ``flatten``), else ``""``. Its weights then
    index positions, not channels: slicing them between candidates that flatten
    different shapes (64 x 40 or 32 x 10 values) mixes up positions and gives wild
    outputs (cnn: training losses of 10 to 40 at a flatten head), so such a node
    shares weights only with nodes flattening the very same shape. ``shapes``: the
    graph's ``infer_shapes()``."""
    marks = []
    for src in graph.node(nid).inputs:
        if src not in shapes or src in graph.inputs:
            continue
        node = graph.node(src)
        before = [shapes[i] for i in node.inputs if i in shapes]
        if len(before) == 1 and len(shapes[src]) < len(before[0]) and \
                math.prod(shapes[src]) == math.prod(before[0]):
            marks.append(f"<{tuple(before[0])}")
    return "".join(marks)


def _shapes(graph: ArchGraph) -> dict:
    try:
        return graph.infer_shapes()
    except Exception:  # noqa: BLE001 - a graph whose shapes cannot be inferred: no marks
        return {}


def scoped_ids(space: Space, graph: ArchGraph) -> dict[str, str]:
    """Node id -> scoped identity for every node of ``graph`` (``NODE_IDS``)."""
    ids = {n.id: n.id for n in graph.nodes()}
    decisions = (graph.meta or {}).get("decisions")
    if decisions is None:
        return ids
    try:
        b, error = space._attempt(dict(decisions))
    except Exception:  # noqa: BLE001 - a space that cannot rebuild it: plain ids
        return ids
    if error is not None:
        return ids
    counts: dict[tuple[str, str], int] = {}
    scoped = {}
    for nid, scope in b.scopes.items():
        value = b.decisions.get(scope)
        if isinstance(value, str | bool):
            scope = f"{scope}={value}"
        op = b._graph.node(nid).op
        k = counts.get((scope, op), 0)
        counts[(scope, op)] = k + 1
        scoped[nid] = f"{scope}/{op}#{k}"
    if any(nid not in scoped or b._graph.node(nid).op != graph.node(nid).op for nid in ids):
        return ids  # not the graph its decisions build (edited since): plain ids
    return {nid: scoped[nid] for nid in ids}
