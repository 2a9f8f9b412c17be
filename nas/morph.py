"""Function-preserving morphisms: a child graph and weights computing what its parent does.

Each takes a ``Traced`` (an ArchGraph and weights keyed like its compiled module, e.g.
from ``nas.from_module``) and returns the child's, which starts from the parent's
function and trains on from there (Chen et al. 2016, Net2Net; Elsken et al. 2019):

- ``widen``: a linear or conv layer gets more units. By default (``new="fresh"``) each
  new unit gets fresh random input weights (the layer's own init) and every consumer
  reads it with weight 0, so the sum it computes is unchanged and the new units are free
  to learn. ``new="copy"`` is Net2WiderNet: new units copy random old ones and each
  consumer divides the weights it reads from a copied unit by the number of its copies;
  exact too, but a unit and its copies then get gradients that differ only by a factor
  (none at all with Adam's normalized steps), so they stay copies: the widened layer
  keeps computing with its old width (Chen et al. add noise to break this).
- ``deepen``: Net2DeeperNet. An identity-initialized linear or conv layer is inserted
  after a node (and a ReLU after it, when the node is a ReLU: relu(relu(x)) = relu(x)).
- ``add_skip``: a branch from one node onto another's output through a zero-initialized
  linear or 1x1 conv, summed in: it adds 0 until training moves it.

``inherit`` gives any child graph (an edit that need not preserve the function) its
parent's weights for the nodes it kept.
"""

from __future__ import annotations

import networkx as nx
import torch

from nas._errors import GraphError
from nas.compile import compile_graph
from nas.graph import ArchGraph
from nas.ops import get_op
from nas.trace import Traced

_PASS = {"relu", "gelu", "silu", "tanh", "sigmoid", "elu", "leaky_relu", "dropout",
         "identity"}  # elementwise: a unit's copies stay copies through them
_LAYERS = {"linear": "features", "conv": "channels", "conv1d": "channels",
           "conv2d": "channels"}
NEW_UNITS = ("fresh", "copy")  # widen: new units' init (see the module doc)
_FRESH_NORM = {"weight": 1.0, "bias": 0.0, "running_mean": 0.0, "running_var": 1.0}


# --------------------------------------------------------------------- graph surgery


def _consumers(graph: ArchGraph, nid: str) -> list[str]:
    return [n.id for n in graph.nodes() if nid in n.inputs]


def _with_params(graph: ArchGraph, nid: str, changes: dict) -> ArchGraph:
    """A copy of ``graph`` with node ``nid``'s params updated."""
    data = graph.to_dict()
    for row in data["nodes"]:
        if row["id"] == nid:
            row["params"] = {**row["params"], **changes}
    return ArchGraph.from_dict(data).validate()


def _fresh(graph: ArchGraph, base: str) -> str:
    nid = base
    while nid in graph:
        nid += "_"
    return nid


def _check_layer(graph: ArchGraph, nid: str) -> str:
    if nid not in graph or graph.node(nid).op not in _LAYERS:
        raise GraphError(f"only a layer of op {sorted(_LAYERS)} can be widened", node=nid)
    node = graph.node(nid)
    if node.params.get("groups", 1) != 1:
        raise GraphError("a grouped convolution cannot be widened", node=nid)
    return _LAYERS[node.op]


# --------------------------------------------------------------------- widen


