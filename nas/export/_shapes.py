"""Shape text for comments and the model card: (B, C, L), with N for graph nodes and G
for graphs after a readout."""

from __future__ import annotations

from nas.graph import ArchGraph
from nas.ops import TensorSpec


def lead_axis(graph: ArchGraph) -> str:
    """The leading axis: B (batch), or N (nodes) for graph data."""
    kinds = {s.kind for s in graph.inputs.values()}
    return "N" if kinds & {"edge_index", "graph_index"} else "B"


def lead_of(graph: ArchGraph, nid: str, lead: str) -> str:
    """G (graphs) for values computed after a graph readout, else ``lead``."""
    if lead == "N" and nid in graph:
        seen, stack = set(), [nid]
        while stack:
            cur = stack.pop()
            if cur in seen or cur in graph.inputs:
                continue
            seen.add(cur)
            node = graph.node(cur)
            if node.op == "readout":
                return "G"
            stack.extend(node.inputs)
    return lead


def shape_text(lead: str, shape) -> str:
    dims = [lead] + ["?" if d is None else str(d) for d in shape]
    return f"({', '.join(dims)})"


def input_text(spec: TensorSpec, lead: str) -> str:
    if spec.kind == "edge_index":
        return "(2, E) int64"
    if spec.kind == "graph_index":
        return f"({lead},) int64"
    if spec.kind == "tokens":
        return f"{shape_text(lead, spec.shape)} int64 < {spec.vocab}"
    return shape_text(lead, spec.shape)
