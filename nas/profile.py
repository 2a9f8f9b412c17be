"""Profiling helpers: example inputs, parameter counts and FLOPs of a graph."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nas.graph import ArchGraph
from nas.ops import TensorSpec


def example_tensor(spec: TensorSpec, batch: int = 2, generator: torch.Generator | None = None,
                   nodes: int | None = None) -> torch.Tensor:
    """A random tensor fitting ``spec`` with a leading batch of ``batch``.

    For graph data (``edge_index`` / ``graph_index``) ``nodes`` is the node count (the
    batch of the node features); graph ids split the nodes into two graphs.
    """
    g = generator
    if spec.kind == "tokens":
        shape = tuple(8 if d is None else d for d in spec.shape)
        return torch.randint(0, spec.vocab or 2, (batch, *shape), generator=g)
    if spec.kind == "edge_index":
        n = nodes or batch
        edges = max(2 * n, 2)
        return torch.randint(0, n, (2, edges), generator=g)
    if spec.kind == "graph_index":
        n = nodes or batch
        return (torch.arange(n) * 2 // max(n, 1)).long()
    shape = tuple(8 if d is None else d for d in spec.shape)
    return torch.randn(batch, *shape, generator=g)


def example_inputs(graph: ArchGraph, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random inputs for every graph input, in declaration order."""
    gen = torch.Generator().manual_seed(seed)
    return tuple(example_tensor(s, batch, gen, nodes=batch) for s in graph.inputs.values())


def count_params(model: nn.Module | ArchGraph, trainable_only: bool = True) -> int:
    """Number of parameters of a module, or of the module a graph compiles to."""
    if isinstance(model, ArchGraph):
        from nas.compile import compile_graph

        model = compile_graph(model)
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """q k^T and softmax(.) v of scaled-dot-product attention: 2 B H Lq Lk (D + Dv)."""
    b, h, lq, d = query_shape
    lk, dv = key_shape[-2], value_shape[-1]
    return 2 * b * h * lq * lk * d + 2 * b * h * lq * lk * dv


# torch's counter knows the CUDA attention kernels but not the CPU one, whose matmuls
# would count zero; the same formula as the CUDA kernels' fills the gap.
_CPU_SDPA = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
_EXTRA_FORMULAS = {_CPU_SDPA: _sdpa_flops} if _CPU_SDPA is not None else {}


def _batch_of(inputs: tuple, graph: ArchGraph | None) -> int:
    """The batch (the node count for graph data) of example inputs: the leading size of the
    first input that is not an edge list or a graph id vector."""
    kinds = [s.kind for s in graph.inputs.values()] if graph is not None else []
    for i, x in enumerate(inputs):
        if i < len(kinds) and kinds[i] in ("edge_index", "graph_index"):
            continue
        return x.shape[0] if x.dim() else 1
    return 1


def count_flops(model: nn.Module | ArchGraph, inputs: tuple | None = None,
                batch: int = 1) -> int:
    """FLOPs of one forward pass per sample, counted by ``torch.utils.flop_counter``.

    ``inputs`` defaults to ``example_inputs(graph, batch)``; the count is divided by the
    inputs' batch (``batch`` only sizes the default inputs) so it is per sample. Ops the
    counter does not know (elementwise ops, pooling) count zero, as in most published
    FLOP tables; attention's two matmuls count on every device.
    """
    graph = None
    if isinstance(model, ArchGraph):
        from nas.compile import compile_graph

        graph, model = model, compile_graph(model)
        inputs = inputs if inputs is not None else example_inputs(graph, batch)
    elif inputs is None:
        raise ValueError("count_flops(module) needs example inputs; pass inputs=(...)")
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False, custom_mapping=_EXTRA_FORMULAS) as counter, \
                torch.no_grad():
            model(*inputs)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops()) // max(_batch_of(tuple(inputs), graph), 1)
