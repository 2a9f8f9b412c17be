"""Pictures of an ArchGraph: a layered top-down drawing (matplotlib) or styled Graphviz DOT.

Every node is a box labeled with its op, the parameters that differ from the op's
defaults and its output shape, filled with the colour of its kind of op (convolution,
attention, normalization, ...). Graph inputs sit on top, outputs at the bottom.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections import defaultdict
from pathlib import Path

import networkx as nx

import nas
from nas.graph import INPUT_OP

# kind of op -> (ops, fill colour); an op of no listed kind (e.g. your own) is "other"
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "input / output": ((INPUT_OP,), "#d9d9d9"),
    "convolution": (("conv", "conv1d", "conv2d", "sep_conv", "conv_transpose", "upsample",
                     "squeeze_excite"), "#9ecae1"),
    "dense": (("linear", "embedding"), "#bcbddc"),
    "activation": (("relu", "gelu", "silu", "tanh", "sigmoid", "elu", "leaky_relu"),
                   "#fdd0a2"),
    "normalization": (("batch_norm", "layer_norm", "dropout"), "#c7e9c0"),
    "pooling": (("max_pool", "avg_pool", "global_avg_pool", "global_max_pool", "seq_pool",
                 "attention_pool", "readout"), "#a1d99b"),
    "recurrent": (("rnn", "lstm", "gru"), "#fcbba1"),
    "attention": (("self_attention", "cross_attention", "transformer_encoder",
                   "transformer_decoder", "pos_encoding"), "#fa9fb5"),
    "message passing": (("gcn", "gin", "gat", "message_passing"), "#dfc27d"),
    "merge": (("add", "mul", "concat"), "#fff7bc"),
    "shape": (("flatten", "reshape", "transpose", "identity", "zero"), "#f7f7f7"),
    "other": ((), "#e5f5f9"),
}
_KIND_OF = {op: kind for kind, (ops, _) in KINDS.items() for op in ops}
OUTPUT_COLOUR = "#d9d9d9"
MARK_COLOUR = "#d62728"  # the border of a node a graph edit made or changed
IMAGE_FORMATS = ("png", "svg", "pdf")


def op_kind(op: str) -> str:
    """The kind of an op (a key of ``KINDS``); "other" for ops this table does not list."""
    return _KIND_OF.get(op, "other")


def key_params(node: nas.Node) -> str:
    """The node's parameters that differ from its op's defaults: "channels=32, kernel=5"."""
    try:
        defaults = nas.get_op(node.op).params
    except nas.GraphError:
        defaults = {}
    return ", ".join(f"{k}={v}" for k, v in node.params.items()
                     if k not in defaults or defaults[k] != v)


def node_label(node: nas.Node, shape, width: int = 24) -> str:
    """Op, key parameters (wrapped) and output shape, one per line."""
    if node.op == INPUT_OP:
        lines = [f"input {node.id}"]
    else:
        lines = [node.op] + textwrap.wrap(key_params(node), width, break_long_words=True)
    if shape is not None:
        lines.append("x".join("?" if d is None else str(d) for d in shape) or "scalar")
    return "\n".join(lines)


def _shapes(graph: nas.ArchGraph) -> dict:
    try:
        return graph.infer_shapes()
    except nas.GraphError:  # draw what is there; the shapes are a bonus
        return {}


# ------------------------------------------------------------------------- layout


def layered(graph: nas.ArchGraph) -> tuple[list[list[str]], dict[tuple[str, str], list[str]]]:
    """Layers top-down and the route of every edge (Sugiyama style).

    Each node sits one layer below its deepest input; every output gets a pseudo-node
    "out:NAME". An edge spanning several layers passes through a waypoint ("~...") in
    each layer between, so it runs beside the boxes rather than behind them. Nodes are
    ordered within a layer by a few barycentre sweeps to keep edges short and straight.
    Returns the layers (node ids and waypoints) and ``routes[(src, dst)]``: the points
    an edge visits, ``src`` and ``dst`` included.
    """
    g = nx.DiGraph()
    for n in graph.nodes(include_inputs=True):
        g.add_node(n.id)
        g.add_edges_from((src, n.id) for src in n.inputs)
    for name, src in graph.outputs.items():
        g.add_edge(src, f"out:{name}")
    depth = {n: d for d, layer in enumerate(nx.topological_generations(g)) for n in layer}
    layers: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for n in g:  # insertion order first
        layers[depth[n]].append(n)
    routes, up, down = {}, defaultdict(list), defaultdict(list)
    for src, dst in g.edges:
        route = [src]
        for d in range(depth[src] + 1, depth[dst]):
            route.append(f"~{src}~{dst}~{d}")
            layers[d].append(route[-1])
        route.append(dst)
        routes[(src, dst)] = route
        for a, b in zip(route, route[1:]):
            down[a].append(b)
            up[b].append(a)
    for _ in range(4):
        for rows, near in ((layers[1:], up), (layers[-2::-1], down)):
            for layer in rows:
                pos = {n: i for row in layers for i, n in enumerate(row)}
                layer.sort(key=lambda n, pos=pos, near=near: _barycentre(n, near[n], pos))
    return layers, routes


def _barycentre(node: str, near: list[str], pos: dict) -> float:
    return sum(pos[m] for m in near) / len(near) if near else pos[node]


# ------------------------------------------------------------------------- matplotlib

CHAR_W = 0.075  # inches per character at 8 pt
GAP = 0.3  # inches between neighbouring boxes, and the width a waypoint takes
MAX_PIXELS = 16000  # the longer side of a picture, at most


def positions(layers: list[list[str]], routes: dict, widths: dict[str, float],
              row_h: float) -> dict[str, tuple[float, float]]:
    """Centres in inches, x from the middle and y down from 0: boxes ``widths`` wide
    (waypoints take ``GAP``), each layer's boxes centred, long edges straightened."""
    xy = {}
    for d, layer in enumerate(layers):
        x, xs = 0.0, {}
        for n in layer:
            w = widths.get(n, 0.0) + GAP
            xs[n], x = x + w / 2, x + w
        real = [xs[n] for n in layer if n in widths] or list(xs.values())
        shift = -sum(real) / len(real)  # the layer's boxes centred, waypoints aside
        xy.update({n: (xs[n] + shift, -(d + 0.5) * row_h) for n in layer})
    _straighten(layers, routes, xy)
    return xy


