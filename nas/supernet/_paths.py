"""What each supernet training step trains: the paths (candidate graphs) of one step.

- ``"uniform"`` (SPOS, Guo et al. 2020): one uniformly sampled candidate a step.
- ``"fair"`` (FairNAS strict fairness, Chu et al. 2021): ``m`` candidates a step, ``m``
  the most options of any categorical decision; each decision's options are dealt
  out over the ``m`` candidates in a random order, so every option of a decision with
  ``m`` options is trained exactly once a step (one with fewer options: each at least
  once, the rest drawn at random). Decisions a candidate does not reach are skipped;
  ints with more than ``FAIR_MAX_OPTIONS`` values and floats are drawn at random.
- ``"sandwich"`` (BigNAS / slimmable networks): the largest and the smallest candidate
  (by parameters, among the supernet's probe) and ``n_random`` random ones.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from nas._domain import Domain
from nas.graph import ArchGraph
from nas.space import DictProposal, Space

SAMPLINGS = ("uniform", "fair", "sandwich")
FAIR_MAX_OPTIONS = 16  # decisions with more values than this are not dealt out fairly


def random_graph(space: Space, rng: random.Random) -> ArchGraph:
    """One uniformly sampled valid candidate."""
    return space.build(space.sample_valid(rng))


def uniform_paths(space: Space, rng: random.Random) -> Iterator[list[ArchGraph]]:
    while True:
        yield [random_graph(space, rng)]


def fair_assignments(domains: dict[str, Domain], rng: random.Random) -> list[dict]:
    """The decisions of one fair step: one dict per path, each categorical decision's
    options spread over the paths (each option once when it has the most options)."""
    dealt = {n: d.values() for n, d in sorted(domains.items())
             if d.size() is not None and d.size() <= FAIR_MAX_OPTIONS}
    m = max((len(v) for v in dealt.values()), default=1)
    columns = {}
    for name, values in dealt.items():
        column = list(values) + [values[rng.randrange(len(values))]
                                 for _ in range(m - len(values))]
        rng.shuffle(column)
        columns[name] = column
    return [{n: c[j] for n, c in columns.items()} for j in range(m)]


def fair_paths(space: Space, domains: dict[str, Domain], rng: random.Random
               ) -> Iterator[list[ArchGraph]]:
    while True:
        step = []
        for decisions in fair_assignments(domains, rng):
            graph, _, error = space.try_resolve(DictProposal(decisions, rng))
            step.append(random_graph(space, rng) if error is not None else graph)
        yield step


def sandwich_paths(space: Space, largest: ArchGraph, smallest: ArchGraph,
                   rng: random.Random, n_random: int = 2) -> Iterator[list[ArchGraph]]:
    while True:
        yield [largest, smallest] + [random_graph(space, rng) for _ in range(n_random)]
