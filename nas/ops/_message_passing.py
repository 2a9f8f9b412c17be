"""Message passing over a graph: GCN, GIN, GAT and GraphSAGE-style layers, and graph readout.

Every layer computes, for each target node i,

    x_i' = update(x_i, AGG_{j in N(i)} message(x_i, x_j))

with node features ``x`` of shape (N, F) (the node axis plays the batch axis, so the
shape seen by inference is (F,)) and ``edge_index`` an int64 (2, E) tensor whose row 0
holds the source j and row 1 the target i of each edge j -> i. Aggregation is written
with ``index_add_`` / ``scatter_reduce``; a node with no incoming edge aggregates to 0.
"""

from __future__ import annotations

import torch
from torch import nn

from nas.ops._basic import _need_rank, define
from nas.ops._registry import REQUIRED, TensorSpec

AGGREGATIONS = ("sum", "mean", "max")


# --------------------------------------------------------------------- scatter helpers


def aggregate(src: torch.Tensor, index: torch.Tensor, n: int, aggr: str) -> torch.Tensor:
    """out_i = AGG_{e : index_e = i} src_e for i < n; rows that receive nothing are 0.

    src: (E, *S), index: (E,) int64 -> (n, *S).
    """
    out = src.new_zeros((n, *src.shape[1:]))
    if aggr == "max":
        idx = index.view(-1, *([1] * (src.dim() - 1))).expand_as(src)
        return out.scatter_reduce(0, idx, src, "amax", include_self=False)
    out = out.index_add(0, index, src)
    if aggr == "mean":
        count = torch.bincount(index, minlength=n).clamp(min=1).to(src.dtype)  # (n,)
        out = out / count.view(-1, *([1] * (src.dim() - 1)))
    return out


