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


def count_flops(model: nn.Module | ArchGraph, inputs: tuple | None = None,
                batch: int = 1) -> int:
    """FLOPs of one forward pass per sample, counted by ``torch.utils.flop_counter``.

    ``inputs`` defaults to ``example_inputs(graph, batch)``; the count is divided by
    ``batch`` so it is per sample. Ops the counter does not know (elementwise ops,
    pooling) count zero, as in most published FLOP tables.
    """
    if isinstance(model, ArchGraph):
        from nas.compile import compile_graph

        graph, model = model, compile_graph(model)
        inputs = inputs if inputs is not None else example_inputs(graph, batch)
    elif inputs is None:
        raise ValueError("count_flops(module) needs example inputs; pass inputs=(...)")
    else:
        batch = inputs[0].shape[0] if inputs and inputs[0].dim() else 1
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(*inputs)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops()) // max(batch, 1)
