"""ArchGraph: the architecture IR, a DAG of primitives with named inputs and outputs.

Nodes are ``(id, op, params, inputs)`` with ``inputs`` an ordered list of node ids.
Graph inputs are nodes too (op ``"input"``, their params a ``TensorSpec``). The
graph is held in a ``networkx.DiGraph`` by composition and holds no torch objects.
"""

from __future__ import annotations

import hashlib
import json
import keyword
import re
from dataclasses import dataclass
from typing import Any

import networkx as nx

from nas._errors import GraphError, ShapeError
from nas.ops import KINDS, OpSpec, Shape, TensorSpec, get_op

FORMAT = "nas-toolkit/archgraph"
FORMAT_VERSION = 1
INPUT_OP = "input"

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# names a compiled nn.Module uses itself; a submodule cannot take them
_RESERVED = {"forward", "training", "graph", "cuda", "cpu", "to", "eval", "train", "apply",
             "half", "float", "double", "type", "state_dict", "parameters", "modules",
             "children", "buffers", "zero_grad", "register_buffer", "add_module"}


def check_node_id(id: str) -> None:
    """Node ids name submodules: Python identifiers, not names nn.Module uses itself."""
    if not isinstance(id, str) or not _ID.match(id) or keyword.iskeyword(id):
        raise GraphError("node ids must be Python identifiers (letters, digits, _)", node=id)
    if id in _RESERVED:
        raise GraphError("this id is reserved by torch.nn.Module; choose another", node=id)


@dataclass(frozen=True)
class Node:
    """One node of an ArchGraph (a read-only view)."""

    id: str
    op: str
    params: dict
    inputs: tuple[str, ...]


