"""Oracle tests for the graph and generative primitives: each compiled op against the same
math written by hand (dense matrices or per-node loops) with the same weights."""

from __future__ import annotations

import math

import networkx as nx
import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from nas import ArchGraph, ShapeError, compile_graph

# A small graph (edges j -> i as columns): node 1 has three in-edges (one duplicated
# source pair 0 -> 1 twice), node 3 only sends, node 4 is isolated.
SMALL_EDGES = torch.tensor([[0, 2, 3, 0, 1, 0],
                            [1, 1, 1, 1, 0, 2]])
SMALL_N = 5
ISOLATED = 4


def _karate_edges() -> tuple[int, torch.Tensor]:
    g = nx.karate_club_graph()
    pairs = torch.tensor(list(g.edges()), dtype=torch.long).T  # (2, E) undirected
    return g.number_of_nodes(), torch.cat([pairs, pairs.flip(0)], dim=1)  # both directions


def _graph_op(op: str, params: dict, features: int, second: str = "edge_index"):
    """Compile x -> op(x, second) and return (the GraphModule, the op's own module)."""
    g = ArchGraph()
    x = g.add_input("x", (features,))
    if second == "edge_index":
        e = g.add_input("edge_index", (2, None), kind="edge_index")
    else:
        e = g.add_input("graph_index", (), kind="graph_index")
    g.set_output("y", g.add_node("layer", op, params, [x, e]))
    model = compile_graph(g).double()
    return model, model.layer


def _x(n: int, f: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, f, generator=gen, dtype=torch.float64)


def _in_neighbours(edge_index: torch.Tensor, i: int) -> list[int]:
    return [j for j, t in edge_index.T.tolist() if t == i]


def _reference_aggregate(x: torch.Tensor, edge_index: torch.Tensor, aggr: str):
    """AGG_{j -> i} x_j by a loop over target nodes; no neighbours gives 0."""
    rows = []
    for i in range(x.shape[0]):
        neigh = [x[j] for j in _in_neighbours(edge_index, i)]
        if not neigh:
            rows.append(torch.zeros_like(x[i]))
        elif aggr == "sum":
            rows.append(torch.stack(neigh).sum(0))
        elif aggr == "mean":
            rows.append(torch.stack(neigh).mean(0))
        else:
            rows.append(torch.stack(neigh).amax(0))
    return torch.stack(rows)


# --------------------------------------------------------------------- GCN


def _dense_gcn(x, edge_index, weight, bias, self_loops: bool):
    """D^-1/2 (A + I) D^-1/2 X W^T + b with dense matrices; A[i, j] counts edges j -> i."""
    n = x.shape[0]
    a = torch.zeros(n, n, dtype=x.dtype)
    a.index_put_((edge_index[1], edge_index[0]), torch.ones(edge_index.shape[1], dtype=x.dtype),
                 accumulate=True)
    if self_loops:
        a = a + torch.eye(n, dtype=x.dtype)
    deg = a.sum(1)
    d = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    out = torch.diag(d) @ a @ torch.diag(d) @ x @ weight.T
    return out if bias is None else out + bias


@pytest.mark.parametrize("bias", [True, False])
def test_gcn_matches_dense_reference_on_karate_club(bias):
    n, edges = _karate_edges()
    model, layer = _graph_op("gcn", {"features": 8, "bias": bias}, 5)
    if bias:
        with torch.no_grad():
            layer.bias.normal_()
    x = _x(n, 5).requires_grad_()
    out = model(x, edges)
    ref = _dense_gcn(x, edges, layer.lin.weight, layer.bias, self_loops=True)
    assert out.shape == (n, 8)
    assert_close(out, ref)
    # the gradient with respect to the node features agrees too
    g_out, = torch.autograd.grad(out.square().sum(), x)
    g_ref, = torch.autograd.grad(ref.square().sum(), x)
    assert_close(g_out, g_ref)


def test_gcn_without_self_loops_isolated_node_gets_bias():
    model, layer = _graph_op("gcn", {"features": 3, "self_loops": False}, 4)
    with torch.no_grad():
        layer.bias.normal_()
    x = _x(SMALL_N, 4)
    out = model(x, SMALL_EDGES)
    assert_close(out, _dense_gcn(x, SMALL_EDGES, layer.lin.weight, layer.bias, False))
    assert_close(out[ISOLATED], layer.bias)
    assert torch.isfinite(out).all()


