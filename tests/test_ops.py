"""Every registered primitive: forward, backward, and inferred shape == real shape."""

from __future__ import annotations

import pytest
import torch

from nas import ArchGraph, compile_graph, get_op, list_ops
from nas.profile import example_tensor

CASES = [(name, i) for name in list_ops() for i in range(len(get_op(name).examples))]


def test_every_op_has_an_example_and_a_doc():
    for name in list_ops():
        spec = get_op(name)
        assert spec.examples, f"op '{name}' has no examples; the registry tests cannot cover it"
        assert spec.doc, f"op '{name}' has no doc"


def _graph_for(name: str, params: dict, specs) -> ArchGraph:
    g = ArchGraph()
    ins = [g.add_input(f"in{i}", s.shape, s.kind, s.vocab) for i, s in enumerate(specs)]
    g.add_node("node", name, params, ins)
    g.set_output("y", "node")
    return g


@pytest.mark.parametrize("name,index", CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_op_forward_backward_and_shape(name, index):
    params, specs = get_op(name).examples[index]
    torch.manual_seed(0)
    graph = _graph_for(name, params, specs)
    inferred = graph.output_shapes()["y"]
    module = compile_graph(graph)
    gen = torch.Generator().manual_seed(index)
    batch = 3
    inputs = [example_tensor(s, batch, gen, nodes=batch) for s in specs]
    for x in inputs:
        if x.is_floating_point():
            x.requires_grad_(True)
    out = module(*inputs)
    assert torch.isfinite(out).all()
    real = tuple(out.shape[1:])
    expected = tuple(real[i] if d is None else d for i, d in enumerate(inferred))
    assert real == expected, f"{name}: inferred {inferred}, got {real}"
    out.float().square().mean().backward()
    float_inputs = [x for x in inputs if x.is_floating_point()]
    params_with_grad = [p for p in module.parameters() if p.requires_grad]
    grads = [x.grad for x in float_inputs] + [p.grad for p in params_with_grad]
    if name != "zero":
        assert any(g is not None and g.abs().sum() > 0 for g in grads), (
            f"{name}: no gradient reached the inputs or parameters")
