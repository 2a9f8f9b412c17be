"""Graph neural networks: stacks of GCN, GIN, GAT or GraphSAGE-style layers."""

from __future__ import annotations

from nas import Builder, TensorSpec, register_space

LAYERS = ["gcn", "gin", "gat", "message_passing"]
HIDDEN = [16, 32, 64, 128]  # every entry is divisible by every entry of GAT_HEADS
GAT_HEADS = [1, 2, 4]
LEVELS = ("node", "graph")
EDGES = TensorSpec((2, None), kind="edge_index")
GRAPHS = TensorSpec((), kind="graph_index")


def _layer_params(b: Builder, kind: str) -> dict:
    """The decisions of a layer type, asked once for the whole stack."""
    if kind in ("gin", "message_passing"):
        return {"aggr": b.choice("aggr", ["sum", "mean", "max"])}
    if kind == "gat":
        return {"heads": b.choice("gat_heads", GAT_HEADS)}
    return {}


@register_space("gnn", in_shape=(16,), n_out=4)
def gnn(b: Builder, in_shape, n_out: int, level: str = "node", max_layers: int = 4) -> str:
    """GNN: GCN, GIN, GAT or GraphSAGE-style layers over ``edge_index``; node or graph level.

    Searches the layer type, number of layers, hidden size, aggregation (sum, mean or max
    for GIN and GraphSAGE-style layers), GAT heads, normalization, residual connections,
    activation, dropout, and (``level="graph"``) the readout (sum, mean or max).

    Inputs: node features ``x`` (F,) (the node axis is the batch axis), ``edge_index``
    (2, E) and, for ``level="graph"``, ``graph_index`` (one graph id per node). Output:
    (N, n_out) per node for node classification (karate club, citation graphs) or
    (G, n_out) per graph for graph classification (molecules, synthetic graphs).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    x = b.input(in_shape, name="x")  # (F,)
    edges = b.input(EDGES, name="edge_index")  # (2, E)
    graphs = b.input(GRAPHS, name="graph_index") if level == "graph" else None

    kind = b.choice("layer", LAYERS)
    params = _layer_params(b, kind)
    hidden = b.choice("hidden", HIDDEN)
    norm = b.choice("norm", ["none", "batch_norm", "layer_norm"])
    act = b.choice("activation", ["relu", "gelu", "elu", "leaky_relu"])
    residual = b.bool("residual")
    dropout = b.choice("dropout", [0.0, 0.2, 0.5])
    for _ in range(b.int("layers", 1, max_layers)):
        h = b.op(kind, x, edges, features=hidden, **params)  # (F,) -> (hidden,)
        if norm != "none":
            h = b.op(norm, h)
        h = b.op(act, h)
        if dropout:
            h = b.op("dropout", h, p=dropout)
        x = b.op("add", h, x) if residual else h  # a linear projection when F != hidden
    if graphs is not None:
        x = b.op("readout", x, graphs, mode=b.choice("readout", ["sum", "mean", "max"]))
    return b.output(b.op("linear", x, features=n_out))  # (N, n_out) or (G, n_out)
