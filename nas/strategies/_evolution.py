"""Regularized (aging) evolution (Real et al., 2019), surrogate-assisted.

Population of the ``population`` most recent results; a parent is the best of
``sample`` members drawn at random (by non-dominated rank and crowding when there are
several objectives, NSGA-II style); the child is a mutant (optionally of a crossover).
Each ask breeds ``candidates`` distinct unseen children and proposes the one a ridge
surrogate fitted on every result so far ranks highest (``candidates=1`` is the plain
algorithm). Fingerprints already proposed are never proposed again.
"""

from __future__ import annotations

import math
from collections import deque

from nas.strategies._base import Strategy, signed_values
from nas.strategies._pareto import crowding, nondominated_ranks
from nas.strategies._registry import register_strategy
from nas.strategies._surrogate import RidgeSurrogate


@register_strategy("evolution")
class Evolution(Strategy):
    """Regularized evolution with fingerprint dedup and a surrogate ranking the mutants."""

    def __init__(self, space, seed=0, objectives=None, population: int = 10, sample: int = 3,
                 crossover: float = 0.0, candidates: int = 16, surrogate: bool = True,
                 tries: int = 30):
        super().__init__(space, seed, objectives)
        if population < 2 or sample < 1:
            raise ValueError("evolution needs population >= 2 and sample >= 1")
        sample = min(sample, population)
        self.population_size = population
        self.sample_size = sample
        self.crossover_rate = crossover
        # the surrogate ranks by the first objective: with several, select by Pareto rank only
        self.candidates = candidates if surrogate and len(self.objectives) == 1 else 1
        self.tries = tries
        self.population: deque = deque(maxlen=population)  # (decisions, signed values)
        self.history: list = []  # every (decisions, signed values) told
        self.seen: set[str] = set()
        self.model = RidgeSurrogate()
        self._fitted_at = -1

    # ------------------------------------------------------------ asking
    def ask(self) -> dict:
        if len(self.history) < self.population_size:
            return self._fresh()
        children = self._children()
        if not children:
            return self._fresh()
        best = 0
        if len(children) > 1:
            n = len(self.history)
            if self._fitted_at < 0 or n - self._fitted_at >= max(1, n // 20):
                ys = [v[0] for _, v in self.history]
                self.model.fit(self.space.domains, [d for d, _ in self.history], ys)
                self._fitted_at = len(self.history)
            scores = self.model.predict([c for c, _ in children])
            best = max(range(len(children)), key=lambda i: scores[i])
        child, fp = children[best]
        self.seen.add(fp)
        return child

    def _fresh(self) -> dict:
        """A random architecture not proposed before (or any, if none is found)."""
        return self.sample_unseen(self.seen, self.tries)

    def _children(self) -> list[tuple[dict, str]]:
        """Up to ``candidates`` distinct, never-proposed mutants of tournament winners."""
        out: dict[str, dict] = {}
        for _ in range(self.candidates * 2):
            if len(out) >= self.candidates:
                break
            parent = self._select()
            if self.crossover_rate and self.rng.random() < self.crossover_rate:
                parent = self.space.crossover(parent, self._select(), self.rng)
            fp, child = self.space.identify(self.space.mutate(parent, self.rng))
            if fp not in self.seen:
                out.setdefault(fp, child)
        return [(c, fp) for fp, c in out.items()]

    def _select(self) -> dict:
        members = list(self.population)
        picks = [members[self.rng.randrange(len(members))] for _ in range(self.sample_size)]
        if len(self.objectives) == 1:
            return max(picks, key=lambda m: m[1][0])[0]
        values = [m[1] for m in members]
        ranks = nondominated_ranks(values)
        crowd = crowding(values, ranks)
        index = {id(m): i for i, m in enumerate(members)}
        return min(picks, key=lambda m: (ranks[index[id(m)]], -crowd[index[id(m)]]))[0]

    # ------------------------------------------------------------ telling
    def _tell(self, decisions, result) -> None:
        values = signed_values(result, self.objectives)
        self.population.append((dict(decisions), values))
        self.history.append((dict(decisions), values))
        self.seen.add(self.space.fingerprint(decisions))

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        enc = [[d, [v if math.isfinite(v) else None for v in vals]] for d, vals in self.history]
        return {**super().state_dict(), "history": enc, "seen": sorted(self.seen)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.history = [(d, [-math.inf if v is None else v for v in vals])
                        for d, vals in state["history"]]
        self.population = deque(self.history[-self.population_size:],
                                maxlen=self.population_size)
        self.seen = set(state["seen"])
        self._fitted_at = -1

