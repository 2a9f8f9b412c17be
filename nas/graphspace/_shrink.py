"""Shrinking graph edits, for Pareto fronts at or below the seed's size.

- ``narrow``: Net2WiderNet in reverse. A linear or conv layer keeps its ``width`` units of
  largest weight norm (the L2 norm of each unit's filter and bias); the kept units keep
  their weights, and every consumer keeps the input weights of the kept units (through
  elementwise ops, batch norm and flatten, as ``nas.widen`` walks). Dropping a unit
  whose filter is zero (a dead ReLU unit) keeps the function exactly.
- ``remove_block``: a layer and the norms and activations after it (``conv2 -> relu2``)
  go; when the block changed only the length (a strided conv of as many channels), a
  ``max_pool`` of size 1 and the same stride takes its place, so its consumers still
  fit. Every other node keeps its weights.

Both are offered only where the graph stays valid with the seed's output shape.
"""

from __future__ import annotations

import torch

from nas._errors import GraphError
from nas.graph import ArchGraph
from nas.graphspace._edits import EDITS, Site, _copy_header, _copy_outputs, _widenable
from nas.morph import _LAYERS, _PASS, _consumers, _prod, _with_params
from nas.ops import get_op
from nas.trace import Traced

SHRINK_FACTORS = (0.5, 0.75)


# --------------------------------------------------------------------- narrow


def unit_norms(state: dict[str, torch.Tensor], node: str) -> torch.Tensor:
    """The L2 norm of each unit of layer ``node`` (its weight row and bias together)."""
    w = state[f"{node}.weight"].flatten(1)
    b = state.get(f"{node}.bias")
    if b is not None:
        w = torch.cat([w, b[:, None]], dim=1)
    return torch.linalg.vector_norm(w, dim=1)


def narrow(parent: Traced, node: str, width: int) -> Traced:
    """Layer ``node`` keeps its ``width`` units of largest norm (in their order); its
    consumers keep those units' input weights. Raises ``GraphError`` where ``nas.widen``
    would (the units must reach only elementwise ops, batch norm, flatten, then layers)."""
    graph, state = parent.graph, dict(parent.state_dict)
    if node not in graph or not _widenable(graph, node):
        raise GraphError("only a linear or conv layer whose units reach only elementwise "
                         "ops, batch norm, flatten, then layers can be narrowed", node=node)
    key = _LAYERS[graph.node(node).op]
    old = graph.node(node).params[key]
    if not 1 <= width < old:
        raise GraphError(f"width {width} must be in [1, {old})", node=node)
    keep = torch.sort(torch.argsort(unit_norms(state, node), descending=True,
                                    stable=True)[:width]).values
    for name in ("weight", "bias"):
        if f"{node}.{name}" in state:
            state[f"{node}.{name}"] = state[f"{node}.{name}"][keep].clone()
    shapes = graph.infer_shapes()
    stack, seen = [(c, 1) for c in _consumers(graph, node)], set()
    while stack:
        cid, block = stack.pop()
        if cid in seen:
            continue
        seen.add(cid)
        c = graph.node(cid)
        if c.op in _PASS or c.op == "batch_norm":
            for name in ("weight", "bias", "running_mean", "running_var"):
                if c.op == "batch_norm" and f"{cid}.{name}" in state:
                    state[f"{cid}.{name}"] = state[f"{cid}.{name}"][keep].clone()
            stack.extend((n, block) for n in _consumers(graph, cid))
        elif c.op == "flatten":
            stack.extend((n, block * _prod(shapes[c.inputs[0]][1:]))
                         for n in _consumers(graph, cid))
        else:  # a layer reading the units (``_widenable`` checked it)
            idx = (keep[:, None] * block + torch.arange(block)).flatten()
            state[f"{cid}.weight"] = state[f"{cid}.weight"][:, idx].clone()
    return Traced(_with_params(graph, node, {key: width}), state)


def narrow_sites(graph: ArchGraph) -> list[Site]:
    return [Site((n.id,), SHRINK_FACTORS) for n in graph.nodes()
            if _widenable(graph, n.id) and n.params[_LAYERS[n.op]] >= 2]


def apply_narrow(t: Traced, site: Site, arg, seed: int) -> Traced:
    (nid,) = site.nodes
    old = t.graph.node(nid).params[_LAYERS[t.graph.node(nid).op]]
    return narrow(t, nid, min(old - 1, max(1, round(old * arg))))


# --------------------------------------------------------------------- remove a block


def _stride(a: tuple, b: tuple) -> int | None:
    """The stride of a size-1 max pool mapping shape ``a`` onto ``b`` (1: same shape)."""
    if a == b:
        return 1
    if len(a) != len(b) or len(a) not in (2, 3) or a[0] != b[0]:
        return None
    strides = {-(-x // y) for x, y in zip(a[1:], b[1:])}
    s = strides.pop() if len(strides) == 1 else 0
    ok = s > 1 and all((x - 1) // s + 1 == y for x, y in zip(a[1:], b[1:]))
    return s if ok else None


def block_sites(graph: ArchGraph) -> list[Site]:
    """Blocks: a layer (linear or conv) and the batch norms and elementwise ops that
    follow it alone (``conv2 -> relu2``), each node with one input and, but the last,
    one consumer, whose output shape a size-1 max pool reaches from the block's input."""
    shapes, outs = graph.infer_shapes(), set(graph.outputs.values())
    sites = []
    for first in graph.nodes():
        if first.op not in _LAYERS or len(set(first.inputs)) != 1 or \
                first.inputs[0] in graph.inputs:
            continue
        chain = [first.id]
        while chain[-1] not in outs:
            nxt = _consumers(graph, chain[-1])
            if len(nxt) != 1 or len(set(graph.node(nxt[0]).inputs)) != 1 or \
                    graph.node(nxt[0]).op not in (*_PASS, "batch_norm"):
                break
            chain.append(nxt[0])
        if len(chain) >= 2 and _stride(shapes[first.inputs[0]], shapes[chain[-1]]):
            sites.append(Site((first.id, chain[-1])))
    return sites


def apply_remove_block(t: Traced, site: Site, arg, seed: int) -> Traced:
    graph = t.graph
    first, last = site.nodes
    src = graph.node(first).inputs[0]
    shapes = graph.infer_shapes()
    chain, cur = {first}, first
    while cur != last:
        (cur,) = _consumers(graph, cur)
        chain.add(cur)
    stride = _stride(shapes[src], shapes[last])
    out = _copy_header(graph)
    new = src
    for n in graph.nodes():
        if n.id == first and stride > 1:
            new = f"{last}_pool"
            while new in graph:
                new += "_"
            out.add_node(new, "max_pool", get_op("max_pool").resolve_params(
                {"size": 1, "stride": stride}), [src])
        if n.id not in chain:
            out.add_node(n.id, n.op, n.params, [new if i == last else i for i in n.inputs])
    _copy_outputs(graph, out, {last: new})
    child = out.validate()
    state = {k: v for k, v in t.state_dict.items() if k.split(".")[0] in child}
    return Traced(child, state)


SHRINKS = {"narrow": (narrow_sites, apply_narrow),
           "remove_block": (block_sites, apply_remove_block)}
EDITS.update(SHRINKS)  # offered by GraphSpace(edits=[..., "narrow", "remove_block"])
