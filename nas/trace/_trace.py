"""``from_module``: an ``nn.Module`` traced by torch.fx into an ArchGraph and its weights.

Each fx node becomes, in order of preference: a library primitive (a torch layer or a
function ``_modules`` / ``_functions`` map), an alias (the sequence half of an LSTM's
``(out, (h, c))``), an opaque node (a tensor that depends on a batched input and that no
primitive computes; ``_opaque``), or nothing of its own: values that are not batched
tensors (sizes, constants, parameters read directly, an ``edge_index`` slice) are
recomputed inside the opaque nodes that use them.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
from torch import fx, nn

from nas._errors import GraphError
from nas.compile import GraphModule, compile_graph
from nas.graph import ArchGraph, check_node_id
from nas.trace._functions import map_call
from nas.trace._fx import (
    cut,
    describe,
    record,
    recurrent_roles,
    trace,
    unused_item,
)
from nas.trace._modules import (
    RECURRENT,
    Step,
    copy_from,
    map_attention,
    map_encoder_layer,
    map_module,
    map_recurrent,
)
from nas.trace._opaque import OPAQUE, keep_template

_BATCHED = ("tensor", "tokens")  # input kinds whose first axis is the batch


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare
class Traced:
    """What ``from_module`` returns: the architecture and the model's trained weights.

    ``state_dict`` is keyed like ``compile_graph(graph).state_dict()``, so
    ``compile()`` (compile, then load) computes what the traced model computes.
    """

    graph: ArchGraph
    state_dict: dict[str, torch.Tensor]

    def compile(self) -> GraphModule:
        """The graph compiled, with the traced model's weights loaded."""
        module = compile_graph(self.graph)
        module.load_state_dict(self.state_dict, strict=True)
        return module


def _input_kind(i: int, x: torch.Tensor) -> str:
    if x.is_floating_point() or i == 0:
        return "tensor" if x.is_floating_point() else "tokens"
    if x.dim() == 2 and x.shape[0] == 2:
        return "edge_index"
    return "graph_index" if x.dim() == 1 else "tokens"