class ArchGraph:
    """A DAG of primitives. Build with ``add_input`` / ``add_node`` / ``set_output``.

    Nodes are kept as plain records in insertion order, so that building one (a space
    builds one per candidate) is cheap; the networkx graph the algorithms walk (cycles,
    topological order) is made from them when first needed.
    """

    def __init__(self) -> None:
        self._nodes: dict[str, dict] = {}  # id -> {"op", "params", "inputs"}, insertion order
        self._inputs: list[str] = []
        self._outputs: dict[str, str] = {}
        self._digraph: nx.DiGraph | None = None  # made on demand, dropped on change
        self.meta: dict[str, Any] = {}

    # ----------------------------------------------------------------- building
    def add_input(self, name: str, shape: Shape, kind: str = "tensor",
                  vocab: int | None = None) -> str:
        """Declare a named graph input of ``shape`` (batch dimension excluded)."""
        self._check_new_id(name)
        if kind not in KINDS:
            raise GraphError(f"input kind '{kind}' is not one of {KINDS}", node=name)
        spec = TensorSpec(tuple(shape), kind, vocab)
        self._nodes[name] = {"op": INPUT_OP, "params": spec.to_dict(), "inputs": ()}
        self._inputs.append(name)
        self._digraph = None
        return name

    def add_node(self, id: str, op: str, params: dict | None = None,
                 inputs: list[str] | tuple[str, ...] = (), *, resolve: bool = True) -> str:
        """Add node ``id`` applying ``op`` to ``inputs`` (node ids, in order; one added
        later, or never, is a placeholder until then: ``validate()`` names it).

        With ``resolve`` (the default) the op must be registered and take as many inputs
        as given; unknown parameters raise and defaults are filled in, so equal
        architectures compare equal. Without it (reading JSON) ``validate()`` checks.
        """
        self._check_new_id(id)
        params = dict(params or {})
        if resolve:
            spec = get_op(op, node=id)
            _check_arity(spec, op, len(inputs), id)
            params = spec.resolve_params(params, node=id)
        self._nodes[id] = {"op": op, "params": params, "inputs": tuple(inputs)}
        self._digraph = None
        return id

    def set_output(self, name: str, node: str) -> None:
        """Expose ``node`` as the graph output called ``name``."""
        if not isinstance(name, str) or not name:
            raise GraphError("output names must be non-empty strings")
        self._outputs[name] = node

    def _check_new_id(self, id: str) -> None:
        check_node_id(id)
        if id in self._nodes:
            raise GraphError("a node with this id already exists", node=id)

    def _nx(self) -> nx.DiGraph:
        """The networkx graph of the nodes: an edge per input, placeholders included."""
        if self._digraph is None:
            g = nx.DiGraph()
            for id, d in self._nodes.items():
                g.add_node(id, **d)
                g.add_edges_from((src, id) for src in d["inputs"])
            self._digraph = g
        return self._digraph

    # ----------------------------------------------------------------- reading
    @property
    def inputs(self) -> dict[str, TensorSpec]:
        return {n: TensorSpec.from_dict(self._nodes[n]["params"]) for n in self._inputs}

    @property
    def outputs(self) -> dict[str, str]:
        return dict(self._outputs)

    @property
    def nx(self) -> nx.DiGraph:
        """The networkx graph (a read-only view)."""
        return self._nx().copy(as_view=True)

    def node(self, id: str) -> Node:
        d = self._nodes[id]
        return Node(id, d["op"], dict(d["params"]), tuple(d["inputs"]))

    def nodes(self, include_inputs: bool = False) -> list[Node]:
        """Nodes in insertion order (graph inputs first only when asked)."""
        return [self.node(n) for n, d in self._nodes.items()
                if include_inputs or d["op"] != INPUT_OP]

    def __len__(self) -> int:
        return len(self._nodes) - len(self._inputs)

    def __contains__(self, id: str) -> bool:
        return id in self._nodes

    def topological_order(self) -> list[str]:
        """Operation nodes in an order where every node follows its inputs."""
        self._check_refs()
        self._check_acyclic()
        rank = {n: i for i, n in enumerate(self._nodes)}
        order = nx.lexicographical_topological_sort(self._nx(), key=rank.__getitem__)
        return [n for n in order if self._nodes[n]["op"] != INPUT_OP]

    # ----------------------------------------------------------------- checks
    def validate(self) -> ArchGraph:
        """Check structure: known ops, arity, inputs exist, acyclic, all nodes used.

        Raises ``GraphError`` naming the first node at fault; returns ``self``.
        """
        if not self._inputs:
            raise GraphError("the graph has no inputs; declare one with add_input()")
        if not self._outputs:
            raise GraphError("the graph has no outputs; declare one with set_output()")
        for node in self.nodes():
            spec = get_op(node.op, node=node.id)
            for src in node.inputs:
                if src not in self._nodes:
                    raise GraphError(f"input '{src}' does not exist", node=node.id)
            _check_arity(spec, node.op, len(node.inputs), node.id)
        for name, src in self._outputs.items():
            if src not in self._nodes:
                raise GraphError(f"output '{name}' refers to a missing node", node=src)
        self._check_acyclic()
        live = self._live()
        for node in self.nodes():
            if node.id not in live:
                raise GraphError(
                    "node does not contribute to any output (remove it or call prune())",
                    node=node.id,
                )
        return self

    def _check_refs(self) -> None:
        for id, d in self._nodes.items():  # the placeholder referred to first
            for src in d["inputs"]:
                if src not in self._nodes:
                    raise GraphError(f"input '{src}' does not exist", node=id)
        for name, src in self._outputs.items():
            if src not in self._nodes:
                raise GraphError(f"output '{name}' refers to a missing node", node=src)

    def _check_acyclic(self) -> None:
        seen: set[str] = set()
        for id, d in self._nodes.items():
            if not all(src in seen for src in d["inputs"]):
                break  # an input added after its user: look for a cycle
            seen.add(id)
        else:
            return  # every node follows its inputs: no cycle
        g = self._nx()
        if nx.is_directed_acyclic_graph(g):
            return
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            return
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        raise GraphError(f"the graph has a cycle: {path}", node=cycle[0][0])

    def _live(self) -> set[str]:
        """The nodes some output depends on (placeholders left out)."""
        live: set[str] = set()
        stack = [src for src in self._outputs.values() if src in self._nodes]
        while stack:
            n = stack.pop()
            if n not in live:
                live.add(n)
                stack.extend(s for s in self._nodes[n]["inputs"] if s in self._nodes)
        return live

    def prune(self) -> ArchGraph:
        """A copy without the nodes that reach no output (graph inputs are kept), the
        others in the same order (a space builder's graph becomes its candidate so)."""
        live = self._live() | set(self._inputs)
        out = ArchGraph()
        out.meta = dict(self.meta)
        for n, d in self._nodes.items():
            if n in live:
                if d["op"] == INPUT_OP:
                    spec = TensorSpec.from_dict(d["params"])
                    out.add_input(n, spec.shape, spec.kind, spec.vocab)
                else:
                    out.add_node(n, d["op"], d["params"], d["inputs"], resolve=False)
        for name, src in self._outputs.items():
            out.set_output(name, src)
        return out

    def infer_shapes(self) -> dict[str, Shape]:
        """Shape of every node (batch excluded). Raises ``ShapeError`` naming the node."""
        self.validate()
        shapes: dict[str, Shape] = {n: s.shape for n, s in self.inputs.items()}
        for nid in self.topological_order():
            shapes[nid] = self.shape_of(nid, shapes)
        return shapes

    def shape_of(self, id: str, shapes: dict[str, Shape]) -> Shape:
        """The output shape of node ``id`` given ``shapes`` holding its inputs' shapes."""
        d = self._nodes[id]
        return get_op(d["op"], node=id).shape(dict(d["params"]),
                                              [shapes[i] for i in d["inputs"]], node=id)

    def output_shapes(self) -> dict[str, Shape]:
        shapes = self.infer_shapes()
        return {name: shapes[src] for name, src in self._outputs.items()}

    # ----------------------------------------------------------------- identity
    def fingerprint(self) -> str:
        """A hash of the function computed, invariant to node names.

        Nodes are numbered canonically by a depth-first walk from the outputs (sorted by
        name) through each node's ordered inputs; the hash covers op, params, inputs
        (canonical numbers) and the graph input names. Nodes reaching no output do not
        count.
        """
        self._check_refs()
        self._check_acyclic()
        return _canonical_fingerprint(self._nodes, self._outputs)

    # ----------------------------------------------------------------- JSON
    def to_dict(self) -> dict:
        nodes = [{"id": n.id, "op": n.op, "params": n.params, "inputs": list(n.inputs)}
                 for n in self.nodes()]
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "inputs": {n: s.to_dict() for n, s in self.inputs.items()},
            "nodes": nodes,
            "outputs": dict(self._outputs),
            "meta": dict(self.meta),
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict) -> ArchGraph:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise GraphError(f"not an ArchGraph document (expected format '{FORMAT}')")
        version = data.get("version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise GraphError(
                f"ArchGraph format version {version!r} is newer than this nas-toolkit "
                f"understands ({FORMAT_VERSION}); upgrade nas-toolkit"
            )
        g = cls()
        try:
            for name, spec in data.get("inputs", {}).items():
                if not isinstance(spec, dict) or "shape" not in spec:
                    raise GraphError(f"input '{name}' needs a \"shape\" (e.g. "
                                     '{"shape": [1, 40]})')
                s = TensorSpec.from_dict(spec)
                g.add_input(name, s.shape, s.kind, s.vocab)
            for i, n in enumerate(data.get("nodes", [])):
                missing = [k for k in ("id", "op") if not isinstance(n, dict) or k not in n]
                if missing:
                    where = f"node '{n['id']}'" if isinstance(n, dict) and "id" in n else \
                        f"node {i} of \"nodes\""
                    raise GraphError(f"{where} has no {' or '.join(map(repr, missing))}: "
                                     'each node is {"id": ..., "op": ..., "params": {...}, '
                                     '"inputs": [...]}')
                if not isinstance(n.get("params", {}), dict):
                    raise GraphError("\"params\" must be a mapping", node=str(n["id"]))
                g.add_node(n["id"], n["op"], n.get("params", {}), n.get("inputs", []),
                           resolve=False)
            for name, src in data.get("outputs", {}).items():
                g.set_output(name, src)
            g.meta = dict(data.get("meta", {}))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, GraphError):
                raise
            raise GraphError(f"malformed architecture JSON: {type(exc).__name__}: "
                             f"{exc}") from None
        return g

    @classmethod
    def from_json(cls, text: str) -> ArchGraph:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GraphError(f"architecture JSON does not parse: {exc}") from None
        return cls.from_dict(data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArchGraph) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:  # pragma: no cover - graphs are mutable; hash by identity
        return id(self)

    def copy(self) -> ArchGraph:
        return ArchGraph.from_dict(self.to_dict())

    # ----------------------------------------------------------------- text
    def to_mermaid(self) -> str:
        """A Mermaid flowchart (``nas.render.to_mermaid``)."""
        from nas.render import to_mermaid

        return to_mermaid(self)

    def to_dot(self) -> str:
        """Graphviz DOT text (``nas.render.to_dot``)."""
        from nas.render import to_dot

        return to_dot(self)

    def summary(self) -> str:
        """A one-screen table of nodes, ops, params and shapes (``nas.render.summary``)."""
        from nas.render import summary

        return summary(self)

    def __repr__(self) -> str:
        return (f"ArchGraph({len(self)} ops, inputs={list(self._inputs)}, "
                f"outputs={list(self._outputs)})")


