"""Compile an ArchGraph into a plain ``nn.Module``."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from nas._errors import GraphError
from nas.graph import ArchGraph, Node
from nas.ops import get_op

MakeNode = Callable[[str, Node, list], nn.Module]  # (node id, node, input shapes) -> module


class GraphModule(nn.Module):
    """An ``nn.Module`` running an ArchGraph's nodes in topological order.

    Each node's module is a submodule named after the node id, built by its op (or by
    ``make``, which may hand out modules it keeps: a supernet's shared ones).
    ``forward`` takes the graph inputs positionally, in declaration order, and returns
    the single output or a tuple of outputs in declaration order (``output_names``).
    """

    def __init__(self, graph: ArchGraph, make: MakeNode | None = None):
        super().__init__()
        shapes = graph.infer_shapes()  # validates; raises naming the node
        self.input_names = tuple(graph.inputs)
        self.output_names = tuple(graph.outputs)
        self.shapes = shapes
        slot = {name: i for i, name in enumerate(self.input_names)}
        plan = []
        for nid in graph.topological_order():
            node = graph.node(nid)
            spec = get_op(node.op, node=nid)
            in_shapes = [shapes[i] for i in node.inputs]
            try:
                module = spec.make(node.params, in_shapes) if make is None else \
                    make(nid, node, in_shapes)
            except (ValueError, TypeError, RuntimeError) as exc:
                shown = ", ".join(str(tuple(s)) for s in in_shapes)
                raise GraphError(f"op '{node.op}' could not be built for input shape(s) "
                                 f"{shown}: {exc}", node=nid) from None
            self.add_module(nid, module)
            slot[nid] = len(slot)
            plan.append((module, tuple(slot[i] for i in node.inputs)))
        self._plan = plan
        self._n_slots = len(slot)
        self._out_slots = tuple(slot[graph.outputs[o]] for o in self.output_names)
        self._graph_json = graph.to_json()

    @property
    def graph(self) -> ArchGraph:
        """A fresh copy of the architecture this module was compiled from."""
        return ArchGraph.from_json(self._graph_json)

    def forward(self, *inputs: torch.Tensor):
        if len(inputs) != len(self.input_names):
            raise TypeError(f"expected {len(self.input_names)} input(s) "
                            f"{list(self.input_names)}, got {len(inputs)}")
        values: list = list(inputs)
        for module, srcs in self._plan:  # modules in topological order, input slots
            if len(srcs) == 1:
                values.append(module(values[srcs[0]]))
            else:
                values.append(module(*[values[i] for i in srcs]))
        if len(self._out_slots) == 1:
            return values[self._out_slots[0]]
        return tuple(values[i] for i in self._out_slots)


def compile_graph(graph: ArchGraph) -> GraphModule:
    """Build the ``nn.Module`` for ``graph``; shape errors name the node and the shapes."""
    return GraphModule(graph)
