"""Non-dominated sorting and crowding distance (Deb et al., 2002), higher is better."""

from __future__ import annotations

import math


def dominates(a: list[float], b: list[float]) -> bool:
    return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))


def nondominated_ranks(values: list[list[float]]) -> list[int]:
    """Front number of each point: 0 for the Pareto front, 1 for the next, ..."""
    n = len(values)
    dominated_by = [0] * n
    dominating: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if i != j and dominates(values[i], values[j]):
                dominating[i].append(j)
            elif i != j and dominates(values[j], values[i]):
                dominated_by[i] += 1
    ranks = [0] * n
    front = [i for i in range(n) if dominated_by[i] == 0]
    r = 0
    while front:
        nxt = []
        for i in front:
            ranks[i] = r
            for j in dominating[i]:
                dominated_by[j] -= 1
                if dominated_by[j] == 0:
                    nxt.append(j)
        front, r = nxt, r + 1
    return ranks


def crowding(values: list[list[float]], ranks: list[int]) -> list[float]:
    """Crowding distance within each front (inf at a front's extremes)."""
    n = len(values)
    dist = [0.0] * n
    for r in set(ranks):
        members = [i for i in range(n) if ranks[i] == r]
        for k in range(len(values[0]) if values else 0):
            members.sort(key=lambda i: values[i][k])
            lo, hi = values[members[0]][k], values[members[-1]][k]
            dist[members[0]] = dist[members[-1]] = math.inf
            span = hi - lo
            if not math.isfinite(span) or span == 0:
                continue
            for a, i, b in zip(members, members[1:], members[2:]):
                dist[i] += (values[b][k] - values[a][k]) / span
    return dist
