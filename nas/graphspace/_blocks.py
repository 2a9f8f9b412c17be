"""Larger graph edits, so that a few generations can grow a small seed a long way.

One small edit a generation (a batch norm on one edge, one layer 1.5x wider) takes many
generations to turn the MNIST-1D paper's CNN (92-93%) into a network of the kind that
reaches 98-99% (batch norm after every conv, twice the width, a conv or two more per
stage). These edits do each of those steps in one go:

- ``normalize``: a batch norm after every hidden linear or conv layer that has none,
  or after the activation that follows it (``arg``); the consumers read the norm;
  every other node keeps its weights. A fresh norm in eval mode is the identity (up
  to its epsilon); in training mode it standardizes.
- ``widen_all``: every widenable layer (``nas.widen``'s walk) gets ``arg`` times its
  units, one Net2WiderNet after the other: a morphism, the child computes what its
  parent does.
- ``deepen_block``: after an activation, an identity-initialized conv (or linear) and
  an activation of the same kind, with a batch norm between them when ``arg`` says so.
  After a ReLU and without the norm it is a morphism (relu(relu(x)) = relu(x)); the
  norm standardizes what the identity conv passes on, so with it the child starts
  near, not at, its parent's function.

Each is offered only where it applies (``normalize`` when some layer lacks a norm), and
leaves the seed's output shape.
"""

from __future__ import annotations

import torch

from nas.graph import ArchGraph
from nas.graphspace._edits import EDITS, Site, _copy_header, _copy_outputs, _widenable
from nas.morph import _LAYERS, _insert_after, inherit, widen
from nas.ops import get_op
from nas.trace import Traced

ALL_FACTORS = (1.5, 2.0)
PLACES = ("layer", "activation")  # where normalize puts a norm: after the layer or its act
_ACTS = ("relu", "gelu", "silu", "tanh", "leaky_relu", "elu")
_NORMS = ("batch_norm", "layer_norm")


def _unnormed(graph: ArchGraph) -> list[str]:
    """Hidden layers (not graph outputs) whose output no norm reads, directly or
    through the activation after it."""
    outs = set(graph.outputs.values())
    return [n.id for n in graph.nodes()
            if n.op in _LAYERS and n.id not in outs
            and not any(graph.node(c).op in _NORMS for c in _reads(graph, n.id))]


def _reads(graph: ArchGraph, nid: str) -> list[str]:
    """The nodes reading ``nid``, and those reading the activation after it."""
    out = [n.id for n in graph.nodes() if nid in n.inputs]
    act = _activation_after(graph, nid)
    return out + ([n.id for n in graph.nodes() if act in n.inputs] if act else [])


def _activation_after(graph: ArchGraph, nid: str) -> str | None:
    """``nid``'s only consumer when that is an activation, else None."""
    out = [n.id for n in graph.nodes() if nid in n.inputs]
    return out[0] if len(out) == 1 and graph.node(out[0]).op in _ACTS else None


def normalize_sites(graph: ArchGraph) -> list[Site]:
    return [Site(("all",), PLACES)] if _unnormed(graph) else []


def apply_normalize(t: Traced, site: Site, arg, seed: int) -> Traced:
    """A batch norm after each layer ``_unnormed`` names (``arg`` "layer"), or after the
    activation that is its only consumer (``arg`` "activation"), read by all that node's
    consumers."""
    graph = t.graph
    after = {}
    for nid in _unnormed(graph):
        act = _activation_after(graph, nid) if arg == "activation" else None
        target = act or nid
        after[target] = _fresh_id(graph, f"{target}_bn")
    out = _copy_header(graph)
    params = get_op("batch_norm").resolve_params({})
    for n in graph.nodes():
        out.add_node(n.id, n.op, n.params, [after.get(i, i) for i in n.inputs])
        if n.id in after:
            out.add_node(after[n.id], "batch_norm", params, [n.id])
    _copy_outputs(graph, out, {})
    return inherit(t, out.validate(), seed=seed)[0]


def widen_all_sites(graph: ArchGraph) -> list[Site]:
    return [Site(("all",), ALL_FACTORS)] if _wide_layers(graph) else []


def apply_widen_all(t: Traced, site: Site, arg, seed: int) -> Traced:
    """Net2WiderNet on every widenable layer in turn (each copies its own units)."""
    for k, nid in enumerate(_wide_layers(t.graph)):
        old = t.graph.node(nid).params[_LAYERS[t.graph.node(nid).op]]
        t = widen(t, nid, max(old + 1, round(old * arg)), seed=seed * 101 + k)
    return t


def _wide_layers(graph: ArchGraph) -> list[str]:
    return [n.id for n in graph.nodes() if _widenable(graph, n.id)]


def deepen_block_sites(graph: ArchGraph) -> list[Site]:
    shapes = graph.infer_shapes()
    return [Site((n.id,), (True, False)) for n in graph.nodes()
            if n.op in _ACTS and 1 <= len(shapes[n.id]) <= 3]


def apply_deepen_block(t: Traced, site: Site, arg, seed: int) -> Traced:
    """After activation ``n``: an identity-initialized layer (``nas.deepen``'s), a batch
    norm when ``arg`` is true, and ``n``'s activation; every consumer of ``n`` reads it."""
    (nid,) = site.nodes
    graph, state = t.graph, dict(t.state_dict)
    shape = graph.infer_shapes()[nid]
    act = graph.node(nid).op
    if len(shape) == 1:
        op, params = "linear", {"features": shape[0]}
        weight = torch.eye(shape[0])
    else:
        op = "conv1d" if len(shape) == 2 else "conv2d"
        params = {"channels": shape[0], "kernel": 3, "padding": 1}
        weight = torch.zeros(shape[0], shape[0], *([3] * (len(shape) - 1)))
        weight[(slice(None), slice(None), *([1] * (len(shape) - 1)))] = torch.eye(shape[0])
    layer = _fresh_id(graph, f"{nid}_block")
    rows = [(layer, op, get_op(op).resolve_params(params), [nid])]
    if arg:
        norm = get_op("batch_norm").resolve_params({})
        rows.append((_fresh_id(graph, f"{layer}_bn"), "batch_norm", norm, [layer]))
    rows.append((_fresh_id(graph, f"{layer}_{act}"), act, get_op(act).resolve_params({}),
                 [rows[-1][0]]))
    child = _insert_after(graph, nid, rows)
    state[f"{layer}.weight"], state[f"{layer}.bias"] = weight, torch.zeros(shape[0])
    return inherit(Traced(child, state), child, seed=seed)[0]


def _fresh_id(graph: ArchGraph, base: str) -> str:
    nid = base
    while nid in graph:
        nid += "_"
    return nid


BLOCKS = {"normalize": (normalize_sites, apply_normalize),
          "widen_all": (widen_all_sites, apply_widen_all),
          "deepen_block": (deepen_block_sites, apply_deepen_block)}
EDITS.update(BLOCKS)  # offered by GraphSpace(edits=[..., "normalize", "widen_all", ...])
