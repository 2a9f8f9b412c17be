"""Contract suite: every registered space samples, builds, compiles, trains a step,
round-trips through JSON, mutates and crosses over, deterministically per seed."""

from __future__ import annotations

import random

import pytest
import torch

import nas
from nas import ArchGraph, compile_graph, example_inputs, list_spaces

SAMPLES = 20


def _outputs(out):
    return out if isinstance(out, tuple) else (out,)


def _forward_backward(graph: ArchGraph) -> None:
    torch.manual_seed(0)
    model = compile_graph(graph)
    inputs = example_inputs(graph, batch=3)
    total = sum(o.float().square().mean() for o in _outputs(model(*inputs)))
    assert torch.isfinite(total)
    total.backward()
    assert any(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name", list_spaces())
def test_space_contract(name):
    space = nas.get_space(name)
    rng = random.Random(1234)
    fingerprints = set()
    samples = []
    for _ in range(SAMPLES):
        d = space.sample(rng)
        g = space.build(d)
        assert g.meta["decisions"] == d
        assert ArchGraph.from_json(g.to_json()) == g
        assert space.build(d) == g  # deterministic build
        fingerprints.add(g.fingerprint())
        samples.append(d)
    for d in samples:  # every sample compiles and trains a step
        _forward_backward(space.build(d))
    assert len(fingerprints) > 1, "20 samples gave one architecture"
    for a, b in zip(samples[:5], samples[5:10]):
        m = space.mutate(a, rng)
        assert space.build(m).fingerprint() != space.build(a).fingerprint()
        assert any(m.get(k) != v for k, v in a.items()) or set(m) != set(a)
        child = space.crossover(a, b, rng)
        assert child == space.complete(child)  # fully resolved
        assert set(child) == set(space.build(child).meta["decisions"])
    _forward_backward(space.build(space.mutate(samples[0], rng)))


@pytest.mark.parametrize("name", list_spaces())
def test_same_seed_same_samples(name):
    a = [nas.get_space(name).sample(random.Random(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    s = nas.get_space(name)
    r1, r2 = random.Random(3), random.Random(3)
    assert [s.sample(r1) for _ in range(5)] == [s.sample(r2) for _ in range(5)]
    assert s.mutate(a[0], 11) == s.mutate(a[0], 11)


@pytest.mark.parametrize("name", list_spaces())
def test_space_has_docstring_and_describe(name):
    assert nas.space_doc(name), f"space '{name}' needs a docstring"
    desc = nas.get_space(name).describe(samples=8, max_enumerate=50)
    assert desc["decisions"]
    for d in desc["decisions"].values():
        assert d["kind"] in ("choice", "bool", "int", "float")
