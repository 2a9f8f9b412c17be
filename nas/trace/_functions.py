"""torch functions and tensor methods -> library primitives.

``map_call(node, rank)`` reads one ``call_function`` / ``call_method`` node of a torch.fx
graph and gives ``(op, params, inputs)`` (inputs: the fx nodes feeding it, in order), or
None when no primitive computes it. ``rank(n)`` is the full rank (batch included) of fx
node ``n``'s tensor, or None when ``n`` is not a tensor.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

import torch
from torch import fx
from torch.nn import functional as F

Call = tuple[str, dict, list[fx.Node]]

_ACTIVATIONS = {
    torch.relu: "relu", F.relu: "relu", "relu": "relu",
    torch.tanh: "tanh", F.tanh: "tanh", "tanh": "tanh",
    torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid", "sigmoid": "sigmoid",
    F.silu: "silu", F.elu: "elu", F.gelu: "gelu",
}
_BINARY = {operator.add: "add", torch.add: "add", "add": "add",
           operator.mul: "mul", torch.mul: "mul", "mul": "mul"}


def _arg(node: fx.Node, i: int, name: str, default=None):
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(name, default)


def _activation(node, op, rank) -> Call | None:
    x = node.args[0] if node.args else node.kwargs.get("input")
    extra = {k: v for k, v in node.kwargs.items() if k not in ("input", "inplace")}
    if not isinstance(x, fx.Node) or len(node.args) > 1 or extra and not (
            op == "gelu" and extra == {"approximate": "none"}
            or op == "elu" and extra == {"alpha": 1.0}):
        return None
    return (op, {}, [x])


def _binary(node, op, rank) -> Call | None:
    a, b = (list(node.args) + [None, None])[:2]
    if node.kwargs or not isinstance(a, fx.Node) or not isinstance(b, fx.Node):
        return None
    if rank(a) is None or rank(a) != rank(b):
        return None
    return (op, {"project": False} if op == "add" else {}, [a, b])


def _cat(node, rank) -> Call | None:
    xs, dim = _arg(node, 0, "tensors"), _arg(node, 1, "dim", 0)
    if not isinstance(xs, list | tuple) or len(xs) < 2 or not all(
            isinstance(x, fx.Node) for x in xs) or not isinstance(dim, int):
        return None
    r = rank(xs[0])
    if r is None or dim % r == 0:
        return None
    return ("concat", {"axis": dim % r - 1}, list(xs))


def _flatten(node, rank) -> Call | None:
    x, start, end = node.args[0], _arg(node, 1, "start_dim", 0), _arg(node, 2, "end_dim", -1)
    if (start, end) != (1, -1):
        return None
    return ("flatten", {}, [x])


def _transpose(node, rank) -> Call | None:
    x, dims = node.args[0], node.args[1:]
    r = rank(x)
    if node.kwargs or r is None or r < 3:
        return None
    if node.target == "permute":
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], list | tuple) else dims
        ok = [d % r for d in dims] == [*range(r - 2), r - 1, r - 2]
    else:
        ok = len(dims) == 2 and sorted(d % r for d in dims) == [r - 2, r - 1]
    return ("transpose", {}, [x]) if ok else None


def _mean(node, rank) -> Call | None:
    x, dim = node.args[0], _arg(node, 1, "dim")
    r = rank(x)
    if r is None or dim is None or _arg(node, 2, "keepdim", False) or "dtype" in node.kwargs:
        return None
    dims = sorted(d % r for d in (dim if isinstance(dim, list | tuple) else [dim]))
    if r in (3, 4) and dims == list(range(2, r)):
        return ("global_avg_pool", {}, [x])
    if r == 3 and dims == [1]:
        return ("seq_pool", {"mode": "mean"}, [x])
    return None


def _getitem(node, rank) -> Call | None:
    x, index = node.args
    if rank(x) != 3 or not isinstance(index, tuple) or len(index) != 2:
        return None
    if index[0] != slice(None) or index[1] not in (0, -1):
        return None
    return ("seq_pool", {"mode": "first" if index[1] == 0 else "last"}, [x])


def _dropout(node, rank) -> Call | None:
    p = _arg(node, 1, "p", 0.5)
    return ("dropout", {"p": p}, [node.args[0]]) if isinstance(p, float) else None


def _pool(kind: str, rank_: int):
    def mapper(node, rank) -> Call | None:
        x, size = node.args[0], _arg(node, 1, "kernel_size")
        stride = _arg(node, 2, "stride") or size
        pad = _arg(node, 3, "padding", 0)
        if rank(x) != rank_ + 1 or not all(isinstance(v, int) for v in (size, stride, pad)):
            return None
        names = ["input", "kernel_size", "stride", "padding"]
        rest = dict(zip(names[4:], node.args[4:]), **{
            k: v for k, v in node.kwargs.items() if k not in names})
        plain = {"dilation": 1, "ceil_mode": False, "return_indices": False,
                 "count_include_pad": pad == 0 or None, "divisor_override": None}
        if kind == "avg_pool" and len(node.args) > 4 or any(
                plain.get(k, object()) != v for k, v in rest.items()):
            return None
        if kind == "avg_pool" and pad and "count_include_pad" not in rest:
            return None  # torch counts the padding in the mean by default; ours does not
        return (kind, {"size": size, "stride": stride, "padding": pad}, [x])
    return mapper


def _leaky_relu(node, rank) -> Call | None:
    slope = _arg(node, 1, "negative_slope", 0.01)
    extra = set(node.kwargs) - {"negative_slope", "inplace"}
    if extra or len(node.args) > 3 or not isinstance(slope, float):
        return None
    return ("leaky_relu", {"slope": slope}, [node.args[0]])


_FUNCTIONS: dict[object, Callable] = {
    torch.cat: _cat, torch.concat: _cat, torch.flatten: _flatten, "flatten": _flatten,
    "transpose": _transpose, torch.transpose: _transpose, "permute": _transpose,
    torch.permute: _transpose, "mean": _mean, torch.mean: _mean,
    operator.getitem: _getitem, F.dropout: _dropout, F.leaky_relu: _leaky_relu,
    F.max_pool1d: _pool("max_pool", 2), F.max_pool2d: _pool("max_pool", 3),
    F.avg_pool1d: _pool("avg_pool", 2), F.avg_pool2d: _pool("avg_pool", 3),
}


def map_call(node: fx.Node, rank: Callable[[fx.Node], int | None]) -> Call | None:
    """The primitive computing this call, or None (see the module doc)."""
    key = node.target
    try:
        if key in _ACTIVATIONS:
            return _activation(node, _ACTIVATIONS[key], rank)
        if key in _BINARY:
            return _binary(node, _BINARY[key], rank)
        fn = _FUNCTIONS.get(key)
    except TypeError:  # an unhashable target
        return None
    if fn is None or not node.args or not isinstance(node.args[0], fx.Node | list | tuple):
        return None
    return fn(node, rank)
