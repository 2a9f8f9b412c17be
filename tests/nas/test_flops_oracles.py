"""``count_flops`` against FLOPs counted by hand from the shapes.

Convention (``torch.utils.flop_counter``): one multiply-add is 2 FLOPs; a matmul of
(m, k) @ (k, n) is 2 m k n; bias adds, activations, norms, softmax, gathers and scatters
count zero. A convolution is 2 * C_out * prod(S_out) * (C_in / groups) * prod(kernel);
scaled dot-product attention is 2 L_q L_k D_h for q k^T plus as much again for the
weighted sum of v, per head. ``count_flops`` reports per sample (the node for graph data).
"""

from __future__ import annotations

import pytest
import torch

from nas import ArchGraph, compile_graph, count_flops, example_inputs


def out_len(n: int, kernel: int, stride: int, pad: int) -> int:
    """Output length of a convolution, from its textbook definition."""
    return (n + 2 * pad - kernel) // stride + 1


def single(op: str, params: dict, shape: tuple, kind: str = "tensor") -> ArchGraph:
    g = ArchGraph()
    g.add_input("x", shape, kind)
    g.add_node("y", op, params, ["x"])
    g.set_output("out", "y")
    return g


@pytest.mark.parametrize("batch", [1, 5])
def test_linear(batch):
    # (B, 6) -> (B, 4): 6 * 4 multiply-adds per sample; the bias is not counted.
    assert count_flops(single("linear", {"features": 4}, (6,)), batch=batch) == 2 * 6 * 4 == 48


@pytest.mark.parametrize("batch", [1, 3])
def test_linear_over_a_sequence_counts_every_position(batch):
    # (B, 7, 6) -> (B, 7, 4): the matmul runs once per position.
    g = single("linear", {"features": 4, "bias": False}, (7, 6))
    assert count_flops(g, batch=batch) == 7 * 2 * 6 * 4 == 336


@pytest.mark.parametrize("batch", [1, 4])
def test_two_linears_chain(batch):
    g = ArchGraph()
    g.add_input("x", (10,))
    g.add_node("a", "linear", {"features": 8}, ["x"])
    g.add_node("r", "relu", {}, ["a"])
    g.add_node("b", "linear", {"features": 3}, ["r"])
    g.set_output("out", "b")
    assert count_flops(g, batch=batch) == 2 * 10 * 8 + 2 * 8 * 3 == 208


@pytest.mark.parametrize("batch", [1, 4])
def test_conv1d_stride_and_padding(batch):
    # (3, 17), 4 channels, kernel 5, stride 2, padding 1 -> L_out = (17 + 2 - 5) // 2 + 1 = 8
    g = single("conv1d", {"channels": 4, "kernel": 5, "stride": 2, "padding": 1}, (3, 17))
    lout = out_len(17, 5, 2, 1)
    assert lout == 8
    assert count_flops(g, batch=batch) == 2 * 4 * lout * 3 * 5 == 960


@pytest.mark.parametrize("batch", [1, 3])
def test_conv2d_stride_and_padding(batch):
    # (2, 9, 7), 3 channels, kernel 3, stride 2, padding 2 -> (3, 6, 5)
    g = single("conv2d", {"channels": 3, "kernel": 3, "stride": 2, "padding": 2}, (2, 9, 7))
    h, w = out_len(9, 3, 2, 2), out_len(7, 3, 2, 2)
    assert (h, w) == (6, 5)
    assert count_flops(g, batch=batch) == 2 * 3 * h * w * 2 * 9 == 3240


