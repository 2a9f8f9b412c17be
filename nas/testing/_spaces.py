"""The contract every search space keeps, as a class of pytest tests to subclass."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from nas.compile import compile_graph
from nas.graph import ArchGraph
from nas.profile import example_inputs
from nas.registry import DEFAULT_IO, get_space
from nas.space import Space, SpaceFn
from nas.testing._common import near_file, required

KINDS = ("choice", "bool", "int", "float")  # the kinds of decision domain


def bind_space(spec: str | SpaceFn | Space, in_shape=None, n_out: int | None = None,
               config: dict | None = None, near: Path | None = None) -> Space:
    """The Space ``spec`` names: a registered name, ``"path/file.py:function"`` (a relative
    path is looked up beside ``near`` first, then in the working folder), a space
    function, or a Space (returned as it is). Without ``in_shape`` / ``n_out`` a name
    gets its registered example I/O and a function MNIST-1D's."""
    if isinstance(spec, Space):
        return spec
    config = dict(config or {})
    if callable(spec):
        return Space(spec, DEFAULT_IO[0] if in_shape is None else in_shape,
                     DEFAULT_IO[1] if n_out is None else n_out, **config)
    if not isinstance(spec, str):
        raise TypeError("set `space` to a registered name, 'path/file.py:function', a space "
                        f"function or a nas.Space, not {spec!r}")
    return get_space(near_file(spec, near), in_shape=in_shape, n_out=n_out, **config)


def forward_backward(graph: ArchGraph, batch: int = 3) -> None:
    """Compile ``graph``, run it on random example inputs and backpropagate: the outputs
    are finite and some parameter gets a gradient."""
    torch.manual_seed(0)
    model = compile_graph(graph)
    out = model(*example_inputs(graph, batch=batch))
    total = sum(o.float().square().mean() for o in (out if isinstance(out, tuple) else (out,)))
    assert torch.isfinite(total), "the outputs on random inputs are not finite"
    total.backward()
    assert any(p.grad is not None for p in model.parameters()), "no parameter got a gradient"


