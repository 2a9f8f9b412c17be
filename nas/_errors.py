"""Errors raised by the graph IR, the primitives and compile. Each names the node at fault."""

from __future__ import annotations


class GraphError(ValueError):
    """A malformed architecture graph; ``node`` is the offending node id (or None)."""

    def __init__(self, message: str, node: str | None = None):
        self.node = node
        self.reason = message
        super().__init__(f"node '{node}': {message}" if node is not None else message)


class ShapeError(GraphError):
    """Shapes that do not fit, found before any tensor is made."""


class UnknownOpError(GraphError):
    """A node names an op that is not registered."""
