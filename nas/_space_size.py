"""How many architectures a define-by-run space holds: its decision tree walked with a
proposal that replays a prefix of values and stops at the next decision.

``count_leaves`` counts the tree's leaves exactly (up to a limit); ``estimate_leaves``
is Knuth's random-walk estimate, which ``Space.describe`` uses to decide whether the
exact count is worth trying. A space is anything with ``_attempt(proposal)`` (run its
function; an invalid architecture is a leaf too), so this module never imports
``nas.space``.
"""

from __future__ import annotations

import random
from typing import Any

from nas._domain import Domain


class Branch(Exception):
    """Raised at the first decision past the replayed prefix: the tree branches here."""

    def __init__(self, domain: Domain):
        self.domain = domain


class PrefixProposal:
    """Replays a prefix of values, then stops at the next decision (tree enumeration)."""

    def __init__(self, prefix: list):
        self.prefix = prefix
        self.i = 0

    def decide(self, name: str, domain: Domain) -> Any:
        if self.i < len(self.prefix):
            self.i += 1
            return self.prefix[self.i - 1]
        raise Branch(domain)


def estimate_leaves(space, rng: random.Random, probes: int = 32) -> float | None:
    """Knuth's (1975) estimate of the number of leaves of the decision tree: the mean,
    over random root-to-leaf walks, of the product of the branching factors met (exact
    for a uniform tree); None when some reached decision is continuous (infinite)."""
    total = 0.0
    for _ in range(probes):
        prefix: list = []
        product = 1.0
        while True:
            try:
                space._attempt(PrefixProposal(prefix))  # an invalid leaf is a leaf
            except Branch as branch:
                n = branch.domain.size()
                if n is None:
                    return None
                product *= n
                prefix.append(branch.domain.value_at(rng.randrange(n)))
                continue
            break
        total += product
    return total / probes


def count_leaves(space, limit: int) -> int | None:
    """Count the leaves of the decision tree, or None past ``limit`` or if infinite."""
    count = 0
    stack: list[list] = [[]]
    while stack:
        prefix = stack.pop()
        probe = PrefixProposal(prefix)
        try:
            space._attempt(probe)  # an invalid leaf is a leaf
        except Branch as branch:
            if branch.domain.size() is None:
                return None
            for v in reversed(branch.domain.values()):
                stack.append(prefix + [v])
            continue
        count += 1
        if count > limit:
            return None
    return count


__all__ = ["Branch", "PrefixProposal", "count_leaves", "estimate_leaves"]
