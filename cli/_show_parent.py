"""`nas show --parent`: a graph-edit candidate (``nas.GraphSpace``) beside its parent.

The parent is the graph before the candidate's last edit, which the space keeps in
``graph.meta["parent_graph"]``; the nodes that edit made or changed
(``graph.meta["lineage"]["changed"]``) are marked: ``*`` in the text summary, a thick red
border in pictures and DOT. A summary or DOT is one side-by-side view (two columns, two
clusters); a picture is two files, the candidate's at ``--out`` and its parent's beside
it (``arch.png`` and ``arch.parent.png``).
"""

from __future__ import annotations

from pathlib import Path

import nas
from cli import _draw
from cli._common import fail

GAP = "   |   "


def parent_of(graph: nas.ArchGraph) -> nas.ArchGraph:
    """The graph before ``graph``'s last edit; a clear error when it has none."""
    data = graph.meta.get("parent_graph")
    if not data:
        raise fail("--parent needs a graph-edit candidate (a run of `nas search --from`) "
                   "made by at least one edit; this one has no parent (the seed itself, "
                   "or not from a GraphSpace)")
    return nas.ArchGraph.from_dict(data)


def marked_nodes(graph: nas.ArchGraph) -> frozenset[str]:
    """The nodes the last edit made or changed (empty for anything but an edited graph)."""
    return frozenset((graph.meta.get("lineage") or {}).get("changed", []))


def side_by_side(parent: nas.ArchGraph, child: nas.ArchGraph, title: str) -> str:
    """The parent's summary on the left, the candidate's (edited nodes ``*``) on the right."""
    marked = marked_nodes(child)
    left = ["parent " + parent.fingerprint()[:12], *parent.summary().splitlines()]
    right = [title, *(("* " if line.split(" ", 1)[0] in marked else "  ") + line
                      for line in child.summary().splitlines())]
    width = max(map(len, left))
    rows = [f"{a:<{width}}{GAP}{b}".rstrip()
            for a, b in zip(left + [""] * (len(right) - len(left)),
                            right + [""] * (len(left) - len(right)))]
    edits = (child.meta.get("lineage") or {}).get("edits", [])
    rows.append(f"* made or changed by the last edit ({edits[-1] if edits else 'none'}); "
                f"edits from the seed: {'; '.join(edits) or 'none'}")
    return "\n".join(rows)


def pair_dot(parent: nas.ArchGraph, child: nas.ArchGraph, title: str) -> str:
    """One DOT drawing of two clusters, ``parent`` (ids prefixed ``p_``) and the
    candidate (``c_``), its edited nodes with a red border."""
    q = _draw.dot_quote
    lines = ["digraph arch {", *_draw.DOT_HEADER]
    for name, graph, prefix, label, marked in (
            ("parent", parent, "p_", f"parent {parent.fingerprint()[:12]}", frozenset()),
            ("child", child, "c_", title, marked_nodes(child))):
        lines += [f"  subgraph cluster_{name} {{", f"  label={q(label)};",
                  *_draw.dot_body(graph, marked, prefix), "  }"]
    return "\n".join([*lines, "}"])


def parent_path(out: Path) -> Path:
    """Where the parent's picture goes: ``arch.png`` -> ``arch.parent.png``."""
    return out.with_name(f"{out.stem}.parent{out.suffix}")


def show_with_parent(graph: nas.ArchGraph, title: str, out: Path | None, fmt: str,
                     picture) -> list[Path]:
    """Write (or print, for a text format without ``--out``) the candidate beside its
    parent; ``picture(graph, path, title, marked)`` draws one picture. Returns the files."""
    parent = parent_of(graph)
    if fmt == "mermaid":
        raise fail("--parent draws a summary, DOT or a picture, not mermaid: use --format "
                   "dot or an --out of .png, .svg, .pdf, .dot or .txt")
    if fmt in ("summary", "dot"):
        text = (side_by_side if fmt == "summary" else pair_dot)(parent, graph, title)
        if out is None:
            print(text)
            return []
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
        return [out]
    picture(graph, out, title, marked_nodes(graph))
    picture(parent, parent_path(out), f"parent {parent.fingerprint()[:12]}", frozenset())
    return [out, parent_path(out)]