class _Builder:
    """Walks the fx graph once, adding nodes to an ArchGraph."""

    def __init__(self, gm: fx.GraphModule, shapes: dict, kinds: list[str], inputs: tuple):
        self.gm, self.shapes, self.kinds, self.inputs = gm, shapes, kinds, inputs
        self.g = ArchGraph()
        self.ref: dict[fx.Node, str] = {}  # fx node -> graph node id holding its value
        self.gshape: dict[fx.Node, tuple] = {}  # graph shape (batch excluded) of a ref
        self.batched: set[fx.Node] = set()
        self.handled: set[fx.Node] = set()
        self.loads: list = []  # (graph id, loader)
        self.mapped: set[str] = set()

    # ------------------------------------------------------------ helpers
    def rank(self, n) -> int | None:
        s = self.shapes.get(n) if isinstance(n, fx.Node) else None
        return None if s is None else len(s)

    def usable(self, n) -> bool:
        """A batched tensor held by a graph node: what a primitive may take."""
        return isinstance(n, fx.Node) and n in self.ref and n in self.batched

    def new_id(self, name: str) -> str:
        nid = name
        while True:
            try:
                check_node_id(nid)
            except GraphError:
                nid = f"n_{nid}" if not nid[:1].isalpha() else f"{nid}_"
                continue
            if nid not in self.g:
                return nid
            nid = f"{nid}_"

    def emit(self, node: fx.Node, steps: list[Step], srcs: list[fx.Node]) -> None:
        ids = [self.ref[s] for s in srcs]
        for i, (op, params, load) in enumerate(steps):
            nid = self.new_id(node.name if i == 0 else f"{node.name}_{op}")
            self.g.add_node(nid, op, params, ids)
            self.mapped.add(nid)
            if load is not None:
                self.loads.append((nid, load))
            ids = [nid]
        self.alias(node, ids[0])

    def alias(self, node: fx.Node, nid: str) -> None:
        self.ref[node] = nid
        self.gshape[node] = tuple(self.shapes[node][1:])

    # ------------------------------------------------------------ the walk
    def build(self) -> ArchGraph:
        placeholders = [n for n in self.gm.graph.nodes if n.op == "placeholder"]
        if len(placeholders) != len(self.inputs):
            raise GraphError(f"the model's forward takes {len(placeholders)} input(s) "
                             f"{[p.name for p in placeholders]}; example_inputs gave "
                             f"{len(self.inputs)}")
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                self.placeholder(node, len(self.ref))
                continue
            if any(a in self.batched for a in node.all_input_nodes):
                self.batched.add(node)
            if node.op == "output":
                self.outputs(node)
            elif node not in self.handled and node.op in ("call_module", "call_function",
                                                          "call_method"):
                self.operation(node)
        return self.g.prune()

    def placeholder(self, node: fx.Node, i: int) -> None:
        x, kind = self.inputs[i], self.kinds[i]
        shape = {"edge_index": (2, None), "graph_index": ()}.get(kind, tuple(x.shape[1:]))
        vocab = int(x.max()) + 1 if kind == "tokens" and x.numel() else None
        nid = self.new_id(node.name)
        self.g.add_input(nid, shape, kind, vocab)
        self.ref[node], self.gshape[node] = nid, shape
        if kind in _BATCHED:
            self.batched.add(node)

    def operation(self, node: fx.Node) -> None:
        if node.op == "call_module" and self.module(node):
            return
        if node.op != "call_module" and self.call(node):
            return
        if self.shapes.get(node) is not None and node in self.batched:
            self.opaque(node)

    def module(self, node: fx.Node) -> bool:
        m = self.gm.get_submodule(node.target)
        args = [a for a in node.args]
        if not args or not self.usable(args[0]):
            return False
        x = args[0]
        if type(m) in RECURRENT:
            return len(args) == 1 and not node.kwargs and self.recurrent(node, m, x)
        if isinstance(m, nn.MultiheadAttention):
            return self.attention(node, m, args)
        if node.kwargs or len(args) != 1:
            return False
        steps = self.layer_steps(m, self.gshape[x])
        if steps is None:
            return False
        self.emit(node, steps, [x])
        return True

    def layer_steps(self, m: nn.Module, shape) -> list[Step] | None:
        if isinstance(m, nn.TransformerEncoderLayer):
            step = map_encoder_layer(m)
            return None if step is None else [step]
        if isinstance(m, nn.TransformerEncoder):
            if m.norm is not None and not isinstance(m.norm, nn.LayerNorm):
                return None
            steps = [map_encoder_layer(layer) for layer in m.layers]
            tail = map_module(m.norm, shape) if m.norm is not None else []
            return None if None in steps or tail is None else steps + tail
        return map_module(m, shape)

    def recurrent(self, node: fx.Node, m: nn.RNNBase, x: fx.Node) -> bool:
        """``out, h = rnn(x)``, using ``out`` and/or ``h[-1]`` (unidirectional)."""
        step = map_recurrent(m)
        roles = recurrent_roles(node, m)
        if step is None or roles is None:
            return False
        gid = self.new_id(node.name)
        self.g.add_node(gid, step[0], step[1], [self.ref[x]])
        self.mapped.add(gid)
        self.loads.append((gid, step[2]))
        for user, role in roles.items():
            self.handled.add(user)
            if role != "skip":
                self.batched.add(user)
            if role == "seq":
                self.alias(user, gid)
            elif role == "last":  # h[-1] of the last layer == out[:, -1] (one direction)
                self.alias(user, self.g.add_node(self.new_id(f"{user.name}_last"),
                                                 "seq_pool", {"mode": "last"}, [gid]))
                self.mapped.add(self.ref[user])
        return True

    def attention(self, node: fx.Node, m: nn.MultiheadAttention, args: list) -> bool:
        """``out, _ = mha(x, x, x)`` without masks, using ``out`` only."""
        kwargs_ok = all(k in ("need_weights", "average_attn_weights")
                        or (k in ("attn_mask", "key_padding_mask") and v is None)
                        for k, v in node.kwargs.items())
        users_ok = all(unused_item(u) or u.op == "call_function"
                       and u.target is operator.getitem and u.args[1] == 0 for u in node.users)
        step = map_attention(m)
        if len(args) != 3 or len(set(args)) != 1 or not kwargs_ok or not users_ok or not step:
            return False
        gid = self.new_id(node.name)
        self.g.add_node(gid, step[0], step[1], [self.ref[args[0]]])
        self.mapped.add(gid)
        self.loads.append((gid, step[2]))
        for user in node.users:
            self.handled.add(user)
            if user.users:
                self.batched.add(user)
                self.alias(user, gid)
        return True

    def call(self, node: fx.Node) -> bool:
        if node.target in ("view", "reshape") or node.target is torch.reshape:
            found = self.reshape(node)
        else:
            found = map_call(node, self.rank)
        if found is None:
            return False
        op, params, srcs = found
        if not srcs or not all(self.usable(s) for s in srcs):
            return False
        if op in ("add", "mul") and len({self.gshape[s] for s in srcs}) != 1:
            return False
        self.emit(node, [(op, params, None)], srcs)
        return True

    def reshape(self, node: fx.Node):
        x, out = node.args[0], self.shapes.get(node)
        inp = self.shapes.get(x) if isinstance(x, fx.Node) else None
        if out is None or inp is None or len(out) < 2 or out[0] != inp[0]:
            return None
        if len(out) == 2 and len(inp) > 2:
            return ("flatten", {}, [x])
        return ("reshape", {"shape": list(out[1:])}, [x])

    def opaque(self, node: fx.Node) -> None:
        template, ext = cut(self.gm, node, self.ref)
        what = describe(self.gm, node)
        params = {"key": keep_template(template), "what": what,
                  "in_shapes": [list(self.gshape[e]) for e in ext],
                  "out_shape": list(self.shapes[node][1:])}
        nid = self.new_id(node.name)
        self.g.add_node(nid, OPAQUE, params, [self.ref[e] for e in ext])
        self.loads.append((nid, copy_from(template)))  # this model's weights, not the
        self.alias(node, nid)  # first template of the same structure

    def outputs(self, node: fx.Node) -> None:
        result = node.args[0]
        items = (result.items() if isinstance(result, dict) else
                 [(f"y{i}", r) for i, r in enumerate(result)]
                 if isinstance(result, list | tuple) else [("y", result)])
        for name, value in items:
            if not isinstance(value, fx.Node) or value not in self.ref:
                raise GraphError(f"the model's output '{name}' is not a tensor computed from "
                                 "its batched inputs; from_module needs tensor outputs")
            self.g.set_output(str(name), self.ref[value])


