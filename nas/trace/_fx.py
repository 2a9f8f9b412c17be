"""torch.fx helpers for ``from_module``: tracing (with the line fx rejected), recording
each node's shape, recognizing an RNN's outputs, and cutting a piece into a module."""

from __future__ import annotations

import copy
import operator
import os
import traceback

import torch
from torch import fx, nn

from nas._errors import GraphError


class TraceError(GraphError):
    """torch.fx could not trace the module; the message names the line it rejected."""


class _Tracer(fx.Tracer):
    def __init__(self, leaves: tuple[type, ...]):
        super().__init__()
        self.leaves = leaves

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, self.leaves) or super().is_leaf_module(m, qualname)


def _rejected_line(exc: BaseException) -> str:
    """'file:line: code' of the innermost frame outside torch and nas.trace."""
    skip = (os.path.dirname(torch.__file__), os.path.dirname(__file__))
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith(skip)]
    if not frames:
        return "an unknown line"
    f = frames[-1]
    return f"{f.filename}:{f.lineno}: {(f.line or '').strip()}"


def trace(model: nn.Module, leaves: tuple[type, ...]) -> fx.GraphModule:
    tracer = _Tracer(leaves)
    try:
        graph = tracer.trace(model)
    except Exception as exc:  # noqa: BLE001 - fx raises many kinds; all mean "cannot trace"
        raise TraceError(
            f"torch.fx cannot trace {type(model).__name__}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}\n  at {_rejected_line(exc)}\n"
            "Rewrite that line without data-dependent Python control flow, or pass "
            "leaves=(TheSubmoduleClass,) to keep the submodule holding it as one opaque "
            "node") from None
    return fx.GraphModule(tracer.root, graph)


def record(gm: fx.GraphModule, inputs: tuple) -> dict[fx.Node, torch.Size | None]:
    """Each node's tensor shape (batch included) on the example inputs; None: no tensor."""
    shapes: dict[fx.Node, torch.Size | None] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n):
            value = super().run_node(n)
            shapes[n] = value.shape if isinstance(value, torch.Tensor) else None
            return value

    modes = {m: m.training for m in gm.modules()}
    gm.eval()  # the shapes are the same; batch norm's running statistics stay untouched
    try:
        with torch.no_grad():
            Recorder(gm).run(*inputs)
    finally:
        for m, training in modes.items():
            m.training = training
    return shapes


def recurrent_roles(node: fx.Node, m: nn.RNNBase) -> dict[fx.Node, str] | None:
    """Users of ``rnn(x)``: "seq" (out), "last" (h[-1]), "skip" (tuple steps); else None."""
    def getitem(u, *index) -> bool:
        return u.op == "call_function" and u.target is operator.getitem and u.args[1] in index

    roles: dict[fx.Node, str] = {}
    for u in node.users:
        if unused_item(u):
            roles[u] = "skip"
        elif getitem(u, 0):
            roles[u] = "seq"
        elif getitem(u, 1):
            roles[u] = "skip"
            hs = [u]
            if isinstance(m, nn.LSTM):
                if not all(getitem(v, 0) or unused_item(v) for v in u.users):
                    return None
                roles.update((v, "skip") for v in u.users)
                hs = [v for v in u.users if v.users]
            for h in hs:
                if m.bidirectional or not all(getitem(w, -1, m.num_layers - 1)
                                              for w in h.users):
                    return None
                roles.update((w, "last") for w in h.users)
        else:
            return None
    return roles


def unused_item(u: fx.Node) -> bool:
    """``_`` of ``a, _ = f(x)``: a getitem nobody reads."""
    return u.op == "call_function" and u.target is operator.getitem and not u.users


def cut(gm: fx.GraphModule, node: fx.Node, ref: dict) -> tuple[nn.Module, list[fx.Node]]:
    """The module computing ``node`` from graph values (the fx nodes in ``ref``) and the
    values it takes, in order; values not in ``ref`` are recomputed inside it."""
    if node.op == "call_module" and not node.kwargs and node.args and all(
            isinstance(a, fx.Node) and a in ref for a in node.args) \
            and len(set(node.args)) == len(node.args):
        return copy.deepcopy(gm.get_submodule(node.target)), list(node.args)
    sub, env, ext = fx.Graph(), {}, []

    def get(n: fx.Node) -> fx.Node:
        if n not in env:
            if n in ref:
                env[n] = sub.placeholder(f"x{len(ext)}")
                ext.append(n)
            else:
                env[n] = sub.node_copy(n, get)
        return env[n]

    sub.output(sub.node_copy(node, get))
    return fx.GraphModule(gm, sub), ext


def describe(gm: fx.GraphModule, node: fx.Node) -> str:
    if node.op == "call_module":
        return f"{type(gm.get_submodule(node.target)).__name__} ({node.target})"
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    return getattr(node.target, "__name__", str(node.target))