def _check_arity(spec: OpSpec, op: str, n_inputs: int, node: str) -> None:
    if not spec.arity_ok(n_inputs):
        raise GraphError(f"op '{op}' takes {spec.arity_text()} input(s), got {n_inputs}",
                         node=node)


def _canonical_fingerprint(nodes, outputs: dict[str, str]) -> str:
    """The fingerprint of a DAG given ``nodes[id] -> {"op", "params", "inputs"}``;
    input nodes (op "input") are identified by their name and spec."""
    canon: dict[str, int] = {}
    rows: list[Any] = []

    def visit(nid: str) -> int:
        stack = [(nid, False)]
        while stack:
            cur, expanded = stack.pop()
            if cur in canon:
                continue
            d = nodes[cur]
            if d["op"] == INPUT_OP:
                canon[cur] = len(rows)
                rows.append(["input", cur, d["params"]])
            elif expanded:
                canon[cur] = len(rows)
                rows.append([d["op"], d["params"], [canon[i] for i in d["inputs"]]])
            else:
                stack.append((cur, True))
                stack.extend((src, False) for src in reversed(d["inputs"]) if src not in canon)
        return canon[nid]

    outs = [[name, visit(src)] for name, src in sorted(outputs.items())]
    blob = json.dumps([rows, outs], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


__all__ = ["ArchGraph", "Node", "GraphError", "ShapeError", "FORMAT_VERSION"]