def from_module(model: nn.Module, example_inputs, *, kinds: list[str] | None = None,
                leaves: tuple[type, ...] = ()) -> Traced:
    """Trace ``model`` with torch.fx into an ArchGraph of library primitives, weights kept.

    example_inputs: a tensor or a tuple, one per argument of ``forward``, with a batch
        axis first (graph data: node features (N, F), then ``edge_index`` (2, E)).
    kinds: each input's kind ("tensor", "tokens", "edge_index", "graph_index"); by
        default float inputs are tensors, an int (2, E) after the first an edge index,
        other int inputs tokens.
    leaves: classes of your own submodules to keep whole, as one opaque node each.

    Layers and functions with a primitive become that primitive; the rest are "opaque"
    nodes holding their piece of the model (they compile in this process only, and do
    not export). Raises ``TraceError`` naming the line torch.fx rejected.
    """
    inputs = (example_inputs,) if isinstance(example_inputs, torch.Tensor) \
        else tuple(example_inputs)
    kinds = list(kinds) if kinds is not None else [_input_kind(i, x)
                                                    for i, x in enumerate(inputs)]
    if len(kinds) != len(inputs):
        raise GraphError(f"kinds names {len(kinds)} input(s) for {len(inputs)} example inputs")
    gm = trace(model, tuple(leaves))
    builder = _Builder(gm, record(gm, inputs), kinds, inputs)
    graph = builder.build()
    module = compile_graph(graph)
    for nid, load in builder.loads:
        if nid in graph:
            load(module.get_submodule(nid))
    _check_shapes(graph, module, builder)
    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    return Traced(graph, state)


def _check_shapes(graph: ArchGraph, module: GraphModule, builder: _Builder) -> None:
    """Each primitive's inferred shape is the shape the model computed (else a bug here)."""
    for fx_node, nid in builder.ref.items():
        if nid in builder.mapped and nid in module.shapes \
                and tuple(module.shapes[nid]) != builder.gshape[fx_node]:
            raise GraphError(f"traced as op '{graph.node(nid).op}' with shape "
                             f"{module.shapes[nid]}, but the model computes "
                             f"{builder.gshape[fx_node]} (a from_module bug)", node=nid)
