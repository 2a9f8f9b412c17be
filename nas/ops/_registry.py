"""The primitive registry: op name -> spec (arity, params, shape inference, module factory).

A spec never holds torch state; ``make`` builds a fresh ``nn.Module`` each call.
Shapes exclude the batch dimension (for graph data the "batch" is the node axis).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from nas._errors import GraphError, ShapeError, UnknownOpError
from nas._registry import Registry

Shape = tuple  # tuple[int | None, ...]: None marks a size known only at run time

REQUIRED = object()  # marker for a parameter without default


@dataclass(frozen=True)
class TensorSpec:
    """What a graph input carries, so examples can be made and shapes inferred.

    kind: "tensor" (float features), "tokens" (int64 ids below ``vocab``),
    "edge_index" (int64 (2, E) over the node axis, not batched) or
    "graph_index" (int64 node -> graph id, one per node).
    """

    shape: Shape
    kind: str = "tensor"
    vocab: int | None = None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"shape": list(self.shape), "kind": self.kind}
        if self.vocab is not None:
            d["vocab"] = self.vocab
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TensorSpec:
        return cls(tuple(d["shape"]), d.get("kind", "tensor"), d.get("vocab"))


KINDS = ("tensor", "tokens", "edge_index", "graph_index")


@dataclass(frozen=True)
class OpSpec:
    """One primitive.

    arity: exact number of inputs, or (min, max) with max None for "any".
    params: parameter name -> default (``REQUIRED`` when the caller must give it).
    infer_shape(params, input_shapes) -> output shape; raises ``ValueError`` on misfit.
    make(params, input_shapes) -> nn.Module whose forward takes the inputs in order.
    examples: (params, input TensorSpecs) pairs that the registry-wide tests run.
    """

    name: str
    arity: int | tuple[int, int | None]
    params: dict[str, Any]
    infer_shape: Callable[[dict, list[Shape]], Shape]
    make: Callable[[dict, list[Shape]], nn.Module]
    doc: str = ""
    examples: tuple = field(default_factory=tuple)

    def arity_ok(self, n: int) -> bool:
        if isinstance(self.arity, int):
            return n == self.arity
        lo, hi = self.arity
        return n >= lo and (hi is None or n <= hi)

    def arity_text(self) -> str:
        if isinstance(self.arity, int):
            return str(self.arity)
        lo, hi = self.arity
        return f"at least {lo}" if hi is None else f"{lo} to {hi}"

    def resolve_params(self, params: dict, node: str | None = None) -> dict:
        """Fill defaults and reject unknown or missing parameters."""
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise GraphError(
                f"op '{self.name}' has no parameter(s) {unknown}; "
                f"known: {sorted(self.params)}",
                node=node,
            )
        out = {}
        for key, default in self.params.items():
            if key in params:
                out[key] = _plain(params[key])
            elif default is REQUIRED:
                raise GraphError(f"op '{self.name}' needs parameter '{key}'", node=node)
            else:
                out[key] = default
        return out

    def shape(self, params: dict, input_shapes: list[Shape], node: str | None = None) -> Shape:
        try:
            return tuple(self.infer_shape(params, [tuple(s) for s in input_shapes]))
        except ShapeError:
            raise
        except (ValueError, TypeError, IndexError, ZeroDivisionError) as exc:
            shapes = ", ".join(str(tuple(s)) for s in input_shapes)
            raise ShapeError(
                f"op '{self.name}' with {params} does not fit input shape(s) {shapes}: {exc}",
                node=node,
            ) from None


def _plain(value: Any) -> Any:
    """JSON-stable parameter values: tuples become lists."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


_OPS: Registry[OpSpec] = Registry("op", error=UnknownOpError, unknown="unknown op '{name}'{hint}",
                                 duplicate="op '{name}' is already registered")


def register_op(spec: OpSpec) -> OpSpec:
    """Add a primitive; a second op with the same name is an error."""
    return _OPS.register(spec.name, spec)


def get_op(name: str, node: str | None = None) -> OpSpec:
    """The primitive ``name``; ``UnknownOpError`` (naming ``node``) with the closest names."""
    return _OPS.get(name, node=node)


def list_ops() -> list[str]:
    """The registered primitives' names, sorted (plugins loaded)."""
    return _OPS.names()
