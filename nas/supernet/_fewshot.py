"""Few-shot NAS (Zhao et al. 2021): one supernet per option of a split decision.

One supernet makes every candidate share weights with candidates very unlike it (with
and without batch norm, one block or four), and that compromise is what spoils the
ranking. Few-shot NAS splits the space on one decision into a few sub-spaces, each
with a supernet of its own: a candidate then shares weights only with candidates that
made the same choice. ``FewShot(space, split)`` holds them; a sub-supernet is an
ordinary ``SuperNet`` over a ``PinnedSpace`` (the space with the split decision fixed),
so it is trained and scored exactly as one supernet is.

``inherit(parent)`` starts every sub-supernet from a trained supernet of the whole
space, as Zhao et al. do (split a trained supernet, then train each part on): the
parts then refine shared knowledge instead of learning from nothing on a share of the
passes.
"""

from __future__ import annotations

import random
from typing import Any

import torch
from torch import nn

from nas._domain import Domain
from nas.graph import ArchGraph
from nas.space import DictProposal, Proposal, Space
from nas.supernet._store import fan_in_scale, slice_index
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

    def inherit(self, parent: SuperNet) -> float:
        """Start every sub-supernet from ``parent``'s trained store (a SuperNet of the
        whole space with the same rule, norms, node ids and rescaling): each store
        tensor takes the parent's tensor of the same key, cut to its shape as a
        candidate's slice is (``slice_index``), where it fits; with ``rescale`` times the
        fan-in ratio, so every candidate starts computing what it computed on
        ``parent``. Returns the share of the parts' store values inherited."""
        for attr in ("rule", "norms", "node_ids", "rescale"):
            if getattr(parent, attr) != getattr(self.parts[0], attr):
                raise ValueError(f"few-shot inherit: the parent supernet's {attr} is "
                                 f"{getattr(parent, attr)!r}, the parts' "
                                 f"{getattr(self.parts[0], attr)!r}; build both alike")
        done = total = 0
        with torch.no_grad():
            for part in self.parts:
                for key, tensor in part.store.items():
                    total += tensor.numel()
                    src = parent.store.get(key, None)
                    if src is None or src.dim() != tensor.dim() or any(
                            a > b for a, b in zip(tensor.shape, src.shape, strict=True)):
                        continue  # a shape only this part's probe met: its own init
                    index = slice_index(tuple(tensor.shape), tuple(src.shape))
                    scale = fan_in_scale(tuple(tensor.shape), tuple(src.shape)) \
                        if part.rescale and index is not None else 1.0
                    tensor.copy_((src if index is None else src[index]).to(tensor) * scale)
                    done += tensor.numel()
        return done / total if total else 1.0
