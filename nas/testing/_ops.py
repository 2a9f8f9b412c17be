"""The contract every primitive keeps, as a class of pytest tests to subclass."""

from __future__ import annotations

import pytest
import torch

from nas.compile import compile_graph
from nas.graph import ArchGraph
from nas.ops import OpSpec, TensorSpec, get_op
from nas.profile import example_tensor
from nas.testing._common import required


def op_graph(op: str, params: dict, specs: list[TensorSpec]) -> ArchGraph:
    """One node ``op`` (id ``node``) on one graph input per spec (``in0``, ``in1``, ...),
    its output ``y``: how an op's example is run."""
    g = ArchGraph()
    ins = [g.add_input(f"in{i}", s.shape, s.kind, s.vocab) for i, s in enumerate(specs)]
    g.add_node("node", op, params, ins)
    g.set_output("y", "node")
    return g


class OpContract:
    """The tests every registered op passes; subclass it in a test module and set ``op``:

    >>> class TestSnake(OpContract):                # doctest: +SKIP
    ...     op = "snake"

    Each of the op's ``examples`` (params and input specs) is compiled and run forward
    and backward: finite outputs, the inferred shape is the real one, and a gradient
    reaches the inputs or parameters (except for ops in ``gradient_free``). To test many
    ops, override the ``op_under_test`` fixture with ``params``.
    """

    op: str | OpSpec | None = None
    gradient_free: tuple[str, ...] = ("zero",)  # ops whose output ignores their inputs
    batch: int = 3

    @pytest.fixture
    def op_under_test(self) -> str | OpSpec:
        """What to test (``op`` by default)."""
        return required(self, "op")

    @pytest.fixture
    def op_spec(self, op_under_test) -> OpSpec:
        """The registered spec (an OpSpec must be registered: graphs name ops)."""
        name = op_under_test.name if isinstance(op_under_test, OpSpec) else op_under_test
        return get_op(name)

    # ------------------------------------------------------------ the contract
    def test_has_examples_and_a_doc(self, op_spec):
        assert op_spec.examples, f"op '{op_spec.name}' has no examples to test it with"
        assert op_spec.doc, f"op '{op_spec.name}' has no doc (`nas ops` shows it)"

    def test_examples_run_with_the_inferred_shape(self, op_spec):
        for index, (params, specs) in enumerate(op_spec.examples):
            self.check_example(op_spec.name, index, params, specs)

    def check_example(self, name: str, index: int, params: dict, specs) -> None:
        """Forward and backward of example ``index``: finite, shaped as inferred."""
        where = f"op '{name}' example {index}"
        torch.manual_seed(0)
        graph = op_graph(name, params, specs)
        inferred = graph.output_shapes()["y"]
        module = compile_graph(graph)
        gen = torch.Generator().manual_seed(index)
        inputs = [example_tensor(s, self.batch, gen, nodes=self.batch) for s in specs]
        for x in inputs:
            if x.is_floating_point():
                x.requires_grad_(True)
        out = module(*inputs)
        assert torch.isfinite(out).all(), f"{where}: non-finite outputs"
        real = tuple(out.shape[1:])
        expected = tuple(real[i] if d is None else d for i, d in enumerate(inferred))
        assert real == expected, f"{where}: inferred {inferred}, got {real}"
        out.float().square().mean().backward()
        if name in self.gradient_free:
            return
        grads = [x.grad for x in inputs if x.is_floating_point()]
        grads += [p.grad for p in module.parameters() if p.requires_grad]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), \
            f"{where}: no gradient reached the inputs or parameters"