def scatter_softmax(scores: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Softmax of ``scores`` (E, H) over the entries sharing a target in ``index`` (E,).

    The per-target max is subtracted first (it cancels out, so it carries no gradient).
    """
    idx = index.unsqueeze(-1).expand_as(scores)
    peak = scores.new_full((n, scores.shape[1]), float("-inf"))
    peak = peak.scatter_reduce(0, idx, scores.detach(), "amax", include_self=True)  # (n, H)
    weights = (scores - peak[index]).exp()  # (E, H), the largest per target is 1
    total = weights.new_zeros(peak.shape).index_add(0, index, weights)  # (n, H), >= 1 if used
    return weights / total[index]


def add_self_loops(edge_index: torch.Tensor, n: int) -> torch.Tensor:
    """Append one edge i -> i per node: (2, E) -> (2, E + n). Edges already there stay."""
    loops = torch.arange(n, device=edge_index.device, dtype=edge_index.dtype)
    return torch.cat([edge_index, loops.expand(2, n)], dim=1)


# --------------------------------------------------------------------- shape checks


def _check_aggr(aggr: str, what: str = "aggr") -> None:
    if aggr not in AGGREGATIONS:
        raise ValueError(f"{what} must be one of {AGGREGATIONS}, got {aggr!r}")


def _graph_shape(p, s):
    """(F,) node features plus a (2, E) edge index -> (features,)."""
    _need_rank(s[0], (1,), "message passing (node features (N, F))")
    if len(s[1]) != 2 or s[1][0] != 2:
        raise ValueError(f"the second input must be an edge index of shape (2, E), got "
                         f"{tuple(s[1])}; declare it with kind='edge_index'")
    if "aggr" in p:
        _check_aggr(p["aggr"])
    return (p["features"],)


_EDGES = TensorSpec((2, None), "edge_index")
_GRAPHS = TensorSpec((), "graph_index")

# --------------------------------------------------------------------- GCN


class GCNConv(nn.Module):
    """Kipf & Welling (2017): X' = D^-1/2 (A + I) D^-1/2 X W + b.

    A[i, j] counts the edges j -> i; D is the diagonal of in-degrees of A + I (self loop
    included). Per node: x_i' = sum_{j in N(i) + i} x_j W / sqrt(d_i d_j) + b.
    (N, F) -> (N, features). Without self loops a node of in-degree 0 gets just b.
    """

    def __init__(self, in_features: int, features: int, bias: bool = True,
                 self_loops: bool = True):
        super().__init__()
        self.self_loops = self_loops
        self.lin = nn.Linear(in_features, features, bias=False)
        self.bias = nn.Parameter(torch.zeros(features)) if bias else None

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if self.self_loops:
            edge_index = add_self_loops(edge_index, n)
        src, dst = edge_index
        deg = torch.bincount(dst, minlength=n).to(x.dtype)  # (N,) in-degree
        inv_sqrt = deg.pow(-0.5).masked_fill(deg == 0, 0.0)
        norm = inv_sqrt[src] * inv_sqrt[dst]  # (E,)
        h = self.lin(x)  # (N, features)
        out = aggregate(h[src] * norm.unsqueeze(-1), dst, n, "sum")
        return out if self.bias is None else out + self.bias


define(
    "gcn",
    arity=2,
    params={"features": REQUIRED, "bias": True, "self_loops": True},
    shape=_graph_shape,
    make=lambda p, s: GCNConv(s[0][0], p["features"], p["bias"], p["self_loops"]),
    examples=[({"features": 6}, [(5,), _EDGES]),
              ({"features": 3, "bias": False, "self_loops": False}, [(4,), _EDGES])],
    doc="Graph convolution X' = D^-1/2 (A + I) D^-1/2 X W + b: (x (F,), edge_index) "
        "-> (features,).",
)

# --------------------------------------------------------------------- GIN


class GINConv(nn.Module):
    """Xu et al. (2019): x_i' = MLP((1 + eps) x_i + AGG_{j in N(i)} x_j).

    MLP = Linear(F, features) - ReLU - Linear(features, features); eps is learned when
    train_eps. (N, F) -> (N, features).
    """

    def __init__(self, in_features: int, features: int, eps: float = 0.0,
                 train_eps: bool = False, aggr: str = "sum"):
        super().__init__()
        self.aggr = aggr
        self.mlp = nn.Sequential(nn.Linear(in_features, features), nn.ReLU(),
                                 nn.Linear(features, features))
        eps_t = torch.tensor(float(eps))
        if train_eps:
            self.eps = nn.Parameter(eps_t)
        else:
            self.register_buffer("eps", eps_t)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        src, dst = edge_index
        neigh = aggregate(x[src], dst, x.shape[0], self.aggr)  # (N, F)
        return self.mlp((1 + self.eps) * x + neigh)


define(
    "gin",
    arity=2,
    params={"features": REQUIRED, "eps": 0.0, "train_eps": False, "aggr": "sum"},
    shape=_graph_shape,
    make=lambda p, s: GINConv(s[0][0], p["features"], p["eps"], p["train_eps"], p["aggr"]),
    examples=[({"features": 6}, [(5,), _EDGES]),
              ({"features": 4, "train_eps": True, "aggr": "max"}, [(3,), _EDGES]),
              ({"features": 4, "eps": 0.5, "aggr": "mean"}, [(3,), _EDGES])],
    doc="Graph isomorphism layer x' = MLP((1 + eps) x + AGG_j x_j), AGG sum|mean|max: "
        "(x (F,), edge_index) -> (features,).",
)

# --------------------------------------------------------------------- GAT


class GATConv(nn.Module):
    """Velickovic et al. (2018), per head h:

        e_ij = LeakyReLU(a_src . W x_j + a_dst . W x_i)
        alpha_ij = softmax over j in N(i) (+ i with self loops) of e_ij
        x_i' = sum_j alpha_ij W x_j

    Heads are concatenated (each of width features // heads) or averaged (each of width
    features); then a bias is added. (N, F) -> (N, features). A node with no incoming
    edge (only possible without self loops) gets just the bias.
    """

    def __init__(self, in_features: int, features: int, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, self_loops: bool = True):
        super().__init__()
        self.heads, self.concat = heads, concat
        self.negative_slope, self.self_loops = negative_slope, self_loops
        self.head_features = features // heads if concat else features
        self.lin = nn.Linear(in_features, heads * self.head_features, bias=False)
        self.att_src = nn.Parameter(torch.empty(heads, self.head_features))
        self.att_dst = nn.Parameter(torch.empty(heads, self.head_features))
        self.bias = nn.Parameter(torch.zeros(features))
        nn.init.xavier_uniform_(self.att_src)
        nn.init.xavier_uniform_(self.att_dst)

    def attention(self, x: torch.Tensor, edge_index: torch.Tensor):
        """(W x as (N, heads, C), the edges used (2, E'), alpha (E', heads))."""
        n = x.shape[0]
        if self.self_loops:
            edge_index = add_self_loops(edge_index, n)
        src, dst = edge_index
        h = self.lin(x).view(n, self.heads, self.head_features)  # (N, H, C)
        a_src = (h * self.att_src).sum(-1)  # (N, H)
        a_dst = (h * self.att_dst).sum(-1)  # (N, H)
        scores = nn.functional.leaky_relu(a_src[src] + a_dst[dst], self.negative_slope)
        return h, edge_index, scatter_softmax(scores, dst, n)  # alpha: (E', H)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        h, (src, dst), alpha = self.attention(x, edge_index)
        out = aggregate(h[src] * alpha.unsqueeze(-1), dst, x.shape[0], "sum")  # (N, H, C)
        out = out.flatten(1) if self.concat else out.mean(1)  # (N, features)
        return out + self.bias


def _gat_shape(p, s):
    out = _graph_shape(p, s)
    if p["heads"] < 1:
        raise ValueError(f"heads must be >= 1, got {p['heads']}")
    if p["concat"] and p["features"] % p["heads"]:
        raise ValueError(f"with concat, heads ({p['heads']}) must divide features "
                         f"({p['features']})")
    return out


define(
    "gat",
    arity=2,
    params={"features": REQUIRED, "heads": 1, "concat": True, "negative_slope": 0.2,
            "self_loops": True},
    shape=_gat_shape,
    make=lambda p, s: GATConv(s[0][0], p["features"], p["heads"], p["concat"],
                              p["negative_slope"], p["self_loops"]),
    examples=[({"features": 6}, [(5,), _EDGES]),
              ({"features": 8, "heads": 2}, [(4,), _EDGES]),
              ({"features": 3, "heads": 2, "concat": False, "self_loops": False},
               [(4,), _EDGES])],
    doc="Graph attention: per head alpha_ij = softmax_j LeakyReLU(a . [W x_i, W x_j]), "
        "x_i' = sum_j alpha_ij W x_j; heads concatenated (features // heads each) or "
        "averaged. (x (F,), edge_index) -> (features,).",
)

# --------------------------------------------------------------------- GraphSAGE-style


class SAGEConv(nn.Module):
    """Hamilton et al. (2017): x_i' = W1 x_i + b + W2 AGG_{j in N(i)} x_j.

    A node without neighbours aggregates to 0, so it gets W1 x_i + b.
    (N, F) -> (N, features).
    """

    def __init__(self, in_features: int, features: int, aggr: str = "mean"):
        super().__init__()
        self.aggr = aggr
        self.lin_self = nn.Linear(in_features, features)
        self.lin_neigh = nn.Linear(in_features, features, bias=False)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        src, dst = edge_index
        neigh = aggregate(x[src], dst, x.shape[0], self.aggr)  # (N, F)
        return self.lin_self(x) + self.lin_neigh(neigh)


define(
    "message_passing",
    arity=2,
    params={"features": REQUIRED, "aggr": "mean"},
    shape=_graph_shape,
    make=lambda p, s: SAGEConv(s[0][0], p["features"], p["aggr"]),
    examples=[({"features": 6}, [(5,), _EDGES]), ({"features": 4, "aggr": "max"}, [(3,), _EDGES]),
              ({"features": 4, "aggr": "sum"}, [(3,), _EDGES])],
    doc="GraphSAGE-style layer x' = W1 x + W2 AGG_j x_j, AGG sum|mean|max: "
        "(x (F,), edge_index) -> (features,).",
)

# --------------------------------------------------------------------- readout


class Readout(nn.Module):
    """Graph-level pooling: out_g = AGG_{i : graph_index_i = g} x_i.

    (N, *S) node features and (N,) graph ids -> (G, *S), G = max(graph_index) + 1; a
    graph id with no node reads out 0.
    """

    def __init__(self, mode: str = "mean"):
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor, graph_index: torch.Tensor) -> torch.Tensor:
        graphs = int(graph_index.max()) + 1 if graph_index.numel() else 0
        return aggregate(x, graph_index, graphs, self.mode)


def _readout_shape(p, s):
    _check_aggr(p["mode"], "mode")
    if tuple(s[1]) != ():
        raise ValueError(f"the second input must be a graph index (one graph id per node, "
                         f"shape ()), got {tuple(s[1])}; declare it with kind='graph_index'")
    return s[0]


define(
    "readout",
    arity=2,
    params={"mode": "mean"},
    shape=_readout_shape,
    make=lambda p, s: Readout(p["mode"]),
    examples=[({}, [(5,), _GRAPHS]), ({"mode": "max"}, [(4,), _GRAPHS]),
              ({"mode": "sum"}, [(3,), _GRAPHS])],
    doc="Pool node features per graph by sum|mean|max: (x (F,), graph_index ()) -> (F,), "
        "one row per graph.",
)
