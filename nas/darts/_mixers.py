"""From a space to its mixed network: which decisions are mixed, and where.

``mixed_space(space, seed)`` gives a ``DartsSpace``: the ``MixedNet``, the mixed
decisions' options (``choices``) and the answers of every other decision (``fixed``,
a sampled valid candidate's). A space whose op choices change the graph's topology (a
skip or a ``none`` op, as NAS-Bench-201's edges) registers a mixer of its own with
``register_mixer`` (``search_spaces.nb201_darts``); any other space goes through the
generic ``aligned_mixer``: for each categorical decision, the space is resolved with
that decision set to each option, the others fixed; when every option gives the same
graph up to the ops and params of some nodes (an activation, a pooling kind, a kernel
size), those nodes are the decision's sites and each becomes a mixed step over the
options' modules. Decisions that change the structure stay fixed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from nas._domain import SpaceError
from nas.darts._program import MixedNet, Recorder
from nas.graph import ArchGraph
from nas.space import Space


class UnsupportedSpace(ValueError):
    """The space has no categorical op choice differentiable search can mix."""


@dataclass
class DartsSpace:
    """A space made differentiable: the mixed network and what it mixes."""

    space: Space
    net: MixedNet
    choices: dict[str, list]  # mixed decision -> its options
    fixed: dict = field(default_factory=dict)  # every other decision's answer

    def resolve(self, answers: dict) -> tuple[ArchGraph, dict]:
        """The ordinary candidate for the mixed decisions' ``answers`` (the fixed
        ones added): ``space.resolve``, the discretization's graph."""
        unknown = set(answers) - set(self.choices)
        if unknown:
            raise ValueError(f"{sorted(unknown)} are not mixed decisions of space "
                             f"'{self.space.name}' (mixed: {sorted(self.choices)})")
        return self.space.resolve({**self.fixed, **answers})


Mixer = Callable[[Space, int], DartsSpace]
_MIXERS: dict[str, Mixer] = {}


def register_mixer(space_name: str, mixer: Mixer) -> None:
    """Use ``mixer(space, seed)`` for the space registered as ``space_name``."""
    _MIXERS[space_name] = mixer


def mixed_space(space: Space, seed: int = 0) -> DartsSpace:
    """The space's mixed network (its registered mixer, else ``aligned_mixer``);
    ``UnsupportedSpace`` naming the space when nothing can be mixed."""
    mixer = _MIXERS.get(space.name, aligned_mixer)
    return mixer(space, seed)


def _categorical(space: Space, name: str) -> list | None:
    dom = space.domains.get(name)
    if dom is None or dom.kind not in ("choice", "bool") or len(dom.values()) < 2:
        return None
    return list(dom.values())


def _sites(base: ArchGraph, other: ArchGraph) -> list[int] | None:
    """The positions (in topological order) where ``other`` differs from ``base`` only
    by a node's op or params; None when the two differ in structure."""
    a, b = base.topological_order(), other.topological_order()
    if len(a) != len(b) or list(base.inputs) != list(other.inputs) or \
            len(base.outputs) != len(other.outputs):
        return None
    pos_a = {n: ("in", n) for n in base.inputs} | {n: i for i, n in enumerate(a)}
    pos_b = {n: ("in", n) for n in other.inputs} | {n: i for i, n in enumerate(b)}
    if [pos_a[v] for v in base.outputs.values()] != [pos_b[v] for v in other.outputs.values()]:
        return None
    out = []
    for i, (na, nb) in enumerate(zip(a, b, strict=True)):
        x, y = base.node(na), other.node(nb)
        if [pos_a[s] for s in x.inputs] != [pos_b[s] for s in y.inputs]:
            return None
        if x.op != y.op or x.params != y.params:
            out.append(i)
    return out


def aligned_mixer(space: Space, seed: int = 0) -> DartsSpace:
    """Mix every categorical decision whose options differ only in some nodes' ops or
    params, the other decisions fixed at a sampled valid candidate's answers."""
    base_answers = space.sample_valid(random.Random(seed))
    base, base_answers = space.resolve(base_answers)
    shapes = base.infer_shapes()
    choices: dict[str, list] = {}
    sites: dict[int, tuple[str, list]] = {}  # position -> (decision, node per option)
    for name in sorted(base_answers):
        options = _categorical(space, name)
        if options is None:
            continue
        graphs = []
        for option in options:
            try:
                graph, decisions, error = space.try_resolve({**base_answers, name: option})
            except SpaceError:  # the option reaches decisions the base never asked
                graph, decisions, error = None, {}, True
            if error is not None or set(decisions) != set(base_answers):
                graphs = None
                break
            graphs.append(graph)
        found = [_sites(base, g) for g in graphs] if graphs else [None]
        if any(f is None for f in found):
            continue
        positions = sorted(set().union(*found))
        if not positions or any(p in sites for p in positions) or not all(
                g.infer_shapes()[g.topological_order()[p]] ==
                shapes[base.topological_order()[p]] for g in graphs for p in positions):
            continue
        choices[name] = options
        for p in positions:
            sites[p] = (name, [g.node(g.topological_order()[p]) for g in graphs])
    if not choices:
        structural = sorted(n for n in base_answers if _categorical(space, n))
        raise UnsupportedSpace(
            f"space '{space.name}' cannot be searched differentiably: none of its "
            f"categorical decisions ({', '.join(structural) or 'there are none'}) is an op "
            "choice (its options must give the same graph up to some nodes' op or "
            "params, as an activation, a pooling kind or a kernel size); use another "
            "strategy, or a space of op choices such as nb201")
    if len(base.outputs) != 1:
        raise UnsupportedSpace(f"space '{space.name}' has {len(base.outputs)} outputs; "
                               "differentiable search mixes single-output spaces")
    net = _record(base, shapes, sites, choices)
    fixed = {k: v for k, v in base_answers.items() if k not in choices}
    return DartsSpace(space, net, choices, fixed)


def _record(base: ArchGraph, shapes: dict, sites: dict, choices: dict) -> MixedNet:
    rec = Recorder()
    value = {name: rec.input(spec.shape) for name, spec in base.inputs.items()}
    for i, nid in enumerate(base.topological_order()):
        node = base.node(nid)
        ins = [value[s] for s in node.inputs]
        if i not in sites:
            value[nid] = rec.op(node.op, *ins, **node.params)
            continue
        decision, nodes = sites[i]
        outs = []
        for option, alt in zip(choices[decision], nodes, strict=True):
            rec.tag = (decision, option)
            outs.append(rec.op(alt.op, *ins, **alt.params))
        rec.tag = None
        value[nid] = rec.mix(decision, outs, ins[0] if len(ins) == 1 else None, shapes[nid])
    return MixedNet(rec, value[next(iter(base.outputs.values()))], choices)


__all__ = ["DartsSpace", "UnsupportedSpace", "aligned_mixer", "mixed_space",
           "register_mixer"]