class SpaceContract:
    """The tests every search space passes; subclass it in a test module and set ``space``:

    >>> class TestMySpace(SpaceContract):          # doctest: +SKIP
    ...     space = "my_spaces.py:my_space"

    ``space``: a registered name, ``"path/file.py:function"`` (relative to the test file
    or the working folder), a space function or a ``nas.Space``. ``in_shape`` / ``n_out``
    / ``space_config``: what the space is bound to (default: its registered example I/O,
    MNIST-1D's for a function). Set ``allow_invalid = True`` when some decisions describe
    no valid architecture (the tests then draw valid samples). To test many spaces,
    override the ``space_under_test`` fixture with ``params``.
    """

    space: str | SpaceFn | Space | None = None
    in_shape = None
    n_out: int | None = None
    space_config: dict = {}
    allow_invalid: bool = False
    samples: int = 20  # architectures drawn by each test

    @pytest.fixture
    def space_under_test(self):
        """What to test (``space`` by default)."""
        return required(self, "space")

    @pytest.fixture
    def bound_space(self, space_under_test, request) -> Space:
        """The space under test bound to its I/O (a fresh Space for every test)."""
        return bind_space(space_under_test, self.in_shape, self.n_out, self.space_config,
                          near=Path(request.path).parent)

    # ------------------------------------------------------------ helpers
    def draw(self, space: Space, seed: int, n: int | None = None) -> list[dict]:
        """``n`` (default ``samples``) decision sets drawn with ``random.Random(seed)``."""
        rng = random.Random(seed)
        sample = space.sample_valid if self.allow_invalid else space.sample
        return [sample(rng) for _ in range(self.samples if n is None else n)]

    def identity(self, space: Space, decisions: dict) -> str:
        """The fingerprint of ``decisions``; unless ``allow_invalid`` they must build."""
        if self.allow_invalid:
            return space.identify(decisions, allow_invalid=True)[0]
        return space.build(decisions).fingerprint()

    # ------------------------------------------------------------ the contract
    def test_has_a_docstring(self, bound_space):
        doc = (bound_space.fn.__doc__ or "").strip()
        assert doc, f"space '{bound_space.name}' needs a docstring (`nas spaces` shows its " \
                    "first line)"

    def test_samples_build_valid_graphs_deterministically(self, bound_space):
        fingerprints = set()
        for d in self.draw(bound_space, 1234):
            g = bound_space.build(d).validate()
            assert g.meta["decisions"] == d, "the graph's meta must hold its decisions"
            assert bound_space.build(d) == g, f"building {d} twice gave two graphs"
            fingerprints.add(g.fingerprint())
        assert len(fingerprints) > 1, f"{self.samples} samples gave one architecture"

    def test_json_round_trip_keeps_graph_and_fingerprint(self, bound_space):
        for d in self.draw(bound_space, 1234):
            g = bound_space.build(d)
            back = ArchGraph.from_json(g.to_json())
            assert back == g and back.fingerprint() == g.fingerprint()

    def test_identify_agrees_with_build(self, bound_space):
        for d in self.draw(bound_space, 1234):
            graph, reached = bound_space.resolve(d)
            assert reached == d, "sampled decisions are exactly the ones a build reaches"
            assert bound_space.identify(d) == (graph.fingerprint(), d)

    def test_samples_compile_and_train_a_step(self, bound_space):
        for d in self.draw(bound_space, 1234):
            forward_backward(bound_space.build(d))

    def test_same_seed_same_samples(self, bound_space):
        s = bound_space

        def fresh() -> Space:
            return Space(s.fn, s.in_shape, s.n_out, name=s.name, **s.config)

        a = [fresh().sample(random.Random(7)) for _ in range(3)]
        assert a[0] == a[1] == a[2], "a seed must give the same sample in every Space"
        r1, r2 = random.Random(3), random.Random(3)
        assert [s.sample(r1) for _ in range(5)] == [s.sample(r2) for _ in range(5)]
        assert s.mutate(a[0], 11) == s.mutate(a[0], 11)

    def test_mutate_gives_another_architecture(self, bound_space):
        rng = random.Random(1234)
        parents = self.draw(bound_space, 99, 5)
        for a in parents:
            m = bound_space.mutate(a, rng)
            assert self.identity(bound_space, m) != self.identity(bound_space, a), \
                f"mutating {a} gave the same architecture"
            assert any(m.get(k) != v for k, v in a.items()) or set(m) != set(a)
        mutant = bound_space.mutate(parents[0], rng)
        if not self.allow_invalid or bound_space.try_resolve(mutant)[2] is None:
            forward_backward(bound_space.build(mutant))

    def test_crossover_gives_resolved_decisions(self, bound_space):
        rng = random.Random(1234)
        samples = self.draw(bound_space, 98, 10)
        for a, b in zip(samples[:5], samples[5:]):
            child = bound_space.crossover(a, b, rng)
            assert child == bound_space.complete(child), "a child must be fully resolved"
            if not self.allow_invalid:
                assert set(child) == set(bound_space.build(child).meta["decisions"])

    def test_describe_lists_the_decisions(self, bound_space):
        desc = bound_space.describe(samples=8, max_enumerate=50)
        assert desc["decisions"], "a space needs at least one decision"
        for name, d in desc["decisions"].items():
            assert d["kind"] in KINDS, f"decision '{name}' has kind {d['kind']!r}"

    def test_a_tiny_supernet_trains_and_extracts(self, bound_space):
        """One-shot search works on the space: a supernet built from a few samples
        trains on two sampled paths, and a candidate extracted from it computes what
        the candidate on the shared store computes."""
        from nas.supernet import SuperNet

        net = SuperNet(bound_space, rule="slice", probe=4, seed=0)
        before = [p.detach().clone() for p in net.store.values()]
        opt = torch.optim.SGD(net.parameters(), lr=1e-3)
        for graphs, _ in zip(net.paths("uniform", seed=0), range(2)):
            opt.zero_grad(set_to_none=True)
            _square_mean(net.module_for(graphs[0])(*example_inputs(graphs[0], 3))).backward()
            opt.step()
        assert any(not torch.equal(p, b) for p, b in zip(net.store.values(), before)), \
            "two training steps left every shared weight as it was"
        graph = graphs[0]
        inputs = example_inputs(graph, batch=3)
        outs = []
        for module in (net.module_for(graph), net.extract(graph)):
            torch.manual_seed(0)  # the same dropout masks, noise, ...
            with torch.no_grad():
                outs.append(module(*inputs))
        for a, b in zip(*(o if isinstance(o, tuple) else (o,) for o in outs), strict=True):
            assert torch.allclose(a.float(), b.float(), atol=1e-5), \
                "the extracted candidate computes something else than it does on the store"


def _square_mean(out) -> torch.Tensor:
    return sum(o.float().square().mean() for o in (out if isinstance(out, tuple) else (out,)))