# --------------------------------------------------------------------- GIN


@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_gin_matches_loop_reference(aggr):
    model, layer = _graph_op("gin", {"features": 6, "eps": 0.3, "train_eps": True,
                                     "aggr": aggr}, 4)
    x = _x(SMALL_N, 4).requires_grad_()
    out = model(x, SMALL_EDGES)
    ref = layer.mlp((1 + 0.3) * x + _reference_aggregate(x, SMALL_EDGES, aggr))
    assert_close(out, ref)
    # the isolated node only sees itself
    assert_close(out[ISOLATED], layer.mlp(1.3 * x[ISOLATED]))
    out.sum().backward()
    assert layer.eps.grad is not None and x.grad is not None
    assert torch.isfinite(x.grad).all()


def test_gin_eps_is_a_buffer_unless_trained():
    _, layer = _graph_op("gin", {"features": 4, "eps": 0.1}, 3)
    assert "eps" not in dict(layer.named_parameters())
    assert "eps" in dict(layer.named_buffers())


# --------------------------------------------------------------------- GAT


def _loop_gat(layer, x, edge_index):
    """GAT by explicit loops over heads and target nodes (self loops added by hand)."""
    n, heads, c = x.shape[0], layer.heads, layer.head_features
    if layer.self_loops:
        loops = torch.arange(n).expand(2, n)
        edge_index = torch.cat([edge_index, loops], dim=1)
    h = (x @ layer.lin.weight.T).view(n, heads, c)
    out = torch.zeros(n, heads, c, dtype=x.dtype)
    for i in range(n):
        srcs = _in_neighbours(edge_index, i)
        if not srcs:
            continue
        for k in range(heads):
            e = torch.stack([F.leaky_relu(layer.att_src[k] @ h[j, k] + layer.att_dst[k] @ h[i, k],
                                          layer.negative_slope) for j in srcs])
            alpha = torch.softmax(e, 0)
            out[i, k] = sum(a * h[j, k] for a, j in zip(alpha, srcs))
    out = out.flatten(1) if layer.concat else out.mean(1)
    return out + layer.bias


@pytest.mark.parametrize("params", [
    {"features": 6},
    {"features": 8, "heads": 2},
    {"features": 3, "heads": 3, "concat": False},
    {"features": 4, "heads": 2, "self_loops": False, "negative_slope": 0.1},
])
def test_gat_matches_loop_reference(params):
    model, layer = _graph_op("gat", params, 4)
    with torch.no_grad():
        layer.bias.normal_()
    x = _x(SMALL_N, 4)
    out = model(x, SMALL_EDGES)
    assert out.shape == (SMALL_N, params["features"])
    assert_close(out, _loop_gat(layer, x, SMALL_EDGES))


@pytest.mark.parametrize("self_loops", [True, False])
def test_gat_attention_sums_to_one_per_target(self_loops):
    n, edges = _karate_edges()
    _, layer = _graph_op("gat", {"features": 8, "heads": 4, "self_loops": self_loops}, 5)
    (src, dst), alpha = layer.attention(_x(n, 5), edges)[1:]
    assert alpha.shape == (src.shape[0], 4)
    assert (alpha >= 0).all()
    totals = torch.zeros(n, 4, dtype=alpha.dtype).index_add(0, dst, alpha)
    assert_close(totals, torch.ones(n, 4, dtype=alpha.dtype))


def test_gat_softmax_is_stable_for_large_scores():
    model, layer = _graph_op("gat", {"features": 4, "heads": 2}, 4)
    with torch.no_grad():
        layer.att_src.mul_(1e4)
        layer.att_dst.mul_(1e4)
    x = _x(SMALL_N, 4).requires_grad_()
    out = model(x, SMALL_EDGES)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()


# --------------------------------------------------------------------- GraphSAGE-style


@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_message_passing_matches_loop_reference(aggr):
    model, layer = _graph_op("message_passing", {"features": 5, "aggr": aggr}, 3)
    x = _x(SMALL_N, 3)
    out = model(x, SMALL_EDGES)
    neigh = _reference_aggregate(x, SMALL_EDGES, aggr)
    assert_close(out, layer.lin_self(x) + neigh @ layer.lin_neigh.weight.T)


