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
from nas.ops import KINDS, Shape, TensorSpec, get_op

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
    """A DAG of primitives. Build with ``add_input`` / ``add_node`` / ``set_output``."""

    def __init__(self) -> None:
        self._g = nx.DiGraph()
        self._order: list[str] = []  # insertion order, for stable iteration and JSON
        self._inputs: list[str] = []
        self._outputs: dict[str, str] = {}
        self.meta: dict[str, Any] = {}

    # ----------------------------------------------------------------- building
    def add_input(self, name: str, shape: Shape, kind: str = "tensor",
                  vocab: int | None = None) -> str:
        """Declare a named graph input of ``shape`` (batch dimension excluded)."""
        self._check_new_id(name)
        if kind not in KINDS:
            raise GraphError(f"input kind '{kind}' is not one of {KINDS}", node=name)
        spec = TensorSpec(tuple(shape), kind, vocab)
        self._g.add_node(name, op=INPUT_OP, params=spec.to_dict(), inputs=())
        self._order.append(name)
        self._inputs.append(name)
        return name

    def add_node(self, id: str, op: str, params: dict | None = None,
                 inputs: list[str] | tuple[str, ...] = (), *, resolve: bool = True) -> str:
        """Add node ``id`` applying ``op`` to ``inputs`` (node ids, in order).

        With ``resolve`` (the default) the op must be registered: unknown parameters
        raise and defaults are filled in, so equal architectures compare equal.
        """
        self._check_new_id(id)
        params = dict(params or {})
        if resolve:
            params = get_op(op, node=id).resolve_params(params, node=id)
        self._g.add_node(id, op=op, params=params, inputs=tuple(inputs))
        self._order.append(id)
        for src in inputs:  # a source added later (or never) is a placeholder until then
            self._g.add_edge(src, id)
        return id

    def set_output(self, name: str, node: str) -> None:
        """Expose ``node`` as the graph output called ``name``."""
        if not isinstance(name, str) or not name:
            raise GraphError("output names must be non-empty strings")
        self._outputs[name] = node

    def _check_new_id(self, id: str) -> None:
        check_node_id(id)
        if self._has(id):
            raise GraphError("a node with this id already exists", node=id)

    def _has(self, id: str) -> bool:
        return id in self._g and "op" in self._g.nodes[id]

    # ----------------------------------------------------------------- reading
    @property
    def inputs(self) -> dict[str, TensorSpec]:
        return {n: TensorSpec.from_dict(self._g.nodes[n]["params"]) for n in self._inputs}

    @property
    def outputs(self) -> dict[str, str]:
        return dict(self._outputs)

    @property
    def nx(self) -> nx.DiGraph:
        """The underlying networkx graph (a read-only view)."""
        return self._g.copy(as_view=True)

    def node(self, id: str) -> Node:
        d = self._g.nodes[id]
        return Node(id, d["op"], dict(d["params"]), tuple(d["inputs"]))

    def nodes(self, include_inputs: bool = False) -> list[Node]:
        """Nodes in insertion order (graph inputs first only when asked)."""
        return [self.node(n) for n in self._order
                if include_inputs or self._g.nodes[n]["op"] != INPUT_OP]

    def __len__(self) -> int:
        return len(self._order) - len(self._inputs)

    def __contains__(self, id: str) -> bool:
        return self._has(id)

    def topological_order(self) -> list[str]:
        """Operation nodes in an order where every node follows its inputs."""
        self._check_refs()
        self._check_acyclic()
        rank = {n: i for i, n in enumerate(self._order)}
        order = nx.lexicographical_topological_sort(self._g, key=rank.__getitem__)
        return [n for n in order if self._g.nodes[n]["op"] != INPUT_OP]

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
                if not self._has(src):
                    raise GraphError(f"input '{src}' does not exist", node=node.id)
            if not spec.arity_ok(len(node.inputs)):
                raise GraphError(
                    f"op '{node.op}' takes {spec.arity_text()} input(s), got {len(node.inputs)}",
                    node=node.id,
                )
        for name, src in self._outputs.items():
            if not self._has(src):
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
        for n in self._g:
            if not self._has(n):
                user = next(iter(self._g.successors(n)), None)
                raise GraphError(f"input '{n}' does not exist", node=user)
        for name, src in self._outputs.items():
            if not self._has(src):
                raise GraphError(f"output '{name}' refers to a missing node", node=src)

    def _check_acyclic(self) -> None:
        if nx.is_directed_acyclic_graph(self._g):
            return
        try:
            cycle = nx.find_cycle(self._g)
        except nx.NetworkXNoCycle:
            return
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        raise GraphError(f"the graph has a cycle: {path}", node=cycle[0][0])

    def _live(self) -> set[str]:
        live: set[str] = set()
        for src in self._outputs.values():
            if self._has(src):
                live.add(src)
                live |= nx.ancestors(self._g, src)
        return live

    def prune(self) -> ArchGraph:
        """A copy without the nodes that reach no output (graph inputs are kept)."""
        live = self._live() | set(self._inputs)
        if len(live) == len(self._order):
            return self.copy()
        out = ArchGraph()
        out.meta = dict(self.meta)
        for n in self._order:
            if n in live:
                d = self._g.nodes[n]
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
            node = self.node(nid)
            spec = get_op(node.op, node=nid)
            shapes[nid] = spec.shape(node.params, [shapes[i] for i in node.inputs], node=nid)
        return shapes

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
        return canonical_fingerprint(self._g.nodes, self._outputs)

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
        """A Mermaid flowchart (paste into any Markdown viewer that renders Mermaid)."""
        lines = ["flowchart TD"]
        for n in self.nodes(include_inputs=True):
            label = n.id if n.op == INPUT_OP else f"{n.id}: {n.op}{_brief(n.params)}"
            shape = ('[/"{}"/]' if n.op == INPUT_OP else '["{}"]').format(label.replace('"', "'"))
            lines.append(f"    {n.id}{shape}")
        for n in self.nodes():
            for i, src in enumerate(n.inputs):
                tag = f"|{i}|" if len(n.inputs) > 1 else ""
                lines.append(f"    {src} -->{tag} {n.id}")
        for name, src in self._outputs.items():
            lines.append(f'    out_{name}(["{name}"])')
            lines.append(f"    {src} --> out_{name}")
        return "\n".join(lines)

    def to_dot(self) -> str:
        """Graphviz DOT text."""
        lines = ["digraph arch {", "  rankdir=TB;", "  node [shape=box, fontname=Helvetica];"]
        for n in self.nodes(include_inputs=True):
            if n.op == INPUT_OP:
                lines.append(f'  {n.id} [shape=invhouse, label="{n.id}"];')
            else:
                label = f"{n.id}\\n{n.op}{_brief(n.params)}".replace('"', "'")
                lines.append(f'  {n.id} [label="{label}"];')
        for n in self.nodes():
            for src in n.inputs:
                lines.append(f"  {src} -> {n.id};")
        for name, src in self._outputs.items():
            lines.append(f'  "out:{name}" [shape=oval];')
            lines.append(f'  {src} -> "out:{name}";')
        lines.append("}")
        return "\n".join(lines)

    def summary(self) -> str:
        """A one-screen table: node, op, key params, inputs and output shape."""
        try:
            shapes: dict[str, Any] = self.infer_shapes()
        except GraphError as exc:
            shapes = {}
            note = f"(shapes unavailable: {exc})"
        else:
            note = ""
        rows = [("node", "op", "params", "inputs", "shape")]
        for n in self.nodes(include_inputs=True):
            params = "" if n.op == INPUT_OP else _brief(n.params).strip(" ()")
            rows.append((n.id, n.op, params, ",".join(n.inputs),
                         str(tuple(shapes[n.id])) if n.id in shapes else "?"))
        widths = [min(max(len(r[i]) for r in rows), 40) for i in range(5)]
        text = ["  ".join(c[:40].ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        text.insert(1, "  ".join("-" * w for w in widths))
        outs = ", ".join(f"{k} <- {v}" for k, v in self._outputs.items())
        text.append(f"{len(self)} ops, outputs: {outs}  fingerprint {self.fingerprint()}")
        if note:
            text.append(note)
        return "\n".join(text)

    def __repr__(self) -> str:
        return (f"ArchGraph({len(self)} ops, inputs={list(self._inputs)}, "
                f"outputs={list(self._outputs)})")


def canonical_fingerprint(nodes, outputs: dict[str, str]) -> str:
    """The fingerprint of a DAG given ``nodes[id] -> {"op", "params", "inputs"}``.

    Shared by ArchGraph and the space builder (which fingerprints without networkx).
    Input nodes (op "input") are identified by their name and spec.
    """
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


def _brief(params: dict) -> str:
    if not params:
        return ""
    return "(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"


__all__ = ["ArchGraph", "Node", "GraphError", "ShapeError", "FORMAT_VERSION"]
