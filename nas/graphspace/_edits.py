"""The graph edits a ``GraphSpace`` offers: where each applies (its sites) and how.

Each edit takes a ``Traced`` (graph and weights) and returns the child's. Three are
function-preserving morphisms (``widen``, ``deepen``, ``branch``; ``skip`` too) whose
new weights start the child on its parent's function; the others (``insert``,
``remove``, ``change``) keep the weights of every node they keep (``nas.inherit``) and
initialize the rest. A site is offered only when the edit leaves a valid graph of the
same output shapes, so no edit needs repair after the fact: a misfit is never proposed
(skips are projected by a strided 1x1 conv or a linear layer, see ``nas.add_skip``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx
import torch

from nas._domain import SpaceError
from nas.graph import ArchGraph
from nas.morph import _LAYERS, _PASS, _fresh, _insert_after, add_skip, deepen, inherit, widen
from nas.ops import get_op
from nas.trace import Traced

ACTIVATIONS = ("relu", "gelu", "silu", "tanh")
INSERTS = ("relu", "gelu", "batch_norm", "dropout", "layer_norm")
KERNELS = (1, 3, 5, 7)
FACTORS = (1.25, 1.5, 2.0)
MORPHISMS = ("widen", "deepen", "skip", "branch")  # the child computes what its parent does


@dataclass(frozen=True)
class Site:
    """Where an edit applies, and the variants (``args``) it offers there."""

    nodes: tuple[str, ...]
    args: tuple = (None,)


def _shapes(graph: ArchGraph) -> dict:
    return graph.infer_shapes()


def _tensor_nodes(graph: ArchGraph, shapes: dict) -> list[str]:
    """Nodes (not inputs) of a float output of rank 1 to 3."""
    return [n.id for n in graph.nodes() if 1 <= len(shapes[n.id]) <= 3]


def _widenable(graph: ArchGraph, nid: str) -> bool:
    """Whether ``nas.widen`` accepts ``nid`` (the walk it does, without weights)."""
    node = graph.node(nid)
    if node.op not in _LAYERS or node.params.get("groups", 1) != 1:
        return False
    outs = set(graph.outputs.values())
    shapes = graph.infer_shapes()
    stack = [nid]
    if nid in outs:
        return False
    seen = set()
    while stack:
        cur = stack.pop()
        for c in (n for n in graph.nodes() if cur in n.inputs):
            if c.id in seen:
                continue
            seen.add(c.id)
            if c.op in _PASS or c.op in ("batch_norm", "flatten"):
                if c.id in outs:
                    return False
                stack.append(c.id)
            elif not (c.op in _LAYERS and c.params.get("groups", 1) == 1 and
                      (c.op != "linear" or len(shapes[c.inputs[0]]) == 1)):
                return False
    return True


def _projectable(a: tuple, b: tuple) -> bool:
    """Whether ``nas.add_skip`` can project shape ``a`` onto ``b``."""
    if len(a) == len(b) == 1:
        return True
    if len(a) != len(b) or len(a) not in (2, 3):
        return False
    strides = {-(-x // y) for x, y in zip(a[1:], b[1:])}
    if len(strides) != 1:
        return False
    s = strides.pop()
    return s > 0 and all((x - 1) // s + 1 == y for x, y in zip(a[1:], b[1:]))


# --------------------------------------------------------------------- sites


def widen_sites(graph: ArchGraph) -> list[Site]:
    return [Site((n.id,), FACTORS) for n in graph.nodes() if _widenable(graph, n.id)]


def deepen_sites(graph: ArchGraph) -> list[Site]:
    shapes = _shapes(graph)
    return [Site((n,)) for n in _tensor_nodes(graph, shapes)]


def skip_sites(graph: ArchGraph) -> list[Site]:
    """One site per destination; its args are the sources that project onto it."""
    shapes = _shapes(graph)
    nodes = _tensor_nodes(graph, shapes)
    sites = []
    for dst in nodes:
        srcs = tuple(s for s in nodes if s != dst and not nx.has_path(graph.nx, dst, s)
                     and dst not in _consumers(graph, s)  # not the plain edge itself
                     and _projectable(shapes[s], shapes[dst]))
        if srcs:
            sites.append(Site((dst,), srcs))
    return sites


def branch_sites(graph: ArchGraph) -> list[Site]:
    return [Site((n.id,)) for n in graph.nodes()
            if n.op in _LAYERS and len(n.inputs) == 1]


def insert_sites(graph: ArchGraph) -> list[Site]:
    """Every edge between two nodes; the args are the shape-keeping ops that fit it."""
    shapes = _shapes(graph)
    sites = []
    for v in graph.nodes():
        for u in dict.fromkeys(v.inputs):
            if u not in graph.inputs and 1 <= len(shapes[u]) <= 3:
                ops = tuple(op for op in INSERTS if _keeps_shape(op, shapes[u]))
                if ops:
                    sites.append(Site((u, v.id), ops))
    return sites


def remove_sites(graph: ArchGraph) -> list[Site]:
    """Nodes whose output has their first input's shape, so their consumers still fit
    (the node's other inputs, a skip's branch say, go with it when nothing else reads
    them)."""
    shapes = _shapes(graph)
    return [Site((n.id,)) for n in graph.nodes()
            if n.inputs and n.inputs[0] not in graph.inputs
            and shapes[n.inputs[0]] == shapes[n.id]]


def change_sites(graph: ArchGraph) -> list[Site]:
    """Activations (to another activation) and size-keeping convs (another odd kernel)."""
    sites = []
    for n in graph.nodes():
        if n.op in ACTIVATIONS:
            sites.append(Site((n.id,), tuple(a for a in ACTIVATIONS if a != n.op)))
        elif n.op in ("conv1d", "conv2d") and _same_conv(n.params):
            sites.append(Site((n.id,), tuple(k for k in KERNELS if k != n.params["kernel"])))
    return sites


def _same_conv(p: dict) -> bool:
    k = p.get("kernel")
    return (isinstance(k, int) and p.get("stride", 1) == 1 and p.get("dilation", 1) == 1
            and (p.get("padding") == "same" or p.get("padding") == k // 2) and k % 2 == 1)


def _keeps_shape(op: str, shape: tuple) -> bool:
    if op == "layer_norm":
        return len(shape) == 1
    if op == "batch_norm":
        return len(shape) in (1, 2, 3)
    return True


def _consumers(graph: ArchGraph, nid: str) -> list[str]:
    return [n.id for n in graph.nodes() if nid in n.inputs]


# --------------------------------------------------------------------- applying


def apply_widen(t: Traced, site: Site, arg, seed: int) -> Traced:
    (nid,) = site.nodes
    node = t.graph.node(nid)
    old = node.params[_LAYERS[node.op]]
    return widen(t, nid, max(old + 1, round(old * arg)), seed=seed)


def apply_deepen(t: Traced, site: Site, arg, seed: int) -> Traced:
    return deepen(t, site.nodes[0])


def apply_skip(t: Traced, site: Site, arg, seed: int) -> Traced:
    return add_skip(t, arg, site.nodes[0])


def apply_branch(t: Traced, site: Site, arg, seed: int) -> Traced:
    """A zero-initialized copy of layer ``n`` on ``n``'s input, added to ``n``'s output."""
    graph, state = t.graph, dict(t.state_dict)
    (nid,) = site.nodes
    node = graph.node(nid)
    br, plus = _fresh(graph, f"{nid}_branch"), _fresh(graph, f"{nid}_merge")
    rows = [(br, node.op, dict(node.params), list(node.inputs)),
            (plus, "add", {"project": False, "proj_norm": True}, [nid, br])]
    child = _insert_after(graph, nid, rows)
    for key in [k for k in state if k.split(".")[0] == nid]:
        state[br + key[len(nid):]] = torch.zeros_like(state[key])
    return Traced(child, state)


def apply_insert(t: Traced, site: Site, arg, seed: int) -> Traced:
    """``arg`` on the edge ``u -> v`` only (other consumers of ``u`` keep reading it)."""
    u, v = site.nodes
    graph = t.graph
    new = _fresh(graph, f"{u}_{arg}")
    out = _copy_header(graph)
    for n in graph.nodes():
        if n.id == v:
            out.add_node(new, arg, get_op(arg).resolve_params({}), [u])
        out.add_node(n.id, n.op, n.params, [new if i == u else i for i in n.inputs])
    _copy_outputs(graph, out, {})
    return inherit(t, out.validate(), seed=seed)[0]


def apply_remove(t: Traced, site: Site, arg, seed: int) -> Traced:
    graph = t.graph
    (nid,) = site.nodes
    src = graph.node(nid).inputs[0]
    out = _copy_header(graph)
    for n in graph.nodes():
        if n.id != nid:
            out.add_node(n.id, n.op, n.params, [src if i == nid else i for i in n.inputs])
    _copy_outputs(graph, out, {nid: src})
    child = out.prune().validate()
    state = {k: v for k, v in t.state_dict.items() if k.split(".")[0] in child}
    return Traced(child, state)


def apply_change(t: Traced, site: Site, arg, seed: int) -> Traced:
    graph = t.graph
    (nid,) = site.nodes
    data = graph.to_dict()
    for row in data["nodes"]:
        if row["id"] == nid:
            if isinstance(arg, str):
                row["op"], row["params"] = arg, get_op(arg).resolve_params({})
            else:
                pad = row["params"]["padding"]
                row["params"] = {**row["params"], "kernel": arg,
                                 "padding": pad if pad == "same" else arg // 2}
    child = ArchGraph.from_dict(data).validate()
    return inherit(t, child, seed=seed)[0]


def _copy_header(graph: ArchGraph) -> ArchGraph:
    out = ArchGraph()
    out.meta = dict(graph.meta)
    for name, spec in graph.inputs.items():
        out.add_input(name, spec.shape, spec.kind, spec.vocab)
    return out


def _copy_outputs(graph: ArchGraph, out: ArchGraph, moved: dict) -> None:
    for name, src in graph.outputs.items():
        out.set_output(name, moved.get(src, src))


SiteFn = Callable[[ArchGraph], list[Site]]
ApplyFn = Callable[[Traced, Site, object, int], Traced]

EDITS: dict[str, tuple[SiteFn, ApplyFn]] = {
    "insert": (insert_sites, apply_insert),
    "remove": (remove_sites, apply_remove),
    "change": (change_sites, apply_change),
    "skip": (skip_sites, apply_skip),
    "widen": (widen_sites, apply_widen),
    "deepen": (deepen_sites, apply_deepen),
    "branch": (branch_sites, apply_branch),
}


def check_edits(edits) -> tuple[str, ...]:
    """The edit kinds asked for, checked: a clear error names an unknown one."""
    if isinstance(edits, str):
        edits = [e.strip() for e in edits.split(",") if e.strip()]
    edits = tuple(edits)
    unknown = [e for e in edits if e not in EDITS]
    if unknown or not edits:
        raise SpaceError(f"unknown graph edit(s) {unknown or edits!r}: choose among "
                         f"{', '.join(EDITS)}")
    return edits