@pytest.mark.parametrize("batch", [1, 2])
def test_grouped_conv2d_same_padding(batch):
    # groups 2: each output channel sees C_in / 2 = 2 input channels; 'same' keeps 8 x 8.
    g = single("conv2d", {"channels": 6, "kernel": 3, "groups": 2}, (4, 8, 8))
    assert count_flops(g, batch=batch) == 2 * 6 * 8 * 8 * (4 // 2) * 9 == 13824


# torch's FlopCounterMode knows the CUDA kernels of scaled_dot_product_attention but not the
# CPU one (aten._scaled_dot_product_flash_attention_for_cpu): count_flops adds its formula,
# so these counts hold on CPU too (they failed there before, with only the projections).


@pytest.mark.parametrize("batch", [1, 3])
def test_self_attention(batch):
    L, D, H = 5, 8, 2
    in_proj = 2 * L * D * (3 * D)  # q, k, v
    scores = H * 2 * L * L * (D // H)  # q k^T per head
    mix = H * 2 * L * L * (D // H)  # softmax(.) v per head
    out_proj = 2 * L * D * D
    g = single("self_attention", {"heads": H}, (L, D))
    assert count_flops(g, batch=batch) == in_proj + scores + mix + out_proj == 3360


@pytest.mark.parametrize("batch", [1, 2])
def test_transformer_encoder_block(batch):
    L, D, H, ratio = 4, 8, 2, 2
    attention = 2 * L * D * 3 * D + 2 * (2 * L * L * D) + 2 * L * D * D
    feed_forward = 2 * L * D * (ratio * D) + 2 * L * (ratio * D) * D
    g = single("transformer_encoder", {"heads": H, "ff_ratio": ratio}, (L, D))
    assert count_flops(g, batch=batch) == attention + feed_forward == 2560 + 2048


@pytest.mark.parametrize("batch", [1, 2])
def test_cross_attention_query_and_memory_lengths_differ(batch):
    # query (Lq, D) over memory (Lk, Dk): q from D, k and v from Dk; scores Lq x Lk.
    Lq, Lk, D, Dk, H = 3, 7, 8, 6, 2
    g = ArchGraph()
    g.add_input("x", (Lq, D))
    g.add_input("m", (Lk, Dk))
    g.add_node("y", "cross_attention", {"heads": H}, ["x", "m"])
    g.set_output("out", "y")
    projections = 2 * Lq * D * D + 2 * (2 * Lk * Dk * D) + 2 * Lq * D * D
    attention = H * 2 * Lq * Lk * (D // H) * 2
    assert count_flops(g, batch=batch) == projections + attention == 384 + 1344 + 384 + 672


@pytest.mark.parametrize("batch", [1, 2])
def test_causal_attention_counts_the_full_score_matrix(batch):
    # The mask does not shrink the kernel's matmuls (torch's convention for the CUDA
    # kernels too): a causal block counts as a full one.
    L, D = 5, 8
    full = count_flops(single("self_attention", {"heads": 2}, (L, D)), batch=batch)
    assert count_flops(single("self_attention", {"heads": 2, "causal": True}, (L, D)),
                       batch=batch) == full == 3360


def gcn_graph(fin: int, fout: int) -> ArchGraph:
    g = ArchGraph()
    g.add_input("x", (fin,))
    g.add_input("edges", (2, None), "edge_index")
    g.add_node("conv", "gcn", {"features": fout}, ["x", "edges"])
    g.set_output("out", "conv")
    return g


@pytest.mark.parametrize("nodes", [1, 6])
def test_gcn_layer_per_node(nodes):
    # X W over N nodes is 2 N F_in F_out; the normalised sum over edges is gathers,
    # elementwise products and an index_add (zero), so per node: 2 F_in F_out.
    assert count_flops(gcn_graph(5, 3), batch=nodes) == 2 * 5 * 3 == 30


def test_gcn_module_with_explicit_graph_divides_by_nodes_not_edges():
    model = compile_graph(gcn_graph(5, 3))
    x = torch.randn(7, 5)  # 7 nodes
    edges = torch.tensor([[0, 1, 2, 3, 4, 5, 6, 0, 2], [1, 2, 3, 4, 5, 6, 0, 3, 5]])
    assert count_flops(model, (x, edges)) == 2 * 5 * 3


@pytest.mark.parametrize("batch", [1, 3])
def test_two_tensor_inputs(batch):
    # linear(a) + linear(b): two matmuls, the add is free.
    g = ArchGraph()
    g.add_input("a", (6,))
    g.add_input("b", (4,))
    g.add_node("pa", "linear", {"features": 5}, ["a"])
    g.add_node("pb", "linear", {"features": 5}, ["b"])
    g.add_node("s", "add", {}, ["pa", "pb"])
    g.set_output("out", "s")
    assert count_flops(g, batch=batch) == 2 * 6 * 5 + 2 * 4 * 5 == 100


@pytest.mark.parametrize("batch", [1, 4])
def test_module_with_inputs_is_per_sample(batch):
    g = single("conv1d", {"channels": 4, "kernel": 5, "stride": 2, "padding": 1}, (3, 17))
    model = compile_graph(g)
    (x,) = example_inputs(g, batch=batch)
    assert x.shape == (batch, 3, 17)
    assert count_flops(model, (x,)) == 960


@pytest.mark.parametrize("batch", [2, 4])
def test_graph_with_inputs_is_per_sample_of_those_inputs(batch):
    # The inputs' batch divides, not the ``batch`` argument (which only sizes the default
    # inputs): with batch=1 left at its default, the count was ``batch`` times too big.
    g = single("conv1d", {"channels": 4, "kernel": 5, "stride": 2, "padding": 1}, (3, 17))
    assert count_flops(g, inputs=example_inputs(g, batch=batch)) == 960


def test_graph_data_with_inputs_divides_by_nodes():
    g = gcn_graph(5, 3)
    x = torch.randn(9, 5)  # 9 nodes, 4 edges
    edges = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    assert count_flops(g, inputs=(x, edges)) == 2 * 5 * 3
