"""Hill climbing by generations (NASH: Elsken, Metzen and Hutter 2017, "Simple and
efficient architecture search for convolutional neural networks").

The search keeps one incumbent. A generation is ``neighbours`` distinct, never-proposed
mutants of it; when all of them are told, the best of the generation succeeds it (even
when it scores below the incumbent, a comma strategy; ``elitist=True`` keeps the
incumbent unless a child beats it). The first generation is ``warmup`` random samples
(default: ``neighbours``), the best of which is the first incumbent.

Why it suits weight inheritance (``nas.GraphSpace(chain=True)``, ``nas search --from``):
there a child starts from its parent's trained weights and trains a short budget more,
so a candidate's score mixes its architecture with the training its line of descent
accumulated. Regularized evolution ranks members of different ages against each other
and so favours the oldest line; the children of one generation share their parent and
their training, so ranking them judges only the edit each one made. NASH's comma
selection (every generation moves to a child) is what lets a line keep its training.

Asynchronous workers: a proposal asked for while a generation's children are still
training is one more child of the same incumbent, of the same generation; a result told
after its generation closed is kept (``best`` and the state) but changes no incumbent.
Several objectives: the first one ranks (like the single-objective strategies).
"""

from __future__ import annotations

import math

from nas.strategies._base import Strategy, pruned_values, signed_values
from nas.strategies._evolution import tournament_key
from nas.strategies._registry import register_strategy


@register_strategy("hillclimb")
class HillClimb(Strategy):
    """Hill climbing (NASH): generations of mutants of the incumbent, the best succeeds it."""

    def __init__(self, space, seed=0, objectives=None, neighbours: int = 8,
                 warmup: int | None = None, elitist: bool = False, tries: int = 30):
        super().__init__(space, seed, objectives)
        if neighbours < 1:
            raise ValueError(f"hillclimb needs neighbours >= 1, not {neighbours}")
        self.neighbours = int(neighbours)
        self.warmup = self.neighbours if warmup is None else max(1, int(warmup))
        self.elitist = bool(elitist)
        self.tries = tries
        self.generation = 0  # 0: the warm-up (random samples)
        self.incumbent: list | None = None  # [decisions, tournament key]
        self.children: list = []  # this generation's told [decisions, key]
        self.born: dict[str, int] = {}  # fingerprint -> generation it was proposed in
        self.seen: set[str] = set()

    # ------------------------------------------------------------ asking
    def ask(self) -> dict:
        if self.incumbent is None:
            decisions = self.sample_unseen(self.seen, self.tries)
        else:
            decisions = self._mutant(self.incumbent[0])
        fp = self.fingerprint(decisions)
        self.seen.add(fp)  # workers asking before a result is told get other children
        self.born[fp] = self.generation
        return decisions

    def _mutant(self, parent: dict) -> dict:
        """A never-proposed mutant of ``parent`` (a random unseen sample when none is found
        in ``tries``: the incumbent's neighbourhood is used up)."""
        return self.unseen_near(parent, self.seen, self.tries)

    # ------------------------------------------------------------ telling
    def _tell(self, decisions, result) -> None:
        fp = self.fingerprint(decisions)
        self.seen.add(fp)
        if self.born.pop(fp, self.generation) != self.generation:
            return  # late: its generation has closed
        partial = pruned_values(result, self.objectives)
        key = tournament_key(signed_values(result, self.objectives),
                             None if partial is None else (result.fidelity, partial))
        self.children.append([dict(decisions), list(key)])
        size = self.warmup if self.incumbent is None else self.neighbours
        if len(self.children) >= size:
            self._close()

    def _close(self) -> None:
        """The generation is complete: its best child succeeds the incumbent (unless every
        child failed, or, elitist, none beat it)."""
        best = max(self.children, key=lambda c: tuple(c[1]))
        keep = self.incumbent is not None and (
            best[1][0] == 0 or (self.elitist and tuple(best[1]) <= tuple(self.incumbent[1])))
        if not keep:
            self.incumbent = best
        self.children = []
        self.generation += 1

    @property
    def best(self) -> tuple[float, dict | None]:
        """The incumbent's first objective (signed: higher is better) and decisions."""
        if self.incumbent is None:
            return -math.inf, None
        key = self.incumbent[1]
        return (key[1] if key[0] == 2 else -math.inf), self.incumbent[0]

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {**super().state_dict(), "generation": self.generation,
                "incumbent": _enc(self.incumbent), "children": [_enc(c) for c in self.children],
                "born": dict(sorted(self.born.items())), "seen": sorted(self.seen)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.generation = state["generation"]
        self.incumbent = _dec(state["incumbent"])
        self.children = [_dec(c) for c in state["children"]]
        self.born = dict(state["born"])
        self.seen = set(state["seen"])


def _enc(member: list | None) -> list | None:
    """A [decisions, key] member JSON-able (-inf as None)."""
    if member is None:
        return None
    return [member[0], [v if math.isfinite(v) else None for v in member[1]]]


def _dec(member: list | None) -> list | None:
    if member is None:
        return None
    return [member[0], [-math.inf if v is None else v for v in member[1]]]
