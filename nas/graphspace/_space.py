"""``GraphSpace``: the architectures a few graph edits away from a seed model.

A candidate is a sequence of at most ``max_edits`` edits applied to the seed, asked of
the proposal as ordinary decisions, so every strategy drives it like any space:

- ``edit_{i}``: the kind of the i-th edit (one of ``edits``), or ``"none"`` to stop;
- ``edit_{i}_site``: where, an int in ``[0, sites)`` read as a position in the list of
  the places that edit fits in the graph as edited so far (neighbouring values are
  neighbouring places, so a mutation's small step stays nearby);
- ``edit_{i}_arg``: the variant, when the site offers several (a widening factor, the
  op to insert, the kernel or activation to change to, the source of a skip).

Edits are only proposed where they keep the graph valid (``nas.graphspace._edits``).
Each candidate's ``graph.meta["lineage"]`` records its parent's fingerprint (the graph
before its last edit), its edits, where its weights come from and the share of its
parameters inherited; ``graph.meta["parent_graph"]`` holds that parent (as
``ArchGraph.to_dict``) for ``nas show --parent``; fingerprints still deduplicate (two
edit sequences reaching one architecture are one candidate).

A parameter cap (``max_params``, ``nas.graphspace._cap``): an edit whose child would
have more trainable parameters changes nothing, like an edit with no site, so every
candidate stays at or under the cap; a seed above it is a ``SpaceError``.

Weights (Lamarckian evolution): a seed given as a ``nas.Traced`` (``nas.from_module``)
carries its trained weights through the edits: morphisms keep the function, other edits
keep the weights of the nodes they keep. ``remember(fingerprint, state)`` (the search
calls it with each trained candidate's weights) makes a trained candidate the weight
source of every later candidate whose edits pass through it.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

import torch

from nas._domain import SpaceError, decisions_text
from nas.compile import compile_graph
from nas.graph import ArchGraph
from nas.graphspace._cap import check_max_params, check_seed, param_count
from nas.graphspace._chain import extend, first_proposal
from nas.graphspace._edits import EDITS, check_edits
from nas.graphspace._start import keep_start_weights
from nas.space import DictProposal, Proposal, Space
from nas.trace import Traced

DEFAULT_EDITS = ("insert", "remove", "change", "skip", "widen", "deepen", "branch")
ARGS = 16  # the grid of edit_{i}_arg; a site's variants are spread over it
_STATS = ("running_mean", "running_var", "num_batches_tracked")
WIDENS = ("widen", "narrow", "widen_all")  # reshape nodes, keep (a share of) their weights


class GraphSpace(Space):
    """Architectures ``max_edits`` or fewer graph edits away from ``seed``."""

    def __init__(self, seed: ArchGraph | Traced, edits=DEFAULT_EDITS, max_edits: int = 3,
                 sites: int = 64, name: str = "graph", inherit_weights: bool | None = None,
                 chain: bool = False, append: int = 1, first: int = 1,
                 max_params: int | None = None):
        traced = seed if isinstance(seed, Traced) else None
        graph = traced.graph if traced else seed
        if not isinstance(graph, ArchGraph):
            raise SpaceError("GraphSpace needs an ArchGraph or a nas.Traced "
                             "(nas.from_module(model, inputs)) as its seed, not a "
                             f"{type(seed).__name__}")
        graph = graph.copy().validate()
        if len(graph.inputs) != 1 or len(graph.outputs) != 1:
            raise SpaceError("GraphSpace takes a seed of one input and one output, not "
                             f"{len(graph.inputs)} and {len(graph.outputs)}")
        if not isinstance(max_edits, int) or max_edits < 1 or sites < 1:
            raise SpaceError(f"max_edits and sites must be positive ints, not {max_edits!r} "
                             f"and {sites!r}")
        (spec,) = graph.inputs.values()
        (out_shape,) = graph.output_shapes().values()
        self.edits = check_edits(edits)
        self.max_edits, self.sites = max_edits, int(sites)
        self.chain, self.append, self.first = bool(chain), int(append), int(first)  # _chain.py
        self.max_params = check_max_params(max_params)  # _cap.py
        check_seed(graph, self.max_params)
        self.inherit_weights = traced is not None if inherit_weights is None else inherit_weights
        if traced is None:
            with torch.random.fork_rng():
                torch.manual_seed(0)
                state = compile_graph(graph).state_dict()
            traced = Traced(graph, {k: v.detach().clone() for k, v in state.items()})
        self.seed = traced
        self.seed_fingerprint = graph.fingerprint()
        self._trained: dict[str, dict[str, torch.Tensor]] = {}
        self.keep_trained = 128  # trained candidates remembered (memory: their weights)
        self._last: tuple[Traced, dict, set] | None = None
        self._parent: ArchGraph | None = None  # the last candidate's, before its last edit
        super().__init__(self.grow, spec, out_shape[0] if out_shape else 1, name=name)

    def __repr__(self) -> str:
        cap = f", max_params={self.max_params}" if self.max_params is not None else ""
        return (f"GraphSpace({self.name!r}, edits={list(self.edits)}, "
                f"max_edits={self.max_edits}{cap}, seed={self.seed_fingerprint[:12]})")

    # ------------------------------------------------------------ the space function
    def grow(self, b, in_shape, n_out) -> str:
        """Edit the seed model: up to max_edits graph edits, each a kind, a site and a
        variant (insert, remove, change, skip, widen, deepen, branch)."""
        t, fresh = self.seed, set()
        parent, source, done = self.seed.graph, "seed", []
        if self.seed_fingerprint in self._trained:
            t, source = Traced(t.graph, self._trained[self.seed_fingerprint]), \
                self.seed_fingerprint
        for i in range(self.max_edits):
            kind = b.choice(f"edit_{i}", ("none", *self.edits))
            if kind == "none":
                break
            sites_of, apply = EDITS[kind]
            sites = sites_of(t.graph)
            if not sites:  # nothing of that kind fits: the edit changes nothing
                continue
            site = sites[b.int(f"edit_{i}_site", 0, self.sites - 1) * len(sites) // self.sites]
            arg = site.args[0]
            if len(site.args) > 1:
                arg = site.args[b.int(f"edit_{i}_arg", 0, ARGS - 1) * len(site.args) // ARGS]
            child = apply(t, site, arg, i)
            if self.max_params is not None and param_count(child.graph) > self.max_params:
                continue  # over the cap: like an edit with no site, it changes nothing
            parent = t.graph
            fresh |= _fresh_nodes(t, child) if kind not in WIDENS else set()
            t = child
            done.append(_describe(kind, site.nodes, arg))
            fp = t.graph.fingerprint() if self._trained else None
            if fp in self._trained:  # a trained candidate on the way: start from it
                t, source, fresh = Traced(t.graph, self._trained[fp]), fp, set()
        lineage = {"seed": self.seed_fingerprint, "parent": parent.fingerprint(),
                   "edits": done, "changed": _changed(parent, t.graph) if done else [],
                   "weights_from": source}
        if self.max_params is not None:
            lineage["max_params"] = self.max_params
        self._last = (t, lineage, fresh)
        self._parent = parent if done else None
        return _replay(b, t.graph)

    def describe(self, *args, **kwargs) -> dict:
        """``Space.describe``, with the parameter cap when there is one."""
        out = super().describe(*args, **kwargs)
        if self.max_params is not None:
            out["max_params"] = self.max_params
        return out

    # ------------------------------------------------------------ chained growth
    def mutate(self, decisions: dict, rng=None, tries: int = 20) -> dict:
        """``Space.mutate``; with ``chain``, the parent's edits plus new ones
        (``nas.graphspace._chain``)."""
        if not self.chain:
            return super().mutate(decisions, rng, tries)
        rng = rng if isinstance(rng, random.Random) else random.Random(rng)
        base, current = self.identify(DictProposal(decisions, rng), allow_invalid=True)
        child = current
        for _ in range(tries):
            proposal = extend(current, self.edits, self.max_edits, self.append, rng)
            fp, child = self.identify(DictProposal(proposal, rng), allow_invalid=True)
            if fp != base:
                return child
        return child

    def _attempt(self, proposal):
        if self.chain:  # a random sample stays within `first` edits of the seed
            proposal = first_proposal(proposal, self.first, self.max_edits)
        return super()._attempt(proposal)

    # ------------------------------------------------------------ weights
    def remember(self, fingerprint: str, state: dict[str, torch.Tensor]) -> None:
        """Keep a trained candidate's weights: later candidates that pass through it
        start from them (and from their own trained version, when retried)."""
        self._trained.pop(fingerprint, None)
        self._trained[fingerprint] = {k: v.detach().cpu().clone() for k, v in state.items()}
        while len(self._trained) > self.keep_trained:  # the oldest go first
            del self._trained[next(iter(self._trained))]

    def try_resolve(self, proposal: Proposal | dict
                    ) -> tuple[ArchGraph | None, dict, Any]:
        """``Space.try_resolve``, with the candidate's lineage in ``graph.meta`` and, when
        the space inherits weights, its start weights (``nas.graphspace.start_weights``)."""
        self._last = None
        graph, decisions, error = super().try_resolve(proposal)
        if graph is None or self._last is None:
            return graph, decisions, error
        t, lineage, fresh = self._last
        state = {k: v for k, v in t.state_dict.items() if k.split(".")[0] in graph}
        lineage["inherited"] = _share(state, fresh) if self.inherit_weights else 0.0
        graph.meta["lineage"] = lineage
        if self._parent is not None:  # `nas show --parent` draws it beside the candidate
            graph.meta["parent_graph"] = {**self._parent.to_dict(), "meta": {}}
        if self.inherit_weights:
            text = decisions_text(decisions) + lineage["weights_from"]
            token = hashlib.sha256(text.encode()).hexdigest()[:20]
            graph.meta["start_weights"] = keep_start_weights(token, state)
        return graph, decisions, error


def _replay(b, graph: ArchGraph) -> str:
    """Build ``graph`` with the builder (inputs, nodes in order, output)."""
    for name, spec in graph.inputs.items():
        b.input(spec, name=name)
    for nid in graph.topological_order():
        n = graph.node(nid)
        b.op(n.op, *n.inputs, name=nid, **n.params)
    for name, src in graph.outputs.items():
        b.output(src, name)
    return next(iter(graph.outputs.values()))


def _describe(kind: str, nodes: tuple, arg) -> str:
    """One edit as lineage records it: ``"widen conv2 1.5"``, ``"skip relu1->conv3"``."""
    if kind == "skip":
        return f"skip {arg}->{nodes[0]}"
    return " ".join([kind, "->".join(nodes), *([str(arg)] if arg is not None else [])])


def _changed(parent: ArchGraph, child: ArchGraph) -> list[str]:
    """The child's nodes its last edit made or changed (op or params; a node only
    rewired onto a new node is not counted)."""
    def row(g, nid):
        n = g.node(nid)
        return n.op, n.params

    return [n.id for n in child.nodes()
            if n.id not in parent or row(parent, n.id) != row(child, n.id)]


def _fresh_nodes(parent: Traced, child: Traced) -> set[str]:
    """Nodes of the child whose weights are not the parent's (new, or reshaped)."""
    out = set()
    for key, value in child.state_dict.items():
        old = parent.state_dict.get(key)
        nid = key.split(".")[0]
        if old is None or old.shape != value.shape or nid not in parent.graph or \
                parent.graph.node(nid).op != child.graph.node(nid).op:
            out.add(nid)
    return out


def _share(state: dict[str, torch.Tensor], fresh: set[str]) -> float:
    """The share of the parameters (not batch-norm statistics) not freshly made."""
    sizes = {k: v.numel() for k, v in state.items() if k.rsplit(".", 1)[-1] not in _STATS}
    total = sum(sizes.values())
    kept = sum(n for k, n in sizes.items() if k.split(".")[0] not in fresh)
    return round(kept / total, 6) if total else 1.0
