"""Text renderings of an ArchGraph: a summary table, a Mermaid flowchart, Graphviz DOT.

They read a graph and write text; the graph itself knows nothing of them
(``ArchGraph.summary()`` and friends delegate here). ``nas graph`` prints them; the
styled pictures of ``nas show`` live in the CLI.
"""

from __future__ import annotations

from typing import Any

from nas._errors import GraphError
from nas.graph import INPUT_OP, ArchGraph


def to_mermaid(graph: ArchGraph) -> str:
    """A Mermaid flowchart (paste into any Markdown viewer that renders Mermaid)."""
    lines = ["flowchart TD"]
    for n in graph.nodes(include_inputs=True):
        label = n.id if n.op == INPUT_OP else f"{n.id}: {n.op}{brief(n.params)}"
        shape = ('[/"{}"/]' if n.op == INPUT_OP else '["{}"]').format(label.replace('"', "'"))
        lines.append(f"    {n.id}{shape}")
    for n in graph.nodes():
        for i, src in enumerate(n.inputs):
            tag = f"|{i}|" if len(n.inputs) > 1 else ""
            lines.append(f"    {src} -->{tag} {n.id}")
    for name, src in graph.outputs.items():
        lines.append(f'    out_{name}(["{name}"])')
        lines.append(f"    {src} --> out_{name}")
    return "\n".join(lines)


def to_dot(graph: ArchGraph) -> str:
    """Graphviz DOT text (plain boxes; ``nas show --format dot`` draws a styled one)."""
    lines = ["digraph arch {", "  rankdir=TB;", "  node [shape=box, fontname=Helvetica];"]
    for n in graph.nodes(include_inputs=True):
        if n.op == INPUT_OP:
            lines.append(f'  {n.id} [shape=invhouse, label="{n.id}"];')
        else:
            label = f"{n.id}\\n{n.op}{brief(n.params)}".replace('"', "'")
            lines.append(f'  {n.id} [label="{label}"];')
    for n in graph.nodes():
        for src in n.inputs:
            lines.append(f"  {src} -> {n.id};")
    for name, src in graph.outputs.items():
        lines.append(f'  "out:{name}" [shape=oval];')
        lines.append(f'  {src} -> "out:{name}";')
    lines.append("}")
    return "\n".join(lines)


def summary(graph: ArchGraph) -> str:
    """A one-screen table: node, op, key params, inputs and output shape; then the op
    count, the outputs and the fingerprint (a note instead of shapes when they fail)."""
    try:
        shapes: dict[str, Any] = graph.infer_shapes()
    except GraphError as exc:
        shapes = {}
        note = f"(shapes unavailable: {exc})"
    else:
        note = ""
    rows = [("node", "op", "params", "inputs", "shape")]
    for n in graph.nodes(include_inputs=True):
        params = "" if n.op == INPUT_OP else brief(n.params).strip(" ()")
        rows.append((n.id, n.op, params, ",".join(n.inputs),
                     str(tuple(shapes[n.id])) if n.id in shapes else "?"))
    widths = [min(max(len(r[i]) for r in rows), 40) for i in range(5)]
    text = ["  ".join(c[:40].ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    text.insert(1, "  ".join("-" * w for w in widths))
    outs = ", ".join(f"{k} <- {v}" for k, v in graph.outputs.items())
    text.append(f"{len(graph)} ops, outputs: {outs}  fingerprint {graph.fingerprint()}")
    if note:
        text.append(note)
    return "\n".join(text)


def brief(params: dict) -> str:
    """``"(k=v, ...)"`` for non-empty params, else ``""``."""
    if not params:
        return ""
    return "(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"


FORMATS = {"summary": summary, "mermaid": to_mermaid, "dot": to_dot}
"""Each text format by name (``nas graph --format``)."""

__all__ = ["FORMATS", "brief", "summary", "to_dot", "to_mermaid"]
