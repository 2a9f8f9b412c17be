"""SuperNet: one shared store of weights for every candidate of a space (one-shot NAS)."""

from __future__ import annotations

import contextlib
import json
import random
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch import nn

from nas.compile import GraphModule, compile_graph
from nas.graph import ArchGraph, Node
from nas.ops import get_op
from nas.space import Space
from nas.supernet._candidate import SharedCandidate, candidate_params, node_params, share
from nas.supernet._identity import NODE_IDS, node_ids
from nas.supernet._paths import SAMPLINGS, fair_paths, sandwich_paths, uniform_paths
from nas.supernet._store import SHARING_RULES, Layout, fill_store

MEMORY_SHARE = 8  # the default store limit: this fraction (1/8) of the free memory, as
# training takes about four times the store (weights, gradients, two AdamW moments)
CACHE = 32  # candidate modules kept by module_for (the most recently used)
NODE_CACHE = 2048  # node modules kept for reuse (the most recently used; cnn: ~1,900
# after 300 candidates, a few kB each beyond the store they share)


class SupernetTooLarge(ValueError):
    """The store of a supernet would not fit in the memory allowed (``max_mb``)."""


def free_memory_mb() -> float:
    """Free memory of the device a supernet would train on: the GPU's when there is
    one, else the machine's available memory (4 GiB when neither can be read)."""
    if torch.cuda.is_available():
        return torch.cuda.mem_get_info()[0] / 2**20
    with contextlib.suppress(OSError, ValueError, StopIteration):
        text = Path("/proc/meminfo").read_text()
        line = next(ln for ln in text.splitlines() if ln.startswith("MemAvailable:"))
        return int(line.split()[1]) / 1024
    return 4096.0


def _meta_compile(graph: ArchGraph) -> GraphModule:
    """``compile_graph`` without allocating weights (on the meta device), or on the
    CPU for an op that cannot be built there."""
    try:
        with torch.device("meta"):
            return compile_graph(graph)
    except Exception:
        return compile_graph(graph)