def widen(parent: Traced, node: str, width: int, seed: int = 0, new: str = "fresh") -> Traced:
    """Layer ``node`` (linear or conv) gets ``width`` units; same function.

    ``new`` (``NEW_UNITS``): ``"fresh"`` new units (random input weights as the layer's
    own init, read with weight 0 downstream; batch norm on the way starts them at its
    identity) or ``"copy"`` (Net2WiderNet: copies of random old units, whose weights
    downstream are split among the copies; copies stay copies in training). The widened
    units may pass through elementwise ops, batch norm and flatten, and must end in
    linear or conv layers; an add, concat, other op or graph output on the way raises a
    ``GraphError`` naming it. ``seed`` draws the fresh weights or the units copied.
    """
    if new not in NEW_UNITS:
        raise ValueError(f"new must be one of {', '.join(NEW_UNITS)}, got {new!r}")
    graph, state = parent.graph, dict(parent.state_dict)
    key = _check_layer(graph, node)
    old = graph.node(node).params[key]
    if width <= old:
        raise GraphError(f"width {width} must exceed the current {old}", node=node)
    gen = torch.Generator().manual_seed(seed)
    src = torch.cat([torch.arange(old), torch.randint(0, old, (width - old,), generator=gen)])
    counts = torch.bincount(src, minlength=old).to(torch.float32)  # copies of each unit
    fan_in = state[f"{node}.weight"][0].numel()
    for name in ("weight", "bias"):  # the layer's own rows: unit j copies unit src[j]
        if f"{node}.{name}" in state:  # or is drawn as nn.Linear/Conv draw their init
            w = state[f"{node}.{name}"]
            state[f"{node}.{name}"] = w[src].clone() if new == "copy" else torch.cat(
                [w, _uniform((width - old, *w.shape[1:]), fan_in ** -0.5, gen, w)])
    shapes = graph.infer_shapes()
    stack = [(c, 1) for c in _consumers(graph, node)]
    if node in graph.outputs.values():
        raise GraphError("a graph output cannot be widened (its shape is the task's)", node=node)
    while stack:
        cid, block = stack.pop()
        c = graph.node(cid)
        if c.op in _PASS or c.op == "batch_norm":
            if cid in graph.outputs.values():
                raise GraphError(f"widening '{node}' would change output '{cid}'", node=cid)
            if c.op == "batch_norm":
                for name, fill in _FRESH_NORM.items():
                    if f"{cid}.{name}" in state:
                        v = state[f"{cid}.{name}"]
                        state[f"{cid}.{name}"] = v[src].clone() if new == "copy" else \
                            torch.cat([v, torch.full((width - old,), fill, dtype=v.dtype)])
            stack.extend((n, block) for n in _consumers(graph, cid))
        elif c.op == "flatten":
            in_shape = shapes[c.inputs[0]]
            stack.extend((n, block * _prod(in_shape[1:])) for n in _consumers(graph, cid))
        elif c.op in _LAYERS and c.params.get("groups", 1) == 1 and \
                (c.op != "linear" or len(shapes[c.inputs[0]]) == 1):
            w = state[f"{cid}.weight"]  # (out, in, *k): input units along axis 1
            if new == "fresh":  # new units' blocks of columns, appended, read as 0
                zeros = w.new_zeros((w.shape[0], (width - old) * block, *w.shape[2:]))
                state[f"{cid}.weight"] = torch.cat([w, zeros], dim=1)
                continue
            idx = (src[:, None] * block + torch.arange(block)).flatten()  # unit blocks
            scale = counts[src].repeat_interleave(block)
            shape = (1, -1, *([1] * (w.dim() - 2)))
            state[f"{cid}.weight"] = (w[:, idx] / scale.view(shape)).clone()
        else:
            raise GraphError(f"widening '{node}' reaches op '{c.op}', which widened units "
                             "cannot pass through (only elementwise ops, batch_norm, "
                             "flatten, then linear or conv layers)", node=cid)
    child = _with_params(graph, node, {key: width})
    return Traced(child, state)


def _uniform(shape: tuple, bound: float, gen: torch.Generator, like: torch.Tensor
             ) -> torch.Tensor:
    """U(-bound, bound) values of ``shape``, drawn on the CPU from ``gen``, as ``like``."""
    return ((torch.rand(shape, generator=gen) * 2 - 1) * bound).to(like)


def _prod(shape) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


# --------------------------------------------------------------------- deepen


