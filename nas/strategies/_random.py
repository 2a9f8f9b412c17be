"""Random search: uniform over the space, never proposing an architecture twice."""

from __future__ import annotations

from nas.strategies._base import Strategy
from nas.strategies._registry import register_strategy


@register_strategy("random")
class RandomSearch(Strategy):
    """Random search: uniform samples, skipping fingerprints already proposed."""

    def __init__(self, space, seed=0, objectives=None, tries: int = 50):
        super().__init__(space, seed, objectives)
        self.tries = tries
        self.seen: set[str] = set()

    def ask(self) -> dict:
        return self.sample_unseen(self.seen, self.tries)

    def _tell(self, decisions, result) -> None:
        self.seen.add(self.fingerprint(decisions))

    def state_dict(self) -> dict:
        return {**super().state_dict(), "seen": sorted(self.seen)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.seen = set(state["seen"])