def draw(graph: nas.ArchGraph, path: str | Path, title: str = "", fmt: str | None = None,
         dpi: int = 130, marked: frozenset[str] = frozenset()) -> Path:
    """Draw ``graph`` top-down with matplotlib and save it (png, svg or pdf); the
    ``marked`` nodes (those a graph edit made or changed) get a thick red border."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers, routes = layered(graph)
    shapes = _shapes(graph)
    nodes = {n.id: n for n in graph.nodes(include_inputs=True)}
    labels = {n: node_label(nodes[n], shapes.get(n)) if n in nodes else n.split(":", 1)[1]
              for layer in layers for n in layer if not n.startswith("~")}
    widths = {n: CHAR_W * max(map(len, t.splitlines())) + 0.35 for n, t in labels.items()}
    row_h = max(0.17 * max(t.count("\n") + 1 for t in labels.values()) + 0.45, 0.8)
    xy = positions(layers, routes, widths, row_h)
    left = min(x - widths.get(n, 0.0) / 2 for n, (x, _) in xy.items())
    right = max(x + widths.get(n, 0.0) / 2 for n, (x, _) in xy.items())
    legend_w, head = 1.4, (0.9 if title else 0.4)  # a left column for the legend; the title
    width = legend_w + max(3.0, right - left + 0.6)
    height = len(layers) * row_h + head + 0.3
    dx = legend_w + (width - legend_w) / 2 - (left + right) / 2
    xy = {n: (x + dx, y + height - head) for n, (x, y) in xy.items()}

    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))  # data units are inches
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    texts = {}
    for n, label in labels.items():
        colour = KINDS[op_kind(nodes[n].op)][1] if n in nodes else OUTPUT_COLOUR
        style = "round,pad=0.35" if n in nodes else "round4,pad=0.35"
        edge = (MARK_COLOUR, 2.2) if n in marked else ("0.35", 0.8)
        texts[n] = ax.text(*xy[n], label, ha="center", va="center", fontsize=8, zorder=3,
                           bbox={"boxstyle": style, "fc": colour, "ec": edge[0], "lw": edge[1]})
    fig.canvas.draw()  # now every box has a size: edges run from box edge to box edge
    _edges(ax, fig, texts, routes, xy)
    if title:
        ax.text(width / 2, height - 0.4, title, ha="center", va="center", fontsize=10,
                weight="bold")
    _legend(ax, [op_kind(n.op) for n in nodes.values()], (0.1 / width, 1 - head / height))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dpi = min(dpi, int(MAX_PIXELS / max(width, height)))  # a deep net stays a sane file
    with plt.rc_context({"svg.fonttype": "none"}):  # SVG text stays text: searchable
        fig.savefig(path, format=fmt or path.suffix.lstrip(".") or "png", dpi=dpi)
    plt.close(fig)
    return path


def _edges(ax, fig, texts: dict, routes: dict, xy: dict) -> None:
    """Each edge from the bottom of its source box through its waypoints to an arrow head
    on top of its target box."""
    from matplotlib.patches import FancyArrowPatch

    to_inches = fig.dpi_scale_trans.inverted()
    bottom, top = {}, {}
    for n, t in texts.items():
        box = t.get_bbox_patch().get_window_extent().transformed(to_inches)
        bottom[n], top[n] = (xy[n][0], box.y0), (xy[n][0], box.y1)
    for (src, dst), route in routes.items():
        points = [bottom[src], *(xy[w] for w in route[1:-1]), top[dst]]
        xs, ys = zip(*points[:-1])
        ax.plot(xs, ys, color="0.3", lw=0.8, zorder=2, solid_capstyle="round")
        ax.add_patch(FancyArrowPatch(points[-2], points[-1], arrowstyle="-|>",
                                     mutation_scale=9, lw=0.8, color="0.3", shrinkA=0,
                                     shrinkB=1, zorder=2))


def _legend(ax, kinds: list[str], anchor: tuple[float, float]) -> None:
    from matplotlib.patches import Patch

    used = list(dict.fromkeys(kinds))
    ax.legend(handles=[Patch(fc=KINDS[k][1], ec="0.35", label=k) for k in used],
              loc="upper left", bbox_to_anchor=anchor, fontsize=7, frameon=False,
              title="op kind", title_fontsize=7)


def _straighten(layers: list[list[str]], routes: dict, xy: dict) -> None:
    """Run a long edge straight down at its outermost waypoint when it stays at the
    edge of every layer it crosses (nothing lies further out)."""
    first = {layer[0] for layer in layers if layer}
    last = {layer[-1] for layer in layers if layer}
    for route in routes.values():
        ways = route[1:-1]
        if not ways:
            continue
        if all(w in last for w in ways):
            x = max(xy[w][0] for w in ways)
        elif all(w in first for w in ways):
            x = min(xy[w][0] for w in ways)
        else:
            continue
        xy.update({w: (x, xy[w][1]) for w in ways})


# ------------------------------------------------------------------------- Graphviz


def styled_dot(graph: nas.ArchGraph, title: str = "",
               marked: frozenset[str] = frozenset()) -> str:
    """Graphviz DOT with the same labels and colours as ``draw`` (``marked`` nodes with a
    thick red border)."""
    lines = ["digraph arch {", *DOT_HEADER]
    if title:
        lines.append(f"  labelloc=t; fontname=Helvetica; label={dot_quote(title)};")
    return "\n".join([*lines, *dot_body(graph, marked), "}"])


DOT_HEADER = ("  rankdir=TB;",
              '  node [shape=box, style="rounded,filled", fontname=Helvetica, fontsize=10];',
              "  edge [color=gray30, arrowsize=0.7];")


def dot_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', "'").replace("\n", "\\n") + '"'


def dot_body(graph: nas.ArchGraph, marked: frozenset[str] = frozenset(),
             prefix: str = "") -> list[str]:
    """The node and edge lines of ``graph``'s DOT, every id prefixed by ``prefix`` (so
    two graphs can share one drawing)."""
    shapes, q = _shapes(graph), dot_quote
    lines = []
    for n in graph.nodes(include_inputs=True):
        colour = KINDS[op_kind(n.op)][1]
        mark = f', color="{MARK_COLOUR}", penwidth=3' if n.id in marked else ""
        lines.append(f"  {prefix}{n.id} [label={q(node_label(n, shapes.get(n.id)))}, "
                     f'fillcolor="{colour}"{mark}];')
    for n in graph.nodes():
        lines += [f"  {prefix}{src} -> {prefix}{n.id};" for src in n.inputs]
    for name, src in graph.outputs.items():
        out = q(f"{prefix}out:{name}")
        lines.append(f'  {out} [label={q(name)}, shape=oval, fillcolor="{OUTPUT_COLOUR}"];')
        lines.append(f"  {prefix}{src} -> {out};")
    return lines


def has_graphviz() -> bool:
    """True when Graphviz's ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


def render_graphviz(graph: nas.ArchGraph, path: str | Path, fmt: str, title: str = "",
                    marked: frozenset[str] = frozenset()) -> Path:
    """Render with Graphviz ``dot -T<fmt>``; raises RuntimeError when dot fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["dot", f"-T{fmt}", "-o", str(path)],
                          input=styled_dot(graph, title, marked),
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"Graphviz dot failed: {proc.stderr.strip()[:300]}")
    return path