def deepen(parent: Traced, node: str, kernel: int = 3) -> Traced:
    """Insert after ``node`` an identity-initialized layer (linear on (F,), a conv of
    ``kernel`` (odd) on (C, L) or (C, H, W)); after a ReLU node, a ReLU follows it."""
    graph, state = parent.graph, dict(parent.state_dict)
    if node not in graph:
        raise GraphError("no such node", node=node)
    shape = graph.infer_shapes()[node]
    new = _fresh(graph, f"{node}_deep")
    if len(shape) == 1:
        op, params = "linear", {"features": shape[0]}
        weight = torch.eye(shape[0])
    elif len(shape) in (2, 3):
        if kernel % 2 == 0:
            raise GraphError(f"deepen needs an odd kernel to keep the size, got {kernel}",
                             node=node)
        op, params = ("conv1d" if len(shape) == 2 else "conv2d"), {
            "channels": shape[0], "kernel": kernel, "padding": kernel // 2}
        weight = torch.zeros(shape[0], shape[0], *([kernel] * (len(shape) - 1)))
        centre = (slice(None), slice(None), *([kernel // 2] * (len(shape) - 1)))
        weight[centre] = torch.eye(shape[0])
    else:
        raise GraphError(f"deepen needs an output of rank 1 to 3, got {tuple(shape)}",
                         node=node)
    rows = [(new, op, get_op(op).resolve_params(params), [node])]
    if graph.node(node).op == "relu":  # relu(relu(x)) = relu(x)
        rows.append((_fresh(graph, f"{new}_relu"), "relu", {}, [new]))
    child = _insert_after(graph, node, rows)
    state[f"{new}.weight"] = weight
    state[f"{new}.bias"] = torch.zeros(shape[0])
    return Traced(child, state)


def _insert_after(graph: ArchGraph, after: str, rows: list) -> ArchGraph:
    """Insert ``rows`` after ``after`` and move every other use of ``after`` to the last."""
    last = rows[-1][0]
    out = ArchGraph()
    out.meta = dict(graph.meta)
    for name, spec in graph.inputs.items():
        out.add_input(name, spec.shape, spec.kind, spec.vocab)
    if after in graph.inputs:
        for row in rows:
            out.add_node(*row)
    for n in graph.nodes():
        out.add_node(n.id, n.op, n.params, [last if i == after else i for i in n.inputs])
        if n.id == after:
            for row in rows:
                out.add_node(*row)
    for name, src in graph.outputs.items():
        out.set_output(name, last if src == after else src)
    return out.validate()


# --------------------------------------------------------------------- add a skip


def add_skip(parent: Traced, src: str, dst: str) -> Traced:
    """Add ``src`` onto ``dst``'s output through a zero-initialized projection (linear,
    or a 1x1 conv with the stride that maps ``src``'s size onto ``dst``'s)."""
    graph, state = parent.graph, dict(parent.state_dict)
    for nid in (src, dst):
        if nid not in graph:
            raise GraphError("no such node", node=nid)
    if src == dst or nx.has_path(graph.nx, dst, src):
        raise GraphError(f"a skip from '{src}' onto '{dst}' would make a cycle", node=dst)
    shapes = graph.infer_shapes()
    a, b = shapes[src], shapes[dst]
    branch, plus = _fresh(graph, f"{src}_to_{dst}"), _fresh(graph, f"{dst}_skip")
    if len(a) == len(b) == 1:
        op, params = "linear", {"features": b[0]}
        weight = torch.zeros(b[0], a[0])
    elif len(a) == len(b) in (2, 3):
        strides = {-(-x // y) for x, y in zip(a[1:], b[1:])}
        stride = strides.pop() if len(strides) == 1 else 0
        if not stride or any((x - 1) // stride + 1 != y for x, y in zip(a[1:], b[1:])):
            raise GraphError(f"no strided 1x1 conv maps {tuple(a)} onto {tuple(b)}", node=dst)
        op = "conv1d" if len(a) == 2 else "conv2d"
        params = {"channels": b[0], "kernel": 1, "stride": stride, "padding": 0}
        weight = torch.zeros(b[0], a[0], *([1] * (len(a) - 1)))
    else:
        raise GraphError(f"cannot project {tuple(a)} onto {tuple(b)}", node=dst)
    rows = [(branch, op, get_op(op).resolve_params(params), [src]),
            (plus, "add", {"project": False, "proj_norm": True}, [dst, branch])]
    child = _insert_after(graph, dst, rows)
    state[f"{branch}.weight"] = weight
    state[f"{branch}.bias"] = torch.zeros(b[0])
    return Traced(child, state)


# --------------------------------------------------------------------- inheritance


def inherit(parent: Traced, child: ArchGraph, seed: int | None = None) -> tuple[Traced, float]:
    """The child's weights: its parent's for every node it kept (same id, op and weight
    shapes), a fresh initialization elsewhere (drawn under ``seed`` when given).

    Returns the child with its weights and the share of its parameters inherited.
    """
    with torch.random.fork_rng(enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        module = compile_graph(child)
    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    by_node: dict[str, list[str]] = {}
    for key in state:
        by_node.setdefault(key.split(".")[0], []).append(key)
    inherited: set[str] = set()
    for nid, keys in by_node.items():  # a node inherits all its tensors or none
        same_op = nid in parent.graph and parent.graph.node(nid).op == child.node(nid).op
        if same_op and all(k in parent.state_dict and parent.state_dict[k].shape ==
                           state[k].shape for k in keys):
            state.update((k, parent.state_dict[k].clone()) for k in keys)
            inherited.update(keys)
    sizes = {k: p.numel() for k, p in module.named_parameters()}
    total = sum(sizes.values())
    share = sum(n for k, n in sizes.items() if k in inherited) / total if total else 1.0
    return Traced(child, state), share
