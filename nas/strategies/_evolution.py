"""Regularized (aging) evolution (Real et al., 2019), surrogate-assisted.

Population of the ``population`` most recent results; a parent is the best of
``sample`` members drawn at random (by non-dominated rank and crowding when there are
several objectives, NSGA-II style, drawn from the population plus the Pareto front
found so far); the child is a mutant (optionally of a crossover). Each ask breeds
``candidates`` distinct unseen children and proposes the one ridge surrogates fitted on
every result so far rank highest (one per objective, scalarized ParEGO-style with
random weights when there are several; ``candidates=1`` is the plain algorithm).
Fingerprints already proposed are never proposed again.

Breeding starts after ``warmup`` random architectures (default: the population size).
Cost-aware (``cost``, off by default; e.g. the evaluators' ``train_time_s`` metric):
when results carry that cost, a third ridge model predicts its logarithm and the child proposed is
the cheapest of the surrogate's top quarter, so that under a wall-clock budget the
search evaluates more candidates (and fewer that a time cap cuts short) among those it
cannot tell apart by predicted fitness.

A result whose training a time cap cut short (``Result.capped``) stays in the population
(its score is a lower bound of the architecture's: if it still wins a tournament,
breeding from it is justified) but not in the surrogates' training data, which learn
what a full training scores; like a failed result's, its score is left out there.

A pruned result (multi-fidelity: a pruner stopped its training at some step) is told
with its last value and its fidelity (``Result.fidelity``). Like BOHB and DEHB, which
never compare scores of different budgets directly (a model, or a subpopulation, per
budget), a tournament ranks a pruned member below every finished one and above every
failure, and pruned members among themselves by the fidelity they reached, then their
last value: the order of ASHA's rungs, and of optuna's TPE for pruned trials. The
surrogates take its last value as a lower bound of what a full training would score,
raised to the median of the finished results (the floor every target below it gets):
a pruner stops what it judges below its peers, and that verdict, "the weaker half
unless its partial score says better", is what the model learns; a ridge model with
the fidelity as one more feature would only shift its intercept.
"""

from __future__ import annotations

import bisect
import math
from collections import deque

from nas.strategies._base import Strategy, pruned_values, signed_values
from nas.strategies._pareto import crowding, dominates, nondominated_ranks
from nas.strategies._registry import register_strategy
from nas.strategies._surrogate import RidgeSurrogate


