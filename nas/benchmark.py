"""Benchmark strategies against a cheap scoring function (e.g. a tabular benchmark)."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable

from nas.objective import Objective
from nas.result import Result
from nas.space import Space
from nas.strategies import get_strategy


def best_so_far(space: Space, score: Callable[[dict], float], strategy: str, evals: int,
                seed: int, objective: str = "acc", **options) -> list[float]:
    """Run ``strategy`` for ``evals`` ask/tell rounds; the best score after each round."""
    strat = get_strategy(strategy, space, seed=seed, objectives=[Objective(objective, "max")],
                         **options)
    best, curve = -math.inf, []
    for _ in range(evals):
        _, decisions = space.resolve(strat.ask())
        value = score(decisions)
        strat.tell(decisions, Result(objectives={objective: value}))
        best = max(best, value)
        curve.append(best)
    return curve


def compare(space: Space, score: Callable[[dict], float], strategies: list[str],
            evals: list[int], seeds: int, optimum: float | None = None,
            progress: Callable[[str], None] | None = None) -> list[dict]:
    """Mean/std of the best score after each budget in ``evals``, over ``seeds`` seeds."""
    rows = []
    horizon = max(evals)
    for name in strategies:
        curves, t0 = [], time.perf_counter()
        for seed in range(seeds):
            curves.append(best_so_far(space, score, name, horizon, seed))
            if progress:
                progress(f"{name}: seed {seed + 1}/{seeds}")
        per_ask_ms = (time.perf_counter() - t0) / (seeds * horizon) * 1e3
        for n in evals:
            finals = [c[n - 1] for c in curves]
            mean = statistics.fmean(finals)
            rows.append({
                "strategy": name, "evals": n, "seeds": seeds, "mean": mean,
                "std": statistics.pstdev(finals) if len(finals) > 1 else 0.0,
                "regret": (optimum - mean) if optimum is not None else None,
                "optimum": optimum, "ms_per_iteration": per_ask_ms,
            })
    return rows
