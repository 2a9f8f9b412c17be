"""Chained growth: a child is its parent plus new edits (Real et al. 2017's Lamarckian
population), not a fresh edit sequence from the seed.

A ``GraphSpace`` candidate is a list of edits applied to the seed. Mutating any one of
its decisions (``Space.mutate``) mostly rewrites an early edit, so the child shares only
a short prefix with its trained parent and inherits little of its training; and the
number of edits bounds how far a search can grow. With ``chain=True``:

- a mutant keeps all of its parent's edits and appends ``append`` new ones at random (or,
  when the parent has ``max_edits`` already, redraws its last one), so the trained
  parent lies on the child's way and the child starts from its weights; generation
  after generation a line of descent adds edits and keeps its training;
- a random sample (a strategy's warm-up) is at most ``first`` edits from the seed, so
  the first generation stays near the trained seed.

The decisions are those of the plain space (``edit_{i}``, ``edit_{i}_site``,
``edit_{i}_arg``), so fingerprints, lineage and every strategy work unchanged; only
evolution's (and any strategy's) mutation and warm-up samples change.
"""

from __future__ import annotations

import random

from nas.space import DictProposal, RandomProposal


def edit_count(decisions: dict, max_edits: int) -> int:
    """The number of edit positions ``decisions`` fill (up to the first ``"none"``)."""
    for i in range(max_edits):
        if decisions.get(f"edit_{i}", "none") == "none":
            return i
    return max_edits


def _without(decisions: dict, i: int, max_edits: int) -> dict:
    """``decisions`` less those of edit position ``i`` and later."""
    drop = {f"edit_{j}{s}" for j in range(i, max_edits) for s in ("", "_site", "_arg")}
    return {k: v for k, v in decisions.items() if k not in drop}


def extend(decisions: dict, edits: tuple[str, ...], max_edits: int, append: int,
           rng: random.Random) -> dict:
    """The proposal of a child: ``decisions``' edits, then ``append`` random ones (their
    sites and variants left to the proposal's rng), then ``"none"``. At ``max_edits``
    the last edit is drawn again instead."""
    n = edit_count(decisions, max_edits)
    start = n if n < max_edits else n - 1
    child = _without(decisions, start, max_edits)
    stop = min(max_edits, max(start + 1, n + append))
    for i in range(start, stop):
        child[f"edit_{i}"] = edits[rng.randrange(len(edits))]
    if stop < max_edits:
        child[f"edit_{stop}"] = "none"
    return child


def first_proposal(proposal, first: int, max_edits: int):
    """A random proposal held to ``first`` edits (others pass through unchanged)."""
    if type(proposal) is not RandomProposal or first >= max_edits:
        return proposal
    return DictProposal({f"edit_{first}": "none"}, proposal.rng)