@register_strategy("evolution")
class Evolution(Strategy):
    """Regularized evolution with fingerprint dedup and a surrogate ranking the mutants."""

    def __init__(self, space, seed=0, objectives=None, population: int = 10, sample: int = 3,
                 crossover: float = 0.0, candidates: int = 16, surrogate: bool = True,
                 tries: int = 30, warmup: int | None = None,
                 cost: str | None = None):
        super().__init__(space, seed, objectives)
        if population < 2 or sample < 1:
            raise ValueError("evolution needs population >= 2 and sample >= 1")
        sample = min(sample, population)
        self.population_size = population
        self.sample_size = sample
        self.crossover_rate = crossover
        self.candidates = candidates if surrogate else 1
        self.tries = tries
        self.warmup = population if warmup is None else max(1, min(int(warmup), population))
        self.cost = cost
        self.population: deque = deque(maxlen=population)  # (decisions, signed values)
        self.history: list = []  # every (decisions, signed values) told
        # a pruned member's (fidelity, signed last values), by id of the member (whose
        # own signed values are -inf); history keeps every member alive
        self.partial: dict[int, tuple[float, list[float]]] = {}
        self.costs: list = []  # the cost metric of each history entry (None when absent)
        self.capped: list[bool] = []  # whether a time cap cut each history entry short
        self.front: list = []  # the non-dominated members of history (several objectives)
        self.seen: set[str] = set()
        self.models = [RidgeSurrogate() for _ in self.objectives]  # one per objective
        self.cost_model = RidgeSurrogate(clip_median=False)  # log cost; unfitted: no costs
        self._fitted_at = -1

    # ------------------------------------------------------------ asking
    def ask(self) -> dict:
        if len(self.history) < self.warmup:
            return self._fresh()
        children = self._children()
        if not children:
            return self._fresh()
        best = 0
        if len(children) > 1:
            n = len(self.history)
            if self._fitted_at < 0 or n - self._fitted_at >= max(1, n // 20):
                decisions = [d for d, _ in self.history]
                partial = [self.partial.get(id(m)) for m in self.history]
                bounds = {"lower": [p is not None for p in partial]} if self.partial else {}
                for j, model in enumerate(self.models):
                    model.fit(self.space.domains, decisions,
                              [_target(v, p, j, cut) for (_, v), p, cut
                               in zip(self.history, partial, self.capped)], **bounds)
                self._fit_cost(decisions)
                self._fitted_at = len(self.history)
            scores = self._scores([c for c, _ in children])
            best = self._pick(scores, [c for c, _ in children])
        child, fp = children[best]
        self.seen.add(fp)
        return child

    def _fit_cost(self, decisions: list[dict]) -> None:
        """Fit the log-cost model on the results that report a positive cost."""
        logs = [math.log(c) if c is not None and c > 0 else math.nan for c in self.costs]
        if self.cost is None or sum(math.isfinite(v) for v in logs) < 4:
            self.cost_model.w = None
            return
        self.cost_model.fit(self.space.domains, decisions, logs)

    def _pick(self, scores: list[float], children: list[dict]) -> int:
        """The best-scored child; with a cost model, the cheapest of the top quarter."""
        order = sorted(range(len(children)), key=lambda i: -scores[i])
        if self.cost_model.w is None or len(order) < 4:
            return order[0]
        top = order[:max(1, len(order) // 4)]
        cost = self.cost_model.predict([children[i] for i in top])
        return top[min(range(len(top)), key=lambda k: cost[k])]

    def _scores(self, children: list[dict]) -> list[float]:
        """The surrogate's score of each child. With several objectives (ParEGO, Knowles
        2006): each prediction becomes its quantile among the values seen so far, and a
        random weighting (drawn each ask) scalarizes them by the augmented Chebyshev
        function, so successive asks aim at different parts of the front."""
        preds = [model.predict(children) for model in self.models]
        if len(preds) == 1:
            return list(preds[0])
        seen = [sorted(v[j] for _, v in self.history if math.isfinite(v[j]))
                for j in range(len(preds))]
        raw = [self.rng.expovariate(1.0) for _ in preds]  # Dirichlet(1, ..., 1) weights
        weights = [w / sum(raw) for w in raw]
        scores = []
        for i in range(len(children)):
            q = [w * bisect.bisect_right(seen[j], preds[j][i]) / max(1, len(seen[j]))
                 for j, w in enumerate(weights)]
            scores.append(min(q) + 0.05 * sum(q))
        return scores

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
            fp, child = self.space.identify(self.space.mutate(parent, self.rng),
                                            allow_invalid=True)
            if fp not in self.seen:
                out.setdefault(fp, child)
        return [(c, fp) for fp, c in out.items()]

    def _select(self) -> dict:
        members = list(self.population)
        if len(self.objectives) > 1:  # elitist: the front found so far stays selectable
            members += [m for m in self.front if all(m is not p for p in self.population)]
        picks = [members[self.rng.randrange(len(members))] for _ in range(self.sample_size)]
        if len(self.objectives) == 1:
            return max(picks, key=lambda m: tournament_key(m[1], self.partial.get(id(m))))[0]
        values = [m[1] for m in members]
        ranks = nondominated_ranks(values)
        crowd = crowding(values, ranks)
        index = {id(m): i for i, m in enumerate(members)}
        return min(picks, key=lambda m: (ranks[index[id(m)]], -crowd[index[id(m)]]))[0]

    # ------------------------------------------------------------ telling
    def _tell(self, decisions, result) -> None:
        values = signed_values(result, self.objectives)
        partial = pruned_values(result, self.objectives)
        member = (dict(decisions), values)
        if partial is not None:
            self.partial[id(member)] = (result.fidelity, partial)
        self.population.append(member)
        self.history.append(member)
        cost = result.metrics.get(self.cost) if self.cost else None
        self.costs.append(float(cost) if isinstance(cost, (int, float)) else None)
        self.capped.append(result.capped)
        self._update_front(member)
        self.seen.add(self.fingerprint(decisions))

    def _update_front(self, member) -> None:
        """Keep ``front`` the non-dominated members of history (several objectives)."""
        if len(self.objectives) == 1 or not all(math.isfinite(v) for v in member[1]):
            return
        if any(dominates(f[1], member[1]) or f[1] == member[1] for f in self.front):
            return
        self.front = [f for f in self.front if not dominates(member[1], f[1])] + [member]

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        enc = [[d, _enc(vals)] for d, vals in self.history]
        pruned = [None if (p := self.partial.get(id(m))) is None else [p[0], _enc(p[1])]
                  for m in self.history]
        return {**super().state_dict(), "history": enc, "seen": sorted(self.seen),
                "costs": list(self.costs), "capped": list(self.capped), "pruned": pruned}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.history = [(d, _dec(vals)) for d, vals in state["history"]]
        pruned = state.get("pruned") or [None] * len(self.history)
        self.partial = {id(m): (p[0], _dec(p[1]))
                        for m, p in zip(self.history, pruned) if p is not None}
        self.costs = list(state.get("costs") or [None] * len(self.history))
        self.capped = list(state.get("capped") or [False] * len(self.history))
        self.population = deque(self.history[-self.population_size:],
                                maxlen=self.population_size)
        self.front = []
        for member in self.history:
            self._update_front(member)
        self.seen = set(state["seen"])
        self._fitted_at = -1


def tournament_key(values: list[float], partial: tuple | None) -> tuple:
    """A single-objective tournament's order of a member (its signed values, and a pruned
    one's fidelity and last values): finished results by value, then pruned ones by the
    fidelity they reached and their last value, then failures."""
    if partial is not None:
        return (1, partial[0], partial[1][0])
    return (2 if math.isfinite(values[0]) else 0, values[0], 0.0)


def _target(values: list[float], partial: tuple | None, j: int, capped: bool) -> float:
    """Objective ``j``'s surrogate target: a pruned member's last value (a lower bound);
    NaN (left out) for a capped result."""
    if partial is not None:
        return partial[1][j]
    return math.nan if capped else values[j]


def _enc(values: list[float]) -> list:
    return [v if math.isfinite(v) else None for v in values]


def _dec(values: list) -> list[float]:
    return [-math.inf if v is None else v for v in values]
