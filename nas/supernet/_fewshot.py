"""Few-shot NAS (Zhao et al. 2021): one supernet per option of a split decision.

One supernet makes every candidate share weights with candidates very unlike it (with
and without batch norm, one block or four), and that compromise is what spoils the
ranking. Few-shot NAS splits the space on one decision into a few sub-spaces, each
with a supernet of its own: a candidate then shares weights only with candidates that
made the same choice. ``FewShot(space, split)`` holds them; a sub-supernet is an
ordinary ``SuperNet`` over a ``PinnedSpace`` (the space with the split decision fixed),
so it is trained and scored exactly as one supernet is.
"""

from __future__ import annotations

import random
from typing import Any

from torch import nn

from nas._domain import Domain
from nas.graph import ArchGraph
from nas.space import DictProposal, Proposal, Space
from nas.supernet._supernet import SuperNet

SPLIT_MAX_OPTIONS = 8  # a split decision with more options would make too many supernets


class _Pinned:
    """A proposal answering ``pins`` itself and every other decision as ``inner`` does."""

    def __init__(self, inner: Proposal, pins: dict[str, Any]):
        self.inner, self.pins = inner, pins

    def decide(self, name: str, domain: Domain) -> Any:
        return self.pins[name] if name in self.pins else self.inner.decide(name, domain)


class PinnedSpace(Space):
    """``base`` with the decisions in ``pins`` fixed: every candidate it builds (sampled,
    or from a decisions dict) takes the pinned values where it reaches them."""

    def __init__(self, base: Space, pins: dict[str, Any]):
        super().__init__(base.fn, base.in_shape, base.n_out, base.name, **base.config)
        self.pins = dict(pins)

    def _attempt(self, proposal):
        if isinstance(proposal, dict):
            proposal = DictProposal(proposal)
        return super()._attempt(_Pinned(proposal, self.pins))


def split_values(space: Space, split: str, samples: int = 50, seed: int = 0) -> list:
    """The options of decision ``split`` (met within ``samples`` sampled candidates);
    ValueError naming the decisions there are when it is not one with a few options."""
    rng = random.Random(seed)
    for _ in range(samples):
        if split in space.domains:
            break
        space.sample(rng)
    domain = space.domains.get(split)
    if domain is None:
        raise ValueError(f"few-shot split: space '{space.name}' has no decision {split!r}; "
                         f"its decisions: {', '.join(sorted(space.domains))}")
    size = domain.size()
    if size is None or not 2 <= size <= SPLIT_MAX_OPTIONS:
        raise ValueError(f"few-shot split: decision {split!r} ({domain}) must have 2 to "
                         f"{SPLIT_MAX_OPTIONS} options; pick a choice, a bool or a small int")
    return list(domain.values())


class FewShot(nn.Module):
    """One ``SuperNet`` per option of decision ``split`` (``options`` are SuperNet's:
    rule, probe, seed, norms, max_mb). ``parts[i]`` sees only candidates whose
    ``split`` is ``values[i]``; ``supernet_for(graph)`` is the one a candidate of the
    whole space belongs to (the first, for a candidate that never reaches ``split``)."""

    def __init__(self, space: Space, split: str, **options):
        super().__init__()
        self.space, self.split = space, split
        self.values = split_values(space, split)
        self.parts = nn.ModuleList([SuperNet(PinnedSpace(space, {split: v}), **options)
                                    for v in self.values])

    def supernet_for(self, graph: ArchGraph) -> SuperNet:
        """The sub-supernet holding ``graph``'s weights."""
        value = (graph.meta or {}).get("decisions", {}).get(self.split, self.values[0])
        return self.parts[self.values.index(value)]

    @property
    def store_mb(self) -> float:
        return sum(p.store_mb for p in self.parts)
