"""NAS-Bench-201's mixed network for differentiable search (``nas.darts``).

An nb201 edge's options change the cell's topology (``skip_connect`` adds no node,
``none`` drops the edge's term), so the generic aligned mixer cannot mix them; this
mixer records the space's own skeleton with ``nas.darts.Recorder`` in place of the
Builder, through nb201's own ``_edge`` and ``_reduction``: each cell edge is a mixed
step over the five options (``none`` contributes nothing), every cell's node the sum
of its mixed edges. A one-hot mixing computes exactly ``compile_graph`` of the chosen
cell (same modules, same order).
"""

from __future__ import annotations

from nas.darts import DartsSpace, MixedNet, Recorder, register_mixer
from search_spaces._common import as_channels_first
from search_spaces.nb201 import DECISIONS, OPS, _edge, _reduction


def _cell(rec: Recorder, x: str, channels: int) -> str:
    nodes = [x]
    for i in (1, 2, 3):
        terms = []
        for j in range(i):
            name, outs = f"edge_{i}_{j}", []
            for op in OPS:
                rec.tag = (name, op)
                outs.append(_edge(rec, op, nodes[j], channels))
            rec.tag = None
            terms.append(rec.mix(name, outs, nodes[j], rec.shape(nodes[j])))
        nodes.append(terms[0] if len(terms) == 1 else rec.op("add", *terms))
    return nodes[3]


def nb201_mixer(space, seed: int = 0) -> DartsSpace:
    """The nb201 space (its ``channels``, ``cells``, ``skeleton``) with every edge mixed."""
    cfg = {"channels": 16, "cells": 5, "skeleton": True, **space.config}
    rec = Recorder()
    x = as_channels_first(rec, rec.input(space.in_shape))
    if cfg["skeleton"]:
        x = rec.op("batch_norm", rec.op("conv", x, channels=cfg["channels"], kernel=3,
                                        bias=False))
        for stage in range(3):
            width = cfg["channels"] * 2**stage
            if stage:
                x = _reduction(rec, x, width)
            for _ in range(cfg["cells"]):
                x = _cell(rec, x, width)
        x = rec.op("relu", rec.op("batch_norm", x))
        x = rec.op("global_avg_pool", x)
        x = rec.op("linear", x, features=space.n_out)
    else:
        x = _cell(rec, x, rec.shape(x)[0])
    choices = {name: list(OPS) for name in DECISIONS}
    return DartsSpace(space, MixedNet(rec, x, choices), choices, {})


register_mixer("nb201", nb201_mixer)

__all__ = ["nb201_mixer"]