def test_message_passing_mean_isolated_node_is_self_term_only():
    model, layer = _graph_op("message_passing", {"features": 5}, 3)
    x = _x(SMALL_N, 3).requires_grad_()
    out = model(x, SMALL_EDGES)
    for i in (ISOLATED, 3):  # no in-edges: isolated, and a node that only sends
        assert_close(out[i], layer.lin_self(x[i]))
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


# --------------------------------------------------------------------- readout


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_readout_matches_per_graph_loop(mode):
    model, _ = _graph_op("readout", {"mode": mode}, 3, second="graph_index")
    graph_index = torch.tensor([0, 0, 3, 1, 3, 3, 1])  # graph 2 has no node
    x = _x(len(graph_index), 3).requires_grad_()
    out = model(x, graph_index)
    rows = []
    for g in range(4):
        members = x[graph_index == g]
        if len(members) == 0:
            rows.append(torch.zeros(3, dtype=x.dtype))
        else:
            rows.append({"sum": members.sum(0), "mean": members.mean(0),
                         "max": members.amax(0)}[mode])
    assert_close(out, torch.stack(rows))
    out.sum().backward()
    assert x.grad is not None


# --------------------------------------------------------------------- shape checks


def test_graph_ops_reject_a_second_input_that_is_not_an_edge_index():
    for op in ("gcn", "gin", "gat", "message_passing"):
        g = ArchGraph()
        x = g.add_input("x", (4,))
        other = g.add_input("other", (4,))
        g.set_output("y", g.add_node("layer", op, {"features": 4}, [x, other]))
        with pytest.raises(ShapeError, match="edge index") as info:
            g.infer_shapes()
        assert info.value.node == "layer"


def test_readout_rejects_an_edge_index():
    g = ArchGraph()
    x = g.add_input("x", (4,))
    e = g.add_input("edge_index", (2, None), kind="edge_index")
    g.set_output("y", g.add_node("pool", "readout", {}, [x, e]))
    with pytest.raises(ShapeError, match="graph index"):
        g.infer_shapes()


@pytest.mark.parametrize("op, params", [
    ("gat", {"features": 6, "heads": 4}),
    ("gin", {"features": 6, "aggr": "median"}),
    ("message_passing", {"features": 6, "aggr": "min"}),
])
def test_bad_graph_params_are_shape_errors(op, params):
    g = ArchGraph()
    x = g.add_input("x", (4,))
    e = g.add_input("edge_index", (2, None), kind="edge_index")
    g.set_output("y", g.add_node("layer", op, params, [x, e]))
    with pytest.raises(ShapeError):
        g.infer_shapes()


# --------------------------------------------------------------------- reparameterize


def _reparam():
    g = ArchGraph()
    mu = g.add_input("mu", (2,))
    logvar = g.add_input("logvar", (2,))
    g.set_output("z", g.add_node("z", "reparameterize", {}, [mu, logvar]))
    return compile_graph(g).double()


def test_reparameterize_eval_returns_mu():
    model = _reparam().eval()
    mu, logvar = _x(10, 2, 1), _x(10, 2, 2)
    assert_close(model(mu, logvar), mu)


def test_reparameterize_training_samples_with_the_right_moments():
    model = _reparam().train()
    n = 200_000
    mu = torch.tensor([0.5, -2.0], dtype=torch.float64).expand(n, 2).clone().requires_grad_()
    std = torch.tensor([2.0, 0.5], dtype=torch.float64)
    logvar = (2 * std.log()).expand(n, 2).clone().requires_grad_()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        z = model(mu, logvar)
    # sample mean within 5 standard errors, sample std within 2%
    assert ((z.mean(0) - mu[0]).abs() < 5 * std / math.sqrt(n)).all()
    assert_close(z.std(0), std, rtol=0.02, atol=0.0)
    z.sum().backward()
    assert_close(mu.grad, torch.ones_like(mu))
    # dz/dlogvar = 0.5 * exp(0.5 logvar) * eps = 0.5 * (z - mu)
    assert_close(logvar.grad, 0.5 * (z - mu).detach())


def test_reparameterize_rejects_different_shapes():
    g = ArchGraph()
    mu = g.add_input("mu", (4,))
    logvar = g.add_input("logvar", (3,))
    g.set_output("z", g.add_node("z", "reparameterize", {}, [mu, logvar]))
    with pytest.raises(ShapeError, match="same shape"):
        g.infer_shapes()