class SuperNet(nn.Module):
    """One shared store of weights for every candidate of ``space``, under ``rule``.

    Built with no per-space code: ``probe`` valid candidates sampled with ``seed`` are
    compiled without weights (meta device) and each of their parameters gets a place
    in the store (``SHARING_RULES``: ``"identity"`` one tensor per node id, op,
    parameter and the node's weight shapes; ``"slice"`` one per node id, op and
    parameter, as large as the largest seen, smaller candidates reading its leading
    slice and, for kernels, its centre crop). A decision that skips a node just
    leaves its weights unused.

    A node is named for sharing by ``node_ids`` (``NODE_IDS``: its id, or ``"scoped"``,
    its part of the space), marked with its kind (str/bool params: a biased conv never
    shares with an unbiased one) and, when it reads a flattened tensor, the shape
    flattened (``nas.supernet.node_ids``).

    The store is ``self.store`` (a ParameterDict); ``state_dict`` / ``load_state_dict``
    round-trip it for the same (space, rule, probe, seed, norms, node_ids); ``norms="per_width"``
    gives a norm's affine weights one tensor per width (``NORM_SHARING``). A store over
    ``max_mb`` MiB (default: 1/8 of the free memory) raises ``SupernetTooLarge`` before
    allocating.

    Training: ``module_for(graph)`` is the candidate on the store; ``activate(graph)``
    makes ``self(x)`` run it, so a task's training loop can take the SuperNet as its
    model and one optimizer over ``parameters()`` (the store) trains every candidate.
    """

    def __init__(self, space: Space, rule: str = "slice", probe: int = 200, seed: int = 0,
                 max_mb: float | None = None, norms: str = "shared", node_ids: str = "node",
                 rescale: bool = False):
        super().__init__()
        if rule not in SHARING_RULES:
            raise ValueError(f"sharing rule must be one of {', '.join(SHARING_RULES)}, "
                             f"got {rule!r}")
        if node_ids not in NODE_IDS:
            raise ValueError(f"node_ids must be one of {', '.join(NODE_IDS)}, got {node_ids!r}")
        self.node_ids = node_ids
        self._ids_cache: dict[str, dict[str, str]] = {}
        if probe < 1:
            raise ValueError(f"probe must be at least 1 candidate, got {probe}")
        self.space, self.rule, self.probe, self.seed = space, rule, probe, seed
        self.norms = norms
        self.layout = Layout(rule, norms, rescale)
        self.rescale = rescale
        self.probe_graphs: list[tuple[int, ArchGraph]] = []  # (parameters, graph)
        biggest = self._probe()
        self._check_size(max_mb)
        self.store = nn.ParameterDict(self._init_store(biggest))
        self._cache: OrderedDict[tuple[str, str], SharedCandidate] = OrderedDict()
        self._nodes: OrderedDict[tuple, tuple[nn.Module, list]] = OrderedDict()  # LRU
        self.node_cache = NODE_CACHE  # the most node modules kept in ``_nodes``
        object.__setattr__(self, "_active", None)
        self.active_graph: ArchGraph | None = None  # what ``self(...)`` runs

    def _probe(self) -> dict[str, tuple[int, int, str, str]]:
        """Lay out the store from ``probe`` sampled candidates, compiled without weights;
        for each store key, (numel, probe #, node, path) of its largest parameter."""
        biggest: dict[str, tuple[int, int, str, str]] = {}
        rng = random.Random(self.seed)
        for i in range(self.probe):
            graph = self.space.build(self.space.sample_valid(rng))
            n = 0
            ids = self.ids(graph)
            for nid, op, path, p, shapes in candidate_params(_meta_compile(graph), graph):
                key = self.layout.add(ids[nid], op, path, tuple(p.shape), shapes, p.dtype)
                n += p.numel()
                if key not in biggest or p.numel() > biggest[key][0]:
                    biggest[key] = (p.numel(), i, nid, path)
            self.probe_graphs.append((n, graph))
        return biggest

    def _check_size(self, max_mb: float | None) -> None:
        """SupernetTooLarge, before allocating, for a store over the limit."""
        need = self.layout.megabytes()
        limit = free_memory_mb() / MEMORY_SHARE if max_mb is None else max_mb
        if need > limit:
            hint = ("rule='slice' (one tensor per node), " if self.rule == "identity"
                    else "")
            raise SupernetTooLarge(
                f"the supernet's weight store needs {need:.3g} MB (space "
                f"'{self.space.name}', rule '{self.rule}', {self.probe} probe candidates), "
                f"over the {limit:.3g} MB allowed: pass a larger max_mb, use {hint}a "
                f"smaller space or a smaller input")

    def _init_store(self, biggest: dict[str, tuple[int, int, str, str]]
                    ) -> dict[str, nn.Parameter]:
        """Each store tensor initialized from its largest candidate's fresh parameter."""
        store = {}
        built: dict[int, GraphModule] = {}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            for key, shape in self.layout.shapes.items():
                _, i, nid, path = biggest[key]
                if i not in built:
                    built = {i: compile_graph(self.probe_graphs[i][1])}  # one at a time
                seen = built[i].get_submodule(nid).get_parameter(path)
                tensor = torch.empty(shape, dtype=self.layout.dtypes[key])
                fill_store(tensor, seen.detach())
                store[key] = nn.Parameter(tensor)
        return store

    @property
    def store_mb(self) -> float:
        """The store's size in MiB (what ``max_mb`` is checked against)."""
        return self.layout.megabytes()

    # ------------------------------------------------------------ candidates
    def device(self) -> torch.device:
        """Where the store lives."""
        return next(iter(self.store.values())).device if len(self.store) else \
            torch.device("cpu")

    def ids(self, graph: ArchGraph) -> dict[str, str]:
        """Node id -> the identity ``graph``'s nodes share weights by (``NODE_IDS``:
        the scoped identity, or the node id itself)."""
        key = graph.to_json()
        hit = self._ids_cache.get(key)
        if hit is None:
            if len(self._ids_cache) > 4 * NODE_CACHE:
                self._ids_cache.clear()
            hit = self._ids_cache[key] = node_ids(self.space, graph, self.node_ids)
        return hit

    def _slots(self, net: GraphModule, graph: ArchGraph) -> dict:
        out = {}
        ids = self.ids(graph)
        for nid, op, path, p, shapes in candidate_params(net, graph):
            slot = self.layout.slot(ids[nid], op, path, tuple(p.shape), shapes)
            if slot is not None:
                out[(nid, path)] = slot
        return out

    def module_for(self, graph: ArchGraph) -> SharedCandidate:
        """The candidate ``graph`` whose parameters are the store's (the tensors, or
        views of them): training it trains the store. Kept for the next call."""
        device = self.device()
        key = (graph.to_json(), str(device))
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        views: list = []
        ids = self.ids(graph)
        with torch.random.fork_rng(devices=[]):  # new node modules: seeded, as ever
            torch.manual_seed(self.seed)
            net = GraphModule(graph, make=lambda nid, node, shapes: self._node_module(
                nid, ids[nid], node, shapes, device, views))
        module = SharedCandidate(net, self.store, {}, views)
        self._cache[key] = module
        if len(self._cache) > CACHE:
            self._cache.popitem(last=False)
        return module

    def _node_module(self, nid: str, sid: str, node: Node, in_shapes: list,
                     device: torch.device, views: list) -> nn.Module:
        """One node's module on the store, built once per (node id, op, params, input
        shapes) and handed to every candidate with that node: building a candidate is
        then mostly reusing modules, not initializing weights the store replaces (a
        supernet step's main overhead). Its slice views are added to ``views``. The
        ``node_cache`` most recently used are kept; an evicted one is built again."""
        key = (sid, node.op, json.dumps(node.params, sort_keys=True, default=str),
               repr(in_shapes), str(device))
        hit = self._nodes.get(key)
        if hit is None:
            module = get_op(node.op, node=nid).make(node.params, in_shapes).to(device)
            slots = {}
            for _, _, path, p, shapes in node_params(nid, node.op, module):
                slot = self.layout.slot(sid, node.op, path, tuple(p.shape), shapes)
                if slot is not None:
                    slots[path] = slot
            hit = self._nodes[key] = (module, share(module, slots, self.store))
            while len(self._nodes) > self.node_cache:  # candidates keep theirs alive
                self._nodes.popitem(last=False)
        else:
            self._nodes.move_to_end(key)
        views += hit[1]
        return hit[0]

    def extract(self, graph: ArchGraph) -> GraphModule:
        """A standalone ``compile_graph(graph)`` (on the store's device) holding copies
        of its inherited weights: what is scored, and could be exported."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            net = compile_graph(graph).to(self.device())
        with torch.no_grad():
            for (nid, path), slot in self._slots(net, graph).items():
                full = self.store[slot.key]
                net.get_submodule(nid).get_parameter(path).copy_(
                    full if slot.index is None else full[slot.index] * slot.scale)
        return net

    def coverage(self, graph: ArchGraph) -> float:
        """The share of ``graph``'s parameters (by count) the store holds: 1.0 unless a
        path or a shape never met by the probe (those weights stay untrained)."""
        net = _meta_compile(graph)
        total = sum(p.numel() for p in net.parameters())
        covered = sum(net.get_submodule(nid).get_parameter(path).numel()
                      for nid, path in self._slots(net, graph))
        return 1.0 if total == 0 else covered / total

    # ------------------------------------------------------------ training
    def paths(self, sampling: str = "uniform", seed: int = 0, n_random: int = 2
              ) -> Iterator[list[ArchGraph]]:
        """Endless training steps, each a list of candidate graphs (``SAMPLINGS``):
        one uniform path (SPOS), a FairNAS fair set, or the sandwich rule's largest,
        smallest and ``n_random`` random candidates."""
        rng = random.Random(seed)
        if sampling == "uniform":
            return uniform_paths(self.space, rng)
        if sampling == "fair":
            return fair_paths(self.space, dict(self.space.domains), rng)
        if sampling == "sandwich":
            ranked = sorted(self.probe_graphs, key=lambda t: t[0])
            return sandwich_paths(self.space, ranked[-1][1], ranked[0][1], rng, n_random)
        raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")

    def activate(self, graph: ArchGraph) -> SharedCandidate:
        """Make ``self(...)`` run ``graph`` on the store (a training loop's model)."""
        module = self.module_for(graph)
        object.__setattr__(self, "_active", module)
        self.active_graph = graph
        return module

    def part(self, select: Callable[[ArchGraph], ArchGraph]) -> SupernetPart:
        """A module running ``select(active graph)`` (a subgraph with the same node ids,
        as a GAN's generator) on the store; its parameters are only the store tensors
        the selected parts of the probe candidates use, so a task can give each part
        an optimizer of its own."""
        return SupernetPart(self, select)

    def forward(self, *inputs):
        if self._active is None:
            raise RuntimeError("call supernet.activate(graph) before running the supernet")
        return self._active(*inputs)

    def __repr__(self) -> str:  # not the store's hundreds of tensors
        mb = self.store_mb
        return (f"SuperNet(space={self.space.name!r}, rule={self.rule!r}, probe={self.probe}, "
                f"seed={self.seed}, norms={self.norms!r}, node_ids={self.node_ids!r}, "
                f"tensors={len(self.store)}, "
                f"store_mb={mb:.2f})")


class SupernetPart(nn.Module):
    """``supernet.part(select)``: the selected subgraph of the supernet's active graph."""

    def __init__(self, supernet: SuperNet, select: Callable[[ArchGraph], ArchGraph]):
        super().__init__()
        object.__setattr__(self, "supernet", supernet)  # not a submodule: not its weights
        self.select = select
        keys = {}
        for _, graph in supernet.probe_graphs:
            sub = select(graph)
            for slot in supernet._slots(_meta_compile(sub), sub).values():
                keys[slot.key] = supernet.store[slot.key]
        self.weights = nn.ParameterList(list(keys.values()))
        self._last: tuple[ArchGraph, ArchGraph] | None = None  # (active graph, its part)

    def forward(self, *inputs):
        graph = self.supernet.active_graph
        if graph is None:
            raise RuntimeError("call supernet.activate(graph) before running a part of it")
        if self._last is None or self._last[0] is not graph:
            self._last = (graph, self.select(graph))
        return self.supernet.module_for(self._last[1])(*inputs)
